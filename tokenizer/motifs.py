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

from typing import Iterable

import numpy as np

from .patches import check_pad, check_patch_size, key_dtype, keys_to_patches, nonzero_mask, patch_keys, patch_matrix

#: Buffered non-silent keys before they are reduced with np.unique (keys, not bytes).
FLUSH_KEYS = 8_000_000


class MotifCounter:
    """Accumulates exact motif counts over arrays and partial tables.

    Args:
        patch_size: ``(p_n, p_t)`` neurons x time bins.
        pad: edge-patch policy, ``"drop"`` (default) or ``"zero"``.
        flush_keys: how many non-silent keys to buffer before reducing them.
    """

    def __init__(self, patch_size, pad: str = "drop", flush_keys: int = FLUSH_KEYS):
        self.patch_size = check_patch_size(patch_size)
        self.pad = check_pad(pad)
        self.width = self.patch_size[0] * self.patch_size[1]
        self.flush_keys = int(flush_keys)
        self._dtype = key_dtype(self.width)
        self._silent = 0
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self._keys = np.zeros(0, dtype=self._dtype)
        self._counts = np.zeros(0, dtype=np.int64)
        self.arrays = 0

    def add(self, counts: np.ndarray) -> None:
        """Count the patches of one uint8 ``(n_neurons, n_time_bins)`` array."""
        patches = patch_matrix(counts, self.patch_size, self.pad)
        keys = patch_keys(patches)
        busy = nonzero_mask(keys, patches)
        active = keys[busy]
        self._silent += len(keys) - len(active)
        self.arrays += 1
        if len(active):
            self._buffer.append(active)  # boolean indexing copied it: the row may be freed
            self._buffered += len(active)
            if self._buffered >= self.flush_keys:
                self._flush()

    def add_table(self, motifs: np.ndarray, counts: np.ndarray) -> None:
        """Merge a partial ``(motifs, counts)`` table into this count."""
        motifs = np.asarray(motifs, dtype=np.uint8)
        counts = np.asarray(counts, dtype=np.int64)
        if motifs.ndim != 2 or motifs.shape[1] != self.width or len(motifs) != len(counts):
            raise ValueError(
                f"partial table has motifs of shape {motifs.shape} and {len(counts)} counts; "
                f"expected (M, {self.width}) motifs with one count each"
            )
        if not len(motifs):
            return
        self._flush()
        keys = patch_keys(motifs)
        silent = ~nonzero_mask(keys, motifs)
        self._silent += int(counts[silent].sum())
        self._merge(keys[~silent], counts[~silent])

    def _flush(self) -> None:
        if not self._buffer:
            return
        keys = np.concatenate(self._buffer)
        self._buffer, self._buffered = [], 0
        uniq, counts = np.unique(keys, return_counts=True)
        self._merge(uniq, counts.astype(np.int64))

    def _merge(self, keys: np.ndarray, counts: np.ndarray) -> None:
        """Add ``counts`` of (possibly repeated, unsorted) ``keys`` to the running table."""
        both = np.concatenate([self._keys, keys])
        self._keys, inverse = np.unique(both, return_inverse=True)
        weights = np.concatenate([self._counts, counts])
        self._counts = np.bincount(inverse.ravel(), weights=weights, minlength=len(self._keys)).astype(np.int64)

    @property
    def total_patches(self) -> int:
        """Patches counted so far (silent ones included)."""
        self._flush()
        return int(self._silent + self._counts.sum())

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(motifs, counts)`` sorted by count (desc), ties in motif byte order."""
        self._flush()
        motifs = keys_to_patches(self._keys, self.width)
        counts = self._counts
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
