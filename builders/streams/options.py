"""What every training stream shares: how it draws, which share of the pile it takes, how long it runs.

:class:`StreamOptions` holds the arguments :func:`~builders.streams.windows.window_stream` and
:func:`~builders.streams.tokens.token_stream` (and the mixtures of either) have in common, each
checked once when the options are made; the streams read them from there. What an item holds
(window size, ``seq_len``, tokenizer, layout) stays with each stream. The ``check_*`` functions
are the one place each kind of argument is checked (:mod:`builders.streams.eval` uses them too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from builders.streams.errors import StreamError
from builders.streams.plan import SAMPLINGS

NEURON_MODES = ("block", "subset")
PAD_MODES = ("zero", "tile")


def check_positive(name: str, value: Any) -> int:
    """``value`` as an int when it is an integer >= 1 (``True`` is not), else :class:`StreamError`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise StreamError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise StreamError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_rank(rank: Any, world_size: Any) -> tuple[int, int]:
    """``(rank, world_size)`` as ints when ``world_size >= 1`` and ``0 <= rank < world_size``."""
    world_size = check_positive("world_size", world_size)
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < world_size:
        raise StreamError(f"rank must be an integer in [0, world_size={world_size}), got {rank!r}")
    return int(rank), world_size


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise StreamError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


@dataclass(frozen=True)
class StreamOptions:
    """The arguments every stream shares, checked when made (:class:`StreamError`, one line naming
    the argument); numpy integers are stored as ints.

    Attributes:
        seed: fixes every random draw (a non-negative integer): the same arguments and seed give
            the same stream, another seed another stream.
        rank, world_size: this process's share of the pile: ranks read disjoint rows and yield
            the same number of items per epoch (``0 <= rank < world_size``;
            :mod:`builders.streams.plan`).
        epochs: passes to make, in epochs of the rank's items (a positive integer), or None for an
            endless stream.
        sampling: how rows are drawn: ``"uniform"`` (one window per row per visit) or ``"tokens"``
            (rows in proportion to their tokens, a visit covering them about once).
        neurons: a window's neurons: ``"block"`` (a random contiguous block) or ``"subset"``
            (random neurons, in row order).
        pad: rows with fewer neurons than a window: ``"zero"`` (zeros, masked) or ``"tile"``
            (the row's neurons repeated).
        open_pieces: pieces (row groups, or parts of them) a stream keeps open and draws from at
            random (a positive integer): memory is about ``open_pieces x`` the largest row plus a
            1 MB read buffer per open piece and column (:mod:`builders.streams.interleave`). 32
            gives batches of 32 about as many distinct sessions as a random draw; 1 reads one row
            group after another.
    """

    seed: int = 0
    rank: int = 0
    world_size: int = 1
    epochs: int | None = None
    sampling: str = "tokens"
    neurons: str = "block"
    pad: str = "zero"
    open_pieces: int = 32

    def __post_init__(self) -> None:
        rank, world_size = check_rank(self.rank, self.world_size)
        checked = {
            "rank": rank,
            "world_size": world_size,
            "sampling": check_choice("sampling", self.sampling, SAMPLINGS),
            "neurons": check_choice("neurons", self.neurons, NEURON_MODES),
            "pad": check_choice("pad", self.pad, PAD_MODES),
            "seed": check_seed(self.seed),
            "epochs": None if self.epochs is None else check_positive("epochs", self.epochs),
            "open_pieces": check_positive("open_pieces", self.open_pieces),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)  # frozen: __post_init__ stores the checked values once

    def run_items(self, per_epoch: int) -> int | None:
        """Items of the whole run of a stream yielding ``per_epoch`` items per epoch; None when endless."""
        return None if self.epochs is None else self.epochs * per_epoch

    def run_length(self, per_epoch: int) -> int:
        """:meth:`run_items` for ``len()``: an endless stream has no length (TypeError)."""
        items = self.run_items(per_epoch)
        if items is None:
            raise TypeError("a stream with epochs=None is endless and has no length")
        return items
