"""Build throughput on a local Ray instance with 1 vs 2 workers (CPUs), same sessions.

    python benchmarks/bench_ray_build.py [--sessions 8] [--out benchmarks/results/ray_build.json]

Each run builds the same synthetic sessions (equal sizes, so that no single session is the
critical path) into a fresh folder through
``ray_jobs/build.py``'s executor (one Ray task per session) and reports tokens per second; the
scaling ratio is the 2-worker rate over the 1-worker rate (2.0 would be perfect on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from builders.build.pipeline import BuildOptions, build  # noqa: E402
from builders.runtime.executor import RayExecutor  # noqa: E402
from builders.synthetic.recordings import write_nwb_session  # noqa: E402


def _import_builders(_: int) -> int:
    import builders.build.pipeline  # noqa: F401

    return os.getpid()


def _warm_up(workers: int) -> None:
    """Start every worker process and import the build code in it, outside the timed part."""
    import ray

    task = ray.remote(num_cpus=1)(_import_builders)
    pids: set[int] = set()
    while len(pids) < workers:
        pids.update(ray.get([task.remote(i) for i in range(4 * workers)]))


def timed_build(data: Path, out: Path, workers: int) -> dict:
    import ray

    executor = RayExecutor(num_workers=workers)
    options = BuildOptions(out=str(out), data_dir=str(data))
    # start Ray before the clock: its start-up is not build throughput
    from builders.runtime.cluster import connect

    connect(None, num_cpus=workers, object_store_mb=512, progress=False)
    _warm_up(workers)
    start = time.perf_counter()
    report, _ = build(["demo"], options, executor=executor, progress=False)
    seconds = time.perf_counter() - start
    ray.shutdown()
    tokens = report.components["demo"]["tokens"]
    task_seconds = [json.loads(p.read_text())["seconds"] for p in (out / ".build" / "demo").glob("*.json")]
    return {
        "workers": workers,
        "seconds": seconds,
        "tokens": tokens,
        "tokens_per_s": tokens / seconds,
        "task_seconds_sum": sum(task_seconds),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=12, help="number of sessions (150 units x 10 min each)")
    parser.add_argument("--out", default="benchmarks/results/ray_build.json", help="JSON file for the results")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(args.sessions):
            write_nwb_session(
                tmp / "data" / f"sub-R{i}" / f"sub-R{i}_ses-1_ecephys.nwb",
                subject_id=f"R{i}",
                session_id="1",
                n_units=150,
                duration_s=600.0,
                seed=i,
            )
        runs = [timed_build(tmp / "data", tmp / f"out{w}", w) for w in (1, 2)]
    result = {"runs": runs, "scaling": runs[1]["tokens_per_s"] / runs[0]["tokens_per_s"]}
    for run in runs:
        print(
            f"{run['workers']} worker(s): {run['tokens']:,} tokens in {run['seconds']:.1f} s "
            f"= {run['tokens_per_s']:.3g} tokens/s (time inside tasks, summed: {run['task_seconds_sum']:.1f} s)"
        )
    print(f"scaling 1 -> 2 workers: {result['scaling']:.2f}x")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
