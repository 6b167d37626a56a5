"""``neural-pile motifs``: exact motif statistics of a built dataset (local by default, or Ray Data)."""

from __future__ import annotations


def register(subparsers) -> None:
    from ray_jobs.cluster import add_cluster_arguments
    from tokenizer.motif_job import add_motif_arguments

    parser = subparsers.add_parser(
        "motifs",
        help="count every distinct p_n x p_t motif (train split by default) and plot the top ones",
        description=(
            "Count every distinct p_n x p_t spike-count motif over the chosen configs and splits "
            "(train only by default), then write motifs.parquet (motif, count, probability; most "
            "frequent first), metadata.json and top_motifs.png into --out. Counts locally, streaming "
            "one batch of rows at a time, unless --ray is given."
        ),
    )
    add_motif_arguments(parser)
    parser.add_argument("--ray", action="store_true", help="count with Ray Data (same result) instead of locally")
    add_cluster_arguments(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from tokenizer.motif_job import run_motif_job

    if args.ray:
        from ray_jobs.cluster import connect_from_args
        from ray_jobs.motifs import count_shards_ray

        connect_from_args(args, progress=not args.quiet)
        run_motif_job(args, count_shards_ray)
    else:
        from tokenizer.shard_counting import count_shard_files

        run_motif_job(args, count_shard_files)
    return 0
