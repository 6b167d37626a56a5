"""Reading an opened pile: Parquet footers once, then one row group and only the asked columns.

A :class:`Pile` never copies a file to local disk and never builds an Arrow cache: each read is
a set of range reads of one row group's column chunks through the pile's fsspec filesystem.
On a single-config pile selected by component (``source_filter``), row groups whose
``source_dataset`` statistics rule the component out are skipped, and the other rows of a row
group are dropped after reading.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from builders.pile.provenance import Provenance
from builders.pile.reference import PileError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

logger = logging.getLogger(__name__)

SOURCE = "source_dataset"
COUNTS = "spike_counts"
#: The type of ``spike_counts`` in every shard: neurons x time bins of uint8 counts.
COUNTS_TYPE = pa.list_(pa.list_(pa.uint8()))
#: New attempts of a remote read that failed with a connection error, then a PileError.
READ_RETRIES = 3
#: Most seconds a pile's reads go on failing, from the start of the first failed read (the
#: filesystem's own retries and waits included, e.g. ``huggingface_hub``'s backoff of ~23 s per
#: request): past it, the next connection error is final, so a source that keeps dropping is named
#: within about this long plus one request's own retries.
READ_RETRY_BUDGET_S = 20.0
#: Footers fetched at once from a remote filesystem.
FOOTER_THREADS = 8


@dataclass(frozen=True)
class PileFile:
    """One Parquet file of a pile: its path on the pile's filesystem, split and size in bytes."""

    path: str
    split: str
    size: int


@dataclass(frozen=True)
class RowGroup:
    """One Parquet row group: the unit every job reads and every executor distributes.

    ``num_rows`` counts the rows stored in it (before any ``source_dataset`` filter).
    """

    path: str
    split: str
    index: int
    num_rows: int


@dataclass
class Pile:
    """The Parquet files of one config and its splits, on one filesystem (see :func:`open_pile`).

    Attributes:
        fs: fsspec filesystem the paths are on (picklable: ships to Ray actors and workers).
        root: the pile's folder on ``fs`` (file paths relative to it are the card's paths).
        files: the files, in split then name order.
        source_filter: keep only rows whose ``source_dataset`` equals this (``None``: every row).
        source: provenance recorded in every output (:class:`~builders.pile.provenance.Provenance`).
            A local pile is recorded by its folder's name alone, never a path (see :attr:`local_folder`).
        configs: the configs the pile's card lists.
        card_configs: ``{config: params}`` of the card's YAML ``configs:`` (``{}`` without a card).
    """

    fs: AbstractFileSystem
    root: str
    files: list[PileFile]
    source_filter: str | None
    source: Provenance
    configs: list[str]
    card_configs: dict = field(default_factory=dict)
    _open: dict = field(default_factory=dict, repr=False, compare=False)
    _groups: list | None = field(default=None, repr=False, compare=False)
    _failing_since: float | None = field(default=None, repr=False, compare=False)  # first failed read (monotonic s)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_open"] = {}  # open file handles stay with the process that opened them
        return state

    @property
    def local_folder(self):
        """The pile's folder (``pathlib.Path``) when it is on this machine, else ``None``; for
        reading and writing beside it, never for recording in an output."""
        from pathlib import Path

        from fsspec.implementations.local import LocalFileSystem

        return Path(self.root) if isinstance(self.fs, LocalFileSystem) else None

    def describe(self) -> str:
        """``user/pile@abc1234 config vbn, splits train`` for progress lines and messages."""
        where = self.source.repo_id or self.source.dataset
        if self.source.commit:
            where += f"@{self.source.commit[:7]}"
        return f"{where} config {self.source.config}, split(s) {', '.join(self.source.splits)}"

    def parquet_file(self, path: str) -> pq.ParquetFile:
        """The opened file (footer read once per process)."""
        return self._retrying(path, lambda: self._cached_file(path))

    def _cached_file(self, path: str) -> pq.ParquetFile:
        opened = self._open.get(path)
        if opened is None:
            opened = pq.ParquetFile(self.fs.open(path, "rb"))
            self._open[path] = opened
        return opened

    def relative_path(self, path: str) -> str:
        """``data/vbn/train-x.parquet``: a file's path inside the pile."""
        return path[len(self.root) :].lstrip("/") if path.startswith(self.root) else path

    def schema(self) -> pa.Schema:
        """The Arrow schema of the first file."""
        return self.parquet_file(self.files[0].path).schema_arrow

    def row_groups(self) -> list[RowGroup]:
        """Every row group that can hold selected rows, in file then row-group order."""
        if self._groups is None:
            paths = [f.path for f in self.files]
            with ThreadPoolExecutor(max_workers=min(FOOTER_THREADS, max(1, len(paths)))) as pool:
                opened = list(pool.map(self.parquet_file, paths))
            groups = []
            for file, parquet in zip(self.files, opened):
                meta = parquet.metadata
                column = _column_index(parquet, SOURCE) if self.source_filter is not None else None
                for index in range(meta.num_row_groups):
                    group = meta.row_group(index)
                    if group.num_rows == 0:
                        continue
                    if column is not None and _ruled_out(group.column(column).statistics, self.source_filter):
                        continue
                    groups.append(RowGroup(file.path, file.split, index, group.num_rows))
            self._groups = groups
        return list(self._groups)

    def num_rows(self) -> int:
        """Rows stored in the selected row groups (an upper bound when rows are filtered)."""
        return sum(g.num_rows for g in self.row_groups())

    def read(self, group: RowGroup, columns: Sequence[str] = ("spike_counts",)) -> pa.Table:
        """One row group, only ``columns``, with rows of other components dropped."""
        parquet = self.parquet_file(group.path)
        names = parquet.schema_arrow.names
        missing = [c for c in columns if c not in names]
        if missing:
            raise PileError(f"{group.path}: no column {', '.join(missing)} (columns: {', '.join(names)})")
        wanted = list(columns)
        if self.source_filter is not None:
            if SOURCE not in names:
                raise PileError(f"{group.path}: no {SOURCE} column to select {self.source_filter!r} by")
            if SOURCE not in wanted:
                wanted.append(SOURCE)
        table = self._retrying(
            group.path, lambda: self._cached_file(group.path).read_row_group(group.index, columns=wanted)
        )
        if COUNTS in table.column_names:
            _check_counts(table.column(COUNTS), group)
        if self.source_filter is not None:
            table = table.filter(pc.equal(table.column(SOURCE), self.source_filter))
            if SOURCE not in columns:
                table = table.drop_columns([SOURCE])
        return table

    def iter_tables(
        self,
        columns: Sequence[str] = ("spike_counts",),
        groups: Sequence[RowGroup] | None = None,
        progress: bool = False,
        desc: str = "reading",
    ) -> Iterator[tuple[RowGroup, pa.Table]]:
        """``(row group, table)`` for each of ``groups`` (default: all), one row group in memory at a time."""
        from tqdm.auto import tqdm

        groups = self.row_groups() if groups is None else list(groups)
        with tqdm(total=sum(g.num_rows for g in groups), unit="row", desc=desc, disable=not progress) as bar:
            for group in groups:
                yield group, self.read(group, columns)
                bar.update(group.num_rows)

    def source_values(self) -> list[str]:
        """The distinct ``source_dataset`` values of the files (reads that one small column)."""
        values: set[str] = set()
        for file in self.files:
            parquet = self.parquet_file(file.path)
            if SOURCE in parquet.schema_arrow.names:
                column = parquet.read(columns=[SOURCE]).column(SOURCE)
                values.update(v for v in pc.unique(column).to_pylist() if v is not None)
        return sorted(values)

    def _retrying(self, path: str, action):
        """Run a read; connection errors are retried with backoff, then named in one line (after
        :data:`READ_RETRIES` new attempts, or once the pile's reads spent
        :data:`READ_RETRY_BUDGET_S` seconds failing)."""
        for attempt in range(READ_RETRIES + 1):
            started = time.monotonic()
            try:
                return action()
            except PileError:
                raise
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise PileError(f"{path}: not a readable Parquet file ({exc})") from None
            except FileNotFoundError:
                raise PileError(f"{path}: file not found") from None
            except Exception as exc:  # connection resets, timeouts, HTTP errors of fsspec backends
                if self._failing_since is None:
                    self._failing_since = started
                failing = time.monotonic() - self._failing_since
                if attempt == READ_RETRIES or failing >= READ_RETRY_BUDGET_S:
                    raise PileError(
                        f"{path}: read failed after {attempt + 1} attempt(s); the pile's reads have failed for "
                        f"{failing:.0f} s ({type(exc).__name__}: {exc})"
                    ) from None
                logger.warning("%s: %s, retrying", path, type(exc).__name__)
                self._open.pop(path, None)
                time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")


