"""Training streams over a pile: random windows and packed token sequences.

* :func:`window_stream`: neurons x time windows (uint8 counts + masks + where they came from),
* :func:`token_stream`: packed ``seq_len`` token sequences (motif ids or raw counts, a separator
  id before each time step), inputs and labels shifted by one,
* :func:`eval_windows` / :func:`eval_tokens`: every real token of a split exactly once, the same
  item count on every rank (:mod:`builders.streams.eval`), :func:`aggregate_by_component`.

Both read the pile one row group at a time through :mod:`builders.pile` (local folder, Hub repo,
fsspec URL, our layout or the reference layout), split the work over ranks and DataLoader workers
by row group, give every rank the same number of items per epoch, and resume exactly from
``state_dict()``. See :mod:`builders.streams.plan` for how rows are drawn and shared out.

Imported on first use (like :mod:`tokenizer`), so ``import builders.streams`` stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "window_stream": "builders.streams.windows",
    "WindowStream": "builders.streams.windows",
    "token_stream": "builders.streams.tokens",
    "TokenStream": "builders.streams.tokens",
    "TokenLayout": "builders.streams.tokens",
    "eval_windows": "builders.streams.eval",
    "eval_tokens": "builders.streams.eval",
    "EvalStream": "builders.streams.eval",
    "EvalTokenStream": "builders.streams.eval",
    "aggregate_by_component": "builders.streams.eval",
    "IGNORE_INDEX": "builders.streams.tokens",
    "MixtureStream": "builders.streams.mixture",
    "combine_states": "builders.streams.elastic",
    "StreamError": "builders.streams.errors",
    "StreamStateError": "builders.streams.errors",
}
__all__ = sorted(_EXPORTS)
#: What ``neural_pile_rodent`` re-exports.
PUBLIC = ("window_stream", "token_stream", "eval_windows", "eval_tokens", "combine_states", "aggregate_by_component")


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'builders.streams' has no attribute {name!r}")
