"""Ray entry points of the neural pile (each runnable as ``python ray_jobs/<job>.py`` or through
``ray job submit --working-dir . -- python ray_jobs/<job>.py ...``).

* :mod:`ray_jobs.cluster`: connecting to Ray (shared by every job),
* :mod:`ray_jobs.motifs`: motif counts over the Parquet shards with Ray Data,
* :mod:`ray_jobs.tokenizer`: MotifTokenizer training with the nearest-motif search on Ray tasks.

Ray is imported only inside functions, so importing this package stays cheap.
"""
