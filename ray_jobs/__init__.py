"""Ray entry points of the neural pile: each ``ray_jobs/<job>.py`` is the ``neural-pile`` command of
the same name with ``--ray`` implied, runnable as ``python ray_jobs/<job>.py`` or through
``ray job submit --working-dir . -- python ray_jobs/<job>.py ...``.

* :mod:`ray_jobs.entry`: the shared entry (``run_on_ray``),
* :mod:`ray_jobs.cluster`: which cluster a job would use (`python ray_jobs/cluster.py --help`),
* :mod:`ray_jobs.head`: start and stop a Ray head of one's own on loopback (`python ray_jobs/head.py --help`).

Ray is imported only inside functions, so importing this package stays cheap.
"""
