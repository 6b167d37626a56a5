"""``token_stream(..., layout="reference")``: the reference trainer's token ids, row by row.

The reference trainer (see the project's design notes) packs whole rows: each row of its rank's
share (rows in file order, split over ranks as ``datasets.distributed.split_dataset_by_node``
splits a ``Dataset``: contiguous shards, the first ``rows % world_size`` one row longer) becomes
``n_neurons`` neurons (a contiguous block, rows with fewer neurons tiled, or every neuron with
``n_neurons=None``), its patch ids (``(neurons / p_n, steps)``, the last patch of a row zero-padded
as the tokenizer pads), a row of the separator ``vocab_size - 1`` prepended, transposed and
flattened (time-major: separator, then the patch ids of one step); the tokens of consecutive rows
are packed into ``seq_len + 1`` chunks (``input_ids = chunk[:-1]``, ``labels = chunk[1:]``).

**Ids.** ``vocab_size`` is 256 without a tokenizer (raw counts), so the separator is **255**, the
same id as a saturated count of 255: a model cannot tell them apart. With a tokenizer of K motif
ids the separator is K (``vocab_size = K + 1``). The default layout
(:class:`~builders.streams.tokens.TokenLayout`) uses 256 for raw counts and has no collision.

**Order.** ``shuffle=False``: the rank's rows in file order, each epoch the same, and with
``n_neurons=None`` the ids equal the reference loader's. ``shuffle=True``: the rank's rows in a
new seeded order each epoch, each row's tokens laid out the same way. A block of ``n_neurons``
starts at a seeded random neuron (the reference's is unseeded).

**Epochs and ranks.** Every rank yields the same number of sequences per epoch: the fewest any
rank's share fills (``floor(tokens / (seq_len + 1))``), so the reference loader's rank with the
fewest tokens is matched exactly and the others stop where it stops; DataLoader workers of a rank
take its rows ``worker, worker + num_workers, ...`` and split its count (lower workers first). A
worker whose rows fill fewer sequences than its count continues into its next epoch's rows.

**Cost.** Row shapes are needed first (from ``n_neurons`` / ``n_time_bins`` columns where the pile
has them, else every row group of the split is read once). Rows are read one row group at a time
(with ``shuffle=True`` a row group may be read once per row of it).

**State.** As the other streams: arguments, worker and the place the next sequence starts
(``epoch``, ``row`` in the epoch's order, token ``offset`` in that row, ``yielded``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from builders.spec.counts import table_spike_counts
from builders.streams.base import _Base, check_yielded
from builders.streams.errors import StreamError, StreamStateError
from builders.streams.options import StreamOptions
from builders.streams.source import RowSource
from builders.streams.state import STATE_FORMAT, STATE_VERSION, current_worker, read_state
from builders.streams.vocab import ID_DTYPE, RAW_VOCAB, tokenizer_fingerprint


def node_share(n_rows: int, rank: int, world_size: int) -> range:
    """Rows of rank ``rank``: ``Dataset.shard(world_size, rank, contiguous=True)``'s rows."""
    div, mod = divmod(n_rows, world_size)
    start = div * rank + min(rank, mod)
    return range(start, start + div + (rank < mod))


