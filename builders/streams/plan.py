"""How a stream shares a pile's rows out over ranks and DataLoader workers, and how long an epoch is.

**Pieces.** The unit of work is a row group (read whole, one at a time). When a split has fewer
non-empty row groups than streams (``world_size x num_workers``), each row group is cut into
``ceil(streams / row_groups)`` interleaved pieces (rows ``part, part + parts, ...``) so every
stream can have its own rows.

**Weights.** A piece's weight is the number of windows it gives per visit on average:
``sampling="uniform"``: one per row (each row once per visit, in a random order);
``sampling="tokens"``: ``tokens / (n_neurons * n_bins)``, so rows are drawn in proportion to
their tokens and a visit covers the piece's tokens about once (from the footers; the visit itself
draws ``floor(x) + Bernoulli(frac(x))`` windows with rows chosen in proportion to their tokens).

**Assignment.** Pieces go to ranks one component at a time (a row group's component from its
``source_dataset`` statistics), each to the rank with the fewest pieces of that component, then
the least load; a component in fewer row groups than ranks has its row groups cut into more
pieces, so every rank sees every component (each piece of a cut row group decodes the whole row
group, so this costs reads). Each rank's pieces then go to its workers, largest weight first to
the least-loaded worker (ties: lower piece index, lower worker). Ranks and workers never share
a row. Every stream must get a piece with rows, else :class:`StreamError` (too few rows).

**Epochs.** One epoch is ``floor(total weight / world_size)`` windows on every rank, the same
count whatever the number of files: the rank's workers split it (``floor``/``ceil``, lower
workers first). A stream cycles through its pieces in a new random order each cycle and never
stops at a cycle's end: a stream whose pieces hold fewer windows than its budget wraps into its
next cycle, one with more carries the rest into the next epoch. Row groups are therefore visited
about once per epoch, with rows near the end of a cycle shifting into the next epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from builders.streams.errors import StreamError

SAMPLINGS = ("uniform", "tokens")


@dataclass(frozen=True)
class Piece:
    """Rows ``part::parts`` of row group ``group`` (index into the source's row groups)."""

    group: int
    part: int
    parts: int
    rows: int
    weight: float
    component: str = ""  # the row group's one component ("" when it mixes them or is unknown)


@dataclass(frozen=True)
class Plan:
    """Pieces of every stream of one rank, and each stream's windows per epoch."""

    pieces: tuple[tuple[Piece, ...], ...]  # per worker of this rank
    budgets: tuple[int, ...]  # windows per epoch, per worker of this rank
    rank_budget: int  # windows per epoch of the whole rank (the same on every rank)


def make_plan(
    rows: np.ndarray,
    tokens: np.ndarray,
    *,
    sampling: str,
    window_tokens: int,
    rank: int,
    world_size: int,
    num_workers: int,
    where: str = "the split",
    components=None,
) -> Plan:
    """The plan of rank ``rank`` given per-row-group ``rows`` and ``tokens`` (footer counts).

    ``where`` names the split in messages (``split 'test' of user/pile``); ``components`` gives
    each row group's component (from its ``source_dataset`` statistics; "" when mixed).
    """
    streams = world_size * num_workers
    groups = np.flatnonzero(rows > 0)
    parts = max(1, math.ceil(streams / len(groups))) if len(groups) else 1
    labels = [""] * len(rows) if components is None else list(components)
    per_component: dict[str, int] = {}
    for g in groups:
        per_component[labels[g]] = per_component.get(labels[g], 0) + 1
    pieces: list[Piece] = []
    for g in groups:
        n = int(rows[g])
        # a component in fewer row groups than ranks is cut finer, so every rank gets rows of it
        cut = max(parts, math.ceil(world_size / per_component[labels[g]]))
        for part in range(min(cut, n)):
            share = len(range(part, n, min(cut, n)))
            weight = share if sampling == "uniform" else float(tokens[g]) * share / n / window_tokens
            pieces.append(Piece(int(g), part, min(cut, n), share, weight, labels[g]))
    total = sum(p.weight for p in pieces)
    rank_budget = int(math.floor(total / world_size + 1e-9))
    if rank_budget < 1:
        n_rows = int(rows.sum())
        if sampling == "uniform":
            raise StreamError(
                f"{where} has {n_rows} rows, fewer than one per rank (world_size={world_size}); "
                f"use world_size <= {n_rows}"
            )
        ranks = int(math.floor(total + 1e-9))
        fewer = f"world_size <= {ranks}, " if ranks >= 1 else ""
        raise StreamError(
            f"{where} has {n_rows} rows holding about {total:.2f} windows of {window_tokens} tokens, fewer than "
            f"one per rank (world_size={world_size}); use {fewer}smaller windows (n_neurons x n_bins) or "
            f"sampling='uniform' (one window per row: {n_rows} per epoch)"
        )
    mine = _assign_by_component(pieces, world_size)[rank]
    per_worker = _assign(mine, num_workers)
    if any(not any(p.weight > 0 for p in w) for w in per_worker):
        raise StreamError(
            f"{where} has {int(rows.sum())} rows in {len(groups)} row groups: too few to give each of "
            f"{streams} streams (world_size={world_size} x num_workers={num_workers}) rows of its own; "
            "use fewer DataLoader workers or ranks"
        )
    budgets = tuple(rank_budget // num_workers + (w < rank_budget % num_workers) for w in range(num_workers))
    return Plan(tuple(tuple(w) for w in per_worker), budgets, rank_budget)


def _assign(pieces: list[Piece], n: int) -> list[list[Piece]]:
    """Greedy balance: largest weight first to the least-loaded of ``n`` bins; each bin keeps file order."""
    loads = [0.0] * n
    chosen: list[list[int]] = [[] for _ in range(n)]
    for i in sorted(range(len(pieces)), key=lambda i: (-pieces[i].weight, i)):
        b = min(range(n), key=lambda b: (loads[b], b))
        loads[b] += pieces[i].weight
        chosen[b].append(i)
    return [[pieces[i] for i in sorted(c)] for c in chosen]


def _assign_by_component(pieces: list[Piece], n: int) -> list[list[Piece]]:
    """Pieces to ``n`` ranks one component at a time: each piece of a component goes to the rank
    holding the fewest pieces of that component (then the least load, then the lower rank), so
    every rank gets rows of every component that has at least ``n`` pieces."""
    loads = [0.0] * n
    chosen: list[list[int]] = [[] for _ in range(n)]
    for component in sorted({p.component for p in pieces}):
        held = [0] * n
        mine = [i for i, p in enumerate(pieces) if p.component == component]
        for i in sorted(mine, key=lambda i: (-pieces[i].weight, i)):
            b = min(range(n), key=lambda b: (held[b], loads[b], b))
            held[b] += 1
            loads[b] += pieces[i].weight
            chosen[b].append(i)
    return [[pieces[i] for i in sorted(c)] for c in chosen]
