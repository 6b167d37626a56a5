"""The picture ``neural-pile sample`` saves: one window as the model reads it, and its token ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from builders.jobs.figures import CountScale, IdCategories, integer_ticks
from builders.storage.atomic import write_png_atomic
from builders.streams.tokens import TokenLayout


def plot_window_tokens(
    window: dict, layout: TokenLayout, tokenizer, path: str | Path, *, subject: str = "", reordered: bool = False
) -> Path:
    """Save :func:`window_tokens_figure` as a PNG at ``path``, written atomically."""
    fig = window_tokens_figure(window, layout, tokenizer, subject=subject, reordered=reordered)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_png_atomic(fig, path, 110)


def window_tokens_figure(window: dict, layout: TokenLayout, tokenizer, *, subject: str = "", reordered: bool = False):
    """Left: the window's counts (neurons x 20 ms bins) on a discrete count scale; right: its id grid
    (patch rows x time steps), the most frequent ids as categories.

    The separator column is left out of the id grid; the title gives the window's origin (with
    ``subject``, and whether the pile's neurons were ``reordered``).
    """
    from matplotlib.figure import Figure

    counts = window["spike_counts"]
    tokens = layout.encode(counts, int(window["bin_mask"].sum()), tokenizer)
    steps = len(tokens) // layout.tokens_per_step
    grid = tokens.reshape(steps, layout.tokens_per_step)[:, 1:].T if steps else np.zeros((0, 0), np.int32)
    fig = Figure(figsize=(12, 4.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    scale = CountScale.of([counts])
    cmap, norm = scale.cmap_norm()
    image = left.imshow(counts, aspect="auto", interpolation="nearest", cmap=cmap, norm=norm)
    left.set_xlabel("time (20 ms bins from the window's start)")
    left.set_ylabel("neuron in window (reordered)" if reordered else "neuron in window")
    left.set_title("spike counts", fontsize=9)
    scale.colorbar(fig, image, left, "spikes per 20 ms bin")
    silent = tokenizer.zero_id if tokenizer is not None else 0
    categories = IdCategories.of(grid, names={silent: "(silent)"})
    id_cmap, id_norm = categories.cmap_norm()
    ids = right.imshow(categories.codes, aspect="auto", interpolation="nearest", cmap=id_cmap, norm=id_norm)
    p_n, p_t = layout.patch_size
    right.set_xlabel(f"time step ({p_t} bin{'s' if p_t > 1 else ''}; separator id {layout.separator} before each)")
    right.set_ylabel(f"patch row ({p_n} neuron{'s' if p_n > 1 else ''})")
    which = f"the {categories.shown} most frequent" if len(categories.labels) > categories.shown else "every id"
    right.set_title(f"token ids (vocabulary {layout.vocab_size} with the separator): {which} in colour", fontsize=9)
    categories.colorbar(fig, ids, right, "id: share of this window's patches")
    for axes in (left, right):
        integer_ticks(axes.xaxis)
        integer_ticks(axes.yaxis)
    first = int(window["neuron_start"])
    neurons = f"neurons {first}..{first + counts.shape[0] - 1}" if first >= 0 else "a random subset of neurons"
    who = f" sub-{subject}" if subject else ""
    fig.suptitle(
        f"{window['source_dataset']}{who} ses-{window['session_id']} {window['segment_id']}: {neurons}"
        f"{' (reordered)' if reordered else ''}, bins {window['bin_start']}..{window['bin_start'] + counts.shape[1] - 1}",
        fontsize=10,
    )
    return fig
