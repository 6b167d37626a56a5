"""What window and token streams share: torch compatibility, workers, draws, state.

**Torch.** When torch is installed, streams subclass ``torch.utils.data.IterableDataset`` so a
``DataLoader`` iterates them; torch is imported only if it is installed, never required.

**Draws.** A stream (one rank, one DataLoader worker) visits its pieces (see
:mod:`builders.streams.plan`) cycle after cycle, each cycle in a new random order. A visit reads
the piece's row group (one at a time, ``spike_counts`` as uint8 views of the Arrow buffers) and
makes its draws: which rows (a permutation of the piece's rows, or rows drawn in proportion to
their tokens), then per draw a window of the row. Every random number comes from a generator
seeded by ``(seed, rank, world_size, worker, num_workers)`` and the draw's place
``(cycle, piece position, draw)``: the place *is* the random state, so a stream restored at a
place continues exactly where the uninterrupted stream was.

**State.** ``state_dict()`` returns the arguments that fix the stream, the worker it belongs to
and its place (plus the token offset of the next sequence for token streams); it is JSON-able and
a few hundred bytes. Inside a DataLoader each worker iterates its own copy of the stream, so the
state of a worker is that copy's ``state_dict()``: ``torchdata.stateful_dataloader.
StatefulDataLoader`` collects them (it calls ``state_dict()`` in each worker and
``load_state_dict()`` in each new worker with that worker's state). Restoring needs the same
``num_workers``.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from builders.streams.elastic import elastic_items, elastic_state, load_elastic
from builders.streams.errors import StreamStateError
from builders.streams.interleave import Interleave, PlaceRng
from builders.streams.options import StreamOptions
from builders.streams.plan import Piece, Plan, make_plan
from builders.streams.source import LABEL_COLUMNS, RowSource
from builders.streams.state import STATE_FORMAT, STATE_VERSION, current_worker, read_state

logger = logging.getLogger(__name__)

if importlib.util.find_spec("torch") is not None:
    from torch.utils.data import IterableDataset as _Base
else:  # torch is optional
    _Base = object


def check_yielded(position: dict, limit: int | None) -> None:
    """A restored ``yielded`` past the run's last item (``epochs`` x the worker's epoch) is refused."""
    if limit is not None and position["yielded"] > limit:
        raise StreamStateError(
            f"state_dict position yielded={position['yielded']} is out of bounds: this worker's run has {limit} items"
        )


@dataclass
class Window:
    """One window of a row and where it came from.

    ``counts`` uint8 (n_neurons, n_bins): ``row[neuron_index[i], bin_start + t]`` where
    ``neuron_index[i] >= 0`` and ``t < n_valid_bins``, zero elsewhere.
    """

    counts: np.ndarray
    neuron_index: np.ndarray  # int32 (n_neurons,), -1 for padding rows
    neuron_start: int  # first neuron of a block (0 when padded), -1 for a random subset
    bin_start: int  # first time bin (20 ms) of the window in the row
    n_valid_bins: int
    labels: dict[str, str]  # the row's LABEL_COLUMNS (source_dataset, subject_id, session_id, segment_id), in order
    path: str
    row_group: int
    row: int  # the row's position in its row group as stored (filtered configs included)


class DrawStream(_Base):
    """The draws of one stream and its state handling; subclasses turn draws into items."""

    kind = ""

    def __init__(
        self,
        source: RowSource,
        *,
        n_neurons: int,
        n_bins: int,
        align: tuple[int, int],
        options: StreamOptions,
        extra_arguments: dict[str, Any],
    ):
        """Draws of ``n_neurons x n_bins`` windows (checked by the caller) starting on multiples of
        ``align`` (neurons, bins); ``extra_arguments`` join :attr:`arguments` (what else fixes the items)."""
        self._source = source
        self.n_neurons, self.n_bins = n_neurons, n_bins
        self.align = (int(align[0]), int(align[1]))
        self.options = options
        #: everything that fixes the stream; a state_dict of other arguments is refused
        self.arguments = {
            "dataset": source.name,
            "config": source.config,
            "split": source.split,
            "pile": source.fingerprint(),
            **extra_arguments,
            "n_neurons": n_neurons,
            "n_bins": n_bins,
            "seed": options.seed,
            "rank": options.rank,
            "world_size": options.world_size,
            "sampling": options.sampling,
            "neurons": options.neurons,
            "pad": options.pad,
            "align": list(self.align),
            "open_pieces": options.open_pieces,
        }
        self._plans: dict[int, Plan] = {}
        self._loaded: dict | None = None
        self._live: dict | None = None
        self._elastic: dict | None = None  # a combined state being continued (builders.streams.elastic)
        self.plan(1)  # bad splits fail here, not at the first next()

    def as_rank(self, rank: Any, world_size: Any, *, epochs: int | None) -> DrawStream:
        """This stream as rank ``rank`` of ``world_size`` for ``epochs`` (same source and other
        arguments, a fresh start); ``rank`` and ``world_size`` may come from a state: a bad one is a
        :class:`StreamError`."""
        other = copy.copy(self)
        other.options = replace(self.options, rank=rank, world_size=world_size, epochs=epochs)
        other.arguments = {**self.arguments, "rank": other.options.rank, "world_size": other.options.world_size}
        other._plans, other._loaded, other._live, other._elastic = {}, None, None, None
        return other

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._elastic is not None:
            return elastic_items(self, self._elastic)
        return self._own_iter()

    def _own_iter(self) -> Iterator[dict[str, Any]]:
        """The items of this stream's own draws (from a fresh start or a loaded state)."""
        raise NotImplementedError

    def _generate(
        self, pieces: Sequence[Piece], budget: int, worker: int, num_workers: int, position: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """The items of worker ``worker`` of ``num_workers`` (``budget`` items per epoch) from ``position``
        on, updating ``position`` as they are yielded."""
        raise NotImplementedError

    # ------------------------------------------------------------------ plan and budgets
    def plan(self, num_workers: int) -> Plan:
        if num_workers not in self._plans:
            self._plans[num_workers] = make_plan(
                self._source.rows,
                self._source.tokens,
                sampling=self.options.sampling,
                window_tokens=self.n_neurons * self.n_bins,
                rank=self.options.rank,
                world_size=self.options.world_size,
                num_workers=num_workers,
                where=f"split {self._source.split!r} of {self._source.name}",
                components=self._source.components,
            )
        return self._plans[num_workers]

    def epoch_length(self, num_workers: int = 1) -> int:
        """Items per epoch of this rank (the same on every rank)."""
        return sum(self.budgets(num_workers))

    def budgets(self, num_workers: int) -> tuple[int, ...]:
        raise NotImplementedError

    def __len__(self) -> int:
        """Items of the whole run on this rank (``epochs`` x epoch length); only with ``epochs`` set."""
        return self.options.run_length(self.epoch_length(current_worker()[1]))

    # ------------------------------------------------------------------ state
    def fresh_position(self) -> dict:
        return {"step": 0, "next_piece": 0, "slots": [], "yielded": 0}

    def state_dict(self) -> dict:
        """Everything needed to continue this stream exactly (see the module notes for DataLoaders)."""
        if self._elastic is not None:
            return elastic_state(self, self._elastic)
        if self._live is not None:
            live = self._live
        elif self._loaded is not None:
            live = self._loaded
        else:
            worker, num_workers = current_worker()
            live = {"worker": worker, "num_workers": num_workers, "position": self.fresh_position()}
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "kind": self.kind,
            "arguments": dict(self.arguments),
            **copy.deepcopy(live),
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from ``state`` at the next ``iter()``; a state of another stream, or with a
        field out of bounds, is refused in one :class:`StreamStateError` line naming the field.
        A :func:`~builders.streams.elastic.combine_states` bundle loads on any topology."""
        if isinstance(state, dict) and state.get("kind") in (f"combined-{self.kind}", f"elastic-{self.kind}"):
            self._elastic, self._loaded, self._live = load_elastic(self, state), None, None
            return
        self._loaded = read_state(state, self.kind, self.arguments, self.fresh_position())
        self._live, self._elastic = None, None

    def _start(self) -> tuple[Plan, int, int, dict]:
        """Plan, worker, workers and the (live) position the next iteration starts from."""
        worker, num_workers = current_worker()
        position = self.fresh_position()
        if self._loaded is not None:
            if self._loaded["num_workers"] != num_workers:
                raise StreamStateError(
                    f"state_dict was saved with num_workers={self._loaded['num_workers']}, this "
                    f"iteration runs with num_workers={num_workers}"
                )
            if self._loaded["worker"] != worker:
                raise StreamStateError(
                    f"state_dict belongs to worker {self._loaded['worker']}, loaded in worker {worker}"
                )
            position = copy.deepcopy(self._loaded["position"])
        plan = self.plan(num_workers)
        self._live = {"worker": worker, "num_workers": num_workers, "position": position}
        return plan, worker, num_workers, position

    # ------------------------------------------------------------------ draws
    def _rng(self, worker: int, num_workers: int) -> PlaceRng:
        """``rng(*place)``: the generator of one place of this stream (see the module notes)."""
        o = self.options
        entropy = (o.seed, o.rank, o.world_size, worker, num_workers)

        def at(*place: int) -> np.random.Generator:
            return np.random.default_rng(np.random.SeedSequence(entropy=entropy, spawn_key=place))

        return at

    def draws(
        self, pieces: Sequence[Piece], worker: int, num_workers: int, position: dict[str, Any]
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any], Window]]:
        """Yield ``(place before, place after, Window)`` from ``position`` on, endlessly (:mod:`.interleave`)."""
        at_place = self._rng(worker, num_workers)
        interleave = Interleave(self.options, self.n_neurons * self.n_bins, self._source, pieces, at_place, position)
        for before, after, stored, counts, labels, rng, group in interleave:
            yield before, after, self.cut(counts, rng, labels, group, stored)

    def cut(self, counts: np.ndarray, rng: np.random.Generator, labels: dict, group: int, stored: int) -> Window:
        """The window of one draw of a row: start bin, then neurons (block, subset or padded)."""
        n, t = counts.shape
        a_n, a_t = self.align
        bin_start = int(rng.integers(0, (t - self.n_bins) // a_t + 1)) * a_t if t > self.n_bins else 0
        valid = min(self.n_bins, t)
        out = np.zeros((self.n_neurons, self.n_bins), dtype=np.uint8)
        if n >= self.n_neurons and self.options.neurons == "block":
            start = int(rng.integers(0, (n - self.n_neurons) // a_n + 1)) * a_n
            index = np.arange(start, start + self.n_neurons, dtype=np.int32)
            out[:, :valid] = counts[start : start + self.n_neurons, bin_start : bin_start + valid]
        else:
            if n >= self.n_neurons:  # random subset, in row order
                start, index = -1, np.sort(rng.choice(n, self.n_neurons, replace=False)).astype(np.int32)
            elif self.options.pad == "tile":
                start = 0
                index = (np.arange(self.n_neurons) % n).astype(np.int32) if n else np.full(self.n_neurons, -1, np.int32)
            else:
                start = 0
                index = np.where(np.arange(self.n_neurons) < n, np.arange(self.n_neurons), -1).astype(np.int32)
            used = index >= 0
            out[used, :valid] = counts[index[used], bin_start : bin_start + valid]
        rg = self._source.row_groups[group]
        return Window(
            out, index, start, bin_start, valid, {c: labels[c] for c in LABEL_COLUMNS}, rg.path, rg.index, stored
        )
