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

from ..pile import Pile, RowGroup
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


def sample_rows(pile: Pile, n_examples: int, seed: int) -> list[tuple[RowGroup, int]]:
    """``n_examples`` distinct (row group, row index) pairs, uniform over the pile's rows, seeded, in pile order.

    Row counts come from the footers; on a pile selected by ``source_dataset`` the (small)
    ``source_dataset`` column of each row group is read to count its selected rows exactly.
    """
    groups = pile.row_groups()
    if pile.source_filter is None:
        sizes = np.array([g.num_rows for g in groups], dtype=np.int64)
    else:
        sizes = np.array([pile.read(g, ["source_dataset"]).num_rows for g in groups], dtype=np.int64)
    total = int(sizes.sum())
    if total == 0:
        return []
    picks = np.sort(np.random.default_rng(seed).choice(total, size=min(n_examples, total), replace=False))
    ends = np.cumsum(sizes)
    group = np.searchsorted(ends, picks, side="right")
    return [(groups[g], int(p - (ends[g] - sizes[g]))) for g, p in zip(group, picks)]


def read_rows(pile: Pile, samples: list[tuple[RowGroup, int]]) -> list[tuple[np.ndarray, dict]]:
    """The sampled rows: uint8 counts and the other columns; each row group is read once."""
    rows = []
    tables: dict[tuple[str, int], object] = {}
    for group, index in samples:
        key = (group.path, group.index)
        if key not in tables:
            tables[key] = pile.read(group, pile.schema().names)
        table = tables[key].slice(index, 1)
        meta = table.drop_columns(["spike_counts"]).to_pylist()[0]
        rows.append((table_spike_counts(table)[0], meta))
    return rows


def downsample_time(counts: np.ndarray, max_bins: int = MAX_PLOT_BINS) -> tuple[np.ndarray, int]:
    """Sum consecutive bins in blocks of ``k`` so at most ``max_bins`` remain; returns (array, k)."""
    n_bins = counts.shape[1]
    if n_bins <= max_bins:
        return counts, 1
    k = math.ceil(n_bins / max_bins)
    starts = np.arange(0, n_bins, k)
    return np.add.reduceat(counts.astype(np.int64), starts, axis=1), k


def raster_grid(samples: list[tuple[np.ndarray, dict]], title: str, path: Path, max_bins: int = MAX_PLOT_BINS) -> Path:
    """Draw one panel per row (uint8 counts, other columns) into a PNG at ``path``."""
    plt = _matplotlib()
    from matplotlib.ticker import MaxNLocator

    n = max(1, len(samples))
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False, constrained_layout=True)
    for ax in axes.flat[len(samples):]:
        ax.axis("off")
    for ax, (counts, meta) in zip(axes.flat, samples):
        shown, k = downsample_time(counts, max_bins)
        nonzero = shown[shown > 0]
        vmax = max(1.0, float(np.percentile(nonzero, 99))) if nonzero.size else 1.0
        image = ax.imshow(shown, aspect="auto", interpolation="nearest", cmap="Greys", vmin=0, vmax=vmax)
        ax.set_title(f"{meta.get('source_dataset', '')} sub-{meta.get('subject_id')} ses-{meta.get('session_id')} {meta.get('segment_id')}\n{counts.shape[0]} units x {counts.shape[1]} bins",
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


def plot_config(pile: Pile, out_dir: str | Path, *, n_examples: int = 9, seed: int = 0) -> Path:
    """Raster grid of ``n_examples`` random rows of an opened pile (one config, one split); returns the PNG path."""
    config, split = pile.source["config"], "+".join(pile.source["splits"])
    samples = sample_rows(pile, n_examples, seed)
    if not samples:
        raise ValueError(f"{pile.describe()}: no rows to draw")
    title = f"{config} ({split}): {len(samples)} random rows, seed {seed}"
    return raster_grid(read_rows(pile, samples), title, Path(out_dir) / raster_file_name(config, split, n_examples, seed))


def component_configs(pile: Pile) -> list[str]:
    """One config per component: the card's configs other than ``all``, or on a single-config pile
    the ``source_dataset`` values its rows hold."""
    named = [c for c in pile.configs if c not in ("all", "default")]
    return named or pile.source_values()


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
