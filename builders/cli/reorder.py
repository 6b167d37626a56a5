"""``neural-pile reorder``: a pile -> a local copy with neurons in a standard order per row."""

from __future__ import annotations

import argparse
import sys

from builders.cli.common import (
    add_executor_arguments,
    add_pile_argument,
    executor_from_args,
    one_line_errors,
    ray_job_paths,
)

DEFAULT_OUT = "neural_pile_rodent_reordered"


def conclude(report: dict) -> int:
    """Print the summary; exit 1 when any file failed (its rows are in the JSON report)."""
    # imported when the command runs, not for --help (see builders.cli)
    from builders.jobs.reorder_dataset import REORDER_REPORT, format_reorder_report

    print(format_reorder_report(report))
    if report["failed"]:
        print(
            f"error: {report['failed']} file(s) could not be reordered and were not written; "
            f"see {REORDER_REPORT} in the output folder",
            file=sys.stderr,
        )
        return 1
    return 0


@one_line_errors
def run(args: argparse.Namespace) -> int:
    from builders.jobs.reorder_dataset import reorder_dataset

    ray_job_paths(args, "dataset", "out_dir")
    report = reorder_dataset(
        args.dataset, args.out_dir, executor=executor_from_args(args), progress=not args.no_progress
    )
    return conclude(report)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "reorder",
        help="reorder the neurons of every row (similar activity next to each other)",
        description="Write a local copy of a pile (a folder, a Hub repo or a URL) whose rows list neurons in optimal "
        "leaf order of a Ward tree over their activity profiles (silent neurons last), with a neuron_order "
        "column holding the permutation. Every config and split is kept; reruns skip finished files.",
    )
    add_pile_argument(parser, "--in")
    parser.add_argument(
        "--out",
        dest="out_dir",
        default=DEFAULT_OUT,
        help=f"folder for the reordered pile; rerunning resumes it (default: ./{DEFAULT_OUT})",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_executor_arguments(parser, what="files")
    parser.set_defaults(func=run)
