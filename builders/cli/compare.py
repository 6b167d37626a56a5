"""``neural-pile compare``: rows, sessions, neurons and tokens per component of a build against a
published pile (and the published figures of the registry); exit 1 beyond the tolerance."""

from __future__ import annotations

import argparse
from pathlib import Path

from builders.cli.common import (
    DEFAULT_DATASET,
    CommandError,
    add_executor_arguments,
    executor_from_args,
    one_line_errors,
    ray_job_paths,
)
from builders.jobs.compare import SESSION_TOLERANCE, TOLERANCE, compare_counts, count_pile, format_comparison
from builders.pile import PileError
from builders.spec.registry import registry
from builders.storage.atomic import write_json_atomic

#: Exit code when a component differs beyond the tolerance.
DIFFERENT = 1


def _count(flag: str, dataset: str, args: argparse.Namespace, executor):
    """Count one side; a pile error names the option of that side (``--ours`` or ``--reference``)."""
    try:
        return count_pile(dataset, count_tokens=args.count_tokens, executor=executor, progress=not args.no_progress)
    except PileError as exc:
        if exc.argument != "dataset":
            raise
        raise PileError(exc.naming(flag)) from None


@one_line_errors
def run(args: argparse.Namespace) -> int:
    # --ours/--reference take Hub repo ids too; a relative folder missing in a Ray job's working
    # directory fails when it is opened, naming the option
    ray_job_paths(args, "json")
    if args.tolerance < 0:
        raise CommandError(f"--tolerance must be >= 0, got {args.tolerance}")
    if args.session_tolerance < 0:
        raise CommandError(f"--session-tolerance must be >= 0, got {args.session_tolerance}")
    if args.json and Path(args.json).is_dir():
        raise CommandError(f"--json {args.json}: is a folder; give a file name")
    executor = executor_from_args(args)
    ours = _count("--ours", args.ours, args, executor)
    reference = _count("--reference", args.reference, args, executor) if args.reference else None
    if args.components:
        known = set(ours.components) | set(reference.components if reference else ())

        unknown = [c for c in args.components if c not in known and c not in registry()]
        if unknown:
            raise CommandError(
                f"--components {' '.join(unknown)}: on neither pile and not a component of the registry; "
                f"the piles hold: {', '.join(sorted(known)) or 'nothing'}"
            )
    report = compare_counts(
        ours,
        reference,
        components=args.components,
        tolerance=args.tolerance,
        session_tolerance=args.session_tolerance,
    )
    print(format_comparison(report))
    if args.json:
        write_json_atomic(args.json, report)
        print(args.json)
    return 0 if report["ok"] else DIFFERENT


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="rows, sessions, neurons and tokens per component of a build against a published pile",
        description="Count rows, sessions, neurons and tokens per component of two piles (each a local folder, a "
        "Hub repo or a URL, in this package's layout or the reference project's single 'default' config) and "
        "print both, their difference and the registry's published sessions and tokens. Only Parquet footers "
        "and the label columns are read: tokens come from n_neurons x n_time_bins, or, on a pile without those "
        "columns, from the footer for row groups that hold one component; neurons and the other tokens are "
        "'not counted' unless --count-tokens is given. Exit 0 when every component is within the tolerance, "
        "1 when one differs beyond it, 2 on bad input. Without --reference the build is checked against the "
        "published figures (sessions and tokens) instead.",
    )
    parser.add_argument(
        "--ours",
        default=DEFAULT_DATASET,
        help=f"the build to check: folder, Hub repo (namespace/name[@revision]) or URL (default: ./{DEFAULT_DATASET})",
    )
    parser.add_argument(
        "--reference",
        default=None,
        help="the published pile to check against, e.g. user/neural-pile-rodent[@revision] "
        "(default: none, check against the registry's published figures only)",
    )
    parser.add_argument(
        "--components",
        nargs="+",
        default=None,
        help="components to compare (default: every component of --ours; components only the reference holds "
        "are listed, not compared)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=TOLERANCE,
        help=f"largest allowed relative difference of rows, neurons and tokens (default: {TOLERANCE:g}, i.e. 0.1%%)",
    )
    parser.add_argument(
        "--session-tolerance",
        type=int,
        default=SESSION_TOLERANCE,
        help=f"largest allowed difference in sessions (default: {SESSION_TOLERANCE}); against the published "
        "figures the registry's own tolerance of a hand-pruned component applies if larger",
    )
    parser.add_argument(
        "--count-tokens",
        action="store_true",
        help="on a pile without n_neurons/n_time_bins columns (the reference layout), read spike_counts of every "
        "row group to count neurons and tokens: this downloads and decodes all of that pile's spike data "
        "(about one byte per token before compression), one row group's column chunk and 8 rows in memory at a time",
    )
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the table to FILE as JSON (atomic)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_executor_arguments(parser, what="row groups")
    parser.set_defaults(func=run)
