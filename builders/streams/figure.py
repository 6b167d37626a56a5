"""The picture ``neural-pile sample`` saves: one window as the model reads it, and its token ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from builders.output.shards import atomic_path

from .tokens import TokenLayout


def plot_window_tokens(window: dict, layout: TokenLayout, tokenizer, path: str | Path) -> Path:
    """Left: the window's counts (neurons x 20 ms bins); right: its id grid (patch rows x time steps).

    The separator column is left out of the id grid; the title gives the window's origin. PNG,
    written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = window["spike_counts"]
    tokens = layout.encode(counts, int(window["bin_mask"].sum()), tokenizer)
    steps = len(tokens) // layout.tokens_per_step
    grid = tokens.reshape(steps, layout.tokens_per_step)[:, 1:].T if steps else np.zeros((0, 0), np.int32)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    image = left.imshow(counts, aspect="auto", interpolation="nearest", cmap="Greys")
    left.set_xlabel("time (20 ms bins)")
    left.set_ylabel("neuron in window")
    left.set_title("spike counts", fontsize=9)
    fig.colorbar(image, ax=left, shrink=0.8, label="spikes per bin")
    ids = right.imshow(grid, aspect="auto", interpolation="nearest", cmap="viridis")
    p_n, p_t = layout.patch_size
    right.set_xlabel(f"time step ({p_t} bin{'s' if p_t > 1 else ''}; separator id {layout.separator} before each)")
    right.set_ylabel(f"patch row ({p_n} neuron{'s' if p_n > 1 else ''})")
    right.set_title(f"token ids (vocabulary {layout.vocab_size} with the separator)", fontsize=9)
    fig.colorbar(ids, ax=right, shrink=0.8, label="id")
    first = int(window["neuron_start"])
    neurons = f"neurons {first}..{first + counts.shape[0] - 1}" if first >= 0 else "a random subset of neurons"
    fig.suptitle(
        f"{window['source_dataset']} / {window['session_id']} / {window['segment_id']}: {neurons}, "
        f"bins {window['bin_start']}..{window['bin_start'] + counts.shape[1] - 1}",
        fontsize=10,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