def _check_counts(column: pa.ChunkedArray, group: RowGroup) -> None:
    """Refuse, naming the file, a ``spike_counts`` column that is not ``list<list<uint8>>`` or
    holds a null or ragged row (neurons with unequal numbers of bins): no command copies,
    draws or counts one."""
    if column.type != COUNTS_TYPE:
        raise PileError(f"{group.path}: spike_counts is {column.type}, not {COUNTS_TYPE} (not a pile shard)")
    first = 0
    for chunk in column.chunks:
        if chunk.null_count or chunk.values.null_count:
            raise PileError(f"{group.path}: row group {group.index} holds a null spike_counts row or neuron")
        outer, inner = chunk.offsets.to_numpy(), chunk.values.offsets.to_numpy()
        lengths = np.diff(inner[outer[0] : outer[-1] + 1])
        busy = np.flatnonzero(np.diff(outer))  # rows with neurons (reduceat needs non-empty ranges)
        if len(busy):
            starts = outer[busy] - outer[0]
            ragged = np.minimum.reduceat(lengths, starts) != np.maximum.reduceat(lengths, starts)
            if ragged.any():
                row = first + int(busy[np.argmax(ragged)])
                raise PileError(
                    f"{group.path}: row {row} of row group {group.index} is ragged (its neurons have different "
                    "numbers of time bins)"
                )
        first += len(chunk)


def _column_index(parquet: pq.ParquetFile, name: str) -> int | None:
    names = [parquet.metadata.schema.column(i).path for i in range(parquet.metadata.num_columns)]
    return names.index(name) if name in names else None


def _ruled_out(statistics, value: str | None) -> bool:
    """Whether min/max statistics prove that no row of the row group has ``value`` (``None``, no
    filter: nothing is ruled out)."""
    if value is None or statistics is None or not statistics.has_min_max:
        return False
    low, high = statistics.min, statistics.max
    if isinstance(low, bytes):
        low, high = low.decode("utf-8", "replace"), high.decode("utf-8", "replace")
    return value < low or value > high
