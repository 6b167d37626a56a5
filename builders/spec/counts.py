"""``spike_counts`` between numpy and Arrow without copies: 2-D uint8 arrays -> a
``list<list<uint8>>`` column, and back as read-only ``(n_neurons, n_time_bins)`` views.

Reading ``spike_counts`` through Python lists costs ~0.2 s per 10M-token row; use
:func:`spike_counts_array` (or :func:`table_spike_counts` on Arrow batches), which views
the Arrow buffer as a ``(n_neurons, n_time_bins)`` uint8 array without copying. Imports only numpy
and pyarrow, so the workers that count, reorder or stream rows do not load ``datasets``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa


def counts_column(arrays: list[np.ndarray]) -> pa.Array:
    """``list<list<uint8>>`` column from 2-D uint8 arrays, built from offsets (no Python lists)."""
    flat = (
        np.concatenate([np.ascontiguousarray(a, dtype=np.uint8).ravel() for a in arrays])
        if arrays
        else np.zeros(0, np.uint8)
    )
    n_rows = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    widths = np.repeat(np.array([a.shape[1] for a in arrays], dtype=np.int64), n_rows)
    inner_offsets = np.concatenate([[0], np.cumsum(widths)])
    outer_offsets = np.concatenate([[0], np.cumsum(n_rows)])
    if inner_offsets[-1] >= 2**31:
        raise ValueError("a batch of rows holds more than 2**31 tokens; write it in smaller batches")
    inner = pa.ListArray.from_arrays(pa.array(inner_offsets, pa.int32()), pa.array(flat, pa.uint8()))
    return pa.ListArray.from_arrays(pa.array(outer_offsets, pa.int32()), inner)


def table_spike_counts(table: pa.Table | pa.RecordBatch, column: str = "spike_counts") -> list[np.ndarray]:
    """Every row's counts as a uint8 ``(n_neurons, n_time_bins)`` array viewing Arrow memory."""
    col = table.column(column)
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    out: list[np.ndarray] = []
    for chunk in chunks:
        view = _ChunkView(chunk)
        out.extend(view.row(i) for i in range(len(chunk)))
    return out


class _ChunkView:
    """Numpy views of one ``list<list<uint8>>`` Arrow chunk's offsets and values."""

    def __init__(self, chunk: pa.Array):
        if chunk.null_count:
            raise ValueError("spike_counts holds null rows")
        inner = chunk.values
        self.outer = chunk.offsets.to_numpy()
        self.inner = inner.offsets.to_numpy()
        self.values = inner.values.to_numpy(zero_copy_only=True)

    def row(self, i: int) -> np.ndarray:
        first, last = int(self.outer[i]), int(self.outer[i + 1])
        n = last - first
        lo, hi = int(self.inner[first]), int(self.inner[last])
        width = (hi - lo) // n if n else 0
        if n and np.any(np.diff(self.inner[first : last + 1]) != width):
            raise ValueError(f"row {i}: neurons have different numbers of time bins")
        return self.values[lo:hi].reshape(n, width)


def spike_counts_array(dataset, index: int) -> np.ndarray:
    """Row ``index`` of a ``datasets.Dataset`` as uint8 ``(n_neurons, n_time_bins)``, zero-copy.

    Works on shuffled or selected datasets (the indices mapping is honoured). Microseconds
    instead of the ~0.2 s that ``np.array(ds[i]["spike_counts"])`` takes on a 10M-token row.
    The array is read-only: it views the memory-mapped Arrow file.
    """
    table = dataset.with_format("arrow")[int(index)]
    return table_spike_counts(table)[0]


def iter_spike_counts(dataset, batch_size: int = 16) -> Iterator[np.ndarray]:
    """Yield every row's counts in order as uint8 ``(n_neurons, n_time_bins)`` views."""
    arrow = dataset.with_format("arrow")
    for start in range(0, len(arrow), batch_size):
        yield from table_spike_counts(arrow[start : start + batch_size])
