"""Reorder the neurons of a dataset folder on a Ray cluster: one task per shard, resumable.

    ray job submit --working-dir . -- python ray_jobs/reorder.py --in neural_pile_rodent \
        --out neural_pile_rodent_reordered

Each task calls :func:`builders.analysis.reorder_dataset.reorder_shard`, the unit of work of the
local ``neural-pile reorder`` too, and writes its output shard atomically; a rerun skips shards
already written. The driver then writes the dataset card and ``reorder_report.json`` and exits
1 if any shard failed. Input and output folders must be visible to every node (shared storage).
"""

from __future__ import annotations

import argparse
import os
import sys

if __package__ in (None, ""):  # run as a script (ray job submit -- python ray_jobs/reorder.py)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ray_executor(address: str | None = None, *, progress: bool = True, num_cpus: int | None = None):
    """An ``execute`` for :func:`builders.analysis.reorder_dataset.reorder_dataset` running one Ray task per shard."""

    def execute(tasks):
        import ray
        from tqdm import tqdm

        from builders.analysis.reorder_dataset import reorder_shard
        from ray_jobs.cluster import connect

        connect(address, num_cpus=num_cpus, progress=progress)
        remote = ray.remote(num_cpus=1, max_retries=3)(reorder_shard)
        pending = [remote.remote(task) for task in tasks]
        records = []
        with tqdm(total=len(tasks), desc="reorder shards", unit="shard", disable=not progress) as bar:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                records.append(ray.get(ready[0]))
                bar.update(1)
        order = {t.source: i for i, t in enumerate(tasks)}
        return sorted(records, key=lambda r: order[r["source"]])

    return execute


def main(argv: list[str] | None = None) -> int:
    from builders.analysis.reorder_dataset import reorder_dataset
    from builders.commands.reorder import add_reorder_arguments, conclude

    parser = argparse.ArgumentParser(
        prog="ray_jobs/reorder.py",
        description="Reorder the neurons of every row of a dataset folder on a Ray cluster (one task per shard).",
    )
    add_reorder_arguments(parser)
    parser.add_argument("--address", default=None,
                        help="Ray cluster address (default: the cluster this job runs in, else a local one)")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of a local Ray started by this job")
    args = parser.parse_args(argv)
    executor = ray_executor(args.address, progress=not args.no_progress, num_cpus=args.num_cpus)
    try:
        report = reorder_dataset(args.in_dir, args.out_dir, execute=executor, progress=not args.no_progress)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return conclude(report)


if __name__ == "__main__":
    sys.exit(main())
