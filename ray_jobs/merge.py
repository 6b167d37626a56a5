"""Merge the pile on a Ray cluster: the scatter and gather steps of
:func:`builders.output.merge.merge_pile` run as Ray tasks (one per input share, one per output shard).

    ray job submit --working-dir . -- python ray_jobs/merge.py --in /mnt/shared/neural_pile_rodent --out /mnt/shared/merged

Same arguments and output as ``neural-pile merge``; give --in and --out as absolute paths on storage
every node sees.
"""

from __future__ import annotations

import argparse
import os
import sys

if __package__ in (None, ""):  # run as a script (ray job submit -- python ray_jobs/merge.py)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ray_map(fn, arguments: list[tuple]) -> list:
    """Run ``fn(*args)`` for every tuple as a Ray task; results in order."""
    import ray

    task = ray.remote(num_cpus=1)(fn)
    return ray.get([task.remote(*args) for args in arguments])


def main(argv: list[str] | None = None) -> int:
    from builders.commands.merge import add_merge_arguments, report
    from builders.output.merge import MergeError, merge_pile
    from ray_jobs.cluster import connect

    parser = argparse.ArgumentParser(prog="ray_jobs/merge.py", description=__doc__.splitlines()[0])
    add_merge_arguments(parser)
    parser.add_argument("--address", default=None, help="Ray cluster address (default: this job's, else a local one)")
    parser.add_argument("--parts", type=int, default=16, help="scatter tasks per split (default: 16)")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of a local Ray started by this job")
    args = parser.parse_args(argv)
    connect(args.address, num_cpus=args.num_cpus)
    try:
        summary = merge_pile(os.path.abspath(args.dataset), os.path.abspath(args.out), config=args.config,
                             seed=args.seed, shard_bytes=args.shard_bytes, parts=args.parts, map_fn=ray_map)
    except MergeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report(summary, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
