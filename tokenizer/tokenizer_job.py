"""The tokenizer-training job shared by ``neural-pile train-tokenizer`` and ``ray_jobs/tokenizer.py``.

Both parse :func:`add_tokenizer_arguments` and call :func:`run_tokenizer_job` with an ``assign``
function that maps the table's out-of-vocabulary motifs to vocabulary ids (locally in chunks
with a progress bar, or spread over Ray tasks).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from tqdm.auto import tqdm

from .motif_table import read_motif_table
from .motif_tokenizer import DEFAULT_MAX_KNOWN, MotifTokenizer
from .nearest import nearest_by_cosine

#: Out-of-vocabulary motifs mapped per progress step / per Ray task.
CHUNK_MOTIFS = 20_000


def add_tokenizer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--motifs", required=True, help="motif table folder written by `neural-pile motifs` (motifs.parquet)")
    parser.add_argument("--vocab-size", type=int, required=True, help="K, the number of token ids (e.g. 32000)")
    parser.add_argument("--out", required=True, help="folder for the saved tokenizer (config.json, motif_tokenizer.safetensors, README.md)")
    parser.add_argument("--max-known", type=int, default=DEFAULT_MAX_KNOWN,
                        help="out-of-vocabulary motifs whose ids are precomputed and saved, most frequent first; rarer "
                             f"ones are searched when met (default: {DEFAULT_MAX_KNOWN:,}; 0: none)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def chunks(n: int, size: int = CHUNK_MOTIFS) -> list[slice]:
    return [slice(start, min(n, start + size)) for start in range(0, n, size)]


def assign_locally(progress: bool = True):
    """An ``assign`` function running :func:`nearest_by_cosine` chunk by chunk with a progress bar."""

    def assign(queries: np.ndarray, vocab: np.ndarray, zero_id: int) -> np.ndarray:
        out = np.empty(len(queries), dtype=np.int64)
        with tqdm(total=len(queries), unit="motif", desc="nearest vocabulary motif", disable=not progress) as bar:
            for part in chunks(len(queries)):
                out[part] = nearest_by_cosine(queries[part], vocab, zero_id)
                bar.update(part.stop - part.start)
        return out

    return assign


def run_tokenizer_job(args: argparse.Namespace, assign) -> MotifTokenizer:
    """Train a tokenizer from ``args.motifs`` with ``args.vocab_size`` ids and save it to ``args.out``."""
    started = time.perf_counter()
    table = read_motif_table(args.motifs)
    tok = MotifTokenizer.train(table, args.vocab_size, assign=assign, max_known=args.max_known)
    tok.save_pretrained(args.out)
    share = tok.training.get("in_vocab_share", 1.0)
    print(
        f"tokenizer {tok.patch_size[0]}x{tok.patch_size[1]}, {tok.vocab_size:,} ids, {len(tok.known_motifs):,} of "
        f"{tok.training.get('oov_motifs', 0):,} out-of-vocabulary motifs stored; {100 * share:.3f}% of training patches lossless; "
        f"{time.perf_counter() - started:.1f} s -> {args.out}/"
    )
    return tok
