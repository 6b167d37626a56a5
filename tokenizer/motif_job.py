"""The motif-statistics job shared by ``neural-pile motifs`` and ``ray_jobs/motifs.py``.

Both parse the same options (:func:`add_motif_arguments`) and call :func:`run_motif_job`, which
finds the shards, counts with the chosen counter (local streaming or Ray Data), then writes the
motif table, its metadata and the top-motif figure into ``--out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .motif_figure import plot_motif_table
from .motif_table import FIGURE_FILE, MotifTable, claim_table_folder, table_metadata, write_motif_table
from .patches import PAD_POLICIES, check_patch_size


def add_motif_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--patch-size", nargs=2, type=int, required=True, metavar=("P_N", "P_T"), help="patch size: neurons and 20 ms time bins, e.g. 1 10")
    parser.add_argument("--dataset", default="neural_pile_rodent", help="built dataset folder (holds data/<component>/<split>-*.parquet); default: %(default)s")
    parser.add_argument("--config", nargs="+", default=["all"], help="config(s) to count: component names or 'all' (every built component except demo); default: all")
    parser.add_argument("--splits", nargs="+", default=["train"], help="splits to count (default: train only, so a tokenizer never sees test data)")
    parser.add_argument("--pad", choices=PAD_POLICIES, default="drop", help="edge patches that do not fit whole: drop them (default; never inflates the silent motif) or zero-pad them")
    parser.add_argument("--out", required=True, help="output folder: motifs.parquet, metadata.json, top_motifs.png")
    parser.add_argument("--top", type=int, default=24, help="motifs shown in the figure (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def resolve_shards(dataset, configs, splits) -> list[Path]:
    """Every Parquet shard of the configs and splits (deduplicated), or a clear error."""
    from builders.output.layout import shard_files

    folder = Path(dataset)
    if not folder.is_dir():
        raise FileNotFoundError(f"--dataset {dataset}: no such folder (build it with `neural-pile build`)")
    files: list[Path] = []
    for config in configs:
        for path in shard_files(folder, config, tuple(splits)):
            if path not in files:
                files.append(path)
    if not files:
        raise FileNotFoundError(f"--dataset {dataset}: no Parquet shards for config(s) {list(configs)} and split(s) {list(splits)}")
    return files


def run_motif_job(args: argparse.Namespace, count) -> MotifTable:
    """Count motifs with ``count(files, patch_size, pad, progress) -> (motifs, counts, rows)`` and write the outputs."""
    patch_size = check_patch_size(args.patch_size)
    files = resolve_shards(args.dataset, args.config, args.splits)
    out = claim_table_folder(args.out)  # before counting: a refused folder costs no work
    started = time.perf_counter()
    motifs, counts, rows = count(files, patch_size, args.pad, not args.quiet)
    seconds = time.perf_counter() - started
    meta = table_metadata(
        patch_size, args.pad, motifs, counts,
        dataset=Path(args.dataset).name, configs=list(args.config), splits=list(args.splits), rows=int(rows), shards=len(files),
    )
    table = MotifTable(motifs, counts, meta)
    write_motif_table(out, table)
    plot_motif_table(table, out / FIGURE_FILE, top=args.top)
    total = meta["total_patches"]
    print(
        f"{rows} rows, {total:,} patches of {patch_size[0]}x{patch_size[1]}, {len(motifs):,} distinct motifs "
        f"in {seconds:.1f} s -> {out}/"
    )
    if total:
        print(f"most frequent: {motifs[0].tolist()} x {int(counts[0]):,} ({100 * counts[0] / total:.2f}%)")
    return table
