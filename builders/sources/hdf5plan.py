"""Where an HDF5 dataset's bytes lie in its file, so a stream can fetch them before h5py asks.

h5py reads a chunked dataset one chunk at a time; over a wide-area link each of those reads is a
round trip (a 79 MB ``spike_times`` in 64 KiB chunks is about 1,200 of them). The file says
where every chunk is: :func:`dataset_extents` reads that from the dataset's layout (contiguous:
one offset and size; chunked: the chunk index), and :func:`prefetch_datasets` hands the ranges
to the stream's :meth:`~.rangefile.RangeFile.prefetch`, which fetches them in a few merged
requests, several at once. h5py then decodes from memory.

Reading a chunk index is itself a walk over B-tree nodes (one round trip each). A dataset
written in one go (what converters do) keeps its chunks, and the index nodes between them, in
one stretch of the file: the first and last chunk (two look-ups) bound it. When that stretch is
about the size the chunks should take, it is fetched whole and the index is then walked from
memory to check that every chunk lies inside it; otherwise (chunks spread among other data)
the index is walked first and only the chunks are fetched.
"""

from __future__ import annotations

import logging
import math
from typing import Iterable

import h5py

log = logging.getLogger(__name__)

#: A stretch bounded by the first and last chunk is fetched whole when it is at most this many
#: times what its chunks are expected to take (their count x the mean of the two sizes) ...
SPAN_SLACK = 1.25
#: ... plus this many bytes (index nodes between the chunks, small datasets).
SPAN_SLACK_BYTES = 256 * 1024


def _chunk_count(dataset: h5py.Dataset) -> int:
    return math.prod(-(-n // c) for n, c in zip(dataset.shape, dataset.chunks))


def all_chunks(dataset: h5py.Dataset) -> list[tuple[int, int]]:
    """``(offset, size)`` in bytes of every allocated chunk of a chunked dataset (walks the index)."""
    chunks: list[tuple[int, int]] = []
    dsid = dataset.id
    if hasattr(dsid, "chunk_iter"):
        dsid.chunk_iter(lambda info: chunks.append((info.byte_offset, info.size)))
    else:  # HDF5 < 1.12.3
        for i in range(dsid.get_num_chunks()):
            info = dsid.get_chunk_info(i)
            chunks.append((info.byte_offset, info.size))
    return [(offset, size) for offset, size in chunks if offset is not None and size]


def span_guess(dataset: h5py.Dataset) -> tuple[int, int] | None:
    """The stretch ``[start, stop)`` between the first and last chunk of a 1-D chunked dataset,
    when it is about the size its chunks should take (see :data:`SPAN_SLACK`); else ``None``."""
    if dataset.ndim != 1 or dataset.shape[0] == 0:
        return None
    n_chunks = _chunk_count(dataset)
    first = dataset.id.get_chunk_info_by_coord((0,))
    last = dataset.id.get_chunk_info_by_coord(((n_chunks - 1) * dataset.chunks[0],))
    if first.byte_offset is None or last.byte_offset is None:
        return None
    start = min(first.byte_offset, last.byte_offset)
    stop = max(first.byte_offset + first.size, last.byte_offset + last.size)
    expected = n_chunks * (first.size + last.size) / 2
    if stop - start > SPAN_SLACK * expected + SPAN_SLACK_BYTES:
        return None
    return start, stop


def dataset_extents(dataset: h5py.Dataset, *, walk_index: bool = True) -> list[tuple[int, int]]:
    """Byte ranges ``[start, stop)`` holding ``dataset``'s stored data.

    Contiguous: one range; compact (data inside the object header) or unallocated: none;
    chunked: one range per chunk (with ``walk_index``), else the :func:`span_guess` stretch
    when there is one (``[]`` when there is none).
    """
    dsid = dataset.id
    if dataset.chunks is None:
        offset = dsid.get_offset()
        size = dsid.get_storage_size()
        return [(offset, offset + size)] if offset is not None and size else []
    if not walk_index:
        span = span_guess(dataset)
        return [span] if span else []
    return [(offset, offset + size) for offset, size in all_chunks(dataset)]


def prefetch_datasets(handle, datasets: Iterable[h5py.Dataset]) -> int:
    """Fetch the stored bytes of ``datasets`` through ``handle`` before they are read.

    Does nothing unless ``handle`` has a ``prefetch(ranges)`` method (a
    :class:`~.rangefile.RangeFile`; a local path needs none). Two rounds: contiguous datasets
    and the stretches of chunked ones (:func:`span_guess`) first, in one batch; then the
    chunk indexes are walked (from memory, where a stretch was fetched) and any chunk not yet
    held is fetched in a second batch.

    Returns:
        Bytes fetched from the network.
    """
    prefetch = getattr(handle, "prefetch", None)
    if prefetch is None:
        return 0
    datasets = [d for d in datasets if isinstance(d, h5py.Dataset)]
    first = [r for d in datasets for r in dataset_extents(d, walk_index=False)]
    fetched = prefetch(first)
    chunked = [d for d in datasets if d.chunks is not None]
    second = [r for d in chunked for r in dataset_extents(d, walk_index=True)]
    fetched += prefetch(second)
    log.debug("%s: prefetched %d bytes for %d datasets", getattr(handle, "name", ""), fetched, len(datasets))
    return fetched
