"""``neural-pile visualize``: raster grids of random rows, per config or for every built component."""

from __future__ import annotations

import argparse
import sys

from .reorder import DEFAULT_IN


def run(args: argparse.Namespace) -> int:
    from ..analysis.figures import plot_all_components, plot_config

    if not args.all and not args.config:
        print("error: give --config NAME or --all", file=sys.stderr)
        return 2
    options = dict(n_examples=args.n_examples, seed=args.seed, split=args.split, out_dir=args.out_dir)
    try:
        paths = plot_all_components(args.dataset, **options) if args.all else [plot_config(args.dataset, args.config, **options)]
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "visualize", help="raster grids of random rows (PNG)",
        description="Draw n random rows (seeded) of a config as a grid of rasters: time in 20 ms bins on x, units on y, "
                    "grey level = spike count. Rows longer than 2000 bins are summed over blocks of bins for plotting. "
                    "Writes raster_<config>_<split>_<n>rows_seed<seed>.png.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--config", help="component name or 'all' (rows drawn across all components)")
    which.add_argument("--all", action="store_true", help="one image per built component")
    parser.add_argument("--n-examples", type=int, default=9, help="rows per image (default: 9)")
    parser.add_argument("--dataset", default=DEFAULT_IN, help=f"dataset folder (default: ./{DEFAULT_IN})")
    parser.add_argument("--split", default="train", choices=["train", "test"], help="split to sample (default: train)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    parser.add_argument("--out-dir", default=None, help="folder for the PNG files (default: <dataset>/figures)")
    parser.set_defaults(func=run)
