"""Motif counts over the dataset's Parquet shards with Ray Data.

    python ray_jobs/motifs.py --patch-size 1 10 --dataset neural_pile_rodent --config all --out motifs_1x10
    ray job submit --working-dir . -- python ray_jobs/motifs.py --patch-size 1 10 --out motifs_1x10

Each shard is one Ray Data block, pre-aggregated into a partial table of distinct motifs and
counts by the same code the local command uses; the driver merges the partial tables exactly. Output is the same as ``neural-pile motifs`` (table, metadata, figure).
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
import pyarrow as pa

from ray_jobs.cluster import add_cluster_arguments, connect_from_args
from tokenizer.motif_job import add_motif_arguments, run_motif_job
from tokenizer.motifs import MotifCounter, count_motifs
from tokenizer.shard_counting import count_shard_files, shard_rows

__all__ = ["count_motifs", "count_shards_ray", "shard_motif_table", "main"]


def _partial_table(motifs: np.ndarray, counts: np.ndarray, width: int) -> pa.Table:
    return pa.table(
        {
            "motif": pa.FixedSizeListArray.from_arrays(pa.array(motifs.ravel(), pa.uint8()), width),
            "count": pa.array(counts, pa.int64()),
        }
    )


def shard_motif_table(batch: pa.Table, patch_size, pad: str) -> pa.Table:
    """A partial table (``motif`` fixed_size_list<uint8>, ``count`` int64) of the shards in ``batch``.

    Each shard is streamed one record batch at a time by the same code as the local count, so
    a task holds one batch of rows plus its running table of distinct motifs.
    """
    motifs, counts, _ = count_shard_files(batch.column("path").to_pylist(), patch_size, pad, progress=False)
    return _partial_table(motifs, counts, int(patch_size[0]) * int(patch_size[1]))


def count_shards_ray(files, patch_size, pad: str = "drop", progress: bool = False, concurrency: int | None = None):
    """Exact motif counts over ``files`` on the connected Ray cluster: ``(motifs, counts, rows)``.

    One Ray Data block, and so one task, per shard (largest first): Parquet reads would pack
    small shards into a single read task and leave the other workers idle.

    Args:
        concurrency: at most this many counting tasks at once (default: Ray's choice).
    """
    import ray.data

    patch_size = tuple(int(v) for v in patch_size)
    width = patch_size[0] * patch_size[1]
    files = sorted((str(f) for f in files), key=lambda f: -Path(f).stat().st_size)
    if not files:
        return np.zeros((0, width), np.uint8), np.zeros(0, np.int64), 0
    paths = ray.data.from_items([{"path": f} for f in files], override_num_blocks=len(files))
    partial = paths.map_batches(
        shard_motif_table,
        batch_size=1,
        batch_format="pyarrow",
        fn_kwargs={"patch_size": patch_size, "pad": pad},
        concurrency=concurrency,
    )
    counter = MotifCounter(patch_size, pad)
    for table in partial.iter_batches(batch_format="pyarrow", batch_size=None):
        if table.num_rows:
            motifs = table.column("motif").combine_chunks().values.to_numpy(zero_copy_only=False).reshape(-1, width)
            counter.add_table(motifs, table.column("count").to_numpy())
    motifs, counts = counter.result()
    return motifs, counts, shard_rows(files)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ray_jobs/motifs.py",
        description="Count every distinct p_n x p_t spike-count motif of a built dataset with Ray Data and write the motif table, metadata and figure.",
    )
    add_motif_arguments(parser)
    add_cluster_arguments(parser)
    parser.add_argument("--concurrency", type=int, default=None, help="at most this many shard-counting tasks at once (default: Ray's choice)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    connect_from_args(args, progress=not args.quiet)

    def count(files, patch_size, pad, progress):
        return count_shards_ray(files, patch_size, pad, progress, concurrency=args.concurrency)

    run_motif_job(args, count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
