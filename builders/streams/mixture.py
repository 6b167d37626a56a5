"""Weighted mixtures: several sources (components of one pile, or piles) in one stream.

``config={"vbn": 0.2, "ibl": 1.0}`` mixes components of one pile; ``dataset=[(source, config,
weight), ...]`` mixes any piles (Hub repos, folders, URLs, either layout). Each source is its own
stream (:func:`~builders.streams.windows.window_stream` or
:func:`~builders.streams.tokens.token_stream` with the same arguments, endless), and each item of
the mixture comes from source ``i`` with probability ``weight_i / sum(weights)``, drawn by a
generator seeded by the mixture's identity and the item's step. Every item of one mixture holds
the same number of tokens (``n_neurons x n_bins`` of a window, ``seq_len`` of a sequence), so the
weights are the shares of tokens (padding included) the model sees.

**Epochs.** A source never stops at its own epoch's end: it continues into its next epoch (a new
cycle of its rows), so a heavily weighted small source repeats while a lightly weighted large one
is seen in part. One epoch of the mixture is ``floor(min_i(E_i / p_i))`` items per rank, ``E_i``
a source's epoch on this rank and ``p_i`` its probability: the items after which the first
source is expected to have made one full epoch. Each source keeps its own place across the
mixture's epochs.

**State.** The mixture's step and yielded count, and each source's state (checked by that
source's stream: its arguments and pile content); a state of another mixture (sources, weights,
seed) is refused naming the argument.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np

from builders.streams.base import _Base
from builders.streams.errors import StreamError, StreamStateError
from builders.streams.options import StreamOptions
from builders.streams.state import STATE_FORMAT, STATE_VERSION, current_worker, read_state

#: the stream of one source (``make``'s result in :func:`open_streams`)
Stream = TypeVar("Stream")


def mixture_sources(dataset: Any, config: Any) -> list[tuple] | None:
    """``[(dataset, config, weight), ...]`` of a mixture, or None for one source; weights checked
    before any source is opened."""
    if isinstance(config, dict):
        sources = [(dataset, name, weight) for name, weight in config.items()]
        where = [f"config[{name!r}]" for name in config]
    elif isinstance(dataset, (list, tuple)):
        if config is not None:
            raise StreamError("a list of (source, config, weight) takes no config argument (config=None)")
        sources, where = [], []
        for i, entry in enumerate(dataset):
            if not isinstance(entry, (list, tuple)) or len(entry) != 3:
                raise StreamError(f"mixture source {i} must be (source, config, weight), got {entry!r}")
            if isinstance(entry[1], dict):
                raise StreamError(
                    f"mixture source {i} ({entry[0]}) has a mixture as its config: give one config per "
                    "source (list each component as its own source)"
                )
            sources.append(tuple(entry))
            where.append(f"weight of mixture source {i} ({entry[0]}, {entry[1]})")
    else:
        return None
    if not sources:
        raise StreamError("a mixture needs at least one source")
    for (_, _, weight), name in zip(sources, where, strict=True):
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)):
            raise StreamError(f"{name} must be a positive number, got {weight!r}")
        if not math.isfinite(weight) or weight <= 0:
            raise StreamError(f"{name} must be a positive number, got {weight!r}")
    return sources


def open_streams(
    make: Callable[[Any, Any, StreamOptions], Stream], dataset: Any, config: Any, options: StreamOptions, *, kind: str
) -> Stream | MixtureStream:
    """``make(dataset, config, options)``, or for a mixture (:func:`mixture_sources`) a
    :class:`MixtureStream` of ``make(source, config, options)`` per source, each endless (each
    source named on failure)."""
    sources = mixture_sources(dataset, config)
    if sources is None:
        return make(dataset, config, options)
    endless = replace(options, epochs=None)
    parts = []
    for i, (source, source_config, _) in enumerate(sources):
        try:
            parts.append(make(source, source_config, endless))
        except StreamStateError:
            raise
        except StreamError as err:
            raise StreamError(f"mixture source {i} ({source}, config {source_config}): {err}") from None
    return MixtureStream(parts, [float(w) for _, _, w in sources], options, kind=kind)


class MixtureStream(_Base):
    """Items of several streams, each from source ``i`` with probability ``p_i`` (module notes)."""

    def __init__(self, parts: list, weights: list[float], options: StreamOptions, *, kind: str):
        self.parts, self.weights = parts, weights
        total = sum(weights)
        self.p = np.array([w / total for w in weights])
        self.options = options
        self.kind = f"mixture-{kind}"
        self.arguments = {
            "sources": [
                [p.arguments["dataset"], p.arguments["config"], w] for p, w in zip(parts, weights, strict=True)
            ],
            "seed": options.seed,
            "rank": options.rank,
            "world_size": options.world_size,
        }
        self._loaded: dict | None = None
        self._live: dict | None = None
        self._parts_loaded: list | None = None

    def epoch_length(self, num_workers: int = 1) -> int:
        return int(
            math.floor(min(part.epoch_length(num_workers) / p for part, p in zip(self.parts, self.p, strict=True)))
        )

    def budgets(self, num_workers: int) -> tuple[int, ...]:
        total = self.epoch_length(num_workers)
        return tuple(total // num_workers + (w < total % num_workers) for w in range(num_workers))

    def __len__(self) -> int:
        return self.options.run_length(self.epoch_length(current_worker()[1]))

    def fresh_position(self) -> dict:
        return {"step": 0, "yielded": 0}

    def state_dict(self) -> dict:
        live = self._live or self._loaded
        if live is None:
            worker, num_workers = current_worker()
            live = {"worker": worker, "num_workers": num_workers, "position": self.fresh_position()}
        state = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "kind": self.kind,
            "arguments": copy.deepcopy(self.arguments),
            **copy.deepcopy(live),
        }
        state["position"]["parts"] = [part.state_dict() for part in self.parts]
        return state

    def load_state_dict(self, state: dict) -> None:
        if not isinstance(state, dict) or not isinstance(state.get("position"), dict):
            raise StreamStateError("not a stream state_dict of a mixture (no position)")
        outer = copy.deepcopy(state)
        parts = outer["position"].pop("parts", None)
        loaded = read_state(outer, self.kind, self.arguments, self.fresh_position())
        if not isinstance(parts, list) or len(parts) != len(self.parts):
            raise StreamStateError(f"state_dict position parts must hold the {len(self.parts)} sources' states")
        for part, part_state in zip(self.parts, parts, strict=True):
            part.load_state_dict(part_state)
        self._loaded, self._live = loaded, None

    def __iter__(self) -> Iterator[dict[str, Any]]:
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

    def _generate(self, worker: int, num_workers: int, budget: int, position: dict) -> Iterator[dict[str, Any]]:
        limit = self.options.run_items(budget)
        if limit is not None and position["yielded"] > limit:
            raise StreamStateError(
                f"state_dict position yielded={position['yielded']} is out of bounds: this run has {limit}"
            )
        if limit is not None and position["yielded"] >= limit:
            return
        iterators = [iter(part) for part in self.parts]
        o = self.options
        entropy = (o.seed, o.rank, o.world_size, worker, num_workers)
        while True:
            rng = np.random.default_rng(np.random.SeedSequence(entropy=entropy, spawn_key=(4, position["step"])))
            i = int(rng.choice(len(self.parts), p=self.p))
            item = next(iterators[i])
            position["step"] += 1
            position["yielded"] += 1
            yield item
            if limit is not None and position["yielded"] >= limit:
                return
