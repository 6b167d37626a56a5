"""Elastic resume: the states of every rank and worker of a run, combined, continue on another world
size or worker count, so that the items before and after the change are one epoch's items.

:func:`combine_states` bundles the states of all ``world_size x num_workers`` streams of a run
(checked: one stream kind, the same arguments but ``rank``, every rank and worker exactly once).
A stream of any ``rank`` / ``world_size`` / ``num_workers`` that loads the bundle first yields
the rest of the epoch in progress, then continues with its own draws:

* **The rest of the epoch.** Each old stream ``s`` (in rank, then worker order) still owes
  ``remaining_s`` items of the epoch ``e`` in progress (``e``: the fewest epochs any old stream
  has completed; a stream that ran ahead into epoch ``e + 1`` owes none). Laid end to end these
  are ``R`` items, exactly the items the old streams would have yielded to finish epoch ``e``
  (each old stream is re-created with its old identity and continues from its place). New rank
  ``r`` takes items ``[r * R // W, (r + 1) * R // W)`` of that sequence (``W`` the new world size)
  and its workers split its share (lower workers first); the last ``R mod W`` items are left out
  so every rank yields the same count. An old stream whose items a new one takes from the middle
  is replayed from its place (its skipped items are drawn, not yielded).
* **Afterwards** the stream draws as any stream of its own topology, from a fresh start, for the
  epochs left (``epochs - e - 1`` when ``epochs`` is set, else endlessly).

A ``StatefulDataLoader.state_dict()`` may stand for its workers' states (they are taken from its
snapshot). Load the bundle into the stream before handing it to a new DataLoader: every worker's
copy then takes its own part.

A stream in either phase saves an ``elastic`` state (the bundle, the items of its share taken and
its own place afterwards) that resumes exactly on the same topology.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from builders.streams.errors import StreamError, StreamStateError
from builders.streams.state import STATE_FORMAT, STATE_VERSION, current_worker, read_state

if TYPE_CHECKING:
    from builders.streams.base import DrawStream

TOPOLOGY = ("rank", "world_size")


def loader_states(state: Any) -> list[Any]:
    """The stream states inside a ``torchdata`` ``StatefulDataLoader.state_dict()`` (one per worker),
    or ``[state]`` for a stream's own state; not checked (:func:`combine_states` checks each)."""
    snapshot = state.get("_snapshot") if isinstance(state, dict) else None
    if not isinstance(snapshot, dict):
        return [state]
    workers = snapshot.get("_worker_snapshots") or {}
    if not workers:  # num_workers=0: the stream ran in the main process
        main = snapshot.get("_main_snapshot") or {}
        return [main.get("dataset_state")]
    return [w.get("dataset_state") for _, w in sorted(workers.items(), key=lambda kv: kv[1].get("worker_id", 0))]


