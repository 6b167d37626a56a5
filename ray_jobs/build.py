"""Build the pile on a Ray cluster: one task per session, resumable, with a live progress line.

    ray job submit --working-dir . -- python ray_jobs/build.py vbn ibl shield --out /mnt/shared/neural_pile_rodent

Every task calls :func:`builders.pipeline.process_session`, the same unit of work as the local
build, so the rows are identical. Each task holds one session in memory; shards and markers
are written atomically by the task, so a lost node or a killed driver loses at most the
sessions in flight, and a rerun resumes from the markers. A session that fails is retried
up to ``--max-retries`` times (new task), then reported.
"""

from __future__ import annotations

import argparse
import os
import sys

if __package__ in (None, ""):  # run as a script (ray job submit -- python ray_jobs/build.py)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from builders.pipeline import BuildProgress, SessionJob, process_session  # noqa: E402

#: Application-level retries of a failed session (system failures are retried by Ray itself).
MAX_RETRIES = 2


def ray_executor(address: str | None = None, *, max_retries: int = MAX_RETRIES, progress: bool = True,
                 num_cpus: int | None = None):
    """An executor for :func:`builders.pipeline.build` that runs each session as a Ray task."""

    def execute(jobs: list[SessionJob]) -> list[dict]:
        import ray

        from ray_jobs.cluster import connect

        connect(address, num_cpus=num_cpus)
        task = ray.remote(num_cpus=1, max_retries=3)(process_session)
        bar = BuildProgress(len(jobs), progress)
        attempts = {i: 0 for i in range(len(jobs))}
        pending = {task.remote(job): i for i, job in enumerate(jobs)}
        records = []
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                index = pending.pop(ready[0])
                record = ray.get(ready[0])
                if record["status"] == "failed" and attempts[index] < max_retries:
                    attempts[index] += 1
                    pending[task.remote(jobs[index])] = index
                    continue
                records.append({**record, "attempts": attempts[index] + 1})
                bar.update(record)
        finally:
            bar.close()
        return records

    return execute


def main(argv: list[str] | None = None) -> int:
    from builders.commands.build import add_build_arguments, execute

    parser = argparse.ArgumentParser(
        prog="ray_jobs/build.py",
        description="Build components of the rodent neural pile on a Ray cluster (one task per session). "
                    "Same arguments and output as `neural-pile build`; reruns resume. Under `ray job submit`, "
                    "give --out (and --data-dir) as absolute paths on storage every node sees: a relative path "
                    "resolves inside the job's uploaded working directory.",
    )
    add_build_arguments(parser)
    parser.add_argument("--address", default=None,
                        help="Ray cluster address (default: the cluster this job runs in, else a local one)")
    parser.add_argument("--max-retries", type=int, default=MAX_RETRIES,
                        help=f"new attempts for a failed session before it is reported (default: {MAX_RETRIES})")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of a local Ray started by this job")
    args = parser.parse_args(argv)
    executor = ray_executor(args.address, max_retries=args.max_retries, progress=not args.no_progress,
                            num_cpus=args.num_cpus)
    return execute(args, executor)


if __name__ == "__main__":
    sys.exit(main())
