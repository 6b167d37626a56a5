"""Exact motif counts over piles, one file's row groups per work item, with any executor.

Each item reads its row groups one at a time (``spike_counts`` only), so a worker holds one
row group plus its running table of distinct motifs; the driver merges the partial tables
exactly (:meth:`~tokenizer.motifs.MotifCounter.add_table`). The same task runs in this process,
in a process pool or on Ray actors (:mod:`builders.runtime.executor`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow.compute as pc

from builders.pile import Pile, PileError, RowGroup
from builders.runtime.executor import Executor, SerialExecutor, Task
from builders.spec.counts import table_spike_counts
from tokenizer.motifs import MotifCounter
from tokenizer.patches import check_pad, check_patch_size

SOURCE = "source_dataset"


@dataclass(frozen=True)
class FileItem:
    """The row groups of one file of one of the job's piles."""

    pile: int
    groups: tuple[RowGroup, ...]


@dataclass
class MotifCounts:
    """Distinct motifs (uint8 ``(M, p_n*p_t)``), their counts (int64, patches), the rows they came
    from and the components (``source_dataset`` values) of those rows."""

    motifs: np.ndarray
    counts: np.ndarray
    rows: int
    components: frozenset[str] = frozenset()


class MotifCountTask(Task):
    def __init__(self, piles: list[Pile], patch_size: tuple[int, int], pad: str):
        self.piles, self.patch_size, self.pad = piles, patch_size, pad

    def run(self, item: FileItem) -> MotifCounts:
        pile = self.piles[item.pile]
        columns = ["spike_counts", SOURCE] if SOURCE in pile.schema().names else ["spike_counts"]
        counter = MotifCounter(self.patch_size, self.pad)
        rows = 0
        components: set[str] = set()
        for group in item.groups:
            table = pile.read(group, columns)
            for counts in table_spike_counts(table):
                counter.add(counts)
            rows += table.num_rows
            if SOURCE in columns:
                components.update(v for v in pc.unique(table.column(SOURCE)).to_pylist() if v)
        motifs, counts = counter.result()
        return MotifCounts(motifs, counts, rows, frozenset(components))


def file_items(piles: list[Pile]) -> list[FileItem]:
    """One item per file, largest first (row groups shared by several configs are counted once)."""
    seen: set[tuple[str, int]] = set()
    by_file: dict[tuple[int, str], list[RowGroup]] = {}
    for index, pile in enumerate(piles):
        for group in pile.row_groups():
            if (group.path, group.index) not in seen:
                seen.add((group.path, group.index))
                by_file.setdefault((index, group.path), []).append(group)
    items = [FileItem(pile, tuple(groups)) for (pile, _), groups in by_file.items()]
    return sorted(items, key=lambda item: -sum(g.num_rows for g in item.groups))


def count_pile_motifs(
    piles: list[Pile], patch_size, pad: str = "drop", *, executor: Executor | None = None, progress: bool = True
) -> MotifCounts:
    """Exact counts of every distinct motif over the piles' rows (motifs most frequent first), the rows
    counted and their components."""
    patch_size = check_patch_size(patch_size)
    pad = check_pad(pad)
    items = file_items(piles)
    outcomes = (executor or SerialExecutor()).map(
        MotifCountTask(piles, patch_size, pad), items, desc="count motifs (files)", progress=progress
    )
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise PileError(f"{failed[0].item.groups[0].path}: {failed[0].error}")
    counter = MotifCounter(patch_size, pad)
    for outcome in outcomes:
        counter.add_table(outcome.result.motifs, outcome.result.counts)
    motifs, counts = counter.result()
    return MotifCounts(
        motifs,
        counts,
        sum(o.result.rows for o in outcomes),
        frozenset().union(*(o.result.components for o in outcomes)),
    )
