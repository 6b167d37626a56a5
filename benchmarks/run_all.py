"""Run every benchmark one after the other (never two at once: they compare speeds).

    python benchmarks/run_all.py [--dataset neural_pile_rodent]
    python benchmarks/report.py --write        # then refresh the README table (``make bench`` does both)

The motif benchmarks read the demo folder; it is built first with ``neural-pile demo`` when
missing. Each script prints its table and writes JSON under ``benchmarks/results/``; this runner
also writes ``results/machine.json`` (cores, CPU, date, load average), and removes a script's
previous results file before running it, so a script that fails leaves "not measured" in the
table rather than an older run's numbers.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

from builders.storage.atomic import write_json_atomic  # noqa: E402

RESULTS = HERE / "results"


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_record() -> dict:
    """Where and when the benchmarks ran: cores, CPU, UTC date, 1-minute load average at the start
    (``load_average_1min_end`` is added when the last benchmark has run)."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _out(name: str) -> str:
    """``benchmarks/results/<name>`` relative to the current folder (what the results record as
    their command: no machine paths; `make bench` runs from the repository root)."""
    return os.path.relpath(RESULTS / name)


def benchmark_runs(dataset: str) -> list[list[str]]:
    """``[script, *arguments]`` of every benchmark, each ending with ``--out results/<name>.json``."""
    return [
        ["bench_build.py", "--out", _out("build.json")],
        ["bench_streaming.py", "--out", _out("streaming.json")],
        ["bench_wan.py", "--out", _out("wan.json")],
        ["bench_ray_build.py", "--out", _out("ray_build.json")],
        ["bench_motifs.py", "--dataset", dataset, "--out", _out("motifs.json")],
        ["motif_coverage.py", "--dataset", dataset, "--out", _out("motif_coverage.json")],
        ["bench_reorder.py", "--out", _out("reorder.json")],
        ["bench_pile_stats.py", "--out", _out("pile_stats.json")],
        ["bench_streams.py", "--out", _out("streams.json")],
        ["simulate_split.py", "--out", _out("split_simulation.json")],
        ["bench_merge.py", "--out", _out("merge.json")],
        ["bench_plan.py", "--out", _out("plan.json")],
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="neural_pile_rodent", help="built demo folder for the motif benchmarks")
    args = parser.parse_args(argv)
    if not (Path(args.dataset) / "data" / "demo").is_dir():
        subprocess.run([sys.executable, "-m", "builders.cli", "demo", "--out", args.dataset], check=True)
    machine = machine_record()
    write_json_atomic(RESULTS / "machine.json", machine)
    failed = []
    for script, *rest in benchmark_runs(args.dataset):
        Path(rest[rest.index("--out") + 1]).unlink(missing_ok=True)
        print(f"\n=== {script}", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *rest]).returncode != 0:
            failed.append(script)
    write_json_atomic(RESULTS / "machine.json", {**machine, "load_average_1min_end": round(os.getloadavg()[0], 2)})
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
