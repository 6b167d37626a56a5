"""Peak memory of ``neural-pile merge`` against the size of its shards.

Writes a synthetic pile folder (3 components x 12 sessions x 2 rows of 120 neurons x 20,000 bins,
Poisson counts at 0.08 per bin: 173M tokens, ~16 MB of Parquet), then merges it in a child process
with one large output shard and with several small ones, and reports each child's peak RSS next to
the peak RSS of a child that only imports the package. Memory should not grow with the shard size.

    python benchmarks/bench_merge.py [--work /tmp/bench_merge] [--out benchmarks/results/merge.json]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from builders.storage.atomic import write_json_atomic, write_text_atomic  # noqa: E402
from builders.storage.card import card_yaml  # noqa: E402
from builders.storage.shards import write_rows_atomic  # noqa: E402

COMPONENTS = ("vbn", "ibl", "shield")


def write_pile(out: Path, seed: int = 0) -> int:
    """The synthetic pile; returns its tokens."""
    rng = np.random.default_rng(seed)
    tokens = 0
    for component in COMPONENTS:
        for session in range(12):
            rows = []
            for segment in range(2):
                counts = rng.poisson(0.08, (120, 20_000)).astype(np.uint8)
                tokens += counts.size
                rows.append(
                    {
                        "spike_counts": counts,
                        "subject_id": "m",
                        "session_id": str(session),
                        "segment_id": f"segment_{segment}",
                        "source_dataset": component,
                        "n_neurons": 120,
                        "n_time_bins": 20_000,
                        "t_start": 0.0,
                        "unit_ids": np.arange(120),
                        "unit_regions": [""] * 120,
                    }
                )
            split = "test" if session == 0 else "train"
            write_rows_atomic(out / "data" / component / f"{split}-{session}.parquet", rows)
    write_text_atomic(out / "README.md", card_yaml(out, list(COMPONENTS)) + "\n# benchmark pile\n")
    return tokens


def child_peak_mb(code: str) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of a child Python running ``code`` (its own rusage, via wait4)."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"child failed with exit code {child.returncode}")
    return usage.ru_maxrss / 1024, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/bench_merge", help="scratch folder (removed first)")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    tokens = write_pile(work / "pile")
    size = sum(p.stat().st_size for p in (work / "pile").rglob("*.parquet"))
    print(f"pile: {tokens:,} tokens, {size / 1e6:.1f} MB of Parquet")
    base, _ = child_peak_mb("import builders.jobs.merge, builders.cli.main")
    print(f"imports only: peak RSS {base:.0f} MB")
    runs = []
    for shard_bytes in (size // 4, size * 2):
        out = work / f"merged_{shard_bytes}"
        code = (
            "from builders.jobs.merge import merge_pile; "
            f"s = merge_pile({str(work / 'pile')!r}, {str(out)!r}, shard_bytes={shard_bytes}); "
            "print(len(s['train']), 'train shard(s)')"
        )
        peak, seconds = child_peak_mb(code)
        print(f"--shard-bytes {shard_bytes:,}: peak RSS {peak:.0f} MB, {seconds:.1f} s")
        runs.append({"shard_bytes": int(shard_bytes), "peak_rss_mb": peak, "seconds": seconds})
    if args.out is not None:
        write_json_atomic(
            args.out, {"tokens": tokens, "parquet_bytes": size, "imports_peak_rss_mb": base, "runs": runs}
        )
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
