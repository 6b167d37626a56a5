"""Issue 2 benchmarks, side by side in one run, reported as ratios (faster / reference).

1. binning: ``bin_spikes`` vs the reference restated (one ``numpy.histogram`` per unit on the
   DESIGN edges, ``vstack``, uint8 cast) on a 400-unit, 1-hour synthetic session;
2. whole build, NWB on disk -> Parquet folder, tokens/s per core: ``neural-pile build`` in one
   process vs the reference pipeline restated (``units.to_dataframe()``, per-unit histogram,
   ``Dataset.from_generator`` with ``writer_batch_size=1``);
3. row loading: ``spike_counts_array`` vs ``np.array(ds[i]["spike_counts"], dtype=np.uint8)`` on
   a 10M-token row.

    python benchmarks/bench_build.py [--out benchmarks/results/build.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from builders.spec.binning import bin_spikes  # noqa: E402
from builders.spec.counts import spike_counts_array  # noqa: E402
from builders.synthetic.population import simulate_population  # noqa: E402
from builders.synthetic.recordings import write_nwb_session  # noqa: E402


def best_of(fn, repeat: int) -> float:
    """Shortest wall time of ``repeat`` calls, seconds (the least disturbed by other load)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def reference_binning(trains, bin_size=0.02):
    t_last = max(t.max() for t in trains if t.size)
    edges = np.arange(0, t_last + bin_size, bin_size)
    return np.vstack([np.histogram(t, edges)[0] for t in trains]).astype(np.uint8)


def bench_binning(n_units: int, duration_s: float, repeat: int) -> dict:
    trains = simulate_population(n_units, duration_s, seed=1).trains()
    ours = bin_spikes(trains)
    reference = reference_binning(trains)
    assert np.array_equal(ours, reference), "bin_spikes differs from the reference"
    t_ours = best_of(lambda: bin_spikes(trains), repeat)
    t_ref = best_of(lambda: reference_binning(trains), max(1, repeat // 2))
    return {
        "units": n_units,
        "duration_s": duration_s,
        "spikes": int(sum(t.size for t in trains)),
        "tokens": int(ours.size),
        "bin_spikes_s": t_ours,
        "reference_s": t_ref,
        "speedup": t_ref / t_ours,
    }


def reference_build(data_dir: Path, out: Path) -> int:
    """The reference pipeline restated: to_dataframe, per-unit histogram, from_generator(batch 1)."""
    import datasets
    from pynwb import NWBHDF5IO

    from builders.spec.binning import split_segments

    paths = sorted(data_dir.rglob("*.nwb"))

    def rows():
        for path in paths:
            with NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
                units = io.read().units.to_dataframe()
            trains = [np.asarray(t) for t in units["spike_times"]]
            t_last = max(t.max() for t in trains if t.size)
            edges = np.arange(0, t_last + 0.02, 0.02)
            counts = np.vstack([np.histogram(t, edges)[0] for t in trains]).astype(np.uint8)
            for k, segment in enumerate(split_segments(counts)):
                yield {
                    "spike_counts": segment,
                    "subject_id": path.parent.name,
                    "session_id": path.stem,
                    "segment_id": f"segment_{k}",
                    "source_dataset": "demo",
                }

    ds = datasets.Dataset.from_generator(rows, writer_batch_size=1, cache_dir=str(out / "cache"))
    ds.to_parquet(str(out / "reference.parquet"))
    return len(ds)


def bench_build(tmp: Path, n_sessions: int, n_units: int, duration_s: float) -> dict:
    from builders.build.pipeline import BuildOptions, build

    data = tmp / "data"
    for i in range(n_sessions):
        write_nwb_session(
            data / f"sub-B{i}" / f"sub-B{i}_ses-1_ecephys.nwb",
            subject_id=f"B{i}",
            session_id="1",
            n_units=n_units,
            duration_s=duration_s,
            seed=100 + i,
        )
    options = BuildOptions(out=str(tmp / "ours"), data_dir=str(data))
    start = time.perf_counter()
    report, _ = build(["demo"], options, executor=None, progress=False)
    t_ours = time.perf_counter() - start
    tokens = report.components["demo"]["tokens"]
    start = time.perf_counter()
    reference_build(data, tmp / "reference")
    t_ref = time.perf_counter() - start
    return {
        "sessions": n_sessions,
        "units": n_units,
        "duration_s": duration_s,
        "tokens": tokens,
        "ours_tokens_per_s_per_core": tokens / t_ours,
        "reference_tokens_per_s_per_core": tokens / t_ref,
        "speedup": t_ref / t_ours,
    }


def bench_row_loading(tmp: Path, n_units: int, n_bins: int, repeat: int) -> dict:
    import datasets

    from builders.storage.shards import write_rows_atomic

    rng = np.random.default_rng(0)
    counts = (rng.random((n_units, n_bins)) < 0.06).astype(np.uint8)
    row = {
        "spike_counts": counts,
        "subject_id": "s",
        "session_id": "1",
        "segment_id": "segment_0",
        "source_dataset": "demo",
        "n_neurons": n_units,
        "n_time_bins": n_bins,
        "t_start": 0.0,
        "unit_ids": np.arange(n_units),
        "unit_regions": [""] * n_units,
    }
    path = tmp / "rows" / "train-0.parquet"
    write_rows_atomic(path, [row, row])
    ds = datasets.load_dataset("parquet", data_files=str(path), split="train", cache_dir=str(tmp / "hf"))
    assert np.array_equal(spike_counts_array(ds, 1), counts)
    t_fast = best_of(lambda: spike_counts_array(ds, 1), repeat * 20)
    t_plain = best_of(lambda: np.array(ds[1]["spike_counts"], dtype=np.uint8), max(1, repeat // 2))
    return {"tokens": int(counts.size), "accessor_s": t_fast, "plain_s": t_plain, "speedup": t_plain / t_fast}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results/build.json", help="JSON file for the results")
    parser.add_argument("--quick", action="store_true", help="smaller inputs (a smoke run, not the reported figures)")
    args = parser.parse_args(argv)
    scale = 0.1 if args.quick else 1.0
    results = {"cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results["binning"] = bench_binning(400, 3600.0 * scale, repeat=5)
        print(
            f"binning  400 units x {3600 * scale:.0f} s: bin_spikes {results['binning']['bin_spikes_s']:.3f} s, "
            f"reference {results['binning']['reference_s']:.3f} s -> {results['binning']['speedup']:.1f}x"
        )
        results["row_loading"] = bench_row_loading(tmp, 500, int(20000 * scale), repeat=3)
        print(
            f"row load {results['row_loading']['tokens']:,} tokens: accessor {results['row_loading']['accessor_s'] * 1e6:.0f} us, "
            f"np.array(ds[i]) {results['row_loading']['plain_s']:.3f} s -> {results['row_loading']['speedup']:.0f}x"
        )
        results["build"] = bench_build(tmp, 3, 200, 1200.0 * scale)
        b = results["build"]
        print(
            f"build    {b['tokens']:,} tokens: ours {b['ours_tokens_per_s_per_core']:.3g} tok/s/core, reference "
            f"{b['reference_tokens_per_s_per_core']:.3g} tok/s/core -> {b['speedup']:.1f}x"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
