"""A read-only, seekable file object over any "give me bytes [start, stop)" function.

:class:`RangeFile` is what ``h5py.File`` (and so ``pynwb``) reads a remote recording through.
It knows nothing about HTTP: it cuts every read into fixed-size blocks, serves the blocks it
already holds (from memory, or from an optional on-disk :class:`~.bytecache.RunCache`), and
asks its fetch function once per run of consecutive missing blocks.

Over a wide-area link each request costs a round trip, so two things keep their number small:

- :meth:`RangeFile.prefetch`: a caller that knows which byte ranges will be read (the HDF5
  chunk index of the spike datasets, see :mod:`.hdf5plan`) has them fetched up front, merged
  into a few long ranges and several at once (threads), and held until the file is closed;
  reads inside them never reach the network.
- read-ahead on sequential access: a miss that starts where the previous fetch ended also
  fetches blocks ahead, twice as many as the previous sequential miss did (1, 2, 4, ... up to
  ``readahead_max_bytes``), the way ``remfile`` grows its requests, so a reader walking through a file (a ``.mat`` file, a contiguous dataset read in
  pieces) costs a few requests, not one per block. Scattered reads (HDF5 metadata) get none.
"""

from __future__ import annotations

import bisect
import io
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from builders.errors import NeuralPileError

#: Default block size in bytes. HDF5 metadata reads are small and scattered (object headers,
#: B-tree nodes, heaps of a few hundred bytes to a few KiB); each one costs a whole block, and
#: each block not yet held costs a round trip. On loopback (benchmarks/bench_streaming.py)
#: 16 KiB blocks moved 1.01-1.26x the spike data, 64 KiB 1.02-1.44x, 256 KiB 1.06-2.3x (about
#: +0.6 MB). Over a wide-area link a round trip costs far more than those bytes (30 ms is
#: 1.5 MB at 50 MB/s): with the spike datasets fetched up front (:meth:`RangeFile.prefetch`),
#: 256 KiB blocks take 5-6 metadata requests per synthetic session against 8-10 with 64 KiB,
#: for 0.3-1 MB more, well inside the byte goal (1.2x spike data + 2 MB).
DEFAULT_BLOCK_SIZE = 256 * 1024
#: Largest single request in bytes: a long read (a big spike_times dataset) is fetched in
#: pieces of this size, so one dropped connection costs at most this much again.
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: Blocks kept in memory for re-reads (HDF5 revisits metadata blocks often).
DEFAULT_MEMORY_BYTES = 16 * 1024 * 1024
#: Largest read-ahead of one sequential miss, bytes.
DEFAULT_READAHEAD_MAX_BYTES = 8 * 1024 * 1024
#: Requests in flight at once during :meth:`RangeFile.prefetch` (each its own connection).
DEFAULT_PARALLEL_REQUESTS = 4
#: Smallest piece a prefetched range is cut into to spread it over parallel requests, bytes.
MIN_PARALLEL_PIECE_BYTES = 1024 * 1024

Fetch = Callable[[int, int], bytes]


