"""Train a MotifTokenizer from a motif table, spreading the nearest-motif search over Ray tasks.

    python ray_jobs/tokenizer.py --motifs motifs_1x10 --vocab-size 32000 --out tok_1x10_32k
    ray job submit --working-dir . -- python ray_jobs/tokenizer.py --motifs motifs_1x10 --vocab-size 32000 --out tok_1x10_32k

Only the mapping of the table's out-of-vocabulary motifs runs on Ray (chunks of
``CHUNK_MOTIFS`` motifs per task, the vocabulary shared through the object store); the result
is identical to ``neural-pile train-tokenizer``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import from the repository root, not from
    # ray_jobs/ itself, where this folder's tokenizer.py would shadow the tokenizer package
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import numpy as np
from tqdm.auto import tqdm

from ray_jobs.cluster import add_cluster_arguments, connect_from_args
from tokenizer.nearest import nearest_by_cosine
from tokenizer.tokenizer_job import CHUNK_MOTIFS, add_tokenizer_arguments, chunks, run_tokenizer_job


def assign_on_ray(progress: bool = True, chunk: int = CHUNK_MOTIFS):
    """An ``assign`` function mapping motifs to vocabulary ids with one Ray task per ``chunk`` motifs."""
    import ray

    nearest_task = ray.remote(nearest_by_cosine)

    def assign(queries: np.ndarray, vocab: np.ndarray, zero_id: int) -> np.ndarray:
        vocab_ref = ray.put(vocab)
        parts = chunks(len(queries), chunk)
        pending = {nearest_task.remote(queries[part], vocab_ref, zero_id): part for part in parts}
        out = np.empty(len(queries), dtype=np.int64)
        with tqdm(total=len(queries), unit="motif", desc="nearest vocabulary motif (ray)", disable=not progress) as bar:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                part = pending.pop(done[0])
                out[part] = ray.get(done[0])
                bar.update(part.stop - part.start)
        return out

    return assign


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ray_jobs/tokenizer.py",
        description="Train a MotifTokenizer (K most frequent motifs + cosine-nearest mapping of the rest) on Ray and save it.",
    )
    add_tokenizer_arguments(parser)
    add_cluster_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    connect_from_args(args, progress=not args.quiet)
    run_tokenizer_job(args, assign_on_ray(progress=not args.quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
