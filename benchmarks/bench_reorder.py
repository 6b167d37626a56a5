"""Benchmark: ``reorder_neurons`` vs the reference method restated, per row, on demo-like rows.

Rows come from the synthetic population model of the demo (latent co-fluctuating groups,
lognormal rates, some silent units), binned at 20 ms, with 200-800 neurons and as many bins as
a full 10M-token segment holds (the largest rows the pile has). The reference restated: SciPy
``pdist(x, "cosine")`` (NaN distances of silent neurons set to 2.0, as the reference did), Ward
``linkage(..., optimal_ordering=True)`` and ``leaves_list``. Both run in this process, on the
same rows, same BLAS threads. Quality: mean cosine distance between consecutive active neurons
(silent ones skipped; lower is better).

    python benchmarks/bench_reorder.py [--sizes 200 400 800] [--seeds 2]

Prints a table and writes benchmarks/results/reorder.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import pdist

from builders.jobs.reorder import adjacent_cosine_distance, reorder_neurons
from builders.spec.binning import MAX_TOKENS
from builders.synthetic.population import simulate_population

BIN_S = 0.02


def demo_like_row(n_neurons: int, seed: int, max_tokens: int = MAX_TOKENS) -> np.ndarray:
    """uint8 (n_neurons, max_tokens // n_neurons) counts of a simulated population."""
    n_bins = max_tokens // n_neurons
    pop = simulate_population(n_neurons, n_bins * BIN_S, seed)
    unit = np.repeat(np.arange(n_neurons), np.diff(np.concatenate([[0], pop.ends])))
    bins = np.minimum((pop.times / BIN_S).astype(np.int64), n_bins - 1)
    counts = np.bincount(unit * n_bins + bins, minlength=n_neurons * n_bins)
    return np.minimum(counts, 255).astype(np.uint8).reshape(n_neurons, n_bins)


def reference_order(counts: np.ndarray) -> np.ndarray:
    """The reference method, restated plainly."""
    dists = np.nan_to_num(pdist(counts, metric="cosine"), nan=2.0)
    return leaves_list(linkage(dists, method="ward", optimal_ordering=True))


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 400, 800], help="neurons per row")
    parser.add_argument("--seeds", type=int, default=2, help="rows per size")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "reorder.json"))
    args = parser.parse_args(argv)

    reorder_neurons(demo_like_row(50, 0, 100_000))  # warm-up (imports, BLAS threads)
    results = []
    print(f"{'neurons':>8}{'bins':>8}{'silent':>7}{'ours s':>9}{'ref s':>9}{'speedup':>9}{'ours q':>9}{'ref q':>9}")
    for n in args.sizes:
        for seed in range(args.seeds):
            counts = demo_like_row(n, seed)
            (_, ours), t_ours = timed(reorder_neurons, counts)
            ref, t_ref = timed(reference_order, counts)
            row = {
                "n_neurons": n,
                "n_time_bins": counts.shape[1],
                "seed": seed,
                "silent": int((~counts.any(axis=1)).sum()),
                "ours_s": t_ours,
                "reference_s": t_ref,
                "speedup": t_ref / t_ours,
                "ours_quality": adjacent_cosine_distance(counts, ours),
                "reference_quality": adjacent_cosine_distance(counts, ref),
            }
            results.append(row)
            print(
                f"{n:>8}{row['n_time_bins']:>8}{row['silent']:>7}{t_ours:>9.3f}{t_ref:>9.3f}{row['speedup']:>8.1f}x"
                f"{row['ours_quality']:>9.4f}{row['reference_quality']:>9.4f}"
            )
    total_ours = sum(r["ours_s"] for r in results)
    total_ref = sum(r["reference_s"] for r in results)
    summary = {
        "total_speedup": total_ref / total_ours,
        "min_speedup": min(r["speedup"] for r in results),
        "rows_quality_no_worse": sum(r["ours_quality"] <= r["reference_quality"] + 1e-12 for r in results),
        "rows": len(results),
        "mean_quality_ours": float(np.mean([r["ours_quality"] for r in results])),
        "mean_quality_reference": float(np.mean([r["reference_quality"] for r in results])),
    }
    print(
        f"overall speedup {summary['total_speedup']:.1f}x (min per row {summary['min_speedup']:.1f}x); "
        f"quality no worse on {summary['rows_quality_no_worse']}/{summary['rows']} rows; mean adjacent cosine "
        f"distance {summary['mean_quality_ours']:.4f} (ours) vs {summary['mean_quality_reference']:.4f} (reference)"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "python": platform.python_version(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1min_at_end": os.getloadavg()[0],
    }
    out.write_text(json.dumps({"machine": machine, "summary": summary, "rows": results}, indent=2) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
