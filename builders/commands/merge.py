"""``neural-pile merge``: every component's rows shuffled together into the reference layout."""

from __future__ import annotations

import argparse
import sys

from ..output.merge import DEFAULT_SEED, SHARD_BYTES


def add_merge_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``neural-pile merge`` and ``ray_jobs/merge.py``."""
    parser.add_argument("--in", dest="dataset", default="neural_pile_rodent",
                        help="the pile to merge: a folder written by neural-pile build (default: ./neural_pile_rodent)")
    parser.add_argument("--out", required=True, help="folder of the merged pile (new, empty, or an earlier merge)")
    parser.add_argument("--config", default=None,
                        help="config of the input to merge (default: the one load_dataset reads, `all` when built)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed of the shuffle (default: {DEFAULT_SEED})")
    parser.add_argument("--shard-bytes", type=int, default=SHARD_BYTES,
                        help=f"target size of an output shard in bytes (default: {SHARD_BYTES:,})")


def report(summary: dict, out: str) -> None:
    for split, shards in summary.items():
        if shards:
            print(f"{split}: {sum(s['rows'] for s in shards):,} rows in {len(shards)} shard(s), "
                  f"{sum(s['bytes'] for s in shards):,} bytes")
    print(f"wrote {out} (dataset card README.md, data/<split>-XXXXX-of-XXXXX.parquet)")


def run(args: argparse.Namespace) -> int:
    from ..output.merge import MergeError, merge_pile

    try:
        summary = merge_pile(args.dataset, args.out, config=args.config, seed=args.seed, shard_bytes=args.shard_bytes)
    except MergeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report(summary, args.out)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "merge", help="shuffle every component's rows together into one default config (reference layout)",
        description="Write the pile as one `default` config whose rows of all components are shuffled with a "
                    "recorded seed into ~1 GB shards data/{train,test}-XXXXX-of-XXXXX.parquet, keeping the split, "
                    "every column and the card's attribution. Memory stays at about two shards.",
    )
    add_merge_arguments(parser)
    parser.set_defaults(func=run)
