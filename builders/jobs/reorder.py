"""Put neurons with similar activity next to each other: a standard neuron order per row.

The method (hierarchical clustering with optimal leaf ordering, as in the reference
description), stated so that every step is valid for the distance it is given:

1. Silent neurons (no spike in the row) have no direction, so no cosine distance. They are
   not given made-up distances: they go to the end of the order, in their original order.
2. The exact Gram matrix of the active neurons' count profiles (20 ms bins) is one matrix
   product: sparse (float64) for sparse rows, else dense BLAS in float32 when that is exact
   (every partial sum of non-negative integers below 2**24) and float64 otherwise. Exact
   integers mean the result does not depend on the BLAS thread count. Cosine distance
   ``1 - cos`` follows from it.
3. Ward linkage needs Euclidean distances. It is run on the L2-normalised profiles, whose
   Euclidean distance ``sqrt(2 * cosine distance)`` is monotone in the cosine distance.
4. Optimal leaf ordering of that tree minimises the sum of **cosine** distances between
   neighbours (the quality measure). :func:`optimal_leaf_order` is a vectorised restatement of
   the Bar-Joseph et al. (2001) dynamic programme over min-plus matrix products; on 800 neurons
   it is several times faster than :func:`scipy.cluster.hierarchy.optimal_leaf_ordering`.

Everything is deterministic: exact integer Gram matrix, SciPy's deterministic nearest-neighbour
chain Ward linkage, and first-index tie breaking in every ``argmin``.

``order`` is a permutation of ``range(n_neurons)`` with ``reordered = counts[order]``. Invert it
with ``counts = reordered[np.argsort(order)]`` (or ``inverse = np.empty_like(order);
inverse[order] = np.arange(len(order))``).
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

#: Largest integer below which float32 sums of integers are exact.
_FLOAT32_EXACT = 2**24
#: Largest share of non-zero counts for which the Gram matrix is computed as a sparse product.
SPARSE_DENSITY = 0.2
#: Elements of the temporary 3-D array in one chunk of a min-plus product (float32: 16 MiB).
_MINPLUS_CHUNK = 1 << 22


def _as_counts(counts) -> np.ndarray:
    """Check and return ``counts`` as a 2-D non-negative integer array (no copy if possible)."""
    arr = np.asarray(counts)
    if arr.ndim != 2:
        raise ValueError(f"counts must be 2-D (n_neurons, n_time_bins), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"counts must hold integer spike counts, got dtype {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise ValueError("counts must be non-negative")
    return arr


def gram_matrix(counts: np.ndarray) -> np.ndarray:
    """Exact ``counts @ counts.T`` as float64, by the cheaper of two exact routes.

    Sparse rows (at most :data:`SPARSE_DENSITY` of entries non-zero, the usual case at 20 ms)
    go through a float64 sparse product, whose work grows with the square of the spikes per bin
    rather than with ``n_neurons**2 * n_time_bins``. Denser rows use one BLAS product, in
    float32 when that is exact: all entries are non-negative integers, so every partial sum is
    bounded by the final one, itself at most the largest row's sum of squares (Cauchy-Schwarz).
    """
    if counts.size and np.count_nonzero(counts) <= SPARSE_DENSITY * counts.size:
        from scipy.sparse import csr_matrix

        sparse = csr_matrix(counts, dtype=np.float64)
        return np.asarray((sparse @ sparse.T).toarray())
    squares = np.einsum("ij,ij->i", counts, counts, dtype=np.int64) if counts.size else np.zeros(len(counts), np.int64)
    dtype = np.float32 if squares.size == 0 or squares.max() < _FLOAT32_EXACT else np.float64
    profiles = counts.astype(dtype)
    return (profiles @ profiles.T).astype(np.float64)


def cosine_distances(counts: np.ndarray) -> np.ndarray:
    """Square matrix of ``1 - cos`` between the rows of ``counts`` (no row may be all zero)."""
    gram = gram_matrix(counts)
    norms = np.sqrt(np.diag(gram))
    if np.any(norms == 0):
        raise ValueError("cosine distance is undefined for an all-zero profile")
    dist = 1.0 - gram / norms[:, None] / norms[None, :]
    np.clip(dist, 0.0, 2.0, out=dist)
    dist = (dist + dist.T) / 2.0
    np.fill_diagonal(dist, 0.0)
    return dist


def _minplus(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Min-plus product: ``out[i, j] = min_k a[i, k] + b[k, j]``, chunked over rows of ``a``."""
    rows, inner = a.shape
    cols = b.shape[1]
    out = np.empty((rows, cols), dtype=a.dtype)
    step = max(1, _MINPLUS_CHUNK // max(1, inner * cols))
    for start in range(0, rows, step):
        block = a[start : start + step, :, None] + b[None, :, :]
        block.min(axis=1, out=out[start : start + step])
    return out


def optimal_leaf_order(tree: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Leaf order of a linkage ``tree`` minimising the sum of ``dist`` between neighbours.

    Among all ``2**(n-1)`` orders obtained by flipping the children of internal nodes, returns
    one with the least total distance between consecutive leaves. ``tree`` is a SciPy linkage
    matrix over ``n`` leaves, ``dist`` a symmetric ``(n, n)`` matrix.

    Works in the tree's own (unflipped) leaf order, where every node covers a contiguous range.
    ``best[u, z]`` holds, for two leaves whose lowest common ancestor is ``v``, the cheapest
    order of ``v``'s leaves running from ``u`` to ``z``; each pair has one such ancestor, so
    one ``(n, n)`` array holds the whole programme.
    """
    n = tree.shape[0] + 1
    if n <= 2:
        return np.arange(n)
    base = leaves_list(tree)
    d = np.ascontiguousarray(dist[np.ix_(base, base)], dtype=np.float32)
    start, size = _node_ranges(tree, base)
    best = np.zeros((n, n), dtype=np.float32)
    children = tree[:, :2].astype(np.int64)

    for node in range(n, 2 * n - 1):
        left, right = children[node - n]
        ws, we = start[left], start[left] + size[left]
        xs, xe = start[right], start[right] + size[right]
        # reach[u, k]: cheapest order of the left part starting at u, ending next to leaf k.
        if size[left] == 1:
            reach = d[ws:we, xs:xe]
        else:
            wm = start[children[left - n][0]] + size[children[left - n][0]]
            reach = np.empty((we - ws, xe - xs), dtype=np.float32)
            reach[: wm - ws] = _minplus(best[ws:wm, wm:we], d[wm:we, xs:xe])
            reach[wm - ws :] = _minplus(best[wm:we, ws:wm], d[ws:wm, xs:xe])
        if size[right] == 1:
            block = reach
        else:
            xm = start[children[right - n][0]] + size[children[right - n][0]]
            block = np.empty((we - ws, xe - xs), dtype=np.float32)
            block[:, : xm - xs] = _minplus(reach[:, xm - xs :], best[xm:xe, xs:xm])
            block[:, xm - xs :] = _minplus(reach[:, : xm - xs], best[xs:xm, xm:xe])
        best[ws:we, xs:xe] = block
        best[xs:xe, ws:we] = block.T

    root = 2 * n - 2
    left, right = children[root - n]
    ws, we = start[left], start[left] + size[left]
    xs, xe = start[right], start[right] + size[right]
    flat = int(np.argmin(best[ws:we, xs:xe]))
    first, last = ws + flat // (xe - xs), xs + flat % (xe - xs)
    positions = _trace(root, first, last, n, children, start, size, best, d)
    return base[positions]


def _node_ranges(tree: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First position (in the unflipped leaf order ``base``) and leaf count of every node."""
    n = len(base)
    start = np.empty(2 * n - 1, dtype=np.int64)
    size = np.empty(2 * n - 1, dtype=np.int64)
    start[base] = np.arange(n)
    size[:n] = 1
    for i, (a, b) in enumerate(tree[:, :2].astype(np.int64)):
        start[n + i] = min(start[a], start[b])
        size[n + i] = size[a] + size[b]
    return start, size


def _trace(root, first, last, n, children, start, size, best, d) -> np.ndarray:
    """Positions of the optimal order, recovered from ``best`` top-down (no recursion).

    ``best`` is zero on its diagonal (never written), which is the cost of a one-leaf order.
    """
    order = np.empty(n, dtype=np.int64)
    stack = [(root, first, last, 0)]  # (node, first leaf, last leaf, where it goes in order)
    while stack:
        node, a, b, at = stack.pop()
        if node < n:
            order[at] = a
            continue
        c1, c2 = children[node - n]
        if not start[c1] <= a < start[c1] + size[c1]:
            c1, c2 = c2, c1  # the part holding the first leaf comes first
        m_cands = _other_half(c1, a, n, children, start, size)
        k_cands = _other_half(c2, b, n, children, start, size)
        cost = best[a, m_cands][:, None] + d[np.ix_(m_cands, k_cands)] + best[k_cands, b][None, :]
        flat = int(np.argmin(cost))
        m, k = m_cands[flat // len(k_cands)], k_cands[flat % len(k_cands)]
        stack.append((c1, a, m, at))
        stack.append((c2, k, b, at + size[c1]))
    return order


def _other_half(node, leaf, n, children, start, size) -> np.ndarray:
    """Positions an order of ``node`` that starts at ``leaf`` may end at: the other child's."""
    if node < n:
        return np.array([leaf])
    c1, c2 = children[node - n]
    other = c2 if start[c1] <= leaf < start[c1] + size[c1] else c1
    return np.arange(start[other], start[other] + size[other])


def adjacent_cosine_distance(counts, order) -> float:
    """Mean cosine distance between consecutive **active** neurons of ``counts[order]``.

    Silent neurons are skipped (their cosine distance is undefined). Lower is better; NaN when
    fewer than two neurons are active.
    """
    arr = _as_counts(counts)[np.asarray(order)]
    active = arr[arr.any(axis=1)].astype(np.float64)
    if len(active) < 2:
        return float("nan")
    norms = np.linalg.norm(active, axis=1)
    cos = np.einsum("ij,ij->i", active[:-1], active[1:]) / norms[:-1] / norms[1:]
    return float(np.mean(1.0 - cos))


def neuron_order(counts) -> np.ndarray:
    """The permutation :func:`reorder_neurons` applies (int64, ``reordered = counts[order]``)."""
    arr = _as_counts(counts)
    active_mask = arr.any(axis=1) if arr.size else np.zeros(len(arr), dtype=bool)
    active = np.flatnonzero(active_mask)
    silent = np.flatnonzero(~active_mask)
    if len(active) <= 2:
        return np.concatenate([active, silent]).astype(np.int64)
    dist = cosine_distances(arr[active])
    euclid = np.sqrt(2.0 * dist)  # distance of L2-normalised profiles
    tree = linkage(squareform(euclid, checks=False), method="ward")
    return np.concatenate([active[optimal_leaf_order(tree, dist)], silent]).astype(np.int64)


def reorder_neurons(counts) -> tuple[np.ndarray, np.ndarray]:
    """Reorder a row's neurons so that neurons with similar activity are neighbours.

    Args:
        counts: ``(n_neurons, n_time_bins)`` non-negative integer spike counts (20 ms bins).

    Returns:
        ``(reordered, order)``: ``reordered = counts[order]`` (same dtype) and ``order``, an
        int64 permutation of ``range(n_neurons)``. Active neurons come first, in optimal leaf
        order of a Ward tree over their L2-normalised profiles; silent neurons follow in their
        original order. Undo with ``counts = reordered[np.argsort(order)]``.

    Raises:
        ValueError: ``counts`` is not a 2-D array of non-negative integers.
    """
    arr = _as_counts(counts)
    order = neuron_order(arr)
    return arr[order], order
