"""Token statistics of a built dataset: how often each count value 0..255 occurs, tokens per part.

Shards are streamed one Parquet row group at a time, reading only ``spike_counts``; the flat
uint8 buffer of each row group is counted with ``np.bincount`` without copying, so memory is
bounded by one row group (at most ~128M tokens as the pile writes them) whatever the dataset size.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..output.layout import ALL, DATA_DIR, config_components, shard_files
from ..split import SPLITS

#: Number of distinct token values (uint8 counts).
N_VALUES = 256


def value_counts(files: list[Path], progress: bool = False) -> tuple[np.ndarray, int]:
    """Occurrences of each count value 0..255 over ``files`` (int64, length 256) and their row count."""
    from tqdm import tqdm

    totals = np.zeros(N_VALUES, dtype=np.int64)
    rows = 0
    for path in tqdm(files, desc="count tokens", unit="shard", disable=not progress):
        shard = pq.ParquetFile(path)
        if "spike_counts" not in shard.schema_arrow.names:
            raise ValueError(f"{path}: no spike_counts column")
        for group in range(shard.num_row_groups):
            column = shard.read_row_group(group, columns=["spike_counts"]).column("spike_counts")
            rows += len(column)
            for chunk in column.chunks:
                flat = chunk.flatten().flatten().to_numpy(zero_copy_only=True)  # the chunk's uint8 tokens
                totals += np.bincount(flat, minlength=N_VALUES)
    return totals, rows


def dataset_stats(dataset: str | Path, config: str = ALL, splits: tuple[str, ...] = SPLITS,
                  progress: bool = True) -> dict:
    """Value histogram and probabilities over ``config``'s ``splits``, plus tokens per component and split.

    Returns a JSON-ready dict: ``counts`` (256 ints), ``probabilities`` (256 floats summing to 1),
    ``tokens``, ``rows``, and ``parts``: ``{component: {split: {"tokens", "rows"}}}``.
    """
    dataset = Path(dataset)
    if not (dataset / DATA_DIR).is_dir():
        raise FileNotFoundError(f"--dataset {dataset}: not a dataset folder (no {DATA_DIR}/ inside)")
    components = config_components(dataset, config)
    if not components:
        raise FileNotFoundError(f"--dataset {dataset}: config {config!r} has no built component")
    totals = np.zeros(N_VALUES, dtype=np.int64)
    parts: dict[str, dict[str, dict[str, int]]] = {}
    for component in components:
        parts[component] = {}
        for split in splits:
            counts, rows = value_counts(shard_files(dataset, component, [split]), progress)
            totals += counts
            parts[component][split] = {"tokens": int(counts.sum()), "rows": rows}
    n = int(totals.sum())
    return {
        "dataset": dataset.name,
        "config": config,
        "splits": list(splits),
        "tokens": n,
        "rows": sum(p["rows"] for c in parts.values() for p in c.values()),
        "counts": totals.tolist(),
        "probabilities": (totals / n).tolist() if n else [0.0] * N_VALUES,
        "parts": parts,
    }


def save_stats_json(stats: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return path


def format_stats(stats: dict, top: int = 8) -> str:
    """Printable tables: tokens per component and split, then the most frequent values."""
    splits = stats["splits"]
    lines = [f"{'component':<14}" + "".join(f"{s + ' tokens':>20}{s + ' rows':>12}" for s in splits)]
    for component, by_split in stats["parts"].items():
        lines.append(f"{component:<14}" + "".join(f"{by_split[s]['tokens']:>20,}{by_split[s]['rows']:>12,}" for s in splits))
    lines.append(f"{'total':<14}{stats['tokens']:>20,} tokens, {stats['rows']:,} rows")
    lines.append("")
    lines.append(f"{'value':>6}{'count':>20}{'probability':>14}")
    counts = np.asarray(stats["counts"])
    for value in np.argsort(-counts, kind="stable")[:top]:
        if counts[value]:
            lines.append(f"{value:>6}{counts[value]:>20,}{stats['probabilities'][value]:>14.3e}")
    lines.append(f"largest value seen: {int(np.flatnonzero(counts).max()) if counts.any() else 'none'}")
    return "\n".join(lines)
