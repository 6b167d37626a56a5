"""Figure of the most frequent motifs: one ``p_n x p_t`` grid per motif, values and counts printed.

Colours are discrete so 0 and 1 never look alike: 0 is pale grey, 1 blue, 2 orange, 3 and
more red; every cell also prints its value. Each panel's title gives the rank, the count
(patches) and the share of all patches.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

COLOURS = ["#eeeeee", "#1f5fbf", "#f39c12", "#c0392b"]  # 0, 1, 2, >=3


def plot_top_motifs(motifs: np.ndarray, counts: np.ndarray, patch_size, path, top: int = 24, title: str = "") -> Path:
    """Save a PNG of the ``top`` most frequent motifs (table sorted most frequent first)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure

    p_n, p_t = (int(v) for v in patch_size)
    shown = min(int(top), len(counts))
    total = max(int(np.sum(counts)), 1)
    n_cols = max(1, min(shown, 4 if p_t >= 2 * p_n else 6))
    n_rows = max(1, -(-shown // n_cols))
    cell = 0.32
    panel_w, panel_h = max(1.6, p_t * cell), p_n * cell + 0.55
    fig = Figure(figsize=(n_cols * panel_w + 0.4, n_rows * panel_h + 0.9))
    FigureCanvasAgg(fig)
    cmap = ListedColormap(COLOURS)
    norm = BoundaryNorm([-0.5, 0.5, 1.5, 2.5, 256], cmap.N)
    for i in range(n_rows * n_cols):
        ax = fig.add_subplot(n_rows, n_cols, i + 1)
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= shown:
            ax.axis("off")
            continue
        grid = motifs[i].reshape(p_n, p_t)
        ax.imshow(grid, cmap=cmap, norm=norm, aspect="equal")
        for (r, c), v in np.ndenumerate(grid):
            ax.text(c, r, str(int(v)), ha="center", va="center", fontsize=7, color="black" if v == 0 else "white")
        ax.set_xticks(np.arange(-0.5, p_t, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, p_n, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=0.8)
        ax.tick_params(which="minor", length=0)
        ax.set_title(f"#{i + 1}  {int(counts[i]):,} ({100 * counts[i] / total:.3g}%)", fontsize=7)
    fig.suptitle(title or f"Top {shown} motifs ({p_n} neuron x {p_t} bins) of {total:,} patches", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=150)
    return path
