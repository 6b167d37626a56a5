"""Run every benchmark one after the other (never two at once: they compare speeds).

    python benchmarks/run_all.py [--dataset neural_pile_rodent]

The motif benchmarks read the demo folder; it is built first with ``neural-pile demo`` when
missing. Each script prints its table and writes JSON under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="neural_pile_rodent", help="built demo folder for the motif benchmarks")
    args = parser.parse_args(argv)
    if not (Path(args.dataset) / "data" / "demo").is_dir():
        subprocess.run([sys.executable, "-m", "builders.cli", "demo", "--out", args.dataset], check=True)
    runs = [
        ["bench_build.py", "--out", str(RESULTS / "build.json")],
        ["bench_streaming.py", "--out", str(RESULTS / "streaming.json")],
        ["bench_ray_build.py", "--out", str(RESULTS / "ray_build.json")],
        ["bench_motifs.py", "--dataset", args.dataset, "--out", str(RESULTS / "motifs.json")],
        ["motif_coverage.py", "--dataset", args.dataset, "--out", str(RESULTS / "motif_coverage.json")],
        ["bench_reorder.py", "--out", str(RESULTS / "reorder.json")],
        ["bench_pile_stats.py", "--out", str(RESULTS / "pile_stats.json")],
        ["bench_streams.py", "--out", str(RESULTS / "streams.json")],
    ]
    failed = []
    for script, *rest in runs:
        print(f"\n=== {script}", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *rest]).returncode != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
