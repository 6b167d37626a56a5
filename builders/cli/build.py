"""``neural-pile build``: recordings -> Parquet dataset folder + dataset card + build report."""

from __future__ import annotations

import argparse
import os
import sys

from builders.build.report import format_report
from builders.cli.common import CommandError, add_executor_arguments, executor_from_args, one_line_errors, ray_job_paths
from builders.spec.binning import BIN_SIZE, MAX_TOKENS
from builders.spec.registry import get_component, pile_components, registry
from builders.spec.split import TEST_FRACTION
from builders.storage.report import BuildReport

DEFAULT_OUT = "neural_pile_rodent"


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``neural-pile build`` and ``ray_jobs/build.py``."""
    parser.add_argument(
        "components",
        nargs="+",
        metavar="COMPONENT",
        help=f"components to build ('all' = the 25 real ones): {', '.join(registry())}",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="local copy laid out as `dandi download` leaves it: the dandiset folder, or a parent "
        "holding one folder per component (named by archive id or component name). "
        "Without it, recordings are streamed from the archive.",
    )
    parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        help=f"dataset folder to write or extend (default: ./{DEFAULT_OUT}, so "
        f"load_dataset('{DEFAULT_OUT}', ...) works from here)",
    )
    parser.add_argument("--cache-dir", default=None, help="local byte cache for streamed files (optional)")
    parser.add_argument("--dandi-api-url", default=None, help="DANDI API to list from (default: the public archive)")
    parser.add_argument("--figshare-api-url", default=None, help="figshare API to list from (default: the public one)")
    parser.add_argument("--bin-size", type=float, default=BIN_SIZE, help="bin width in seconds (default: 0.02)")
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=MAX_TOKENS,
        help="longest row in tokens (neurons x bins) before a session is cut (default: 10M)",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=TEST_FRACTION,
        help="share of each component's tokens in the test split, by whole sessions or by the "
        "last bins of each session (builders/split.py; default: 0.01)",
    )
    parser.add_argument(
        "--allow-failures", action="store_true", help="exit 0 even if some sessions failed (they are still reported)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def resolve_components(names: list[str]) -> list[str]:
    """Expand ``all``; check every name (an unknown one raises
    :class:`~builders.spec.registry.UnknownComponent` listing the valid names)."""
    out = []
    for name in names:
        out.extend(c.name for c in pile_components()) if name == "all" else out.append(get_component(name).name)
    return list(dict.fromkeys(out))


def options_from_args(args: argparse.Namespace):
    # imported when the command runs, not for --help (see builders.cli)
    from builders.build.pipeline import BuildOptions

    if args.bin_size <= 0:
        raise CommandError(f"--bin-size must be positive, got {args.bin_size}")
    if args.max_tokens <= 0:
        raise CommandError(f"--max-tokens must be positive, got {args.max_tokens}")
    if not 0.0 <= args.test_fraction <= 1.0:
        raise CommandError(f"--test-fraction must be within [0, 1], got {args.test_fraction}")
    # Absolute paths: Ray tasks (and spawned processes) may run from another working directory.
    absolute = lambda path: os.path.abspath(os.path.expanduser(path)) if path else path  # noqa: E731
    return BuildOptions(
        out=absolute(args.out),
        data_dir=absolute(args.data_dir),
        dandi_api_url=args.dandi_api_url,
        figshare_api_url=args.figshare_api_url,
        cache_dir=absolute(args.cache_dir),
        bin_size=args.bin_size,
        max_tokens=args.max_tokens,
        test_fraction=args.test_fraction,
    )


def run_summary(report: BuildReport, records: list[dict]) -> str:
    """One line: what this run did (sessions built, skipped, failed, and already built before)."""
    status = [r["status"] for r in records]
    already = (report.this_run or {}).get("already_done", 0)
    return (
        f"this run: {status.count('done')} session(s) built, {status.count('skipped')} skipped (nothing to "
        f"tokenize), {status.count('failed')} failed, {already} already built before (not redone)"
    )


def conclude(report: BuildReport, components: list[str], allow_failures: bool, records: list[dict] = ()) -> int:
    """Print the report table and decide the exit code (1 when anything failed: a session the
    report lists as failed, or one of this run's ``records`` that failed without leaving its
    failure marker, as when the disk filled up)."""
    from builders.build.pipeline import failures

    print(format_report(report))
    problems = failures(report, components)
    listed = {item["session"] for name in components for item in report.components.get(name, {}).get("failed", [])}
    problems += [
        f"{r['key']}: {r.get('error', 'failed')}" for r in records if r["status"] == "failed" and r["key"] not in listed
    ]
    if problems:
        print(f"\n{len(problems)} problem(s):", *problems, sep="\n  ", file=sys.stderr)
        if not allow_failures:
            print("exit 1 (pass --allow-failures to accept a partial build)", file=sys.stderr)
            return 1
    return 0


def execute(args: argparse.Namespace, executor) -> int:
    """Build what ``args`` asks for on ``executor`` (:mod:`builders.runtime.executor`), print the report,
    return the exit code."""
    from builders.build.pipeline import build

    components = resolve_components(args.components)
    options = options_from_args(args)
    # a full disk or a read-only place stops the build in one line (finished sessions are kept)
    report, records = build(components, options, executor=executor, progress=not args.no_progress)
    print(f"\nwrote {options.out} (dataset card README.md, build_report.json)")
    print(run_summary(report, records))
    return conclude(report, components, args.allow_failures, records)


@one_line_errors
def run(args: argparse.Namespace) -> int:
    ray_job_paths(args, "out", "data_dir", "cache_dir")
    return execute(args, executor_from_args(args))


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "build",
        help="build components into a Parquet dataset folder",
        description="Bin every session of the given components into 20 ms uint8 spike counts and write them as "
        "Parquet shards with a dataset card. Reruns resume: finished sessions are skipped.",
    )
    add_build_arguments(parser)
    add_executor_arguments(parser, what="sessions")
    parser.set_defaults(func=run)
