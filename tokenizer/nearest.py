"""Cosine-nearest vocabulary entry of motifs that are not in the vocabulary.

Rule: the silent (all-zero) motif maps only to the vocabulary's silent entry; every other motif
maps to the non-silent vocabulary motif with the highest cosine similarity, ties to the lowest
id (the more frequent motif).

Counts are >= 0, so for a query q the argmax over v of the cosine is the argmax of
``dot(q, v)**2 / |v|**2`` (|q| is common to every v). Dots of integer-valued float64 vectors are
exact whatever the BLAS summation order, and one correctly rounded division follows, so ties
break the same way however the queries are batched. Queries go through chunked matrix products
whose score block stays near ``CHUNK_BYTES``.
"""

from __future__ import annotations

import numpy as np

CHUNK_BYTES = 32 * 1024**2


def nearest_by_cosine(queries: np.ndarray, vocab: np.ndarray, zero_id: int) -> np.ndarray:
    """Vocabulary id (int64) of each uint8 ``(Q, width)`` query motif.

    Args:
        queries: motifs to map, uint8 ``(Q, width)``.
        vocab: vocabulary motifs, uint8 ``(K, width)``; row ``zero_id`` is the silent motif and
            at least one other row is non-silent.
        zero_id: id of the silent motif in ``vocab``.
    """
    queries = np.asarray(queries)
    vocab = np.asarray(vocab)
    if queries.ndim != 2 or vocab.ndim != 2 or queries.shape[1] != vocab.shape[1]:
        raise ValueError(f"queries {queries.shape} and vocabulary {vocab.shape} must be (n, width) with one width")
    vocab_f = vocab.astype(np.float64)
    norms2 = np.einsum("ij,ij->i", vocab_f, vocab_f)  # exact integers
    candidates = np.flatnonzero(norms2 > 0)
    if not len(candidates):
        raise ValueError("the vocabulary holds no non-silent motif to map non-silent motifs to")
    cand_t = np.ascontiguousarray(vocab_f[candidates].T)
    cand_norms2 = norms2[candidates]
    out = np.full(len(queries), int(zero_id), dtype=np.int64)
    busy = np.flatnonzero(queries.any(axis=1))
    step = max(1, CHUNK_BYTES // (8 * len(candidates)))
    for start in range(0, len(busy), step):
        rows = busy[start : start + step]
        scores = queries[rows].astype(np.float64) @ cand_t  # exact integer dots
        np.multiply(scores, scores, out=scores)
        np.divide(scores, cand_norms2, out=scores)
        out[rows] = candidates[np.argmax(scores, axis=1)]  # first maximum: lowest id
    return out
