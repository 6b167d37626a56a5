"""A small built-dataset folder for analysis tests, written with the pile's own shard and card writers.

Rows hold sparse Poisson counts from a few co-active neuron groups (each group bursts in its own
random 20 ms bins), shuffled, with some silent neurons and varied shapes. Train and test shards
are written for every component (schema-only where a split has no session), as a build leaves them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from builders.storage.atomic import write_text_atomic
from builders.storage.card import card_yaml
from builders.storage.layout import empty_shard_path, shard_path
from builders.storage.shards import write_rows_atomic

#: component -> (number of train sessions, number of test sessions)
DEFAULT_COMPONENTS = {"demo": (2, 1), "v2h": (2, 0), "vbn": (1, 1)}


def grouped_counts(
    rng: np.random.Generator, n_neurons: int, n_bins: int, n_groups: int = 3, n_silent: int = 2
) -> np.ndarray:
    """uint8 ``(n_neurons, n_bins)``: shuffled co-active groups plus ``n_silent`` silent rows."""
    bursts = rng.random((n_groups, n_bins)) < 0.08
    labels = rng.integers(0, n_groups, n_neurons)
    counts = rng.poisson(np.where(bursts[labels], 1.2, 0.02)).astype(np.uint8)
    counts[rng.choice(n_neurons, min(n_silent, n_neurons), replace=False)] = 0
    return counts


def sparse_counts(rng: np.random.Generator, n_neurons: int, n_bins: int) -> np.ndarray:
    """uint8 ``(n_neurons, n_bins)`` independent Poisson counts at 1-10 Hz per neuron in 20 ms bins
    (expected 0.02-0.2 spikes per bin, so > 90% of tokens are zero), two neurons silent."""
    rates = rng.uniform(1.0, 10.0, n_neurons) * 0.02
    counts = rng.poisson(rates[:, None], size=(n_neurons, n_bins)).astype(np.uint8)
    counts[rng.choice(n_neurons, min(2, n_neurons), replace=False)] = 0
    return counts


def make_row(
    rng: np.random.Generator,
    component: str,
    subject: str,
    session: str,
    segment: int,
    n_neurons: int,
    n_bins: int,
    counts_fn=grouped_counts,
) -> dict:
    counts = counts_fn(rng, n_neurons, n_bins)
    regions = np.array(["VISp", "CA1", "LP", ""])
    return {
        "spike_counts": counts,
        "subject_id": subject,
        "session_id": session,
        "segment_id": f"segment_{segment}",
        "source_dataset": component,
        "n_neurons": n_neurons,
        "n_time_bins": n_bins,
        "t_start": segment * n_bins * 0.02,
        "unit_ids": np.sort(rng.choice(10 * n_neurons, n_neurons, replace=False)).astype(np.int64),
        "unit_regions": list(regions[rng.integers(0, len(regions), n_neurons)]),
    }


def write_pile_folder(
    out: Path, components: dict[str, tuple[int, int]] = DEFAULT_COMPONENTS, seed: int = 0, counts_fn=grouped_counts
) -> dict[str, dict[str, list[dict]]]:
    """Write the folder; returns ``{component: {split: [row, ...]}}`` of what was written.

    ``counts_fn(rng, n_neurons, n_bins)`` makes each row's counts (default: correlated groups).
    """
    rng = np.random.default_rng(seed)
    written: dict[str, dict[str, list[dict]]] = {}
    for component, (n_train, n_test) in components.items():
        written[component] = {"train": [], "test": []}
        for split, n_sessions in (("train", n_train), ("test", n_test)):
            if n_sessions == 0:
                write_rows_atomic(empty_shard_path(out, component, split), [])
            for s in range(n_sessions):
                session = f"{component}-{split}-{s}"
                rows = [
                    make_row(
                        rng,
                        component,
                        f"sub-{s}",
                        session,
                        k,
                        int(rng.integers(5, 40)),
                        int(rng.integers(50, 400)),
                        counts_fn,
                    )
                    for k in range(int(rng.integers(1, 4)))
                ]
                write_rows_atomic(shard_path(out, component, split, session), rows)
                written[component][split].extend(rows)
    write_text_atomic(Path(out) / "README.md", card_yaml(Path(out), list(components)) + "\n# test pile\n")
    return written
