"""Exact-once evaluation: every real token of a split in exactly one item, the same item count on every rank.

:func:`eval_windows` tiles each row of the split (``N`` neurons x ``T`` bins) into the
``ceil(N / n_neurons) x ceil(T / n_bins)`` windows that cover it: neuron blocks
``[0, n_neurons), [n_neurons, 2 n_neurons), ...`` and time tiles ``[0, n_bins), ...``; the last
block and tile of a row are zero-padded and masked (``neuron_mask`` / ``bin_mask``), so every
count of the row is in exactly one window where both masks are true. Items come in file order
(row groups, rows), each row's tiles time tile by time tile, neuron blocks inside.

:func:`eval_tokens` encodes each such window (``n_bins`` a multiple of the patch width, whole
patch steps, partial last steps zero-padded as the tokenizer pads) in the token layout of
:mod:`builders.streams.tokens` and gives one item per window: ``input_ids`` = the window's tokens
but the last, ``labels`` = its tokens but the first, both padded to ``seq_len``. Labels are
:data:`~builders.streams.tokens.IGNORE_INDEX` (-100) where the position is padding (steps past
the row's end, patch rows with no neuron of the row, positions past the window); padded
``input_ids`` hold the separator id. Every real token of the row is a label of exactly one item.

**Ranks.** Whole rows go to ranks, most items first to the rank with the fewest (ties: lower
rank), each rank keeping file order. Every rank yields as many items as the busiest one: the
others end with filler items (``is_filler`` True, all counts zero, masks False, labels all -100,
``path`` "" and ``row`` -1) so collectives of a distributed evaluation never wait on a rank that
ran out. DataLoader workers of a rank take its items ``worker, worker + num_workers, ...``.

**Cost.** Planning needs each row's shape before any counts: the pile's ``n_neurons`` /
``n_time_bins`` columns where it has them (this package's layout), else every row group of the
split is read once (the reference layout has only the five columns). Evaluation is not resumable
(it is deterministic: restart it).

Each item carries the window stream's keys (component, subject, session, segment, file, row
group, row, neuron and bin placement) plus ``is_filler``; :func:`aggregate_by_component`
averages a per-item metric per component.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from builders.spec.counts import table_spike_counts
from builders.streams.base import Window, _Base
from builders.streams.errors import StreamError
from builders.streams.options import check_positive, check_rank
from builders.streams.source import LABEL_COLUMNS, RowSource, open_rows
from builders.streams.state import current_worker
from builders.streams.tokens import IGNORE_INDEX, TokenLayout, layout_of
from builders.streams.vocab import ID_DTYPE
from builders.streams.windows import window_item


class EvalStream(_Base):
    """One rank's exact-once items (see the module notes); ``len()`` is the same on every rank."""

    def __init__(self, source: RowSource, *, n_neurons: int, n_bins: int, rank: int, world_size: int):
        self._source = source
        self.n_neurons, self.n_bins = n_neurons, n_bins
        self.rank, self.world_size = rank, world_size
        rows = []  # (items, group, row in table, n, t)
        for g in range(len(source.row_groups)):
            if source.rows[g] == 0:
                continue
            for r, (n, t) in enumerate(source.shapes(g)):
                items = math.ceil(n / n_neurons) * math.ceil(t / n_bins)
                if items:
                    rows.append((items, g, r, int(n), int(t)))
        if len(rows) < world_size:
            raise StreamError(
                f"split {source.split!r} of {source.name} has {len(rows)} non-empty rows, fewer than "
                f"world_size={world_size}: evaluate on at most {len(rows)} ranks"
            )
        loads = [(0, k) for k in range(world_size)]
        mine: list[list[tuple]] = [[] for _ in range(world_size)]
        for row in sorted(rows, key=lambda x: (-x[0], x[1], x[2])):
            load, k = heapq.heappop(loads)
            mine[k].append(row)
            heapq.heappush(loads, (load + row[0], k))
        #: rows of this rank in file order
        self.rows = sorted(mine[rank], key=lambda x: (x[1], x[2]))
        self.length = max(load for load, _ in loads)
        self.real_items = sum(x[0] for x in self.rows)

    def __len__(self) -> int:
        """Items of this rank (fillers included; the same on every rank)."""
        return self.length

    def __iter__(self) -> Iterator[dict[str, Any]]:
        worker, num_workers = current_worker()
        return self._generate(worker, num_workers)

    def _windows(self) -> Iterator[Window]:
        """``Window`` of every tile of this rank's rows, in order (one row group in memory)."""
        source, n_n, n_b = self._source, self.n_neurons, self.n_bins
        group: int | None = None
        counts: list[np.ndarray] = []
        labels: dict[str, list] = {}
        for _items, g, r, n, t in self.rows:
            if g != group:
                table = source.read(g)
                counts = source_counts(source, g, table)
                labels = {c: table.column(c).to_pylist() for c in LABEL_COLUMNS}
                group = g
            row = counts[r]
            if row.shape != (n, t):
                rg = source.row_groups[g]
                raise StreamError(f"{rg.path}: row {source.stored_row(g, r)} holds {row.shape} counts, not {(n, t)}")
            rg = source.row_groups[g]
            for bin_start in range(0, t, n_b):
                valid = min(n_b, t - bin_start)
                for neuron_start in range(0, n, n_n):
                    index = np.arange(neuron_start, neuron_start + n_n, dtype=np.int32)
                    index[index >= n] = -1
                    used = index >= 0
                    out = np.zeros((n_n, n_b), dtype=np.uint8)
                    out[used, :valid] = row[index[used], bin_start : bin_start + valid]
                    row_labels = {c: labels[c][r] for c in LABEL_COLUMNS}
                    yield Window(
                        out,
                        index,
                        neuron_start,
                        bin_start,
                        valid,
                        row_labels,
                        rg.path,
                        rg.index,
                        source.stored_row(g, r),
                    )

    def _filler(self) -> Window:
        return Window(
            np.zeros((self.n_neurons, self.n_bins), np.uint8),
            np.full(self.n_neurons, -1, np.int32),
            -1,
            0,
            0,
            dict.fromkeys(LABEL_COLUMNS, ""),
            "",
            -1,
            -1,
        )

    def _generate(self, worker: int, num_workers: int) -> Iterator[dict[str, Any]]:
        position = 0
        for window in self._windows():
            if position % num_workers == worker:
                yield self.item(window, False)
            position += 1
        for k in range(position, self.length):
            if k % num_workers == worker:
                yield self.item(self._filler(), True)

    def item(self, window: Window, filler: bool) -> dict[str, Any]:
        return {**window_item(window), "is_filler": filler}


