"""Exact motif counts: every unique ``p_n x p_t`` patch and how often it occurs.

The result of a count is a pair ``(motifs, counts)``: ``motifs`` is uint8 ``(M, p_n * p_t)``
(one flat patch per row, see :mod:`tokenizer.patches`), ``counts`` is int64 ``(M,)`` (patches).
Tables are returned sorted by count, most frequent first, ties in byte order of the motif, so
equal inputs give identical tables whatever the order rows or partial tables arrived in.

Counting is vectorized: patches become integer keys, the silent patch (by far the most common
in spike data) is counted with one comparison, and the remaining keys of many rows are buffered
and reduced with ``np.unique`` once the buffer is large. Partial tables (one per Ray block, say)
merge exactly with :func:`merge_motif_counts`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tokenizer.patches import PatchKeys, check_pad, check_patch_size, patch_matrix

#: Buffered non-silent keys before they are reduced with np.unique (keys, not bytes).
FLUSH_KEYS = 8_000_000


class _KeyCounts:
    """Running exact counts of one kind of key: a buffer of raw keys plus a unique, sorted table."""

    def __init__(self, dtype: np.dtype, flush_keys: int):
        self.flush_keys = flush_keys
        self.buffer: list[np.ndarray] = []
        self.buffered = 0
        self.keys = np.zeros(0, dtype=dtype)
        self.counts = np.zeros(0, dtype=np.int64)

    def add_keys(self, keys: np.ndarray) -> None:
        if len(keys):
            self.buffer.append(keys)
            self.buffered += len(keys)
            if self.buffered >= self.flush_keys:
                self.flush()

    def flush(self) -> None:
        if self.buffer:
            keys = np.concatenate(self.buffer)
            self.buffer, self.buffered = [], 0
            uniq, counts = np.unique(keys, return_counts=True)
            self.add_counts(uniq, counts.astype(np.int64))

    def add_counts(self, keys: np.ndarray, counts: np.ndarray) -> None:
        """Add ``counts`` of (possibly repeated, unsorted) ``keys``."""
        both = np.concatenate([self.keys, keys])
        self.keys, inverse = np.unique(both, return_inverse=True)
        weights = np.concatenate([self.counts, counts])
        self.counts = np.bincount(inverse.ravel(), weights=weights, minlength=len(self.keys)).astype(np.int64)


class MotifCounter:
    """Accumulates exact motif counts over arrays and partial tables.

    Non-silent patches are keyed as packed uint64 when their array's values fit (the usual case
    for spike counts) and bytewise otherwise (see :class:`tokenizer.patches.PatchKeys`); the two
    running tables are merged in :meth:`result`.

    Args:
        patch_size: ``(p_n, p_t)`` neurons x time bins.
        pad: edge-patch policy, ``"drop"`` (default) or ``"zero"``.
        flush_keys: how many non-silent keys to buffer before reducing them.
    """

    def __init__(self, patch_size, pad: str = "drop", flush_keys: int = FLUSH_KEYS):
        self.patch_size = check_patch_size(patch_size)
        self.pad = check_pad(pad)
        self.width = self.patch_size[0] * self.patch_size[1]
        self.codec = PatchKeys(self.width)
        self._silent = 0
        self._packed = _KeyCounts(np.dtype(np.uint64), int(flush_keys))
        self._bytewise = _KeyCounts(np.dtype((np.void, self.width)), int(flush_keys))
        self.arrays = 0

    def add(self, counts: np.ndarray) -> None:
        """Count the patches of one uint8 ``(n_neurons, n_time_bins)`` array."""
        self._add_patches(patch_matrix(counts, self.patch_size, self.pad), None)
        self.arrays += 1

    def add_table(self, motifs: np.ndarray, counts: np.ndarray) -> None:
        """Merge a partial ``(motifs, counts)`` table into this count."""
        motifs = np.asarray(motifs, dtype=np.uint8)
        counts = np.asarray(counts, dtype=np.int64)
        if motifs.ndim != 2 or motifs.shape[1] != self.width or len(motifs) != len(counts):
            raise ValueError(
                f"partial table has motifs of shape {motifs.shape} and {len(counts)} counts; "
                f"expected (M, {self.width}) motifs with one count each"
            )
        self._add_patches(motifs, counts)

    def _add_patches(self, patches: np.ndarray, counts: np.ndarray | None) -> None:
        """Count patches (each once, or ``counts`` times each)."""
        if not len(patches):
            return
        if self.codec.packable(patches):
            keys = self.codec.packed(patches)
            busy = keys != 0
            table = self._packed
        else:
            keys = self.codec.bytewise(patches)
            busy = patches.any(axis=1)
            table = self._bytewise
        if counts is None:
            self._silent += len(keys) - int(np.count_nonzero(busy))
            table.add_keys(keys[busy])  # boolean indexing copies: the source row may be freed
        else:
            self._silent += int(counts[~busy].sum())
            table.flush()
            table.add_counts(keys[busy], counts[busy])

    @property
    def total_patches(self) -> int:
        """Patches counted so far (silent ones included)."""
        return int(self._silent + sum(t.counts.sum() + t.buffered for t in (self._packed, self._bytewise)))

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(motifs, counts)`` sorted by count (desc), ties in motif byte order."""
        for table in (self._packed, self._bytewise):
            table.flush()
        motifs = np.concatenate([self.codec.unpacked(self._packed.keys), self.codec.from_bytewise(self._bytewise.keys)])
        counts = np.concatenate([self._packed.counts, self._bytewise.counts])
        if len(self._packed.keys) and len(self._bytewise.keys):  # one motif may sit in both tables
            merged = _KeyCounts(np.dtype((np.void, self.width)), 1)
            merged.add_counts(self.codec.bytewise(motifs), counts)
            motifs, counts = self.codec.from_bytewise(merged.keys), merged.counts
        if self._silent:
            motifs = np.concatenate([np.zeros((1, self.width), dtype=np.uint8), motifs])
            counts = np.concatenate([[self._silent], counts]).astype(np.int64)
        return sort_motifs(motifs, counts)


