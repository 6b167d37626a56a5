"""Figures of a built dataset: raster grids of random rows, and the token statistics plot.

Raster grid: ``n_examples`` rows drawn with a seeded generator from an opened pile (uniform
over rows), one panel each: time in seconds on x (from the row's ``t_start``), units on y, grey
level = spike count (white = 0). All panels share one colour scale and one colour bar labelled
with its unit (spikes per 20 ms bin); the scale tops out at the 99th percentile of the non-zero
counts of all panels, at least 1, so a few large counts do not wash out the rest. Each panel's
title gives component, subject, session, segment, its start time and its shape.

When the longest row has more than ``max_bins`` bins (default 2000), every panel is downsampled
for plotting with the same factor ``k = ceil(longest / max_bins)``: consecutive bins are summed
in blocks of ``k`` (a row's last block may be shorter), and the colour bar says "spikes per
k x 20 ms". Reading (:func:`read_panels`) is kept apart from drawing (:func:`raster_figure`,
which takes arrays and their metadata).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..binning import BIN_SIZE
from ..output.layout import STATE_DIR
from ..output.shards import write_png_atomic
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


@dataclass
class RasterPanel:
    """One row to draw: uint8 ``counts`` (n_units, n_bins) and its metadata columns
    (``source_dataset``, ``subject_id``, ``session_id``, ``segment_id``, ``t_start`` in s)."""

    counts: np.ndarray
    meta: dict


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


def read_panels(pile: Pile, samples: list[tuple[RowGroup, int]]) -> list[RasterPanel]:
    """The sampled rows (uint8 counts and the other columns); each row group is read once."""
    panels = []
    tables: dict[tuple[str, int], object] = {}
    for group, index in samples:
        key = (group.path, group.index)
        if key not in tables:
            tables[key] = pile.read(group, pile.schema().names)
        table = tables[key].slice(index, 1)
        panels.append(RasterPanel(table_spike_counts(table)[0], table.drop_columns(["spike_counts"]).to_pylist()[0]))
    return panels


def pile_bin_size(pile: Pile) -> float:
    """Bin width (s) recorded by the build of a local pile (its ``.build/params.json``), else 20 ms."""
    if pile.local_folder is None:
        return BIN_SIZE
    try:
        return float(json.loads((pile.local_folder / STATE_DIR / "params.json").read_text())["bin_size_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return BIN_SIZE


def downsample_time(counts: np.ndarray, max_bins: int = MAX_PLOT_BINS) -> tuple[np.ndarray, int]:
    """Sum consecutive bins in blocks of ``k`` so at most ``max_bins`` remain; returns (array, k)."""
    n_bins = counts.shape[1]
    if n_bins <= max_bins:
        return counts, 1
    k = math.ceil(n_bins / max_bins)
    return sum_blocks(counts, k), k


def sum_blocks(counts: np.ndarray, k: int) -> np.ndarray:
    """Counts summed over consecutive blocks of ``k`` bins (the last block may be shorter)."""
    if k == 1:
        return counts
    return np.add.reduceat(counts.astype(np.int64), np.arange(0, counts.shape[1], k), axis=1)


def duration_label(seconds: float) -> str:
    """``0.02`` -> ``"20 ms"``, ``2.5`` -> ``"2.5 s"``."""
    return f"{seconds * 1000:g} ms" if seconds < 1 else f"{seconds:g} s"


def colour_label(bin_size_s: float, k: int) -> str:
    """What one colour-bar unit is: spikes per bin, or per block of ``k`` bins summed."""
    if k == 1:
        return f"spikes per {duration_label(bin_size_s)} bin"
    return f"spikes per {duration_label(k * bin_size_s)} ({k} bins of {duration_label(bin_size_s)} summed)"


def panel_title(meta: dict, counts: np.ndarray) -> str:
    t_start = float(meta.get("t_start") or 0.0)
    return (
        f"{meta.get('source_dataset', '')} sub-{meta.get('subject_id', '')} ses-{meta.get('session_id', '')} "
        f"{meta.get('segment_id', '')}\nstarts at {t_start:,.2f} s; {counts.shape[0]} units x {counts.shape[1]} bins"
    )


def raster_figure(
    panels: list[RasterPanel], title: str, *, bin_size_s: float = BIN_SIZE, max_bins: int = MAX_PLOT_BINS
):
    """A matplotlib Figure with one raster per panel, one shared colour scale and colour bar.

    Args:
        panels: rows to draw (arrays and metadata; nothing is read here).
        title: the figure's title.
        bin_size_s: width of one bin of the counts, in seconds.
        max_bins: widest panel in (possibly summed) bins; see the module docstring.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    n = max(1, len(panels))
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    longest = max((p.counts.shape[1] for p in panels), default=0)
    k = max(1, math.ceil(longest / max_bins))
    shown = [sum_blocks(p.counts, k) for p in panels]
    nonzero = np.concatenate([s[s > 0].ravel() for s in shown]) if shown else np.zeros(0)
    vmax = max(1.0, float(np.percentile(nonzero, 99))) if nonzero.size else 1.0
    fig = Figure(figsize=(4.2 * cols + 0.8, 3.4 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    image = None
    for ax, panel, blocks in zip(axes.flat, panels, shown):
        t_start = float(panel.meta.get("t_start") or 0.0)
        n_units = panel.counts.shape[0]
        extent = (t_start, t_start + blocks.shape[1] * k * bin_size_s, n_units - 0.5, -0.5)
        image = ax.imshow(
            blocks, aspect="auto", interpolation="nearest", cmap="Greys", vmin=0, vmax=vmax, extent=extent
        )
        ax.set_title(panel_title(panel.meta, panel.counts), fontsize=8)
        ax.set_xlabel("time (s)", fontsize=7)
        ax.set_ylabel("unit", fontsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=6)
    if image is not None:
        clipped = vmax < max(int(s.max()) for s in shown)  # the arrow: larger counts drawn as the darkest grey
        bar = fig.colorbar(
            image, ax=axes.ravel().tolist(), shrink=0.8, pad=0.01, extend="max" if clipped else "neither"
        )
        bar.set_label(colour_label(bin_size_s, k), fontsize=8)
        bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        bar.ax.tick_params(labelsize=6)
    else:
        axes.flat[0].text(0.5, 0.5, "no rows", ha="center", va="center")
    fig.suptitle(title, fontsize=10)
    return fig


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Write a Figure as PNG (folder created)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    return write_png_atomic(fig, path, dpi)


def raster_grid(
    panels: list[RasterPanel], title: str, path: Path, *, bin_size_s: float = BIN_SIZE, max_bins: int = MAX_PLOT_BINS
) -> Path:
    """Draw one raster per panel into a PNG at ``path``."""
    return save_figure(raster_figure(panels, title, bin_size_s=bin_size_s, max_bins=max_bins), path)


def raster_file_name(config: str, split: str, n_examples: int, seed: int) -> str:
    return f"raster_{config}_{split}_{n_examples}rows_seed{seed}.png"


def plot_config(pile: Pile, out_dir: str | Path, *, n_examples: int = 9, seed: int = 0) -> Path:
    """Raster grid of ``n_examples`` random rows of an opened pile (one config and its splits); returns the PNG path."""
    config, split = pile.source["config"], "+".join(pile.source["splits"])
    samples = sample_rows(pile, n_examples, seed)
    if not samples:
        raise ValueError(f"{pile.describe()}: no rows to draw")
    title = f"{config} ({split}): {len(samples)} random rows, seed {seed}"
    return raster_grid(
        read_panels(pile, samples),
        title,
        Path(out_dir) / raster_file_name(config, split, len(samples), seed),  # the rows it holds
        bin_size_s=pile_bin_size(pile),
    )


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
    try:
        return write_png_atomic(fig, path, 110)
    finally:
        plt.close(fig)
