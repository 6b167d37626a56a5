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


class CosineCandidates:
    """The non-silent vocabulary motifs prepared once (float64, transposed, squared norms), for
    repeated searches against one vocabulary (the tokenizer keeps one while it encodes)."""

    def __init__(self, vocab: np.ndarray, zero_id: int):
        vocab = np.asarray(vocab)
        if vocab.ndim != 2:
            raise ValueError(f"vocabulary must be (n, width), got {vocab.shape}")
        vocab_f = vocab.astype(np.float64)
        norms2 = np.einsum("ij,ij->i", vocab_f, vocab_f)  # exact integers
        self.candidates = np.flatnonzero(norms2 > 0)
        if not len(self.candidates):
            raise ValueError("the vocabulary holds no non-silent motif to map non-silent motifs to")
        self.cand_t = np.ascontiguousarray(vocab_f[self.candidates].T)
        self.cand_norms2 = norms2[self.candidates]
        self.width = vocab.shape[1]
        self.zero_id = int(zero_id)


def nearest_by_cosine(
    queries: np.ndarray, vocab: np.ndarray, zero_id: int, *, prepared: CosineCandidates | None = None
) -> np.ndarray:
    """Vocabulary id (int64) of each uint8 ``(Q, width)`` query motif.

    Args:
        queries: motifs to map, uint8 ``(Q, width)``.
        vocab: vocabulary motifs, uint8 ``(K, width)``; row ``zero_id`` is the silent motif and
            at least one other row is non-silent.
        zero_id: id of the silent motif in ``vocab``.
        prepared: ``CosineCandidates(vocab, zero_id)`` kept by the caller (skips preparing the
            vocabulary on every call).
    """
    queries = np.asarray(queries)
    prep = prepared if prepared is not None else CosineCandidates(vocab, zero_id)
    if queries.ndim != 2 or queries.shape[1] != prep.width:
        raise ValueError(f"queries {queries.shape} and vocabulary (K, {prep.width}) must be (n, width) with one width")
    candidates, cand_t, cand_norms2 = prep.candidates, prep.cand_t, prep.cand_norms2
    out = np.full(len(queries), prep.zero_id, dtype=np.int64)
    busy = np.flatnonzero(queries.any(axis=1))
    step = max(1, CHUNK_BYTES // (8 * len(candidates)))
    for start in range(0, len(busy), step):
        rows = busy[start : start + step]
        scores = queries[rows].astype(np.float64) @ cand_t  # exact integer dots
        np.multiply(scores, scores, out=scores)
        np.divide(scores, cand_norms2, out=scores)
        out[rows] = candidates[np.argmax(scores, axis=1)]  # first maximum: lowest id
    return out