class ReferenceTokenStream(_Base):
    """Iterable of ``{"input_ids", "labels"}`` int32 ``(seq_len,)`` dicts in the reference layout; resumable."""

    kind = "tokens-reference"

    def __init__(
        self,
        source: RowSource,
        *,
        seq_len: int,
        n_neurons: int | None,
        tokenizer: Any,
        shuffle: bool,
        options: StreamOptions,
    ):
        """``seq_len`` and ``n_neurons`` (None: every neuron) checked by the caller; of ``options``
        only ``seed``, ``rank``, ``world_size`` and ``epochs`` apply."""
        self._source, self.seq_len, self.n_neurons, self.tokenizer = source, seq_len, n_neurons, tokenizer
        self.shuffle, self.options = shuffle, options
        world_size = options.world_size
        self.patch_size = (1, 1) if tokenizer is None else tuple(int(p) for p in tokenizer.patch_size)
        self.separator = RAW_VOCAB - 1 if tokenizer is None else int(tokenizer.vocab_size)
        p_n, p_t = self.patch_size
        if n_neurons is not None and n_neurons % p_n:
            raise StreamError(f"n_neurons={n_neurons} is not a multiple of the tokenizer's patch height {p_n}")
        rows: list[tuple[int, int]] = []  # (group, row in table)
        row_tokens: list[int] = []
        for g in range(len(source.row_groups)):
            if source.rows[g]:
                for r, (n, t) in enumerate(source.shapes(g)):
                    height = math.ceil((n if n_neurons is None else n_neurons) / p_n)
                    rows.append((g, r))
                    row_tokens.append(math.ceil(t / p_t) * (height + 1) if n else 0)
        self.rows, tokens = rows, np.array(row_tokens, np.int64)
        shares = [node_share(len(rows), k, world_size) for k in range(world_size)]
        fills = [int(tokens[s.start : s.stop].sum()) // (seq_len + 1) for s in shares]
        self.rank_budget = min(fills)
        if self.rank_budget < 1:
            k = int(np.argmin(fills))
            raise StreamError(
                f"split {source.split!r} of {source.name} has {len(rows)} rows; rank {k}'s "
                f"{len(shares[k])} rows of {int(tokens[shares[k].start : shares[k].stop].sum())} tokens fill no "
                f"sequence of seq_len={seq_len}; use a shorter seq_len or fewer ranks"
            )
        self.share = shares[options.rank]
        self.arguments = {
            "dataset": source.name,
            "config": source.config,
            "split": source.split,
            "pile": source.fingerprint(),
            "layout": "reference",
            "seq_len": seq_len,
            "n_neurons": n_neurons,
            "tokenizer": tokenizer_fingerprint(tokenizer),
            "seed": options.seed,
            "rank": options.rank,
            "world_size": world_size,
            "shuffle": shuffle,
        }
        self._loaded: dict | None = None
        self._live: dict | None = None

    # ------------------------------------------------------------------ budgets and state
    def budgets(self, num_workers: int) -> tuple[int, ...]:
        total = self.rank_budget
        return tuple(total // num_workers + (w < total % num_workers) for w in range(num_workers))

    def epoch_length(self, num_workers: int = 1) -> int:
        return self.rank_budget

    def __len__(self) -> int:
        return self.options.run_length(self.rank_budget)

    def fresh_position(self) -> dict:
        return {"epoch": 0, "row": 0, "offset": 0, "yielded": 0}

    def state_dict(self) -> dict:
        live = self._live or self._loaded
        if live is None:
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
        self._loaded = read_state(state, self.kind, self.arguments, self.fresh_position())
        self._live = None

    # ------------------------------------------------------------------ rows
    def order(self, epoch: int, worker: int, num_workers: int) -> np.ndarray:
        """Row indices (into the split's rows) this worker visits in ``epoch``."""
        mine = np.arange(self.share.start, self.share.stop)
        if self.shuffle:
            o = self.options
            seq = np.random.SeedSequence(entropy=(o.seed, o.rank, o.world_size), spawn_key=(epoch,))
            mine = np.random.default_rng(seq).permutation(mine)
        return mine[worker::num_workers]

    def encode(self, counts: np.ndarray, epoch: int, index: int) -> np.ndarray:
        """The reference layout of one row: separator row prepended to the patch ids, transposed, flattened."""
        n = counts.shape[0]
        if self.n_neurons is not None:
            if n >= self.n_neurons:
                seq = np.random.SeedSequence(entropy=(self.options.seed, epoch, index))
                start = int(np.random.default_rng(seq).integers(0, n - self.n_neurons + 1))
                counts = counts[start : start + self.n_neurons]
            else:
                counts = counts[np.arange(self.n_neurons) % n]
        grid = counts if self.tokenizer is None else self.tokenizer.encode(counts)
        out = np.empty((grid.shape[1], grid.shape[0] + 1), dtype=ID_DTYPE)
        out[:, 0] = self.separator
        out[:, 1:] = grid.T
        return out.reshape(-1)

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        worker, num_workers = current_worker()
        position = self.fresh_position()
        if self._loaded is not None:
            if (self._loaded["worker"], self._loaded["num_workers"]) != (worker, num_workers):
                raise StreamStateError(
                    f"state_dict belongs to worker {self._loaded['worker']} of num_workers="
                    f"{self._loaded['num_workers']}, loaded in worker {worker} of {num_workers}"
                )
            position = copy.deepcopy(self._loaded["position"])
        self._live = {"worker": worker, "num_workers": num_workers, "position": position}
        return self._generate(worker, num_workers, self.budgets(num_workers)[worker], position)

    def _rows(
        self, worker: int, num_workers: int, epoch: int, row: int
    ) -> Iterator[tuple[tuple[int, int], tuple[int, int], np.ndarray]]:
        """``((epoch, row), next place, tokens)`` from place ``(epoch, row)`` on, endlessly."""
        cached_group: int | None = None  # the row group whose counts are in cached_counts
        cached_counts: list[np.ndarray] = []
        while True:
            order = self.order(epoch, worker, num_workers)
            if not len(order):
                raise StreamError(
                    f"worker {worker} of rank {self.options.rank} has no rows (use fewer DataLoader workers)"
                )
            if row >= len(order):
                raise StreamStateError(f"state_dict position row={row} is out of bounds: this epoch has {len(order)}")
            while row < len(order):
                index = int(order[row])
                g, r = self.rows[index]
                if cached_group != g:
                    cached_group, cached_counts = g, table_spike_counts(self._source.read(g))
                nxt = (epoch, row + 1) if row + 1 < len(order) else (epoch + 1, 0)
                yield (epoch, row), nxt, self.encode(cached_counts[r], epoch, index)
                row += 1
            epoch, row = epoch + 1, 0

    def _generate(self, worker: int, num_workers: int, budget: int, position: dict) -> Iterator[dict[str, np.ndarray]]:
        limit = self.options.run_items(budget)
        check_yielded(position, limit)
        if limit is not None and position["yielded"] >= limit:
            return
        chunk = self.seq_len + 1
        buffer = np.zeros(0, ID_DTYPE)  # tokens not yet used (fewer than a chunk between rows)
        skip = position["offset"]
        for here, nxt, tokens in self._rows(worker, num_workers, position["epoch"], position["row"]):
            if skip and skip >= len(tokens):
                raise StreamStateError(
                    f"state_dict position offset={skip} is out of bounds: that row has {len(tokens)}"
                )
            buffer = np.concatenate([buffer, tokens[skip:]])
            skip = 0
            while len(buffer) >= chunk:
                sequence, buffer = buffer[:chunk], buffer[chunk:]
                # what remains is the tail of this row: the next sequence starts there, else at the next row
                place, offset = (here, len(tokens) - len(buffer)) if len(buffer) else (nxt, 0)
                position["epoch"], position["row"] = place
                position["offset"] = offset
                position["yielded"] += 1
                yield {"input_ids": sequence[:-1].copy(), "labels": sequence[1:].copy()}
                if limit is not None and position["yielded"] >= limit:
                    return
