"""Building a pile: one session to rows (``rows``), the build driver with its markers and resume (``pipeline``) and the build report (``report``)."""
