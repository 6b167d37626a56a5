"""Figures of a built dataset: raster grids of random rows, and the token statistics plot.

Raster grid: ``n_examples`` rows drawn with a seeded generator from an opened pile (uniform
over rows), one panel each: time in seconds on x, counted from the session's bin origin (the
row's ``t_start`` is where its panel begins, so the segments of one session line up), units on
y with integer ticks, grey level = spike count (white = 0). All panels share one discrete colour
scale, one level per integer count, with its unit on the colour bar (spikes per 20 ms bin); the
scale tops out at the 99th percentile of the non-zero counts of all panels, at least 1, so a few
large counts do not wash out the rest: larger counts are drawn as the darkest level, and the
colour bar says where it clips and what the largest count is. Each panel's title gives
component, subject, session, segment, its start time and its shape; a row whose neurons were
reordered (a ``neuron_order`` column, :mod:`builders.jobs.reorder_dataset`) says so.

When the longest row has more than ``max_bins`` bins (default 2000), every panel is summed for
plotting over the same blocks of ``k = ceil(longest / max_bins)`` bins (a row's last block may be
shorter), and the colour bar says "spikes per k x 20 ms". :func:`plot_configs` draws one figure
per config with one ``k`` for all of them, so the figures of one command compare. Reading
(:func:`read_panels`) is kept apart from drawing (:func:`raster_figure`, which takes arrays and
their metadata).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builders.pile import Pile, PileError, RowGroup
from builders.spec.binning import BIN_SIZE
from builders.spec.counts import table_spike_counts
from builders.storage.atomic import write_png_atomic
from builders.storage.marker import BuildParameters

#: Widest panel in bins; longer rows are summed over blocks of bins for plotting.
MAX_PLOT_BINS = 2000
#: Default folder for figures, inside the dataset folder.
FIGURES_DIR = "figures"


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
        parameters = BuildParameters.read(pile.local_folder)
    except (OSError, ValueError):
        return BIN_SIZE
    return BIN_SIZE if parameters is None else float(parameters.bin_size_s)


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
    reordered = "; neurons reordered" if is_reordered(meta) else ""
    return (
        f"{meta.get('source_dataset', '')} sub-{meta.get('subject_id', '')} ses-{meta.get('session_id', '')} "
        f"{meta.get('segment_id', '')}\nstarts at {t_start:,.2f} s; {counts.shape[0]} units x {counts.shape[1]} bins"
        f"{reordered}"
    )


def is_reordered(meta: dict) -> bool:
    """Whether a row's neurons are in a reordered order (it carries ``neuron_order``)."""
    return meta.get("neuron_order") is not None


@dataclass
class CountScale:
    """A discrete colour scale for integer counts: levels ``0..top`` (``top`` >= 1); ``largest`` is
    the largest count drawn, so ``largest > top`` means the scale clips."""

    top: int
    largest: int

    @classmethod
    def of(cls, arrays: list[np.ndarray], percentile: float = 99.0) -> CountScale:
        """The scale topping out at ``percentile`` of the non-zero counts of ``arrays`` (at least 1)."""
        nonzero = [a[a > 0].ravel() for a in arrays]
        nonzero = np.concatenate(nonzero) if nonzero else np.zeros(0)
        top = max(1, math.ceil(float(np.percentile(nonzero, percentile)))) if nonzero.size else 1
        largest = max((int(a.max()) for a in arrays if a.size), default=0)
        return cls(top, largest)

    @property
    def clipped(self) -> bool:
        return self.largest > self.top

    def cmap_norm(self, name: str = "Greys"):
        """``(cmap, norm)`` with one colour per integer ``0..top``; counts above ``top`` get the last."""
        from matplotlib import colormaps
        from matplotlib.colors import BoundaryNorm, ListedColormap

        levels = colormaps[name](np.linspace(0.0, 1.0, self.top + 1))
        cmap = ListedColormap(levels).with_extremes(over=levels[-1])
        return cmap, BoundaryNorm(np.arange(-0.5, self.top + 1.0), cmap.N)  # above top: the "over" colour

    def colorbar(self, fig, image, ax, label: str):
        """A colour bar with integer ticks at the level centres; says where and how far the scale clips."""
        from matplotlib.ticker import MaxNLocator

        if self.clipped:
            above = f"{self.top + 1}" if self.largest == self.top + 1 else f"{self.top + 1}-{self.largest}"
            label = (
                f"{label}\nclipped at {self.top} (99th percentile of the non-zero values): {above} drawn as {self.top}"
            )
        bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.01, extend="max" if self.clipped else "neither")
        bar.set_ticks([t for t in MaxNLocator(nbins=8, integer=True).tick_values(0, self.top) if 0 <= t <= self.top])
        bar.minorticks_off()
        bar.set_label(label, fontsize=8)
        bar.ax.tick_params(labelsize=6)
        return bar


