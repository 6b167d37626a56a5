"""Motif counts over the dataset's Parquet shards with Ray Data.

    python ray_jobs/motifs.py --patch-size 1 10 --dataset neural_pile_rodent --config all --out motifs_1x10
    ray job submit --working-dir . -- python ray_jobs/motifs.py --patch-size 1 10 --out motifs_1x10

Each Ray Data block is pre-aggregated into a partial table of distinct motifs and counts by the
same :func:`count_motifs` code the local command uses; the driver merges the partial tables
exactly. Output is the same as ``neural-pile motifs`` (table, metadata, figure).
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

import pyarrow as pa

from ray_jobs.cluster import add_cluster_arguments, connect_from_args
from tokenizer.motif_job import add_motif_arguments, run_motif_job
from tokenizer.motifs import MotifCounter, count_motifs
from tokenizer.shard_counting import shard_rows

__all__ = ["count_motifs", "count_shards_ray", "block_motif_table", "main"]


def block_motif_table(batch: pa.Table, patch_size, pad: str) -> pa.Table:
    """A partial table (``motif`` fixed_size_list<uint8>, ``count`` int64) of one block of rows."""
    from builders.schema import table_spike_counts

    motifs, counts = count_motifs(table_spike_counts(batch), patch_size, pad=pad)
    width = int(patch_size[0]) * int(patch_size[1])
    return pa.table(
        {
            "motif": pa.FixedSizeListArray.from_arrays(pa.array(motifs.ravel(), pa.uint8()), width),
            "count": pa.array(counts, pa.int64()),
        }
    )


def count_shards_ray(files, patch_size, pad: str = "drop", progress: bool = False, concurrency: int | None = None):
    """Exact motif counts over ``files`` on the connected Ray cluster: ``(motifs, counts, rows)``.

    Args:
        concurrency: at most this many read / count tasks at once (default: Ray's choice).
    """
    import ray.data

    patch_size = tuple(int(v) for v in patch_size)
    width = patch_size[0] * patch_size[1]
    files = [str(f) for f in files]
    # at least one block per shard, so that tasks can run side by side
    dataset = ray.data.read_parquet(files, concurrency=concurrency, override_num_blocks=len(files)).select_columns(["spike_counts"])
    partial = dataset.map_batches(
        block_motif_table,
        batch_format="pyarrow",
        batch_size=None,
        zero_copy_batch=True,
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
    parser.add_argument("--concurrency", type=int, default=None, help="at most this many read/count tasks at once (default: Ray's choice)")
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
