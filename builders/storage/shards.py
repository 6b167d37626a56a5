"""Parquet shards, written atomically (:mod:`builders.storage.atomic`): rows of neurons x time-bin
uint8 counts in the pile's Arrow schema, in row groups of at most :data:`~builders.storage.layout.ROW_GROUP_TOKENS` tokens."""

from __future__ import annotations

import os
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from builders.spec.schema import ARROW_SCHEMA, rows_to_table
from builders.storage.atomic import atomic_path
from builders.storage.layout import ROW_GROUP_TOKENS


def _row_batches(rows: list[dict]) -> Iterable[list[dict]]:
    """Consecutive groups of rows holding at most :data:`ROW_GROUP_TOKENS` tokens each."""
    batch, tokens = [], 0
    for row in rows:
        size = row["spike_counts"].size
        if batch and tokens + size > ROW_GROUP_TOKENS:
            yield batch
            batch, tokens = [], 0
        batch.append(row)
        tokens += size
    if batch:
        yield batch


def write_rows_atomic(path: str | os.PathLike, rows: list[dict], schema: pa.Schema = ARROW_SCHEMA) -> int:
    """Write rows (``spike_counts`` as 2-D uint8 arrays) to one Parquet shard; returns bytes written.

    With no rows the shard has the schema and no row group, which ``load_dataset`` reads as an
    empty split (a row group of 0 rows would make its Parquet reader fail).
    """
    with atomic_path(path) as tmp:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for batch in _row_batches(rows):
                writer.write_table(rows_to_table(batch), row_group_size=len(batch))
        size = tmp.stat().st_size
    return size
