"""Motif counts by brute force: the independent expectation every motif-counting test compares to."""

from __future__ import annotations

from collections import Counter


def brute_force(arrays, patch_size, pad="drop") -> Counter:
    """Count ``p_n x p_t`` patches of each uint8 ``(n_neurons, n_time_bins)`` array one by one with
    Python loops: ``pad="drop"`` skips the partial patches at the edges, ``"zero"`` pads them with
    zeros by hand. Keys are the patch values row by row, as a tuple of ints."""
    p_n, p_t = patch_size
    counter: Counter = Counter()
    for arr in arrays:
        n, t = arr.shape
        if pad == "zero":
            n_rows, n_cols = -(-n // p_n), -(-t // p_t)
        else:
            n_rows, n_cols = n // p_n, t // p_t
        for r in range(n_rows):
            for c in range(n_cols):
                patch = [
                    [int(arr[i, j]) if i < n and j < t else 0 for j in range(c * p_t, (c + 1) * p_t)]
                    for i in range(r * p_n, (r + 1) * p_n)
                ]
                counter[tuple(v for line in patch for v in line)] += 1
    return counter


def as_counter(motifs, counts) -> Counter:
    """A motif table's ``(motifs, counts)`` in :func:`brute_force`'s form."""
    return Counter({tuple(int(v) for v in m): int(c) for m, c in zip(motifs, counts)})
