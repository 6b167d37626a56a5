"""Figure of the most frequent motifs: one ``p_n x p_t`` grid per motif, values and counts printed.

Colours are discrete so 0 and 1 never look alike: 0 is pale grey, 1 blue, 2 orange, 3 and
more red; a colour bar gives their unit (spikes per bin), and every cell prints its value when
cells are large enough to read and not too many (:data:`MAX_TEXT_CELLS`). Each panel's title gives the rank, the count (patches) and the
share of all patches. Wide or tall motifs shrink their cells (and then fewer panels go side by
side) so the image stays within :data:`MAX_FIGURE_INCHES` at :data:`DPI`.

:func:`top_motifs_figure` draws arrays into a Figure; :func:`plot_top_motifs` saves it; and
:func:`plot_motif_table` is the one figure of a motif table (``top_motifs.png``), drawn by the
motifs job and redrawn by ``neural-pile visualize --motifs``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from builders.storage.atomic import write_png_atomic

COLOURS = ["#eeeeee", "#1f5fbf", "#f39c12", "#c0392b"]  # 0, 1, 2, >=3
#: Largest figure (width, height) in inches; at DPI this caps the image at 2400 x 3000 pixels.
MAX_FIGURE_INCHES = (16.0, 20.0)
DPI = 150
#: Preferred cell size and the smallest one that still prints its value (inches).
CELL_INCHES = 0.32
TEXT_CELL_INCHES = 0.2
#: Fixed parts of the page (inches): outer margin, the colour bar's strip on the right, the figure
#: title's band, a panel title's band, the gap between panels side by side. The panels are placed
#: on this grid directly (a layout engine measuring every tick and text of every panel took about
#: half of the figure's drawing time).
MARGIN_INCHES = 0.15
COLOUR_BAR_STRIP_INCHES = 1.25
FIGURE_TITLE_INCHES = 0.4
PANEL_TITLE_INCHES = 0.3
PANEL_GAP_INCHES = 0.15
#: Page width beside the panels (the outer margin and the colour bar's strip).
SIDE_INCHES = MARGIN_INCHES + COLOUR_BAR_STRIP_INCHES
#: Most cells whose values are printed (each is a text object; thousands take many seconds to draw).
MAX_TEXT_CELLS = 1000


def _layout(shown: int, p_n: int, p_t: int) -> tuple[int, int, float]:
    """(panel columns, panel rows, cell size in inches) that fit :data:`MAX_FIGURE_INCHES`."""
    max_w, max_h = MAX_FIGURE_INCHES
    layouts = []
    for n_cols in range(max(1, min(shown, 4 if p_t >= 2 * p_n else 6)), 0, -1):  # most columns first
        n_rows = -(-shown // n_cols)
        cell = min(CELL_INCHES, (max_w - SIDE_INCHES) / (n_cols * p_t), (max_h - 0.9) / (n_rows * (p_n + 2)))
        layouts.append((n_cols, n_rows, cell))
    return max(layouts, key=lambda layout: layout[2])  # the first of the largest cells: most columns


def _panel_grid(width: float, height: float, n_cols: int, n_rows: int) -> dict[str, float]:
    """``GridSpec`` keywords placing ``n_rows x n_cols`` panels on a ``width x height`` inch page:
    margins, the colour bar's strip and the title bands in inches, as fractions of the page."""
    left, right = MARGIN_INCHES, width - COLOUR_BAR_STRIP_INCHES
    bottom, top = MARGIN_INCHES, height - FIGURE_TITLE_INCHES - PANEL_TITLE_INCHES
    # a gap or title band takes at most a quarter of a panel's slot (narrow panels of tall motifs)
    slot_w, slot_h = (right - left) / n_cols, (top - bottom) / n_rows
    gap_w, gap_h = min(PANEL_GAP_INCHES, slot_w / 4), min(PANEL_TITLE_INCHES, slot_h / 4)
    return {
        "left": left / width,
        "right": right / width,
        "bottom": bottom / height,
        "top": top / height,
        "wspace": gap_w / (slot_w - gap_w),
        "hspace": gap_h / (slot_h - gap_h),
    }