class HoldLimitExceeded(NeuralPileError, OSError):
    """A :meth:`RangeFile.prefetch` would hold more than the file's ``hold_limit``."""


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
        readahead_max_bytes: cap on the read-ahead of a sequential miss (0: none).
        parallel: requests in flight at once in :meth:`prefetch` (``fetch`` must then be
            thread-safe).
        preloaded: ``(start, bytes)`` runs already fetched (e.g. by a background prefetch),
            held like prefetched ones.
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
        readahead_max_bytes: int = DEFAULT_READAHEAD_MAX_BYTES,
        parallel: int = DEFAULT_PARALLEL_REQUESTS,
        preloaded: Iterable[tuple[int, bytes]] = (),
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
        self._readahead_max_blocks = max(0, min(readahead_max_bytes // self.block_size, self._blocks_per_request - 1))
        self._readahead_blocks = 0
        self._next_sequential = -1  # first block after the last fetched run
        self.parallel = max(1, int(parallel))
        #: most bytes :meth:`prefetch` may hold (``None``: no limit); set by a background prefetch
        self.hold_limit: int | None = None
        # held runs: sorted starts, and (start, bytes) in the same order
        self._held_starts: list[int] = []
        self._held: list[tuple[int, bytes]] = []
        for start, data in preloaded:
            self._hold(start, data)

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
        if not self._copy_held(self._position, stop, out[:count]):
            self._copy_range(self._position, stop, out[:count])
        self._position = stop
        return count

    def close(self) -> None:
        self._held_starts.clear()
        self._held.clear()
        self._memory.clear()
        super().close()

    # -- ranges fetched up front ---------------------------------------------------------
    @property
    def held_bytes(self) -> int:
        """Bytes held from :meth:`prefetch` (or ``preloaded``) until the file is closed."""
        return sum(len(data) for _, data in self._held)

    def held_runs(self) -> list[tuple[int, bytes]]:
        """Every run this file holds: prefetched ones and the blocks in memory, as
        ``(start, bytes)`` (what a later :class:`RangeFile` over the same file can be
        ``preloaded`` with)."""
        runs = list(self._held)
        runs += [(index * self.block_size, block) for index, block in self._memory.items()]
        return sorted(runs, key=lambda run: run[0])

    def prefetch(self, ranges: Iterable[tuple[int, int]], *, merge_gap: int | None = None) -> int:
        """Fetch byte ranges ``[start, stop)`` now and hold them until the file is closed.

        Ranges closer than ``merge_gap`` bytes (default: one block) are fetched as one; bytes
        already held, in memory blocks or in the disk cache are not fetched again. The rest is cut into at most
        ``max_request_bytes`` pieces, at least :data:`MIN_PARALLEL_PIECE_BYTES` each, and
        fetched ``parallel`` at a time.

        Returns:
            Bytes fetched from the network.

        Raises:
            HoldLimitExceeded: before fetching, when the bytes held would pass ``hold_limit``.
        """
        gap = self.block_size if merge_gap is None else merge_gap
        wanted: list[list[int]] = []
        for start, stop in sorted((max(0, int(a)), min(self.size, int(b))) for a, b in ranges):
            if stop <= start:
                continue
            if wanted and start <= wanted[-1][1] + gap:
                wanted[-1][1] = max(wanted[-1][1], stop)
            else:
                wanted.append([start, stop])
        pieces = []
        for start, stop in self._missing(wanted):
            if all(
                index in self._memory for index in range(start // self.block_size, (stop - 1) // self.block_size + 1)
            ):
                continue  # already in memory blocks (small datasets next to metadata)
            if self._disk is not None:
                data = self._disk.read(start, stop)
                if data is not None:
                    self.bytes_from_disk += len(data)
                    self._hold(start, data)
                    continue
            length = stop - start
            n_pieces = max(
                -(-length // self._max_request_bytes()), min(self.parallel, max(1, length // MIN_PARALLEL_PIECE_BYTES))
            )
            step = -(-length // n_pieces)
            pieces += [(at, min(stop, at + step)) for at in range(start, stop, step)]
        if not pieces:
            return 0
        planned = sum(stop - start for start, stop in pieces)
        if self.hold_limit is not None and self.held_bytes + planned > self.hold_limit:
            raise HoldLimitExceeded(f"{self.name}: {self.held_bytes + planned} bytes planned, limit {self.hold_limit}")
        if len(pieces) == 1 or self.parallel == 1:
            results = [self._fetch(a, b) for a, b in pieces]
        else:
            with ThreadPoolExecutor(min(self.parallel, len(pieces)), thread_name_prefix="range-prefetch") as pool:
                results = list(pool.map(lambda piece: self._fetch(*piece), pieces))
        for (start, stop), data in zip(pieces, results):
            if len(data) != stop - start:
                raise OSError(f"{self.name}: asked for bytes {start}-{stop - 1}, got {len(data)} bytes")
            if self._disk is not None:
                self._disk.write(start, data)
            self._hold(start, data)
        return sum(stop - start for start, stop in pieces)

    def _max_request_bytes(self) -> int:
        return self._blocks_per_request * self.block_size

    def _missing(self, wanted: list[list[int]]) -> list[tuple[int, int]]:
        """The parts of ``wanted`` (sorted, disjoint) not covered by held runs."""
        out = []
        for start, stop in wanted:
            at = start
            index = max(0, bisect.bisect_right(self._held_starts, at) - 1)
            while at < stop and index < len(self._held):
                run_start, data = self._held[index]
                run_stop = run_start + len(data)
                if run_start > at:
                    out.append((at, min(stop, run_start)))
                    at = run_start
                at = max(at, run_stop)
                index += 1
            if at < stop:
                out.append((at, stop))
        return [(a, b) for a, b in out if b > a]

    def _hold(self, start: int, data: bytes) -> None:
        """Keep ``data`` (file bytes from ``start``); runs it overlaps are merged with it, so
        held runs stay disjoint (a read is then inside the last run starting before it)."""
        if not data:
            return
        stop = start + len(data)
        first = bisect.bisect_right(self._held_starts, start)
        if first > 0 and self._held_starts[first - 1] + len(self._held[first - 1][1]) > start:
            first -= 1
        last = first
        while last < len(self._held) and self._held_starts[last] < stop:
            last += 1
        if last == first:
            self._held_starts.insert(first, start)
            self._held.insert(first, (start, bytes(data)))
            return
        low = min(start, self._held_starts[first])
        high = max(stop, max(s + len(d) for s, d in self._held[first:last]))
        merged = bytearray(high - low)
        for run_start, run in self._held[first:last]:
            merged[run_start - low : run_start - low + len(run)] = run
        merged[start - low : stop - low] = data
        self._held_starts[first:last] = [low]
        self._held[first:last] = [(low, bytes(merged))]

    def _copy_held(self, start: int, stop: int, out: memoryview) -> bool:
        """Copy ``[start, stop)`` from held runs if they cover all of it (else copy nothing)."""
        index = bisect.bisect_right(self._held_starts, start) - 1
        if index < 0:
            return False
        spans = []
        at = start
        while at < stop and index < len(self._held):
            run_start, data = self._held[index]
            if run_start > at:
                return False
            if run_start + len(data) > at:
                spans.append((run_start, data))
                at = run_start + len(data)
            index += 1
        if at < stop:
            return False
        for run_start, data in spans:
            self._copy_out(memoryview(data), run_start, start, stop, out)
        return True

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

    def _fetch_run(self, first: int, last: int, ahead_from: int | None = None) -> memoryview:
        """Fetch blocks ``first..last`` (inclusive) in one request and keep them; blocks from
        ``ahead_from`` on were fetched ahead of the read and are always kept."""
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
        keep = set(range(first, last + 1)) if n_blocks * 2 <= self._memory_blocks else {first, last}
        if ahead_from is not None:
            keep.update(range(max(first, ahead_from), last + 1))
        for index in sorted(keep):
            offset = (index - first) * self.block_size
            self._remember(index, bytes(view[offset : offset + self.block_size]))
        return view

    def _copy_range(self, start: int, stop: int, out: memoryview) -> None:
        first = start // self.block_size
        last = (stop - 1) // self.block_size
        pending: list[int] = []  # consecutive missing blocks not yet fetched

        def flush() -> None:
            last_wanted = pending[-1]
            if pending[0] == self._next_sequential and self._readahead_max_blocks:
                self._readahead_blocks = min(self._readahead_max_blocks, max(1, 2 * self._readahead_blocks))
            else:
                self._readahead_blocks = 0
            n_blocks = -(-self.size // self.block_size)
            last_fetched = min(n_blocks - 1, last_wanted + self._readahead_blocks)
            for run_first in range(pending[0], last_fetched + 1, self._blocks_per_request):
                run_last = min(last_fetched, run_first + self._blocks_per_request - 1)
                view = self._fetch_run(run_first, run_last, ahead_from=last_wanted + 1)
                self._copy_out(view, run_first * self.block_size, start, stop, out)
            self._next_sequential = last_fetched + 1
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
