"""A stream's saved state: its format, the DataLoader worker it belongs to, and the one reader of a
saved ``state_dict`` that checks every field (shared by every stream kind and the elastic resume)."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from builders.streams.errors import StreamStateError

STATE_FORMAT = "neural-pile-stream"
STATE_VERSION = 1


def current_worker() -> tuple[int, int]:
    """``(worker id, number of workers)`` of the DataLoader worker running this code, else ``(0, 1)``."""
    torch = sys.modules.get("torch")
    if torch is not None:
        info = torch.utils.data.get_worker_info()
        if info is not None:
            return int(info.id), int(info.num_workers)
    return 0, 1


#: Largest value a state's counter may hold (seeds take 64-bit words).
STATE_MAX = 2**62


def read_state(state, kind: str, arguments: dict, fresh: dict) -> dict:
    """The ``{"worker", "num_workers", "position"}`` of a stream state, every field checked.

    Refused in one :class:`StreamStateError` line naming the field: not a state, another version
    or kind, arguments that differ from ``arguments`` (a missing or extra one too), keys missing or
    unknown, a worker or counter that is not a non-negative integer (``True``, ``3.7``, ``"abc"``,
    ``None``), above :data:`STATE_MAX`, or a worker outside ``[0, num_workers)``. Bounds that
    depend on the data (a piece, draw or offset past its end) are checked where the stream
    continues, before it yields anything.
    """
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise StreamStateError(f"not a stream state_dict (format is not {STATE_FORMAT!r})")
    if state.get("version") != STATE_VERSION:
        raise StreamStateError(
            f"stream state version {state.get('version')!r} is not supported (expected {STATE_VERSION})"
        )
    if state.get("kind") != kind:
        raise StreamStateError(f"state_dict is of a {state.get('kind')!r} stream, this is a {kind!r} stream")
    expected = {"format", "version", "kind", "arguments", "worker", "num_workers", "position"}
    if set(state) != expected:
        missing, unknown = sorted(expected - set(state)), sorted(set(state) - expected)
        raise StreamStateError(f"state_dict keys: missing {missing}, unknown {unknown}")
    saved = state["arguments"]
    if not isinstance(saved, dict):
        raise StreamStateError(f"state_dict arguments must be a dict, got {type(saved).__name__}")
    for name in list(arguments) + [k for k in saved if k not in arguments]:
        if saved.get(name) != arguments.get(name):
            raise StreamStateError(
                f"state_dict was saved with {name}={saved.get(name)!r}, this stream has {name}={arguments.get(name)!r}"
            )

    def counter(name: str, value, low: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= STATE_MAX:
            raise StreamStateError(f"state_dict {name} must be an integer in [{low}, 2**62], got {value!r}")
        return int(value)

    num_workers = counter("num_workers", state["num_workers"], low=1)
    worker = counter("worker", state["worker"])
    if worker >= num_workers:
        raise StreamStateError(f"state_dict worker={worker} is out of bounds for num_workers={num_workers}")
    position = state["position"]
    if not isinstance(position, dict) or set(position) != set(fresh):
        raise StreamStateError(f"state_dict position must hold exactly {sorted(fresh)}, got {position!r}")
    checked: dict[str, Any] = {}
    for k in fresh:
        if k != "slots":
            checked[k] = counter(f"position {k}", position[k])
            continue
        slots = position[k]
        if not isinstance(slots, list) or not all(isinstance(x, list) and len(x) == 3 for x in slots):
            raise StreamStateError(f"state_dict position slots must be a list of [piece, row, draw], got {slots!r}")
        checked[k] = [[counter(f"slot {name}", v) for name, v in zip(("piece", "row", "draw"), x)] for x in slots]
    return {"worker": worker, "num_workers": num_workers, "position": checked}
