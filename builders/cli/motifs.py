"""``neural-pile motifs``: exact motif statistics of a pile, with any executor."""

from __future__ import annotations

import argparse
import time

from builders.cli.common import (
    MAX_TOP_MOTIFS,
    add_dataset_arguments,
    add_executor_arguments,
    check_range,
    executor_from_args,
    one_line_errors,
    ray_job_paths,
)
from builders.pile import open_pile
from tokenizer.patches import PAD_POLICIES, check_patch_size


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "motifs",
        help="count every distinct p_n x p_t motif (train split by default) and plot the top ones",
        description=(
            "Count every distinct p_n x p_t spike-count motif over the chosen configs and splits "
            "(train only by default) of a pile (a local folder, a Hub repo or a URL), then write "
            "motifs.parquet (motif, count, probability; most frequent first), metadata.json (with the "
            "exact source) and top_motifs.png into --out. Row groups are streamed, never cached."
        ),
    )
    parser.add_argument(
        "--patch-size",
        nargs=2,
        type=int,
        required=True,
        metavar=("P_N", "P_T"),
        help="patch size: neurons and 20 ms time bins, e.g. 1 10",
    )
    add_dataset_arguments(parser, splits=["train"], many_configs=True)
    parser.add_argument(
        "--pad",
        choices=PAD_POLICIES,
        default="drop",
        help="edge patches that do not fit whole: drop them (default; never inflates the silent "
        "motif) or zero-pad them",
    )
    parser.add_argument("--out", required=True, help="output folder: motifs.parquet, metadata.json, top_motifs.png")
    parser.add_argument(
        "--top", type=int, default=24, help=f"motifs shown in the figure, 1 to {MAX_TOP_MOTIFS} (default: %(default)s)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_executor_arguments(parser, what="files")
    parser.set_defaults(func=run)


@one_line_errors
def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for --help (see builders.cli)
    from tokenizer.motif_job import motif_table_job

    ray_job_paths(args, "dataset", "out")
    patch_size = check_patch_size(args.patch_size)
    check_range("--top", args.top, 1, MAX_TOP_MOTIFS)
    configs = args.config or [None]
    piles = [open_pile(args.dataset, config, args.splits) for config in configs]
    started = time.perf_counter()
    table = motif_table_job(
        piles, patch_size, args.pad, args.out, top=args.top, executor=executor_from_args(args), progress=not args.quiet
    )
    meta = table.metadata
    total = meta["total_patches"]
    print(
        f"{meta['rows']} rows, {total:,} patches of {patch_size[0]}x{patch_size[1]}, "
        f"{meta['unique_motifs']:,} distinct motifs in {time.perf_counter() - started:.1f} s -> {args.out}/"
    )
    if total:
        print(
            f"most frequent: {table.motifs[0].tolist()} x {int(table.counts[0]):,} "
            f"({100 * table.counts[0] / total:.2f}%)"
        )
    return 0
