"""``token_stream``: packed token sequences for GPT-style models.

**Id layout** (:class:`TokenLayout`). A window of ``n_neurons x n_bins`` counts becomes tokens in
time-major order: for each time step (a column of ``p_t`` bins), the separator id, then the ids of
its ``n_neurons / p_n`` patches from the first neuron to the last. With a
:class:`~tokenizer.motif_tokenizer.MotifTokenizer` of K ids the patch ids are ``0..K-1`` and the
separator is ``K``; without a tokenizer every count is its own token (``0..255``, a 1 x 1 patch)
and the separator is ``256``. ``vocab_size`` (K + 1, or 257) is what a model's embedding needs.
Sequences are packed, so there is no padding id; only the whole time steps of a row are tokenized
(a row shorter than the window gives fewer steps, never padding steps); padding neurons are masked
in ``labels`` (see Padding).

**Alignment.** Windows start on whole patches of their row (block start a multiple of ``p_n``,
start bin a multiple of ``p_t``), so their patches are the ones the tokenizer's motif table
counted (patches tile a row from its origin); ``window_stream(..., align=patch_size)`` gives the
same windows.

**Packing.** The tokens of consecutive windows (drawn as in :mod:`builders.streams.windows`) are
concatenated and cut into chunks of ``seq_len + 1``; a chunk gives ``input_ids = chunk[:-1]``,
``labels = chunk[1:]`` (int32). A sequence may span windows and a window may span sequences.

**Padding.** With ``pad="zero"`` a row with fewer neurons than ``n_neurons`` gives patch rows with
no neuron of the row: their ``input_ids`` are the silent patch's id (what the model sees) and
their ``labels`` are :data:`IGNORE_INDEX` (-100), which ``torch.nn.functional.cross_entropy``
ignores by default, so no loss is computed on neurons that do not exist. A patch row holding at
least one real neuron is real (its missing neurons are zeros, as the tokenizer pads). ``pad="tile"``
repeats real neurons and pads nothing.

**Epochs.** An epoch is ``floor(windows_per_epoch * tokens_per_full_window / (seq_len + 1))``
sequences per rank, the same on every rank.

**State.** The partial token buffer is kept as where it starts (the window's place and the offset
of the next token in it); a restored stream re-reads and re-encodes that window and continues
with exactly the tokens the uninterrupted stream would have yielded.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from builders.streams.base import DrawStream, check_yielded
from builders.streams.errors import StreamError, StreamStateError
from builders.streams.mixture import MixtureStream, open_streams
from builders.streams.options import StreamOptions, check_choice, check_positive
from builders.streams.plan import Piece
from builders.streams.reference import ReferenceTokenStream
from builders.streams.source import RowSource, open_rows
from builders.streams.vocab import ID_DTYPE, RAW_VOCAB, tokenizer_fingerprint

#: The label of a padding position: torch's ``cross_entropy`` ignores it (its ``ignore_index``).
IGNORE_INDEX = -100
#: ``token_stream`` id layouts: this module's (random windows) and the reference trainer's (whole rows).
LAYOUTS = ("default", "reference")


@dataclass(frozen=True)
class TokenLayout:
    """Token ids of a stream: ``patch_ids`` patch ids (0..patch_ids-1), then the separator."""

    patch_size: tuple[int, int]
    patch_ids: int
    n_neurons: int

    @property
    def separator(self) -> int:
        return self.patch_ids

    @property
    def vocab_size(self) -> int:
        return self.patch_ids + 1

    @property
    def tokens_per_step(self) -> int:
        """Separator + one id per patch row."""
        return self.n_neurons // self.patch_size[0] + 1

    def encode(self, counts: np.ndarray, n_valid_bins: int, tokenizer=None, steps: int | None = None) -> np.ndarray:
        """int32 tokens of the first ``steps`` time steps of ``counts`` (default: the whole steps of
        ``counts[:, :n_valid_bins]``; more steps than that encode the zeros beyond the row)."""
        p_t = self.patch_size[1]
        if steps is None:
            steps = n_valid_bins // p_t
        if steps == 0:
            return np.zeros(0, ID_DTYPE)
        block = counts[:, : steps * p_t]
        grid = tokenizer.encode(block) if tokenizer is not None else block  # (patch rows, steps)
        out = np.empty((steps, grid.shape[0] + 1), dtype=ID_DTYPE)
        out[:, 0] = self.separator
        out[:, 1:] = grid.T
        return out.reshape(-1)

    def real(self, neuron_index: np.ndarray, steps: int, real_steps: int) -> np.ndarray:
        """bool, one per token of :meth:`encode` (``steps`` steps): False on padding, the tokens of
        steps past ``real_steps`` and of patch rows with no neuron of the row (``neuron_index``
        -1 throughout); a patch row holding one real neuron is real (its other neurons are zeros)."""
        p_n = self.patch_size[0]
        rows: np.ndarray = np.any((np.asarray(neuron_index) >= 0).reshape(-1, p_n), axis=1)
        out = np.zeros((steps, len(rows) + 1), dtype=bool)
        out[:real_steps, 0] = True
        out[:real_steps, 1:] = rows
        return out.reshape(-1)


def layout_of(tokenizer, n_neurons: int) -> TokenLayout:
    if tokenizer is None:
        return TokenLayout((1, 1), RAW_VOCAB, n_neurons)
    p_n, p_t = tokenizer.patch_size
    if n_neurons % p_n:
        raise StreamError(
            f"n_neurons={n_neurons} is not a multiple of the tokenizer's patch height {p_n} (patch size {p_n}x{p_t})"
        )
    return TokenLayout((p_n, p_t), int(tokenizer.vocab_size), n_neurons)


class TokenStream(DrawStream):
    """Iterable of ``{"input_ids", "labels"}`` int32 ``(seq_len,)`` dicts (labels -100 at padding); resumable."""

    kind = "tokens"

    def __init__(
        self,
        source: RowSource,
        *,
        seq_len: int,
        tokenizer: Any,
        layout: TokenLayout,
        n_neurons: int,
        n_bins: int,
        options: StreamOptions,
    ):
        self.seq_len = seq_len
        self.tokenizer = tokenizer
        self.layout = layout
        super().__init__(
            source,
            n_neurons=n_neurons,
            n_bins=n_bins,
            align=layout.patch_size,
            options=options,
            extra_arguments={"seq_len": seq_len, "tokenizer": tokenizer_fingerprint(tokenizer)},
        )
        self.budgets(1)  # an epoch too short for one sequence fails here, not at the first next()

    def fresh_position(self) -> dict:
        return {"step": 0, "next_piece": 0, "slots": [], "offset": 0, "yielded": 0}

    def budgets(self, num_workers: int) -> tuple[int, ...]:
        plan = self.plan(num_workers)
        full = (self.n_bins // self.layout.patch_size[1]) * self.layout.tokens_per_step
        total = plan.rank_budget * full // (self.seq_len + 1)
        if total < 1:
            raise StreamError(
                f"an epoch of {plan.rank_budget} windows per rank gives fewer than one sequence of "
                f"seq_len={self.seq_len}; use more rows, larger windows (n_bins) or fewer ranks"
            )
        return tuple(total // num_workers + (w < total % num_workers) for w in range(num_workers))

    def _own_iter(self) -> Iterator[dict[str, Any]]:
        plan, worker, num_workers, position = self._start()
        budget = self.budgets(num_workers)[worker]
        return self._generate(plan.pieces[worker], budget, worker, num_workers, position)

    def _generate(
        self, pieces: Sequence[Piece], budget: int, worker: int, num_workers: int, position: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        limit = self.options.run_items(budget)
        check_yielded(position, limit)
        if limit is not None and position["yielded"] >= limit:
            return
        chunk = self.seq_len + 1
        p_t = self.layout.patch_size[1]
        parts: list[list] = []  # [place, first unused token, tokens, real] of windows not yet used up
        buffered = 0
        skip = position["offset"]
        place = {k: position[k] for k in ("step", "next_piece", "slots")}
        draws = self.draws(pieces, worker, num_workers, place)
        for here, nxt, window in draws:
            tokens = self.layout.encode(window.counts, window.n_valid_bins, self.tokenizer)
            steps = window.n_valid_bins // p_t
            start, skip = skip, 0
            if start and start >= len(tokens):
                raise StreamStateError(
                    f"state_dict position offset={start} is out of bounds: the window there has {len(tokens)} tokens"
                )
            if start < len(tokens):
                parts.append([here, start, tokens, self.layout.real(window.neuron_index, steps, steps)])
                buffered += len(tokens) - start
            while buffered >= chunk:
                sequence, real = self._take(parts, chunk)
                buffered -= chunk
                # the next sequence starts in the first remaining part, else at the next draw
                place, offset = (parts[0][0], parts[0][1]) if parts else (nxt, 0)
                position.update(place)
                position["offset"] = offset
                position["yielded"] += 1
                yield {"input_ids": sequence[:-1], "labels": np.where(real[1:], sequence[1:], IGNORE_INDEX)}
                if limit is not None and position["yielded"] >= limit:
                    return

    @staticmethod
    def _take(parts: list[list], n: int) -> tuple[np.ndarray, np.ndarray]:
        out = np.empty(n, dtype=ID_DTYPE)
        real = np.empty(n, dtype=bool)
        filled = 0
        while filled < n:
            part = parts[0]
            take = min(n - filled, len(part[2]) - part[1])
            out[filled : filled + take] = part[2][part[1] : part[1] + take]
            real[filled : filled + take] = part[3][part[1] : part[1] + take]
            filled += take
            part[1] += take
            if part[1] == len(part[2]):
                parts.pop(0)
        return out, real


def token_stream(
    dataset,
    config=None,
    split: str = "train",
    *,
    seq_len: int,
    n_neurons: int | None,
    tokenizer=None,
    n_bins: int | None = None,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    epochs: int | None = None,
    sampling: str = "tokens",
    neurons: str = "block",
    pad: str = "zero",
    layout: str = "default",
    shuffle: bool = True,
    open_pieces: int = 32,
) -> TokenStream | ReferenceTokenStream | MixtureStream:
    """Packed ``seq_len`` token sequences of random windows of the ``split`` rows of a pile.

    Args:
        dataset, config, split, seed, rank, world_size, epochs, sampling, neurons, pad,
            open_pieces: as for :func:`~builders.streams.windows.window_stream`.
        seq_len: tokens per sequence (inputs and labels); at least one time step
            (``n_neurons / p_n + 1`` tokens).
        n_neurons: neurons per window (a multiple of the tokenizer's patch height).
        tokenizer: a :class:`~tokenizer.motif_tokenizer.MotifTokenizer`, or None for raw counts.
        n_bins: bins per window, a multiple of the patch width; default: the whole time steps that
            fill one sequence.
        layout: ``"default"`` (random windows, this module's layout) or ``"reference"`` (the
            reference trainer's: whole rows, separator ``vocab_size - 1``, which is 255 for raw
            counts, the id of a saturated count; see :mod:`builders.streams.reference`).
        shuffle: with ``layout="reference"``: False keeps the rank's rows in file order (the
            reference loader's ids exactly), True visits them in a seeded order per epoch. The
            default layout always draws at random (``eval_tokens`` gives every token in order).

    With ``layout="reference"``, ``n_neurons=None`` takes every neuron of each row; ``n_bins``,
    ``sampling``, ``neurons``, ``pad`` and ``open_pieces`` do not apply (rows are whole; rows with
    fewer than ``n_neurons`` neurons are tiled, as the reference does), though they are checked.

    Raises:
        StreamError: a bad argument, or a split/config with no rows (one line naming it).
    """
    options = StreamOptions(
        seed=seed,
        rank=rank,
        world_size=world_size,
        epochs=epochs,
        sampling=sampling,
        neurons=neurons,
        pad=pad,
        open_pieces=open_pieces,
    )
    one = functools.partial(
        open_token_stream,
        split=split,
        seq_len=seq_len,
        n_neurons=n_neurons,
        tokenizer=tokenizer,
        n_bins=n_bins,
        layout=layout,
        shuffle=shuffle,
    )
    return open_streams(one, dataset, config, options, kind="tokens")


def open_token_stream(
    dataset: Any,
    config: Any,
    options: StreamOptions,
    *,
    split: str,
    seq_len: Any,
    n_neurons: Any,
    tokenizer: Any,
    n_bins: Any,
    layout: Any,
    shuffle: Any,
) -> TokenStream | ReferenceTokenStream:
    """The token stream of one source (:func:`token_stream`'s arguments, the shared ones as ``options``)."""
    seq_len = check_positive("seq_len", seq_len)
    check_choice("layout", layout, LAYOUTS)
    if not isinstance(shuffle, bool):
        raise StreamError(f"shuffle must be True or False, got {shuffle!r}")
    if layout == "reference":
        if n_neurons is not None:
            n_neurons = check_positive("n_neurons", n_neurons)
        source = open_rows(dataset, config, split)
        return ReferenceTokenStream(
            source, seq_len=seq_len, n_neurons=n_neurons, tokenizer=tokenizer, shuffle=shuffle, options=options
        )
    if n_neurons is None:
        raise StreamError("n_neurons=None (every neuron of each row) needs layout='reference'; give n_neurons")
    if not shuffle:
        raise StreamError(
            "shuffle=False needs layout='reference' (rows in file order); the default layout draws windows at "
            "random: use eval_tokens for every token in order"
        )
    n_neurons = check_positive("n_neurons", n_neurons)
    token_layout = layout_of(tokenizer, n_neurons)
    p_t = token_layout.patch_size[1]
    if seq_len < token_layout.tokens_per_step:
        raise StreamError(
            f"seq_len={seq_len} is shorter than one time step ({token_layout.tokens_per_step} tokens: a "
            f"separator and {n_neurons // token_layout.patch_size[0]} patch ids)"
        )
    if n_bins is None:
        n_bins = -(-(seq_len + 1) // token_layout.tokens_per_step) * p_t
    n_bins = check_positive("n_bins", n_bins)
    if n_bins % p_t:
        raise StreamError(f"n_bins={n_bins} is not a multiple of the tokenizer's patch width {p_t}")
    source = open_rows(dataset, config, split)
    return TokenStream(
        source,
        seq_len=seq_len,
        tokenizer=tokenizer,
        layout=token_layout,
        n_neurons=n_neurons,
        n_bins=n_bins,
        options=options,
    )