#: tab10 colours for single token ids (its grey, 7, is left out: grey means "other ids").
ID_COLOURS = (0, 1, 2, 3, 4, 5, 6, 8, 9)


@dataclass
class IdCategories:
    """Token ids drawn as categories, not magnitudes: the ``top`` most frequent ids of a grid get a
    colour each (most frequent first), every other id one grey "other" colour.

    ``codes`` is the grid as category numbers (0..len(labels)-1); ``labels`` name each category
    with its id, an optional name and its share of the grid; the first ``shown`` are single ids.
    """

    codes: np.ndarray
    labels: list[str]
    shown: int

    @classmethod
    def of(cls, grid: np.ndarray, top: int = len(ID_COLOURS), names: dict[int, str] | None = None) -> IdCategories:
        if not 1 <= top <= len(ID_COLOURS):
            raise ValueError(f"top must be 1..{len(ID_COLOURS)} (one distinct colour each), got {top}")
        names = names or {}
        values, counts = np.unique(grid, return_counts=True)
        order = np.lexsort((values, -counts))  # most frequent first, ties by id
        shown = values[order[:top]]
        codes = np.full(grid.shape, len(shown), dtype=np.int64)
        for code, value in enumerate(shown):
            codes[grid == value] = code
        total = max(1, grid.size)
        labels = []
        for value in shown:
            name = f" {names[int(value)]}" if int(value) in names else ""
            labels.append(f"id {int(value)}{name}: {np.count_nonzero(grid == value) / total:.1%}")
        rest = len(values) - len(shown)
        if rest:
            labels.append(f"{rest} other ids: {np.count_nonzero(codes == len(shown)) / total:.1%}")
        return cls(codes, labels, len(shown))

    def cmap_norm(self):
        """``(cmap, norm)``: one qualitative colour per shown id, light grey for the other ids."""
        from matplotlib import colormaps
        from matplotlib.colors import BoundaryNorm, ListedColormap

        colours = [colormaps["tab10"](i) for i in ID_COLOURS[: self.shown]]
        colours += [(0.85, 0.85, 0.85, 1.0)] * (len(self.labels) - self.shown)
        cmap = ListedColormap(colours or [(1, 1, 1, 1)])
        return cmap, BoundaryNorm(np.arange(-0.5, cmap.N), cmap.N)

    def colorbar(self, fig, image, ax, label: str):
        bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.01)
        bar.set_ticks(np.arange(len(self.labels)), labels=self.labels)
        bar.minorticks_off()
        bar.set_label(label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
        return bar


def integer_ticks(axis) -> None:
    """Ticks of ``axis`` (an x or y axis of a matplotlib Axes) at whole numbers only."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def block_for(lengths: list[int], max_bins: int = MAX_PLOT_BINS) -> int:
    """The bins summed per plotted column so the longest of ``lengths`` fits ``max_bins``."""
    return max(1, math.ceil(max(lengths, default=0) / max_bins))


def raster_figure(
    panels: list[RasterPanel],
    title: str,
    *,
    bin_size_s: float = BIN_SIZE,
    max_bins: int = MAX_PLOT_BINS,
    block: int | None = None,
):
    """A matplotlib Figure with one raster per panel, one shared colour scale and colour bar.

    Args:
        panels: rows to draw (arrays and metadata; nothing is read here).
        title: the figure's title.
        bin_size_s: width of one bin of the counts, in seconds.
        max_bins: widest panel in (possibly summed) bins; see the module docstring.
        block: bins summed per plotted column (default: what fits the longest panel in ``max_bins``);
            pass one value to several figures to draw them alike.
    """
    from matplotlib.figure import Figure

    n = max(1, len(panels))
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    k = block or block_for([p.counts.shape[1] for p in panels], max_bins)
    shown = [sum_blocks(p.counts, k) for p in panels]
    scale = CountScale.of(shown)
    cmap, norm = scale.cmap_norm()
    fig = Figure(figsize=(4.2 * cols + 0.8, 3.4 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    image = None
    for ax, panel, blocks in zip(axes.flat, panels, shown):
        t_start = float(panel.meta.get("t_start") or 0.0)
        n_units = panel.counts.shape[0]
        extent = (t_start, t_start + blocks.shape[1] * k * bin_size_s, n_units - 0.5, -0.5)
        image = ax.imshow(blocks, aspect="auto", interpolation="nearest", cmap=cmap, norm=norm, extent=extent)
        ax.set_title(panel_title(panel.meta, panel.counts), fontsize=8)
        ax.set_xlabel("time from the session's start (s)", fontsize=7)
        ax.set_ylabel("unit (reordered)" if is_reordered(panel.meta) else "unit", fontsize=7)
        integer_ticks(ax.yaxis)
        ax.tick_params(labelsize=6)
    if image is not None:
        scale.colorbar(fig, image, axes.ravel().tolist(), colour_label(bin_size_s, k))
    else:
        axes.flat[0].text(0.5, 0.5, "no rows", ha="center", va="center")
    fig.suptitle(title, fontsize=10)
    return fig


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Write a Figure as PNG, atomically (folder created)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    return write_png_atomic(fig, path, dpi)


def raster_grid(
    panels: list[RasterPanel],
    title: str,
    path: Path,
    *,
    bin_size_s: float = BIN_SIZE,
    max_bins: int = MAX_PLOT_BINS,
    block: int | None = None,
) -> Path:
    """Draw one raster per panel into a PNG at ``path``."""
    return save_figure(raster_figure(panels, title, bin_size_s=bin_size_s, max_bins=max_bins, block=block), path)


def raster_file_name(config: str, split: str, n_examples: int, seed: int) -> str:
    return f"raster_{config}_{split}_{n_examples}rows_seed{seed}.png"


def row_lengths(pile: Pile, samples: list[tuple[RowGroup, int]]) -> list[int]:
    """Time bins of the sampled rows: the ``n_time_bins`` column where the pile has it (this package's
    layout), else the rows' ``spike_counts`` (the reference layout)."""
    column = "n_time_bins" if "n_time_bins" in pile.schema().names else "spike_counts"
    tables: dict[tuple[str, int], object] = {}
    lengths = []
    for group, index in samples:
        key = (group.path, group.index)
        if key not in tables:
            tables[key] = pile.read(group, [column])
        row = tables[key].slice(index, 1)
        lengths.append(
            int(row.column(0)[0].as_py()) if column == "n_time_bins" else table_spike_counts(row)[0].shape[1]
        )
    return lengths


def plot_config(
    pile: Pile,
    out_dir: str | Path,
    *,
    n_examples: int = 9,
    seed: int = 0,
    block: int | None = None,
    max_bins: int = MAX_PLOT_BINS,
) -> Path:
    """Raster grid of ``n_examples`` random rows of an opened pile (one config and its splits); returns the PNG path.

    ``block``: bins summed per plotted column (default: what fits this figure's longest row in ``max_bins``).
    """
    config, split = pile.source.config, "+".join(pile.source.splits)
    samples = sample_rows(pile, n_examples, seed)
    if not samples:
        raise PileError(f"{pile.describe()}: no rows to draw")
    reordered = " (neurons reordered)" if "neuron_order" in pile.schema().names else ""
    title = f"{config} ({split}){reordered}: {len(samples)} random rows, seed {seed}"
    return raster_grid(
        read_panels(pile, samples),
        title,
        Path(out_dir) / raster_file_name(config, split, len(samples), seed),  # the rows it holds
        bin_size_s=pile_bin_size(pile),
        max_bins=max_bins,
        block=block,
    )


def plot_configs(
    piles: list[Pile], out_dir: str | Path, *, n_examples: int = 9, seed: int = 0, max_bins: int = MAX_PLOT_BINS
):
    """One raster grid per opened pile (e.g. per component), all summed over the same blocks of bins
    (what fits the longest sampled row of any of them in ``max_bins``); yields each PNG path as it
    is written. The sampled rows' lengths are read first (a small column of this package's layout)."""
    lengths = [n for pile in piles for n in row_lengths(pile, sample_rows(pile, n_examples, seed))]
    block = block_for(lengths, max_bins)
    for pile in piles:
        yield plot_config(pile, out_dir, n_examples=n_examples, seed=seed, block=block, max_bins=max_bins)


def component_configs(pile: Pile) -> list[str]:
    """One config per component: the card's configs other than ``all``, or on a single-config pile
    the ``source_dataset`` values its rows hold."""
    named = [c for c in pile.configs if c not in ("all", "default")]
    return named or pile.source_values()


def test_shares(stats: dict) -> dict[str, float] | None:
    """Share of each component's counted tokens that are in ``test`` (``None`` when test was not counted)."""
    if "test" not in stats["splits"]:
        return None
    shares = {}
    for component, by_split in stats["parts"].items():
        total = sum(part["tokens"] for part in by_split.values())
        shares[component] = by_split["test"]["tokens"] / total if total else 0.0
    return shares


def plot_token_stats(stats: dict, path: str | Path) -> Path:
    """Save :func:`token_stats_figure` as a PNG at ``path``."""
    return save_figure(token_stats_figure(stats), path)


def token_stats_figure(stats: dict):
    """Two panels: probability of each count value (log scale) and tokens per component and split,
    each bar labelled with the component's test share of tokens."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
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
    shares = test_shares(stats)
    if shares is not None:
        for x, name in enumerate(names):
            right.annotate(
                f"test {shares[name]:.2%}",
                (x, bottom[x]),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
            )
        right.margins(y=0.12)
    right.set_ylabel("tokens")
    right.set_title("tokens per component" + (", test share of each" if shares is not None else " (test not counted)"))
    right.tick_params(axis="x", rotation=60, labelsize=8)
    right.legend()
    return fig
