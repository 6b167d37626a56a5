"""A read-only, seekable file object over any "give me bytes [start, stop)" function.

:class:`RangeFile` is what ``h5py.File`` (and so ``pynwb``) reads a remote recording through.
It knows nothing about HTTP: it cuts every read into fixed-size blocks, serves the blocks it
already holds (from memory, or from an optional on-disk :class:`~.bytecache.RunCache`), and
asks its fetch function once per run of consecutive missing blocks. There is no read-ahead:
a block is fetched only when a read touches it, so the bytes moved are the bytes HDF5 asks for,
rounded out to block edges.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from typing import Callable

#: Default block size in bytes. HDF5 metadata reads are small and scattered (object headers,
#: B-tree nodes, heaps of a few hundred bytes to a few KiB); each one costs a whole block.
#: Measured on synthetic sessions (benchmarks/bench_streaming.py): 16 KiB blocks moved
#: 1.01-1.26x the spike data in 8-19 requests, 64 KiB 1.02-1.44x (about +0.2 MB) in 5-14
#: requests, 256 KiB 1.06-2.3x (about +0.6 MB). 64 KiB keeps the bytes well inside the goal
#: (1.2x spike data + 2 MB) with about half the round trips of 16 KiB, which matters more on a
#: real network (tens of ms per request) than 0.1 MB.
DEFAULT_BLOCK_SIZE = 64 * 1024
#: Largest single request in bytes: a long read (a big spike_times dataset) is fetched in
#: pieces of this size, so one dropped connection costs at most this much again.
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: Blocks kept in memory for re-reads (HDF5 revisits metadata blocks often).
DEFAULT_MEMORY_BYTES = 16 * 1024 * 1024

Fetch = Callable[[int, int], bytes]


class RangeFile(io.RawIOBase):
    """Seekable read-only file of ``size`` bytes whose content comes from ``fetch(start, stop)``.

    Args:
        fetch: returns exactly the bytes ``[start, stop)`` of the file (or raises).
        size: file size in bytes.
        name: what error messages call the file (asset path).
        block_size: bytes per block; reads are rounded out to block edges.
        max_request_bytes: a run of missing blocks longer than this is fetched in pieces.
        memory_bytes: budget for blocks kept in memory between reads.
        disk: optional object with ``read(start, stop) -> bytes | None`` and
            ``write(start, data)`` (a :class:`~.bytecache.RunCache`).
    """

    def __init__(
        self,
        fetch: Fetch,
        size: int,
        *,
        name: str = "",
        block_size: int = DEFAULT_BLOCK_SIZE,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        disk=None,
    ) -> None:
        super().__init__()
        if size < 0:
            raise ValueError(f"{name}: negative file size {size}")
        if block_size <= 0:
            raise ValueError(f"{name}: block_size must be positive, got {block_size}")
        self._fetch = fetch
        self.size = int(size)
        self.name = name
        self.block_size = int(block_size)
        self._blocks_per_request = max(1, max_request_bytes // self.block_size)
        self._memory: OrderedDict[int, bytes] = OrderedDict()
        self._memory_blocks = max(2, memory_bytes // self.block_size)
        self._disk = disk
        self._position = 0
        #: bytes served from the disk cache instead of the network
        self.bytes_from_disk = 0

    # -- io.RawIOBase -------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self.size + offset
        else:
            raise ValueError(f"{self.name}: invalid whence {whence}")
        if position < 0:
            raise OSError(f"{self.name}: seek to negative position {position}")
        self._position = position
        return position

    def readinto(self, buffer) -> int:
        out = memoryview(buffer).cast("B")
        stop = min(self.size, self._position + len(out))
        if stop <= self._position:
            return 0
        count = stop - self._position
        self._copy_range(self._position, stop, out[:count])
        self._position = stop
        return count

    # -- blocks -------------------------------------------------------------------------
    def _block_span(self, index: int) -> tuple[int, int]:
        start = index * self.block_size
        return start, min(self.size, start + self.block_size)

    def _known_block(self, index: int) -> bytes | None:
        block = self._memory.get(index)
        if block is not None:
            self._memory.move_to_end(index)
            return block
        if self._disk is not None:
            start, stop = self._block_span(index)
            block = self._disk.read(start, stop)
            if block is not None:
                self.bytes_from_disk += len(block)
                self._remember(index, block)
            return block
        return None

    def _remember(self, index: int, block: bytes) -> None:
        self._memory[index] = block
        self._memory.move_to_end(index)
        while len(self._memory) > self._memory_blocks:
            self._memory.popitem(last=False)

    def _fetch_run(self, first: int, last: int) -> memoryview:
        """Fetch blocks ``first..last`` (inclusive) in one request and keep them."""
        start = first * self.block_size
        stop = min(self.size, (last + 1) * self.block_size)
        data = self._fetch(start, stop)
        if len(data) != stop - start:
            raise OSError(f"{self.name}: asked for bytes {start}-{stop - 1}, got {len(data)} bytes")
        if self._disk is not None:
            self._disk.write(start, data)
        view = memoryview(data)
        n_blocks = last - first + 1
        # Keep all blocks of short runs; of long ones only the two edge blocks, which
        # neighbouring reads share (the middle of a long dataset is not read twice).
        keep = range(first, last + 1) if n_blocks * 2 <= self._memory_blocks else {first, last}
        for index in keep:
            offset = (index - first) * self.block_size
            self._remember(index, bytes(view[offset : offset + self.block_size]))
        return view

    def _copy_range(self, start: int, stop: int, out: memoryview) -> None:
        first = start // self.block_size
        last = (stop - 1) // self.block_size
        pending: list[int] = []  # consecutive missing blocks not yet fetched

        def flush() -> None:
            for run_first in range(pending[0], pending[-1] + 1, self._blocks_per_request):
                run_last = min(pending[-1], run_first + self._blocks_per_request - 1)
                view = self._fetch_run(run_first, run_last)
                self._copy_out(view, run_first * self.block_size, start, stop, out)
            pending.clear()

        for index in range(first, last + 1):
            block = self._known_block(index)
            if block is None:
                pending.append(index)
                continue
            if pending:
                flush()
            self._copy_out(memoryview(block), index * self.block_size, start, stop, out)
        if pending:
            flush()

    @staticmethod
    def _copy_out(piece: memoryview, piece_start: int, start: int, stop: int, out: memoryview) -> None:
        """Copy the part of ``piece`` (file bytes from ``piece_start``) inside ``[start, stop)``."""
        lo = max(start, piece_start)
        hi = min(stop, piece_start + len(piece))
        if hi > lo:
            out[lo - start : hi - start] = piece[lo - piece_start : hi - piece_start]
