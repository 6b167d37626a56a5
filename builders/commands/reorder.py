"""``neural-pile reorder``: a dataset folder -> a copy with neurons in a standard order per row."""

from __future__ import annotations

import argparse
import sys

DEFAULT_IN = "neural_pile_rodent"
DEFAULT_OUT = "neural_pile_rodent_reordered"


def add_reorder_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``neural-pile reorder`` and ``ray_jobs/reorder.py``."""
    parser.add_argument("--in", dest="in_dir", default=DEFAULT_IN,
                        help=f"built dataset folder to read (default: ./{DEFAULT_IN})")
    parser.add_argument("--out", dest="out_dir", default=DEFAULT_OUT,
                        help=f"folder for the reordered dataset; rerunning resumes it (default: ./{DEFAULT_OUT})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def conclude(report: dict) -> int:
    """Print the summary; exit 1 when any shard failed (its rows are in the JSON report)."""
    from ..analysis.reorder_dataset import REORDER_REPORT, format_reorder_report

    print(format_reorder_report(report))
    if report["failed"]:
        print(f"error: {report['failed']} shard(s) could not be reordered and were not written; "
              f"see {REORDER_REPORT} in the output folder", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    from ..analysis.reorder_dataset import reorder_dataset

    try:
        report = reorder_dataset(args.in_dir, args.out_dir, progress=not args.no_progress)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return conclude(report)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "reorder", help="reorder the neurons of every row (similar activity next to each other)",
        description="Write a copy of a dataset folder whose rows list neurons in optimal leaf order of a Ward tree "
                    "over their activity profiles (silent neurons last), with a neuron_order column holding the "
                    "permutation. Every config and split is kept; reruns skip finished shards. Runs in this "
                    "process; for a Ray cluster use ray_jobs/reorder.py.",
    )
    add_reorder_arguments(parser)
    parser.set_defaults(func=run)
