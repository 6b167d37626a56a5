"""``neural-pile visualize``: raster grids of random rows of a pile, per config or for every component."""

from __future__ import annotations

import argparse
from pathlib import Path

from builders.cli.common import (
    MAX_RASTERS,
    MAX_SEED,
    MAX_TOP_MOTIFS,
    CommandError,
    add_dataset_arguments,
    check_range,
    default_output_dir,
    one_line_errors,
    ray_job_paths,
)
from builders.pile import open_pile


def plot_motifs(table_dir: str, top: int, out_dir: str | None) -> Path:
    """Redraw the motif table's figure with the ``top`` motifs: the table folder's own
    ``top_motifs.png`` (the same figure the motifs job draws), or that file in ``out_dir``."""
    # imported when the command runs, not for --help (see builders.cli)
    from tokenizer.motif_figure import plot_motif_table
    from tokenizer.motif_table import FIGURE_FILE, read_motif_table

    table = read_motif_table(table_dir)
    folder = Path(out_dir) if out_dir else Path(table_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return plot_motif_table(table, folder / FIGURE_FILE, top=top)


@one_line_errors
def run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from builders.jobs.figures import FIGURES_DIR, component_configs, plot_config, plot_configs

    check_range("--seed", args.seed, 0, MAX_SEED)
    if args.motifs:
        check_range("--top", args.top, 1, MAX_TOP_MOTIFS)
        print(plot_motifs(args.motifs, args.top, args.out_dir))
        return 0
    check_range("--n-examples", args.n_examples, 1, MAX_RASTERS)
    ray_job_paths(args, "dataset", "out_dir")
    splits = args.splits or ["train"]
    pile = open_pile(args.dataset, None if args.all else args.config, splits)
    out_dir = Path(args.out_dir) if args.out_dir else default_output_dir(pile, FIGURES_DIR)
    if not args.all:
        print(plot_config(pile, out_dir, n_examples=args.n_examples, seed=args.seed))
        return 0
    configs = component_configs(pile)
    if not configs:
        raise CommandError(f"--dataset {args.dataset}: no component found")
    piles = [open_pile(args.dataset, config, splits) for config in configs]
    figures = plot_configs(piles, out_dir, n_examples=args.n_examples, seed=args.seed)
    for figure in tqdm(figures, desc="rasters", unit="config", total=len(piles)):
        print(figure)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "visualize",
        help="raster grids of random rows (PNG)",
        description="Draw n random rows (seeded) of a pile's config as a grid of rasters: time in seconds from the "
        "session's start on x (each panel begins at its row's t_start), units on y, grey level = spike count "
        "on one discrete colour scale shared by every panel (clipped at the 99th percentile of the non-zero "
        "counts; the colour bar says where). When the longest row has more than 2000 bins, all rows are "
        "summed over the same blocks of bins for plotting (the colour bar says so; with --all, the same "
        "blocks in every image). Writes raster_<config>_<split>_<n>rows_seed<seed>.png.",
    )
    add_dataset_arguments(parser, splits=["train"])
    parser.add_argument("--all", action="store_true", help="one image per component of the pile")
    parser.add_argument(
        "--motifs",
        metavar="DIR",
        help="instead: redraw the top-motif figure (top_motifs.png) of a "
        "motif table folder written by `neural-pile motifs --out DIR`, "
        "with --top motifs, in DIR or --out-dir",
    )
    parser.add_argument(
        "--top", type=int, default=24, help=f"motifs shown with --motifs, 1 to {MAX_TOP_MOTIFS} (default: 24)"
    )
    parser.add_argument("--n-examples", type=int, default=9, help=f"rows per image, 1 to {MAX_RASTERS} (default: 9)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    parser.add_argument(
        "--out-dir",
        default=None,
        help="folder for the PNG files (default: <dataset>/figures for a local folder, "
        "./figures_<repo> for a remote pile)",
    )
    parser.set_defaults(func=run)