def combine_states(states) -> dict:
    """One state from the ``state_dict()`` of every rank and worker of a run (any order); a
    ``StatefulDataLoader.state_dict()`` stands for the states of all its workers."""
    if not isinstance(states, (list, tuple)) or not states:
        raise StreamStateError("combine_states takes the list of every rank's (and worker's) state_dict")
    states = [s for state in states for s in loader_states(state)]
    for i, state in enumerate(states):
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or state.get("version") != STATE_VERSION:
            raise StreamStateError(f"state {i} is not a stream state_dict of version {STATE_VERSION}")
    kind = states[0].get("kind")
    if kind is None or str(kind).startswith(("combined-", "elastic-", "mixture-", "tokens-reference")):
        raise StreamStateError(f"states of {kind!r} streams cannot be combined (window and token streams can)")
    common = {k: v for k, v in states[0]["arguments"].items() if k not in TOPOLOGY}
    world_size = states[0]["arguments"].get("world_size")
    num_workers = states[0].get("num_workers")
    seen = set()
    for i, state in enumerate(states):
        if state.get("kind") != kind:
            raise StreamStateError(f"state {i} is of a {state.get('kind')!r} stream, state 0 of a {kind!r} stream")
        arguments = state.get("arguments") or {}
        for name in set(common) | set(arguments):
            if name not in TOPOLOGY and arguments.get(name) != common.get(name):
                raise StreamStateError(
                    f"state {i} was saved with {name}={arguments.get(name)!r}, state 0 with {common.get(name)!r}"
                )
        if arguments.get("world_size") != world_size or state.get("num_workers") != num_workers:
            raise StreamStateError(
                f"state {i} is of world_size={arguments.get('world_size')} x num_workers="
                f"{state.get('num_workers')}, state 0 of {world_size} x {num_workers}"
            )
        seen.add((arguments.get("rank"), state.get("worker")))
    expected = {(r, w) for r in range(world_size) for w in range(num_workers)}
    if seen != expected or len(states) != len(expected):
        missing = sorted(expected - seen)
        raise StreamStateError(
            f"combine_states needs the {len(expected)} states of world_size={world_size} x num_workers="
            f"{num_workers} once each; missing (rank, worker) {missing[:5]}, got {len(states)} states"
        )
    streams = sorted(
        (
            {"rank": s["arguments"]["rank"], "worker": s["worker"], "position": copy.deepcopy(s["position"])}
            for s in states
        ),
        key=lambda e: (e["rank"], e["worker"]),
    )
    return {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "kind": f"combined-{kind}",
        "arguments": common,
        "world_size": world_size,
        "num_workers": num_workers,
        "streams": streams,
    }


def check_combined(stream: DrawStream, combined: dict) -> None:
    """Refuse a bundle of another stream (arguments but rank/world_size) or with a bad stream state."""
    mine = {k: v for k, v in stream.arguments.items() if k not in TOPOLOGY}
    saved = combined.get("arguments")
    if not isinstance(saved, dict):
        raise StreamStateError("combined state arguments must be a dict")
    for name in list(mine) + [k for k in saved if k not in mine]:
        if saved.get(name) != mine.get(name):
            raise StreamStateError(
                f"state_dict was saved with {name}={saved.get(name)!r}, this stream has {name}={mine.get(name)!r}"
            )
    entries = combined.get("streams")
    if not isinstance(entries, list) or not entries:
        raise StreamStateError("combined state streams must be a list of the old streams' places")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise StreamStateError(f"combined state stream {i} must be a dict of rank, worker and position")
        try:  # a rank or world size out of bounds is refused here, not met as an IndexError later
            old = stream.as_rank(entry.get("rank"), combined.get("world_size"), epochs=None)
        except StreamError as err:
            raise StreamStateError(f"combined state stream {i}: {err}") from None
        read_state(
            {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "kind": stream.kind,
                "arguments": old.arguments,
                "worker": entry.get("worker"),
                "num_workers": combined.get("num_workers"),
                "position": entry.get("position"),
            },
            stream.kind,
            old.arguments,
            stream.fresh_position(),
        )


