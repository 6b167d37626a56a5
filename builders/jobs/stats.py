"""Token statistics of a pile: how often each count value 0..255 occurs, tokens per component and split.

The pile is read one Parquet row group at a time (``spike_counts`` and the small
``source_dataset`` column only); the flat uint8 buffer of each row group is counted with
``np.bincount`` without copying, so memory is bounded by one row group per worker whatever the
pile's size. Row groups are the executor's work items, so ``--ray`` spreads them over a cluster.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from builders.pile import Pile, PileError, RowGroup
from builders.runtime.executor import Executor, SerialExecutor, Task
from builders.storage.atomic import write_json_atomic

#: Number of distinct token values (uint8 counts).
N_VALUES = 256
SOURCE = "source_dataset"


class TokenCountTask(Task):
    """Per row group: ``{(component, split): (value counts int64[256], rows)}``."""

    def __init__(self, pile: Pile):
        self.pile = pile

    def run(self, group: RowGroup) -> dict:
        has_source = SOURCE in self.pile.schema().names
        table = self.pile.read(group, ["spike_counts", SOURCE] if has_source else ["spike_counts"])
        if has_source:
            labels = table.column(SOURCE).to_numpy(zero_copy_only=False)
        else:
            labels = np.full(table.num_rows, self.pile.source.config, dtype=object)
        out: dict = {}
        for chunk_start, chunk in _chunks_with_offsets(table.column("spike_counts")):
            inner = chunk.offsets.to_numpy()
            values = chunk.flatten()
            token_offsets = values.offsets.to_numpy()
            tokens = values.flatten().to_numpy(zero_copy_only=True)  # the chunk's uint8 tokens, no copy
            for row in range(len(chunk)):
                lo, hi = token_offsets[inner[row]], token_offsets[inner[row + 1]]
                key = (str(labels[chunk_start + row]), group.split)
                counts, rows = out.get(key, (np.zeros(N_VALUES, np.int64), 0))
                out[key] = (counts + np.bincount(tokens[lo:hi], minlength=N_VALUES), rows + 1)
        return out


def _chunks_with_offsets(column):
    start = 0
    for chunk in column.chunks:
        yield start, chunk
        start += len(chunk)


def dataset_stats(pile: Pile, *, executor: Executor | None = None, progress: bool = True) -> dict:
    """Value histogram and probabilities over the pile's rows, plus tokens per component and split.

    Returns a JSON-ready dict: ``source`` (the pile's provenance), ``config``, ``splits``,
    ``counts`` (256 ints), ``probabilities`` (256 floats summing to 1), ``tokens``, ``rows``, and
    ``parts``: ``{component: {split: {"tokens", "rows"}}}`` (components by ``source_dataset``).
    """
    groups = pile.row_groups()
    outcomes = (executor or SerialExecutor()).map(TokenCountTask(pile), groups, desc="count tokens", progress=progress)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise PileError(f"{failed[0].item.path}: {failed[0].error}")
    totals = np.zeros(N_VALUES, dtype=np.int64)
    parts: dict[str, dict[str, dict[str, int]]] = {}
    for outcome in outcomes:
        for (component, split), (counts, rows) in outcome.result.items():
            totals += counts
            part = parts.setdefault(component, {s: {"tokens": 0, "rows": 0} for s in pile.source.splits})
            part[split]["tokens"] += int(counts.sum())
            part[split]["rows"] += rows
    if not parts:
        raise PileError(f"{pile.describe()}: no rows")
    n = int(totals.sum())
    return {
        "source": pile.source.to_json(),
        "dataset": pile.source.dataset,
        "config": pile.source.config,
        "splits": list(pile.source.splits),
        "tokens": n,
        "rows": sum(p["rows"] for c in parts.values() for p in c.values()),
        "counts": totals.tolist(),
        "probabilities": (totals / n).tolist() if n else [0.0] * N_VALUES,
        "parts": dict(sorted(parts.items())),
    }


def save_stats_json(stats: dict, path: str | Path) -> Path:
    """Write the statistics as indented JSON, atomically (a full disk leaves no truncated file)."""
    write_json_atomic(path, stats)
    return Path(path)


def format_stats(stats: dict, top: int = 8) -> str:
    """Printable tables: tokens per component and split, then the most frequent values."""
    splits = stats["splits"]
    lines = [f"{'component':<14}" + "".join(f"{s + ' tokens':>20}{s + ' rows':>12}" for s in splits)]
    for component, by_split in stats["parts"].items():
        lines.append(
            f"{component:<14}" + "".join(f"{by_split[s]['tokens']:>20,}{by_split[s]['rows']:>12,}" for s in splits)
        )
    lines.append(f"{'total':<14}{stats['tokens']:>20,} tokens, {stats['rows']:,} rows")
    lines.append("")
    lines.append(f"{'value':>6}{'count':>20}{'probability':>14}")
    counts = np.asarray(stats["counts"])
    for value in np.argsort(-counts, kind="stable")[:top]:
        if counts[value]:
            lines.append(f"{value:>6}{counts[value]:>20,}{stats['probabilities'][value]:>14.3e}")
    lines.append(f"largest value seen: {int(np.flatnonzero(counts).max()) if counts.any() else 'none'}")
    return "\n".join(lines)
