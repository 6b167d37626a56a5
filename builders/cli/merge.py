"""``neural-pile merge``: every component's rows shuffled together into the reference layout."""

from __future__ import annotations

import argparse

from builders.cli.common import (
    add_executor_arguments,
    add_pile_argument,
    executor_from_args,
    one_line_errors,
    ray_job_paths,
)
from builders.jobs.merge import DEFAULT_SEED, SHARD_BYTES, merge_pile


def report(summary: dict, out: str) -> None:
    for split, shards in summary.items():
        if shards:
            print(
                f"{split}: {sum(s['rows'] for s in shards):,} rows in {len(shards)} shard(s), "
                f"{sum(s['bytes'] for s in shards):,} bytes"
            )
    print(f"wrote {out} (dataset card README.md, data/<split>-XXXXX-of-XXXXX.parquet)")


@one_line_errors
def run(args: argparse.Namespace) -> int:
    ray_job_paths(args, "dataset", "out")
    parts = args.parts or (16 if args.address is not None else max(1, args.num_proc))
    summary = merge_pile(
        args.dataset,
        args.out,
        config=args.config,
        seed=args.seed,
        shard_bytes=args.shard_bytes,
        parts=parts,
        executor=executor_from_args(args),
        progress=not args.no_progress,
    )
    report(summary, args.out)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="shuffle every component's rows together into one default config (reference layout)",
        description="Write the pile as one `default` config whose rows of all components are shuffled with a "
        "recorded seed into ~1 GB shards data/{train,test}-XXXXX-of-XXXXX.parquet, keeping the split, "
        "every column and the card's attribution. Memory holds one input and one output row group. One "
        "process is the default: two were measured slower on two cores (see the README).",
    )
    add_pile_argument(parser, "--in")
    parser.add_argument(
        "--out", required=True, help="local folder of the merged pile (new, empty, or an earlier merge)"
    )
    parser.add_argument(
        "--config",
        default=None,
        help="config of the input to merge (default: the card's default config, `all` when built)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed of the shuffle (default: {DEFAULT_SEED})")
    parser.add_argument(
        "--shard-bytes",
        type=int,
        default=SHARD_BYTES,
        help=f"input bytes per output shard, about its size (default: {SHARD_BYTES:,})",
    )
    parser.add_argument(
        "--parts", type=int, default=None, help="scatter tasks per split (default: 16 on Ray, else --num-proc)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_executor_arguments(parser, what="scatter and gather tasks")
    parser.set_defaults(func=run)
