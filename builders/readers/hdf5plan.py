"""Where an HDF5 dataset's bytes lie in its file, so a stream can fetch them before h5py asks.

h5py reads a chunked dataset one chunk at a time; over a wide-area link each of those reads is a
round trip (a 79 MB ``spike_times`` in 64 KiB chunks is about 1,200 of them). The file says
where every chunk is: :func:`dataset_extents` reads that from the dataset's layout (contiguous:
one offset and size; chunked: the chunk index), and :func:`prefetch_datasets` hands the ranges
to the stream's :meth:`~.rangefile.RangeFile.prefetch`, which fetches them in a few merged
requests, several at once. h5py then decodes from memory.

Reading a chunk index is itself a walk over B-tree nodes, one round trip each (about one per
64 chunks), and HDF5 finds any chunk but the first by walking the leaves in order. A dataset
written in one go (what converters do) keeps its chunks, and the index nodes between them, in
one stretch of the file starting at its first chunk: one look-up gives that chunk, and the
stretch is guessed as the number of chunks times the first one's size (:func:`span_guess`).
That stretch is fetched first; the index is then walked, mostly from memory, and any chunk
outside the stretch is fetched in a second batch. The guess costs bytes only where chunks
vary a lot in size or do not follow the first one (at most the guess itself: about the
dataset's size).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

import h5py

log = logging.getLogger(__name__)

#: The stretch guessed from the first chunk is its size times the number of chunks, times
#: this (compressed chunks differ in size; the index walk fetches what the guess missed).
SPAN_GUESS_FACTOR = 1.0


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
    """Where a chunked dataset written in one go should lie: from its first chunk on, about
    as many bytes as its chunks take if each were the size of the first (``None`` when the
    first chunk is not allocated).

    One index look-up only: HDF5 finds a chunk by walking the index leaves in order, so looking
    up the last chunk costs as many round trips as walking the whole index.
    """
    if dataset.size == 0:
        return None
    first = dataset.id.get_chunk_info_by_coord((0,) * dataset.ndim)
    if first.byte_offset is None or not first.size:
        return None
    n_chunks = dataset.size / math.prod(dataset.chunks)
    return first.byte_offset, first.byte_offset + math.ceil(first.size * n_chunks * SPAN_GUESS_FACTOR)


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
