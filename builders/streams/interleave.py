"""How one stream mixes its pieces: several pieces open at once, rows decoded one at a time.

A stream's pieces (:mod:`builders.streams.plan`) form an endless sequence: cycle after cycle,
each cycle its pieces in a new seeded order; piece ``q`` of the sequence is position
``q % n`` of cycle ``q // n``. The stream keeps up to ``open_pieces`` of them open (a
:class:`Cursor` each, the next in the sequence replacing one that ends) and draws each item from
one of its open pieces chosen at random (uniformly, by a generator seeded by the item's step), so
consecutive items come from up to ``open_pieces`` row groups (sessions, in a layout of one shard
per session) instead of one. The pieces of a cycle open only once the last cycle's are done (the
open pieces drain at a cycle's end), so every row is visited once per cycle.

A cursor reads its piece's rows in stored order, one decoded row at a time
(:meth:`~builders.streams.source.RowSource.iter_rows`), and makes each row's draws before the
next: ``sampling="uniform"``: one window per row; ``sampling="tokens"``: ``floor(x) +
Bernoulli(frac(x))`` windows, ``x = row tokens / (n_neurons * n_bins)``, so rows are drawn in
proportion to their tokens and a visit covers the piece's tokens about once.

**The knob.** ``open_pieces`` trades shuffle quality for memory and reads: memory is about
``open_pieces x (largest row + READ_BUFFER per column)`` (a row is decoded whole; 1 MB buffers),
and each open piece keeps one file handle. With fewer open pieces than 32, batches of 32 items hold
fewer distinct sessions than a random draw (about ``open_pieces x (1 - (1 - 1/open_pieces)^32)``
on a layout of one row group per session); ``open_pieces=1`` visits one row group at a time.

**State.** The place of the next item is ``step`` (items drawn), ``next_piece`` (the next ``q``
to open) and each open cursor's ``[q, row, draw]`` (row: index among the piece's rows). Every
random number is a function of the stream's identity and such a place, so a stream restored at a
place continues exactly; a restored cursor re-decodes the rows of its row group before ``row``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from builders.streams.errors import StreamError, StreamStateError
from builders.streams.options import StreamOptions
from builders.streams.plan import Piece
from builders.streams.source import RowSource

#: ``rng(*place)``: the generator of one place of a stream (``DrawStream._rng``)
PlaceRng = Callable[..., np.random.Generator]
#: ``(stored row, counts, labels)`` of a decoded row
Row = tuple[int, np.ndarray, dict[str, str]]

#: spawn-key domains of the stream's generators (kept apart so no two draws share a state)
ORDER, CHOICE, ROW, WINDOW = 0, 1, 2, 3


class Cursor:
    """One open piece: rows in stored order, the draws of the current row."""

    def __init__(
        self,
        source: RowSource,
        piece: Piece,
        q: int,
        cycle: int,
        position: int,
        row: int,
        draw: int,
        rng: PlaceRng,
        *,
        window_tokens: int,
        uniform: bool,
    ):
        """Piece ``q`` of the sequence at ``row`` / ``draw`` (both 0: its first draw); ``window_tokens``
        (n_neurons x n_bins) and ``uniform`` (one draw per row) set each row's number of draws."""
        self.q, self.cycle, self.position = q, cycle, position
        self.group = piece.group
        self._rng = rng
        self._wt = window_tokens
        self._uniform = uniform
        self._rows = source.iter_rows(piece.group, piece.part, piece.parts)
        self.row, self.draw, self.tokens = -1, 0, 0
        self.current: Row | None = None
        self.n_draws = 0
        restored = row > 0 or draw > 0
        while self.row < row:
            if not self._next_row():
                if restored:
                    raise StreamStateError(
                        f"state_dict slot row={row} is out of bounds: that piece has {self.row + 1} rows"
                    )
                return
        if restored and draw >= self.n_draws:
            raise StreamStateError(f"state_dict slot draw={draw} is out of bounds: that row makes {self.n_draws} draws")
        self.draw = draw
        if self.n_draws == 0:
            self._advance_row()

    @property
    def done(self) -> bool:
        return self.current is None

    def _next_row(self) -> bool:
        nxt = next(self._rows, None)
        if nxt is None:
            self.current, self.n_draws = None, 0
            return False
        self.row += 1
        self.current = nxt
        size = nxt[1].size
        self.tokens += size
        if self._uniform:
            self.n_draws = 1
        else:
            x = size / self._wt
            whole = int(np.floor(x))
            self.n_draws = whole + int(self._rng(ROW, self.cycle, self.position, self.row).random() < x - whole)
        self.draw = 0
        return True

    def _advance_row(self) -> None:
        while self._next_row() and self.n_draws == 0:
            pass

    def place(self) -> list[int]:
        return [self.q, self.row, self.draw]

    def take(self) -> tuple[int, np.ndarray, dict[str, str], np.random.Generator]:
        """``(stored row, counts, labels, generator)`` of the next draw (of a cursor not :attr:`done`); moves past it."""
        assert self.current is not None, "take() from a cursor that is done"
        stored, counts, labels = self.current
        rng = self._rng(WINDOW, self.cycle, self.position, self.row, self.draw)
        self.draw += 1
        if self.draw >= self.n_draws:
            self._advance_row()
        return stored, counts, labels, rng


