"""The tokenizer-training job: a MotifTokenizer from a motif table, the nearest-motif search on any executor.

``neural-pile train-tokenizer`` (and ``ray_jobs/train_tokenizer.py``) call :func:`tokenizer_job`.
Only the mapping of the table's out-of-vocabulary motifs to vocabulary ids is spread over the
executor, in chunks of :data:`CHUNK_MOTIFS` motifs; each worker receives the vocabulary once
with the task. The result is the same on every executor.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from builders.runtime.executor import Executor, SerialExecutor, Task
from tokenizer.motif_table import read_motif_table
from tokenizer.motif_tokenizer import DEFAULT_MAX_KNOWN, MotifTokenizer, check_vocab_size, owned_tokenizer_folder
from tokenizer.nearest import nearest_by_cosine

logger = logging.getLogger(__name__)

#: Out-of-vocabulary motifs mapped per work item.
CHUNK_MOTIFS = 20_000


class NearestTask(Task):
    """Cosine-nearest vocabulary id of each motif of a chunk (the vocabulary travels with the task)."""

    def __init__(self, vocab: np.ndarray, zero_id: int):
        self.vocab, self.zero_id = vocab, zero_id

    def run(self, queries: np.ndarray) -> np.ndarray:
        return nearest_by_cosine(queries, self.vocab, self.zero_id)


def assign_nearest(
    queries: np.ndarray,
    vocab: np.ndarray,
    zero_id: int,
    *,
    executor: Executor | None = None,
    chunk: int = CHUNK_MOTIFS,
    progress: bool = True,
) -> np.ndarray:
    """Vocabulary id (int64) of each query motif, chunk by chunk on ``executor``."""
    parts = [queries[start : start + chunk] for start in range(0, len(queries), chunk)]
    outcomes = (executor or SerialExecutor()).map(
        NearestTask(vocab, zero_id), parts, desc="nearest vocabulary motif (chunks)", progress=progress
    )
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise RuntimeError(f"nearest-motif search failed: {failed[0].error}")
    return np.concatenate([o.result for o in outcomes]) if outcomes else np.zeros(0, np.int64)


def tokenizer_job(
    motifs: str | Path,
    vocab_size: int,
    out: str | Path,
    *,
    executor: Executor | None = None,
    progress: bool = True,
    max_known: int | None = DEFAULT_MAX_KNOWN,
) -> MotifTokenizer:
    """Train a tokenizer of ``vocab_size`` ids from the motif table folder ``motifs`` and save it to ``out``.

    ``max_known``: out-of-vocabulary motifs whose ids are precomputed and saved (most frequent first).
    """
    table = read_motif_table(motifs)
    check_vocab_size(vocab_size, table.motifs)  # before the output folder is made

    def assign(queries, vocab, zero_id):
        return assign_nearest(queries, vocab, zero_id, executor=executor, progress=progress)

    with owned_tokenizer_folder(out):  # before training: a refused folder costs no work
        tok = MotifTokenizer.train(table, vocab_size, assign=assign, max_known=max_known)
        tok.save_pretrained(out)
    logger.info("tokenizer %s -> %s", tok.patch_size, out)
    return tok
