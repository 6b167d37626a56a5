"""The rows a stream reads: one split of a pile, row group by row group.

A :class:`RowSource` wraps an opened pile (:func:`builders.pile.open_pile`, or any object with the
same ``row_groups()`` / ``read(rg, columns)`` / ``fs`` / ``source_filter``) and adds what the
streams need before reading any counts: rows and tokens per row group, from the Parquet footers.

* rows: ``RowGroup.num_rows``; when the pile selects rows by ``source_dataset`` (a component of
  a reference-layout pile), the ``source_dataset`` column of each row group is read once to count
  the rows that pass and keep their positions in the row group (:meth:`RowSource.stored_row`), so
  an item's ``row`` names the stored row, not its place among the rows that passed.
* tokens: the ``spike_counts`` leaf count of the row group's footer (``num_values``), scaled by
  the share of rows that pass the filter when a row group mixes components (an estimate there).

Counts are read one row at a time (:meth:`RowSource.iter_rows`: ``iter_batches(batch_size=1)``
over one row group, pages read through a :data:`READ_BUFFER` buffer), as uint8 views of the
Arrow buffers of that row (:func:`builders.spec.schema.table_spike_counts`), so a stream holds rows,
not row groups, whatever the row groups' size; nothing is cached on disk.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from builders.pile import PileError, open_pile
from builders.pile.read import READ_RETRIES
from builders.spec.counts import table_spike_counts
from builders.streams.errors import StreamError

logger = logging.getLogger(__name__)

#: Bytes of a row group's column chunks read at a time when rows are decoded one by one.
READ_BUFFER = 1 << 20
#: Columns a stream reads from every row group.
STREAM_COLUMNS = ("spike_counts", "source_dataset", "subject_id", "session_id", "segment_id")
#: The row labels every item carries (``session_id`` alone is not unique across components and subjects).
LABEL_COLUMNS = STREAM_COLUMNS[1:]


def open_rows(dataset: Any, config: Any, split: str) -> RowSource:
    """The ``split`` rows of ``dataset`` (a name, path or URL for :func:`open_pile`, or an opened pile)."""
    if hasattr(dataset, "row_groups") and hasattr(dataset, "read"):
        pile = dataset
    else:
        try:
            pile = open_pile(str(dataset), config=config, splits=(split,))
        except PileError as err:
            raise StreamError(str(err)) from None
    return RowSource(pile, split, name=str(_provenance(pile, "dataset") or dataset), config=config)


def _provenance(pile: Any, name: str) -> Any:
    """Field ``name`` of the pile's :class:`~builders.pile.provenance.Provenance`; ``None`` for a pile-like
    object without one (anything with ``row_groups`` and ``read`` streams)."""
    return getattr(getattr(pile, "source", None), name, None)


class RowSource:
    """Row groups of one split with their row and token counts (footers only), and a reader."""

    def __init__(self, pile: Any, split: str, *, name: str, config: Any = None):
        self.pile = pile
        self.split = split
        self.name = name
        self.config = config
        self.row_groups = [rg for rg in pile.row_groups() if rg.split == split]
        #: per row group, the stored positions of the rows that pass the pile's filter (None: every row)
        self.kept: list[np.ndarray | None] = [None] * len(self.row_groups)
        self.rows, self.tokens = self._footer_counts()
        self.components = self._footer_components()
        if not self.rows.sum():
            where = f"dataset {name}" + (f", config {config}" if config else "")
            raise StreamError(f"{where}: split {split!r} has no rows to stream")

    def _footer_counts(self) -> tuple[np.ndarray, np.ndarray]:
        rows = np.array([rg.num_rows for rg in self.row_groups], dtype=np.int64)
        tokens = np.zeros(len(self.row_groups), dtype=np.float64)
        footers: dict[str, pq.FileMetaData] = {}
        for i, rg in enumerate(self.row_groups):
            if rg.path not in footers:
                footers[rg.path] = self._footer(rg.path)
            tokens[i] = _counts_leaf_values(footers[rg.path], rg.index)
        wanted = getattr(self.pile, "source_filter", None)
        if wanted is not None:
            passing = [
                np.flatnonzero(
                    np.asarray(self._stored_column(rg, "source_dataset").to_numpy(zero_copy_only=False) == wanted)
                )
                for rg in self.row_groups
            ]
            self.kept = list(passing)
            kept = np.array([len(k) for k in passing], np.int64)
            tokens = np.where(rows > 0, tokens * kept / np.maximum(rows, 1), 0.0)
            rows = kept
        return rows, tokens

    def _footer_components(self) -> list[str]:
        """Each row group's one ``source_dataset`` (min == max in its statistics), "" when mixed or unknown."""
        out = []
        for rg in self.row_groups:
            label = ""
            try:
                meta = self._footer(rg.path)
                names = [meta.schema.column(i).path for i in range(meta.num_columns)]
                if "source_dataset" in names:
                    stats = meta.row_group(rg.index).column(names.index("source_dataset")).statistics
                    if stats is not None and stats.has_min_max and stats.min == stats.max:
                        label = stats.min.decode() if isinstance(stats.min, bytes) else str(stats.min)
            except (OSError, ValueError):
                label = ""
            out.append(label)
        return out

    def _stored_column(self, rg, column: str) -> pa.ChunkedArray:
        """``column`` of every stored row of ``rg`` (no filter), from the pile's opened file."""
        if hasattr(self.pile, "parquet_file"):
            return self.pile.parquet_file(rg.path).read_row_group(rg.index, columns=[column]).column(column)
        with self.pile.fs.open(rg.path, "rb") as fh:
            return pq.ParquetFile(fh).read_row_group(rg.index, columns=[column]).column(column)

    def stored_row(self, index: int, row: int) -> int:
        """Position in its row group (as stored) of row ``row`` of :meth:`read`'s table of ``index``."""
        kept = self.kept[index]
        return row if kept is None else int(kept[row])

    def _footer(self, path: str) -> pq.FileMetaData:
        if hasattr(self.pile, "parquet_file"):  # builders.pile.Pile reads each footer once per process
            return self.pile.parquet_file(path).metadata
        with self.pile.fs.open(path, "rb") as fh:
            return pq.ParquetFile(fh).metadata

    def read(self, index: int) -> pa.Table:
        """Row group ``index`` (position in :attr:`row_groups`) with :data:`STREAM_COLUMNS`."""
        return self.pile.read(self.row_groups[index], columns=STREAM_COLUMNS)

    def iter_rows(self, index: int, part: int = 0, parts: int = 1) -> Iterator[tuple[int, np.ndarray, dict[str, Any]]]:
        """``(stored row, counts, labels)`` of rows ``part, part + parts, ...`` (of those passing the
        pile's filter) of row group ``index``, decoded one row at a time: only the current row's
        counts (and a :data:`READ_BUFFER` of pages per column) are in memory."""
        rg = self.row_groups[index]
        kept = self.kept[index]
        wanted = (np.arange(rg.num_rows) if kept is None else kept)[part::parts]
        if not len(wanted):
            return
        if not hasattr(self.pile, "parquet_file"):  # another pile object: whole row group, rows from it
            table = self.read(index)
            table_counts = table_spike_counts(table)
            table_labels = {c: table.column(c).to_pylist() for c in LABEL_COLUMNS}
            for r in range(part, table.num_rows, parts):
                yield self.stored_row(index, r), table_counts[r], {c: table_labels[c][r] for c in LABEL_COLUMNS}
            return
        meta = self.pile.parquet_file(rg.path).metadata
        k, attempt = 0, 0
        while True:  # connection errors: reopen and continue at the next wanted row (READ_RETRIES times)
            handle = None
            try:
                handle = self.pile.fs.open(rg.path, "rb")
                reader = pq.ParquetFile(handle, metadata=meta, buffer_size=READ_BUFFER)
                batches = reader.iter_batches(batch_size=1, row_groups=[rg.index], columns=list(STREAM_COLUMNS))
                for stored, batch in enumerate(batches):
                    if stored != wanted[k]:
                        continue
                    counts = table_spike_counts(batch)[0]
                    labels = {c: batch.column(c)[0].as_py() for c in LABEL_COLUMNS}
                    k += 1
                    yield stored, counts, labels
                    if k == len(wanted):
                        return
                return
            except GeneratorExit:  # closed early (also at interpreter exit, when module globals are gone)
                raise
            except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as err:
                raise StreamError(f"{rg.path}: row group {rg.index} cannot be read ({err})") from None
            except StreamError:
                raise
            except Exception as err:  # connection resets, timeouts, HTTP errors of fsspec backends
                attempt += 1
                if attempt > READ_RETRIES:
                    raise StreamError(
                        f"{rg.path}: read failed after {attempt} attempts ({type(err).__name__}: {err})"
                    ) from None
                logger.warning("%s: %s, retrying", rg.path, type(err).__name__)
                time.sleep(0.2 * 2 ** (attempt - 1))
            finally:
                if handle is not None:
                    handle.close()

    def shapes(self, index: int) -> np.ndarray:
        """int64 ``(rows, 2)``: ``(n_neurons, n_time_bins)`` of each row of :meth:`read`'s table of
        ``index``: from the pile's ``n_neurons``/``n_time_bins`` columns where it has them (two
        small columns), else from the counts themselves (the row group is read)."""
        rg = self.row_groups[index]
        names = set(self.pile.schema().names) if hasattr(self.pile, "schema") else set()
        if {"n_neurons", "n_time_bins"} <= names:
            table = self.pile.read(rg, columns=("n_neurons", "n_time_bins"))
            return np.stack(
                [table.column("n_neurons").to_numpy(), table.column("n_time_bins").to_numpy()], axis=1
            ).astype(np.int64)
        counts = table_spike_counts(self.pile.read(rg, columns=("spike_counts",)))
        return np.array([c.shape for c in counts], dtype=np.int64).reshape(-1, 2)

    def fingerprint(self) -> str:
        """Hash of what the stream reads: a state of other pile content is refused.

        Per row group: file, index, rows that pass the filter (and which), and from the footer
        every column chunk's compressed and uncompressed sizes, page offsets, value counts and
        min/max statistics; per file its size and the Hub commit when there is one. A shard
        rewritten under the same path with the same row groups and rows but other counts changes
        its sizes or statistics (counts compress differently), so the state is refused.
        """
        digest = hashlib.sha256()
        digest.update(str(_provenance(self.pile, "commit")).encode())
        sizes = {f.path: f.size for f in getattr(self.pile, "files", [])}
        for i, (rg, n) in enumerate(zip(self.row_groups, self.rows, strict=True)):
            digest.update(f"{rg.path}|{sizes.get(rg.path)}|{rg.index}|{n}\n".encode())
            if self.kept[i] is not None:
                digest.update(np.ascontiguousarray(self.kept[i]).tobytes())
            group = self._footer(rg.path).row_group(rg.index)
            for j in range(group.num_columns):
                c = group.column(j)
                stats = c.statistics
                described = (
                    (stats.min, stats.max, stats.null_count) if stats is not None and stats.has_min_max else None
                )
                digest.update(
                    f"{c.path_in_schema}|{c.total_compressed_size}|{c.total_uncompressed_size}|"
                    f"{c.data_page_offset}|{c.num_values}|{described}\n".encode()
                )
        return digest.hexdigest()[:16]


def _counts_leaf_values(meta: pq.FileMetaData, index: int) -> int:
    """Leaf values (tokens) of the ``spike_counts`` column chunk of row group ``index``."""
    group = meta.row_group(index)
    for j in range(group.num_columns):
        column = group.column(j)
        if column.path_in_schema.split(".")[0] == "spike_counts":
            return int(column.num_values)
    raise StreamError("the pile's Parquet files have no spike_counts column")
