"""Sparse spike-count rows and a small dataset folder for the motif and tokenizer tests.

Counts are Poisson with per-neuron rates of 1-10 Hz in 20 ms bins (expected 0.02-0.2 spikes per
bin, so > 90% of tokens are zero), a few silent neurons, and shapes not divisible by common
patch sizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from builders.output.layout import empty_shard_path, shard_path
from builders.output.shards import write_rows_atomic

BIN_S = 0.02
#: component -> (rows in train, rows in test); v2h has no test session (schema-only shard).
COMPONENTS = {"demo": (3, 1), "v2h": (2, 0), "vbn": (3, 1)}


def sparse_counts(rng: np.random.Generator, n_neurons: int, n_bins: int) -> np.ndarray:
    """uint8 ``(n_neurons, n_bins)`` Poisson counts at 1-10 Hz per neuron, two neurons silent."""
    rates = rng.uniform(1.0, 10.0, n_neurons) * BIN_S
    counts = rng.poisson(rates[:, None], size=(n_neurons, n_bins)).astype(np.uint8)
    counts[rng.choice(n_neurons, min(2, n_neurons), replace=False)] = 0
    return counts


def row_dict(counts: np.ndarray, component: str, session: str, segment: int) -> dict:
    n, t = counts.shape
    return {
        "spike_counts": counts, "subject_id": "sub-1", "session_id": session, "segment_id": f"segment_{segment}",
        "source_dataset": component, "n_neurons": n, "n_time_bins": t, "t_start": 0.0,
        "unit_ids": np.arange(n, dtype=np.int64), "unit_regions": [""] * n,
    }


def write_motif_pile(out: Path, seed: int = 0, components: dict = COMPONENTS, max_bins: int = 900) -> dict:
    """Write ``out/data/<component>/<split>-*.parquet``; return ``{component: {split: [counts, ...]}}``."""
    rng = np.random.default_rng(seed)
    written: dict = {}
    for component, sizes in components.items():
        written[component] = {}
        for split, n_rows in zip(("train", "test"), sizes):
            arrays = [sparse_counts(rng, int(rng.integers(3, 30)), int(rng.integers(40, max_bins))) for _ in range(n_rows)]
            written[component][split] = arrays
            if not arrays:
                write_rows_atomic(empty_shard_path(out, component, split), [])  # schema only
                continue
            # two sessions per split where there are enough rows: shards of several rows each
            half = max(1, len(arrays) // 2)
            for s, part in enumerate((arrays[:half], arrays[half:])):
                if part:
                    session = f"{component}-{split}-{s}"
                    write_rows_atomic(shard_path(out, component, split, session), [row_dict(a, component, session, k) for k, a in enumerate(part)])
    return written