def top_motifs_figure(
    motifs: np.ndarray, counts: np.ndarray, patch_size, top: int = 24, title: str = "", bin_label: str = "20 ms"
):
    """A Figure of the ``top`` most frequent motifs (table sorted most frequent first)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure

    p_n, p_t = (int(v) for v in patch_size)
    shown = min(int(top), len(counts))
    total = max(int(np.sum(counts)), 1)
    n_cols, n_rows, cell = _layout(max(shown, 1), p_n, p_t)
    print_values = cell >= TEXT_CELL_INCHES and shown * p_n * p_t <= MAX_TEXT_CELLS
    panel_w = max(1.6 if cell >= TEXT_CELL_INCHES else 0.0, p_t * cell)
    panel_h = p_n * cell + 0.55
    width = min(MAX_FIGURE_INCHES[0], n_cols * panel_w + SIDE_INCHES)
    height = min(MAX_FIGURE_INCHES[1], n_rows * panel_h + 0.9)
    fig = Figure(figsize=(width, height))
    cmap = ListedColormap(COLOURS)
    norm = BoundaryNorm([-0.5, 0.5, 1.5, 2.5, 3.5], cmap.N)
    placement = _panel_grid(width, height, n_cols, n_rows)
    axes = fig.subplots(n_rows, n_cols, squeeze=False, gridspec_kw=placement)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= shown:
            ax.axis("off")
            continue
        grid = motifs[i].reshape(p_n, p_t)
        ax.imshow(np.minimum(grid, 3), cmap=cmap, norm=norm, aspect="equal", interpolation="nearest")
        if print_values:
            for (r, c), v in np.ndenumerate(grid):
                ax.text(
                    c,
                    r,
                    str(int(v)),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="black" if v == 0 else "white",
                )
            # cell borders as two line collections (one artist each, not one tick per border,
            # which the layout would measure on every pass)
            ax.vlines(np.arange(-0.5, p_t, 1), -0.5, p_n - 0.5, colors="white", linewidth=0.8)
            ax.hlines(np.arange(-0.5, p_n, 1), -0.5, p_t - 0.5, colors="white", linewidth=0.8)
            ax.set_xlim(-0.5, p_t - 0.5)
            ax.set_ylim(p_n - 0.5, -0.5)
        ax.set_title(f"#{i + 1}  {int(counts[i]):,} ({100 * counts[i] / total:.3g}%)", fontsize=7)
    grid_middle, bar_height = (
        (placement["bottom"] + placement["top"]) / 2,
        0.6 * (placement["top"] - placement["bottom"]),
    )
    bar_axes = fig.add_axes(
        ((width - COLOUR_BAR_STRIP_INCHES + 0.25) / width, grid_middle - bar_height / 2, 0.18 / width, bar_height)
    )
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=bar_axes, ticks=[0, 1, 2, 3])
    bar.ax.set_yticklabels(["0", "1", "2", "3+"])
    bar.set_label(f"spikes per {bin_label} bin", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    fig.suptitle(title or f"Top {shown} motifs ({p_n} neuron x {p_t} bins) of {total:,} patches", fontsize=9)
    return fig


def plot_top_motifs(motifs: np.ndarray, counts: np.ndarray, patch_size, path, top: int = 24, title: str = "") -> Path:
    """Save a PNG of the ``top`` most frequent motifs (see :func:`top_motifs_figure`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = top_motifs_figure(motifs, counts, patch_size, top=top, title=title)
    FigureCanvasAgg(fig)
    return write_png_atomic(fig, path, DPI)


def motif_table_title(metadata: dict, shown: int) -> str:
    p_n, p_t = metadata["patch_size"]
    configs = ", ".join(metadata.get("configs", [])) or "unknown configs"
    splits = ", ".join(metadata.get("splits", [])) or "unknown splits"
    return (
        f"Top {shown} motifs ({p_n} neuron x {p_t} bins) of {int(metadata.get('total_patches', 0)):,} patches; "
        f"{metadata.get('dataset', 'dataset')}: {configs} ({splits})"
    )


def plot_motif_table(table, path, top: int = 24) -> Path:
    """The figure of a :class:`~tokenizer.motif_table.MotifTable` (``top_motifs.png`` of its folder)."""
    shown = min(int(top), len(table.counts))
    return plot_top_motifs(
        table.motifs, table.counts, table.patch_size, path, top=top, title=motif_table_title(table.metadata, shown)
    )
