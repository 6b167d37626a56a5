"""Shuffled batches: consecutive items of a rank mix rows of many sessions, about as many as a random
token-weighted draw, and the open pieces (the memory knob) set how many."""

from __future__ import annotations

import functools
from itertools import islice

import numpy as np
import pytest

from builders.pile import open_pile
from builders.spec.counts import table_spike_counts
from builders.streams import window_stream
from tests.support.pile_folder import write_pile_folder

#: 43 sessions (6 of shield), one shard (one row group) per session: the layout where one-at-a-time reads cluster
COMPONENTS = {"v2h": (14, 1), "vbn": (13, 1), "ibl": (10, 1), "shield": (6, 1)}


@pytest.fixture(scope="module")
def many_sessions_pile_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many_sessions")
    write_pile_folder(folder, COMPONENTS, seed=2)
    return folder


def random_draw_distinct(folder, batch: int = 32) -> float:
    """Expected distinct sessions among ``batch`` rows drawn at random in proportion to their tokens."""
    pile = open_pile(str(folder))
    tokens: dict[tuple, int] = {}
    for rg in pile.row_groups():
        table = pile.read(rg, columns=("spike_counts", "source_dataset", "subject_id", "session_id"))
        for r, counts in enumerate(table_spike_counts(table)):
            key = tuple(table.column(c)[r].as_py() for c in ("source_dataset", "subject_id", "session_id"))
            tokens[key] = tokens.get(key, 0) + counts.size
    p = np.array(list(tokens.values()), float)
    p /= p.sum()
    return float(np.sum(1 - (1 - p) ** batch))


def distinct_per_batch(items, batch: int = 32) -> float:
    keys = [(w["source_dataset"], w["subject_id"], w["session_id"]) for w in items]
    return float(np.mean([len(set(keys[i : i + batch])) for i in range(0, len(keys) - batch + 1, batch)]))


def test_batches_of_32_hold_about_as_many_sessions_as_a_random_draw(many_sessions_pile_folder):
    make = functools.partial(window_stream, str(many_sessions_pile_folder), n_neurons=8, n_bins=20, seed=0)
    random = random_draw_distinct(many_sessions_pile_folder)
    shuffled = distinct_per_batch(list(islice(make(), 32 * 40)))
    one_at_a_time = distinct_per_batch(list(islice(make(open_pieces=1), 32 * 40)))
    assert shuffled >= 0.9 * random, (shuffled, random)
    assert one_at_a_time < 0.5 * random  # the knob is what mixes: one open piece reads session after session


def test_every_rank_sees_every_component_in_an_epoch(many_sessions_pile_folder):
    for world_size in (2, 4, 8):
        for rank in range(world_size):
            stream = window_stream(
                str(many_sessions_pile_folder),
                n_neurons=8,
                n_bins=20,
                seed=0,
                rank=rank,
                world_size=world_size,
                epochs=1,
            )
            assert {w["source_dataset"] for w in stream} == set(COMPONENTS), (world_size, rank)
