"""Synthetic recordings in the archives' own file formats, for the demo, the tests and the benchmarks (``population``: the simulated neurons; ``recordings``: the files)."""
