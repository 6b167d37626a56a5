"""Figures of a built dataset: raster grids of random rows, and the token statistics plot.

Raster grid: ``n_examples`` rows drawn with a seeded generator from a config's shards (uniform
over rows), one panel each: time on x (20 ms bins), units on y, colour = spike count (white = 0,
darker = more spikes; the colour scale tops out at the panel's 99th percentile of non-zero counts,
at least 1, so a few large counts do not wash out the rest). Titles give session, segment and shape.

Rows longer than ``max_bins`` (default 2000) are downsampled for plotting only: consecutive bins
are summed in blocks of ``k = ceil(n_time_bins / max_bins)`` (the last block may be shorter), and
the x axis then counts ``k x 20 ms`` bins, as its label says. Rows are read one row group at a
time through the zero-copy uint8 accessor.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..output.layout import built_components, shard_files
from ..schema import table_spike_counts

#: Widest panel in bins; longer rows are summed over blocks of bins for plotting.
MAX_PLOT_BINS = 2000
#: Default folder for figures, inside the dataset folder.
FIGURES_DIR = "figures"


def _matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def sample_rows(files: list[Path], n_examples: int, seed: int) -> list[tuple[Path, int]]:
    """``n_examples`` distinct (shard, row index) pairs, uniform over all rows, seeded; sorted by position."""
    sizes = np.array([pq.ParquetFile(f).metadata.num_rows for f in files], dtype=np.int64)
    total = int(sizes.sum())
    if total == 0:
        return []
    picks = np.sort(np.random.default_rng(seed).choice(total, size=min(n_examples, total), replace=False))
    ends = np.cumsum(sizes)
    shard = np.searchsorted(ends, picks, side="right")
    return [(files[s], int(p - (ends[s] - sizes[s]))) for s, p in zip(shard, picks)]


def read_row(path: Path, index: int) -> tuple[np.ndarray, dict]:
    """Row ``index`` of a shard: its uint8 counts and its other columns (one row group is read)."""
    shard = pq.ParquetFile(path)
    first = 0
    for group in range(shard.num_row_groups):
        n = shard.metadata.row_group(group).num_rows
        if index < first + n:
            table = shard.read_row_group(group).slice(index - first, 1)
            meta = table.drop_columns(["spike_counts"]).to_pylist()[0]
            return table_spike_counts(table)[0], meta
        first += n
    raise IndexError(f"{path}: no row {index}")


def downsample_time(counts: np.ndarray, max_bins: int = MAX_PLOT_BINS) -> tuple[np.ndarray, int]:
    """Sum consecutive bins in blocks of ``k`` so at most ``max_bins`` remain; returns (array, k)."""
    n_bins = counts.shape[1]
    if n_bins <= max_bins:
        return counts, 1
    k = math.ceil(n_bins / max_bins)
    starts = np.arange(0, n_bins, k)
    return np.add.reduceat(counts.astype(np.int64), starts, axis=1), k


def raster_grid(samples: list[tuple[Path, int]], title: str, path: Path, max_bins: int = MAX_PLOT_BINS) -> Path:
    """Draw one panel per sampled row into a PNG at ``path``."""
    plt = _matplotlib()
    from matplotlib.ticker import MaxNLocator

    n = max(1, len(samples))
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False, constrained_layout=True)
    for ax in axes.flat[len(samples):]:
        ax.axis("off")
    for ax, (shard, index) in zip(axes.flat, samples):
        counts, meta = read_row(shard, index)
        shown, k = downsample_time(counts, max_bins)
        nonzero = shown[shown > 0]
        vmax = max(1.0, float(np.percentile(nonzero, 99))) if nonzero.size else 1.0
        image = ax.imshow(shown, aspect="auto", interpolation="nearest", cmap="Greys", vmin=0, vmax=vmax)
        ax.set_title(f"{meta['source_dataset']} sub-{meta['subject_id']} ses-{meta['session_id']} {meta['segment_id']}\n{counts.shape[0]} units x {counts.shape[1]} bins",
                     fontsize=8)
        ax.set_xlabel("time (20 ms bins)" if k == 1 else f"time ({k} x 20 ms bins, summed)", fontsize=7)
        ax.set_ylabel("unit", fontsize=7)
        ax.tick_params(labelsize=6)
        bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.01)
        bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        bar.ax.tick_params(labelsize=6)
    if not samples:
        axes.flat[0].text(0.5, 0.5, "no rows", ha="center", va="center")
    fig.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def raster_file_name(config: str, split: str, n_examples: int, seed: int) -> str:
    return f"raster_{config}_{split}_{n_examples}rows_seed{seed}.png"


def plot_config(dataset: str | Path, config: str, *, n_examples: int = 9, seed: int = 0, split: str = "train",
                out_dir: str | Path | None = None) -> Path:
    """Raster grid of ``n_examples`` random rows of ``config``; returns the PNG path.

    Default folder: ``<dataset>/figures``.
    """
    dataset = Path(dataset)
    files = shard_files(dataset, config, [split])
    if not files:
        raise FileNotFoundError(f"--dataset {dataset}: config {config!r} has no {split} shards")
    out_dir = Path(out_dir) if out_dir is not None else dataset / FIGURES_DIR
    samples = sample_rows(files, n_examples, seed)
    title = f"{config} ({split}): {len(samples)} random rows, seed {seed}"
    return raster_grid(samples, title, out_dir / raster_file_name(config, split, n_examples, seed))


def plot_all_components(dataset: str | Path, **kwargs) -> list[Path]:
    """One raster grid per built component (see :func:`plot_config` for the arguments)."""
    from tqdm import tqdm

    components = built_components(Path(dataset))
    if not components:
        raise FileNotFoundError(f"--dataset {dataset}: no built component found")
    return [plot_config(dataset, c, **kwargs) for c in tqdm(components, desc="rasters", unit="config")]


def plot_token_stats(stats: dict, path: str | Path) -> Path:
    """Two panels: probability of each count value (log scale) and tokens per component and split."""
    plt = _matplotlib()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), constrained_layout=True)
    probabilities = np.asarray(stats["probabilities"])
    seen = np.flatnonzero(probabilities)
    left.bar(seen, probabilities[seen], width=0.9, color="tab:blue")
    left.set_yscale("log")
    left.set_xlabel("spike count in a 20 ms bin (token value)")
    left.set_ylabel("probability")
    left.set_title(f"{stats['config']}: {stats['tokens']:,} tokens")
    parts = stats["parts"]
    names = list(parts)
    bottom = np.zeros(len(names))
    for split in stats["splits"]:
        heights = np.array([parts[c][split]["tokens"] for c in names], dtype=float)
        right.bar(names, heights, bottom=bottom, label=split)
        bottom += heights
    right.set_ylabel("tokens")
    right.set_title("tokens per component")
    right.tick_params(axis="x", rotation=60, labelsize=8)
    right.legend()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