class Interleave:
    """The draws of one stream from ``position`` on (see the module notes), endlessly."""

    def __init__(
        self,
        options: StreamOptions,
        window_tokens: int,
        source: RowSource,
        pieces: Sequence[Piece],
        rng: PlaceRng,
        position: dict[str, Any],
    ):
        if not pieces:
            raise StreamError("a stream without pieces")
        self.source, self.pieces, self._rng = source, pieces, rng
        self.window_tokens, self.uniform = window_tokens, options.sampling == "uniform"
        self.width = min(options.open_pieces, len(pieces))
        self._orders: dict[int, np.ndarray] = {}
        self.step, self.next_piece = position["step"], position["next_piece"]
        slots = position["slots"]
        if len(slots) > self.width:
            raise StreamStateError(f"state_dict holds {len(slots)} open pieces, this stream opens at most {self.width}")
        if any(q >= self.next_piece for q, _, _ in slots):
            raise StreamStateError("state_dict slot names a piece not opened yet (q >= next_piece)")
        self._empty = 0
        self.cursors = [self._open(q, row, draw) for q, row, draw in slots]
        self._fill()

    def position(self) -> dict[str, Any]:
        return {"step": self.step, "next_piece": self.next_piece, "slots": [c.place() for c in self.cursors]}

    def _order(self, cycle: int) -> np.ndarray:
        if cycle not in self._orders:
            self._orders = {c: o for c, o in self._orders.items() if c >= cycle - 1}
            self._orders[cycle] = self._rng(ORDER, cycle).permutation(len(self.pieces))
        return self._orders[cycle]

    def _open(self, q: int, row: int = 0, draw: int = 0) -> Cursor:
        cycle, position = divmod(q, len(self.pieces))
        piece = self.pieces[self._order(cycle)[position]]
        return Cursor(
            self.source,
            piece,
            q,
            cycle,
            position,
            row,
            draw,
            self._rng,
            window_tokens=self.window_tokens,
            uniform=self.uniform,
        )

    def _fill(self) -> None:
        """Open pieces into free slots; a cycle's pieces open only once the last cycle's are all done."""
        n = len(self.pieces)
        while len(self.cursors) < self.width:
            if self.next_piece % n == 0 and self.cursors:
                return  # drain the cycle first: each row once per cycle
            self.cursors.append(self._open_next())

    def _open_next(self) -> Cursor:
        while True:
            cursor = self._open(self.next_piece)
            self.next_piece += 1
            if not cursor.done:
                self._empty = 0
                return cursor
            self._empty = self._empty + 1 if cursor.tokens == 0 else 0
            if self._empty > len(self.pieces):
                raise StreamError(
                    f"split {self.source.split!r} of {self.source.name}: the rows of this stream hold no spike counts"
                )

    def __iter__(
        self,
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any], int, np.ndarray, dict[str, str], np.random.Generator, int]]:
        """``(position before, position after, stored row, counts, labels, generator, group)`` per draw."""
        while True:
            before = self.position()
            j = int(self._rng(CHOICE, self.step).integers(len(self.cursors))) if len(self.cursors) > 1 else 0
            cursor = self.cursors[j]
            stored, counts, labels, rng = cursor.take()
            group = cursor.group
            if cursor.done:
                del self.cursors[j]
                self._fill()
            self.step += 1
            yield before, self.position(), stored, counts, labels, rng, group