def sort_motifs(motifs: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order a table by count (desc), ties by the motif's values in byte order."""
    if not len(counts):
        return motifs.reshape(0, motifs.shape[1]), counts.astype(np.int64)
    order = np.lexsort([motifs[:, j] for j in range(motifs.shape[1] - 1, -1, -1)] + [-counts])
    return np.ascontiguousarray(motifs[order]), counts[order].astype(np.int64)


def count_motifs(arrays: Iterable[np.ndarray], patch_size, *, pad: str = "drop") -> tuple[np.ndarray, np.ndarray]:
    """Exact counts of every unique ``p_n x p_t`` motif over uint8 ``(n_neurons, n_time_bins)`` arrays.

    Args:
        arrays: spike-count arrays (one per dataset row), or a single 2-D array.
        patch_size: ``(p_n, p_t)``: neurons x time bins per patch.
        pad: ``"drop"`` leaves out edge patches that do not fit whole (default, so padding
            never inflates the silent motif); ``"zero"`` pads rows with zeros to whole patches.

    Returns:
        ``(motifs, counts)``: uint8 ``(M, p_n * p_t)`` and int64 ``(M,)`` (patches), most
        frequent first.
    """
    counter = MotifCounter(patch_size, pad)
    if isinstance(arrays, np.ndarray) and arrays.ndim == 2:
        arrays = [arrays]
    for arr in arrays:
        counter.add(arr)
    return counter.result()


def merge_motif_counts(tables: Iterable[tuple[np.ndarray, np.ndarray]], patch_size) -> tuple[np.ndarray, np.ndarray]:
    """Merge partial ``(motifs, counts)`` tables of one patch size into one sorted table."""
    counter = MotifCounter(patch_size)
    for motifs, counts in tables:
        counter.add_table(motifs, counts)
    return counter.result()
