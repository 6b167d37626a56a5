"""``neural-pile stats``: token-value histogram and probabilities, tokens per component and split."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .reorder import DEFAULT_IN


def run(args: argparse.Namespace) -> int:
    from ..analysis.figures import plot_token_stats
    from ..analysis.stats import dataset_stats, format_stats, save_stats_json

    try:
        stats = dataset_stats(args.dataset, args.config, tuple(args.splits), progress=not args.no_progress)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.out_dir) if args.out_dir else Path(args.dataset) / "stats"
    stem = f"token_stats_{args.config}_{'+'.join(args.splits)}"
    print(format_stats(stats))
    print(save_stats_json(stats, out_dir / f"{stem}.json"))
    print(plot_token_stats(stats, out_dir / f"{stem}.png"))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "stats", help="token-value histogram (0..255), probabilities, tokens per component",
        description="Count every token value 0..255 of a config's shards (streamed one row group at a time) and "
                    "save the counts, probabilities and tokens per component and split as JSON and a PNG plot.",
    )
    parser.add_argument("--dataset", default=DEFAULT_IN, help=f"dataset folder (default: ./{DEFAULT_IN})")
    parser.add_argument("--config", default="all", help="component name or 'all' (default: all)")
    parser.add_argument("--splits", nargs="+", default=["train", "test"], choices=["train", "test"],
                        help="splits to count (default: train test)")
    parser.add_argument("--out-dir", default=None, help="folder for the JSON and PNG (default: <dataset>/stats)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)
