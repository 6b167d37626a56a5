"""Local motif counting over dataset Parquet shards, streamed one record batch at a time.

Memory stays bounded by one batch of rows (``ROWS_PER_BATCH`` dataset rows, each at most 10M
tokens) plus the running table of distinct motifs; only the ``spike_counts`` column is read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from builders.schema import table_spike_counts

from .motifs import MotifCounter

ROWS_PER_BATCH = 4


def shard_rows(files) -> int:
    """Rows in the given Parquet files (read from their footers)."""
    return sum(open_shard(f).metadata.num_rows for f in files)


def open_shard(path) -> pq.ParquetFile:
    """A Parquet shard with a ``spike_counts`` column, or a ValueError naming the file."""
    path = Path(path)
    try:
        shard = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises several types for unreadable files
        raise ValueError(f"{path}: not a readable Parquet shard ({err})") from err
    if "spike_counts" not in shard.schema_arrow.names:
        raise ValueError(f"{path}: has no spike_counts column (columns: {shard.schema_arrow.names})")
    return shard


def count_shard_files(files, patch_size, pad: str = "drop", progress: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """Exact motif counts over every row of ``files``: ``(motifs, counts, rows)``."""
    files = [Path(f) for f in files]
    counter = MotifCounter(patch_size, pad)
    shards = [open_shard(f) for f in files]
    rows = 0
    with tqdm(total=sum(s.metadata.num_rows for s in shards), unit="row", desc="counting motifs", disable=not progress) as bar:
        for shard in shards:
            for batch in shard.iter_batches(batch_size=ROWS_PER_BATCH, columns=["spike_counts"]):
                for counts in table_spike_counts(batch):
                    counter.add(counts)
                rows += batch.num_rows
                bar.update(batch.num_rows)
    motifs, counts = counter.result()
    return motifs, counts, rows