def source_counts(source: RowSource, group: int, table) -> list[np.ndarray]:
    try:
        return table_spike_counts(table)
    except ValueError as err:
        raise StreamError(f"{source.row_groups[group].path}: {err}") from None


class EvalTokenStream(EvalStream):
    """One rank's exact-once token items: ``input_ids`` / ``labels`` int32 ``(seq_len,)`` per window."""

    def __init__(
        self,
        source: RowSource,
        *,
        seq_len: int,
        layout: TokenLayout,
        tokenizer: Any,
        n_neurons: int,
        n_bins: int,
        rank: int,
        world_size: int,
    ):
        super().__init__(source, n_neurons=n_neurons, n_bins=n_bins, rank=rank, world_size=world_size)
        self.seq_len, self.layout, self.tokenizer = seq_len, layout, tokenizer

    def item(self, window: Window, filler: bool) -> dict[str, Any]:
        layout, p_t = self.layout, self.layout.patch_size[1]
        steps = self.n_bins // p_t
        input_ids = np.full(self.seq_len, layout.separator, ID_DTYPE)
        labels = np.full(self.seq_len, IGNORE_INDEX, ID_DTYPE)
        if not filler:
            ids = layout.encode(window.counts, window.n_valid_bins, self.tokenizer, steps=steps)
            real = layout.real(window.neuron_index, steps, -(-window.n_valid_bins // p_t))
            input_ids[: len(ids) - 1] = ids[:-1]
            labels[: len(ids) - 1] = np.where(real[1:], ids[1:], IGNORE_INDEX)
        item = window_item(window)
        del item["spike_counts"]
        return {"input_ids": input_ids, "labels": labels, **item, "is_filler": filler}


def eval_windows(
    dataset, config=None, split: str = "test", *, n_neurons: int, n_bins: int, rank: int = 0, world_size: int = 1
) -> EvalStream:
    """Every ``n_neurons x n_bins`` window tiling the ``split`` rows, each count in exactly one item.

    Items have :func:`~builders.streams.windows.window_stream`'s keys plus ``is_filler``;
    ``len()`` is the same on every rank (see the module notes).

    Raises:
        StreamError: a bad argument, a split with no rows or fewer non-empty rows than ranks.
    """
    n_neurons = check_positive("n_neurons", n_neurons)
    n_bins = check_positive("n_bins", n_bins)
    rank, world_size = check_rank(rank, world_size)
    source = open_rows(dataset, config, split)
    return EvalStream(source, n_neurons=n_neurons, n_bins=n_bins, rank=rank, world_size=world_size)


def eval_tokens(
    dataset,
    config=None,
    split: str = "test",
    *,
    seq_len: int,
    n_neurons: int,
    tokenizer=None,
    n_bins: int | None = None,
    rank: int = 0,
    world_size: int = 1,
) -> EvalTokenStream:
    """Every real token of the ``split`` rows as a label of exactly one item (module notes).

    Args:
        seq_len: length of ``input_ids`` / ``labels``; a window's ``steps x (n_neurons / p_n + 1)``
            tokens must fit in ``seq_len + 1``.
        n_neurons: neurons per window, a multiple of the tokenizer's patch height.
        tokenizer: a :class:`~tokenizer.motif_tokenizer.MotifTokenizer`, or None for raw counts.
        n_bins: bins per window, a multiple of the patch width; default: as many whole patch steps
            as fit in ``seq_len + 1`` tokens.

    Raises:
        StreamError: a bad argument, a split with no rows or fewer non-empty rows than ranks.
    """
    seq_len = check_positive("seq_len", seq_len)
    n_neurons = check_positive("n_neurons", n_neurons)
    rank, world_size = check_rank(rank, world_size)
    layout = layout_of(tokenizer, n_neurons)
    p_t, step = layout.patch_size[1], layout.tokens_per_step
    if n_bins is None:
        n_bins = (seq_len + 1) // step * p_t
        if n_bins == 0:
            raise StreamError(f"seq_len={seq_len} is shorter than one time step ({step} tokens) plus one")
    n_bins = check_positive("n_bins", n_bins)
    if n_bins % p_t:
        raise StreamError(f"n_bins={n_bins} is not a multiple of the tokenizer's patch width {p_t}")
    if n_bins // p_t * step > seq_len + 1:
        raise StreamError(
            f"a window of n_bins={n_bins} gives {n_bins // p_t * step} tokens, more than seq_len + 1 = {seq_len + 1}"
        )
    source = open_rows(dataset, config, split)
    return EvalTokenStream(
        source,
        seq_len=seq_len,
        layout=layout,
        tokenizer=tokenizer,
        n_neurons=n_neurons,
        n_bins=n_bins,
        rank=rank,
        world_size=world_size,
    )


def aggregate_by_component(
    items: Iterable[dict], values: Sequence[float], weights: Sequence[float] | None = None
) -> dict[str, float]:
    """Weighted mean of a per-item metric per component (``source_dataset``), fillers left out.

    ``items`` are the items the metric was computed on (only ``source_dataset`` and
    ``is_filler`` are read), in the order of ``values``; ``weights`` default to 1 (pass each
    item's real token count to average per token). ``"all"`` holds the mean over every real item.
    Across ranks, gather ``(source_dataset, is_filler, value, weight)`` of every rank first.
    """
    items = list(items)
    weights = [1.0] * len(items) if weights is None else list(weights)
    if not (len(items) == len(values) == len(weights)):
        raise StreamError(f"{len(items)} items, {len(values)} values and {len(weights)} weights: one each per item")
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for item, value, weight in zip(items, values, weights, strict=True):
        if item["is_filler"]:
            continue
        for key in (item["source_dataset"], "all"):
            totals[key][0] += float(value) * float(weight)
            totals[key][1] += float(weight)
    return {key: total / count for key, (total, count) in sorted(totals.items()) if count > 0}
