"""``neural-pile visualize``: raster grids of random rows, per config or for every built component."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .reorder import DEFAULT_IN


def plot_motifs(table_dir: str, top: int, out_dir: str | None) -> Path:
    """Redraw the motif table's figure with the ``top`` motifs: the table folder's own
    ``top_motifs.png`` (the same figure the motifs job draws), or that file in ``out_dir``."""
    from tokenizer.motif_figure import plot_motif_table
    from tokenizer.motif_table import FIGURE_FILE, read_motif_table

    table = read_motif_table(table_dir)
    folder = Path(out_dir) if out_dir else Path(table_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return plot_motif_table(table, folder / FIGURE_FILE, top=top)


def run(args: argparse.Namespace) -> int:
    from ..analysis.figures import plot_all_components, plot_config

    if args.motifs:
        try:
            print(plot_motifs(args.motifs, args.top, args.out_dir))
        except (FileNotFoundError, ValueError) as exc:
            print(f"error: --motifs {args.motifs}: {exc}", file=sys.stderr)
            return 2
        return 0
    if not args.all and not args.config:
        print("error: give --config NAME, --all or --motifs DIR", file=sys.stderr)
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
        description="Draw n random rows (seeded) of a config as a grid of rasters: time in seconds on x (from each "
                    "row's start), units on y, grey level = spike count on one colour scale shared by every panel. "
                    "When the longest row has more than 2000 bins, all rows are summed over the same blocks of bins "
                    "for plotting (the colour bar says so). Writes raster_<config>_<split>_<n>rows_seed<seed>.png.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--config", help="component name or 'all' (rows drawn across all components)")
    which.add_argument("--all", action="store_true", help="one image per built component")
    which.add_argument("--motifs", metavar="DIR", help="instead: redraw the top-motif figure (top_motifs.png) of a "
                                                      "motif table folder written by `neural-pile motifs --out DIR`, "
                                                      "with --top motifs, in DIR or --out-dir")
    parser.add_argument("--top", type=int, default=24, help="motifs shown with --motifs (default: 24)")
    parser.add_argument("--n-examples", type=int, default=9, help="rows per image (default: 9)")
    parser.add_argument("--dataset", default=DEFAULT_IN, help=f"dataset folder (default: ./{DEFAULT_IN})")
    parser.add_argument("--split", default="train", choices=["train", "test"], help="split to sample (default: train)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    parser.add_argument("--out-dir", default=None, help="folder for the PNG files (default: <dataset>/figures)")
    parser.set_defaults(func=run)
