"""``window_stream``: random neurons x time windows of a pile's rows, for models that read 2-D counts.

Each item is a dict::

    spike_counts    uint8 (n_neurons, n_bins)   the window (zero where masked)
    neuron_mask     bool (n_neurons,)           False on padding neurons (rows with fewer neurons)
    bin_mask        bool (n_bins,)              False on padding bins (rows with fewer bins)
    neuron_index    int32 (n_neurons,)          the row's neuron in each window row (-1: padding)
    neuron_start    int                         first neuron of the block (-1 for a random subset)
    bin_start       int                         first time bin (20 ms) of the window in the row
    source_dataset, subject_id, session_id, segment_id   the row's labels (session ids repeat
                                                across components and subjects: use all three)
    path, row_group, row                        the row's file, row group and row in the row group
                                                (as stored, also under a config that filters rows)

so that ``spike_counts[i, t] == row[neuron_index[i], bin_start + t]`` wherever both masks are
true. Rows are drawn uniformly or in proportion to their tokens, a window's neurons are a
contiguous block (contiguity matters after reordering) or a random subset in row order, and its
start in time is uniform over the row (on multiples of ``align``). Rows with fewer neurons are zero-padded (``pad="zero"``,
masked) or tiled (``pad="tile"``, the reference trainer's behaviour; every row of the window then
repeats a real neuron and the mask is all true).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from builders.streams.base import DrawStream, Window, check_yielded
from builders.streams.errors import StreamError
from builders.streams.mixture import MixtureStream, open_streams
from builders.streams.options import StreamOptions, check_positive
from builders.streams.plan import Piece
from builders.streams.source import open_rows


def window_item(window: Window) -> dict:
    """The dict a window stream yields for one :class:`Window`."""
    n_bins = window.counts.shape[1]
    return {
        "spike_counts": window.counts,
        "neuron_mask": window.neuron_index >= 0,
        "bin_mask": _bin_mask(n_bins, window.n_valid_bins),
        "neuron_index": window.neuron_index,
        "neuron_start": window.neuron_start,
        "bin_start": window.bin_start,
        **window.labels,
        "path": window.path,
        "row_group": window.row_group,
        "row": window.row,
    }


def _bin_mask(n_bins: int, valid: int) -> np.ndarray:
    mask = np.zeros(n_bins, dtype=bool)
    mask[:valid] = True
    return mask


class WindowStream(DrawStream):
    """Iterable of window dicts (see the module notes); ``state_dict`` / ``load_state_dict`` resume it."""

    kind = "windows"

    def budgets(self, num_workers: int) -> tuple[int, ...]:
        return self.plan(num_workers).budgets

    def _own_iter(self) -> Iterator[dict[str, Any]]:
        plan, worker, num_workers, position = self._start()
        return self._generate(plan.pieces[worker], plan.budgets[worker], worker, num_workers, position)

    def _generate(
        self, pieces: Sequence[Piece], budget: int, worker: int, num_workers: int, position: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        limit = self.options.run_items(budget)
        check_yielded(position, limit)
        if limit is not None and position["yielded"] >= limit:
            return
        draws = self.draws(pieces, worker, num_workers, position)
        for _before, after, window in draws:
            position.update(after)
            position["yielded"] += 1
            yield window_item(window)
            if limit is not None and position["yielded"] >= limit:
                return


def window_stream(
    dataset,
    config=None,
    split: str = "train",
    *,
    n_neurons: int,
    n_bins: int,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    epochs: int | None = None,
    sampling: str = "tokens",
    neurons: str = "block",
    pad: str = "zero",
    align: tuple[int, int] = (1, 1),
    open_pieces: int = 32,
) -> WindowStream | MixtureStream:
    """Random ``n_neurons x n_bins`` windows of the ``split`` rows of a pile.

    Args:
        dataset: local folder, Hub repo id (``namespace/name[@revision]``), ``hf://`` or fsspec URL,
            or a pile opened with :func:`builders.pile.open_pile`; or a list of ``(dataset,
            config, weight)`` to mix several piles (:mod:`builders.streams.mixture`).
        config: a config of the card (``"all"``), a component of a reference-layout pile, or None
            for the card's default; or ``{config: weight}`` to mix components of one pile.
        split: ``"train"`` or ``"test"``.
        n_neurons, n_bins: window size (neurons, 20 ms bins), both >= 1.
        seed, rank, world_size, sampling, neurons, pad, open_pieces: how windows are drawn and
            which share of the pile this process takes, checked and documented (with units) by
            :class:`~builders.streams.options.StreamOptions`.
        epochs: passes to make (None: endless). An epoch is ``floor(total / world_size)`` windows
            per rank, total = rows (``sampling="uniform"``) or tokens / (n_neurons * n_bins)
            (``sampling="tokens"``, rows drawn in proportion to their tokens).
        align: ``(neurons, bins)``: a block starts on a multiple of the first, a window on a
            multiple of the second (``token_stream`` uses its patch size, so the patches line up
            with the ones its tokenizer was counted on, which tile rows from their origin).

    Raises:
        StreamError: a bad argument, or a split/config with no rows (one line naming it).
    """
    options = StreamOptions(
        seed=seed,
        rank=rank,
        world_size=world_size,
        epochs=epochs,
        sampling=sampling,
        neurons=neurons,
        pad=pad,
        open_pieces=open_pieces,
    )
    one = functools.partial(open_window_stream, split=split, n_neurons=n_neurons, n_bins=n_bins, align=align)
    return open_streams(one, dataset, config, options, kind="windows")


def open_window_stream(
    dataset: Any, config: Any, options: StreamOptions, *, split: str, n_neurons: Any, n_bins: Any, align: Any
) -> WindowStream:
    """The window stream of one source (:func:`window_stream`'s arguments, the shared ones as ``options``)."""
    n_neurons = check_positive("n_neurons", n_neurons)
    n_bins = check_positive("n_bins", n_bins)
    if not isinstance(align, (tuple, list)) or len(align) != 2:
        raise StreamError(f"align must be a pair (neurons, bins), got {align!r}")
    align = (check_positive("align[0]", align[0]), check_positive("align[1]", align[1]))
    source = open_rows(dataset, config, split)
    return WindowStream(source, n_neurons=n_neurons, n_bins=n_bins, align=align, options=options, extra_arguments={})