def elastic_plan(stream: DrawStream, combined: dict) -> tuple[list[list[Any]], int]:
    """``(pieces: [[old stream, worker, budget, position, remaining]], epoch in progress)``."""
    n_old = combined["num_workers"]
    pieces = []
    for entry in combined["streams"]:
        old = stream.as_rank(entry["rank"], combined["world_size"], epochs=None)
        budget = old.budgets(n_old)[entry["worker"]]
        pieces.append([old, entry["worker"], budget, entry["position"]])
    epoch = min(p[3]["yielded"] // p[2] for p in pieces)
    for p in pieces:
        p.append(max(0, (epoch + 1) * p[2] - p[3]["yielded"]))
    return pieces, epoch


def share(total: int, rank: int, world_size: int, worker: int, num_workers: int) -> range:
    """This worker's part of the ``total`` items: rank shares of ``total // world_size``, split over workers."""
    per_rank = total // world_size
    sizes = [per_rank // num_workers + (w < per_rank % num_workers) for w in range(num_workers)]
    start = rank * per_rank + sum(sizes[:worker])
    return range(start, start + sizes[worker])


def elastic_items(stream: DrawStream, state: dict) -> Iterator[dict[str, Any]]:
    """The items of a stream that loaded a combined (or elastic) state, kept as ``state``
    (:func:`load_elastic`; module notes)."""
    worker, num_workers = current_worker()
    if state.get("num_workers") not in (None, num_workers) or state.get("worker") not in (None, worker):
        raise StreamStateError(
            f"elastic state_dict belongs to worker {state['worker']} of num_workers={state['num_workers']}, "
            f"loaded in worker {worker} of {num_workers}"
        )
    state["worker"], state["num_workers"] = worker, num_workers
    pieces, epoch = elastic_plan(stream, state["combined"])
    options = stream.options
    mine = share(sum(p[4] for p in pieces), options.rank, options.world_size, worker, num_workers)
    start = 0  # where each old stream's remaining items begin in the concatenation
    for old, w, budget, position, remaining in pieces:
        lo, hi = max(mine.start + state["taken"], start), min(mine.stop, start + remaining)
        if lo < hi:
            plan = old.plan(combined_workers(state))
            items = old._generate(plan.pieces[w], budget, w, combined_workers(state), copy.deepcopy(position))
            for k, item in enumerate(items):
                if start + k >= hi:
                    break
                if start + k >= lo:
                    state["taken"] += 1
                    yield item
        start += remaining
    left = None if options.epochs is None else options.epochs - epoch - 1
    if left is not None and left <= 0:
        return
    after = stream.as_rank(options.rank, options.world_size, epochs=left)
    after._loaded = (
        None
        if state.get("after") is None
        else {"worker": worker, "num_workers": num_workers, "position": state["after"]}
    )
    state["after_stream"] = after
    yield from after._own_iter()


def combined_workers(state: dict) -> int:
    return state["combined"]["num_workers"]


def elastic_state(stream: DrawStream, state: dict) -> dict:
    """The ``state_dict()`` of a stream continuing ``state`` (:func:`load_elastic`)."""
    after = state.get("after_stream")
    position = after.state_dict()["position"] if after is not None and after._live is not None else state.get("after")
    worker, num_workers = current_worker()
    return {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "kind": f"elastic-{stream.kind}",
        "arguments": dict(stream.arguments),
        "combined": copy.deepcopy(state["combined"]),
        "taken": state["taken"],
        "worker": state.get("worker", worker),
        "num_workers": state.get("num_workers", num_workers),
        "after": copy.deepcopy(position),
    }


def load_elastic(stream: DrawStream, state: dict) -> dict:
    """What a stream keeps of a loaded combined or elastic state (checked)."""
    if state["kind"] == f"combined-{stream.kind}":
        check_combined(stream, state)
        return {"combined": copy.deepcopy(state), "taken": 0, "after": None}
    for name in list(stream.arguments) + [k for k in state.get("arguments", {}) if k not in stream.arguments]:
        if state.get("arguments", {}).get(name) != stream.arguments.get(name):
            raise StreamStateError(
                f"state_dict was saved with {name}={state['arguments'].get(name)!r}, "
                f"this stream has {name}={stream.arguments.get(name)!r}"
            )
    check_combined(stream, state.get("combined") or {})
    taken = state.get("taken")
    if isinstance(taken, bool) or not isinstance(taken, int) or taken < 0:
        raise StreamStateError(f"state_dict taken must be a non-negative integer, got {taken!r}")
    return {
        "combined": copy.deepcopy(state["combined"]),
        "taken": taken,
        "after": state.get("after"),
        "worker": state.get("worker"),
        "num_workers": state.get("num_workers"),
    }
