"""``neural-pile stats``: token-value histogram and probabilities, tokens per component and split."""

from __future__ import annotations

import argparse
from pathlib import Path

from builders.cli.common import (
    add_dataset_arguments,
    add_executor_arguments,
    default_output_dir,
    executor_from_args,
    one_line_errors,
    ray_job_paths,
)
from builders.pile import open_pile


@one_line_errors
def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for --help (see builders.cli)
    from builders.jobs.figures import plot_token_stats
    from builders.jobs.stats import dataset_stats, format_stats, save_stats_json

    ray_job_paths(args, "dataset", "out_dir")
    pile = open_pile(args.dataset, args.config, args.splits)
    stats = dataset_stats(pile, executor=executor_from_args(args), progress=not args.no_progress)
    out_dir = Path(args.out_dir) if args.out_dir else default_output_dir(pile, "stats")
    stem = f"token_stats_{stats['config']}_{'+'.join(stats['splits'])}"
    print(format_stats(stats))
    print(save_stats_json(stats, out_dir / f"{stem}.json"))
    print(plot_token_stats(stats, out_dir / f"{stem}.png"))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "stats",
        help="token-value histogram (0..255), probabilities, tokens per component",
        description="Count every token value 0..255 of a pile's config and splits (streamed one row group at a time, "
        "from a local folder, a Hub repo or a URL) and save the counts, probabilities and tokens per "
        "component and split as JSON and a PNG plot.",
    )
    add_dataset_arguments(parser)
    parser.add_argument(
        "--out-dir",
        default=None,
        help="folder for the JSON and PNG (default: <dataset>/stats for a local folder, "
        "./stats_<repo> for a remote pile)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_executor_arguments(parser, what="row groups")
    parser.set_defaults(func=run)
