"""Elastic resume: the combined states of all ranks continue on another world size, and the items
before and after the change are exactly one uninterrupted epoch's items (none twice, none skipped)."""

from __future__ import annotations

import functools
import json
from collections import Counter

import pytest

from builders.streams import StreamStateError, combine_states, token_stream, window_stream
from tests.support.pile_folder import write_pile_folder


@pytest.fixture(scope="module")
def pile_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("elastic_pile")
    write_pile_folder(folder, {"v2h": (5, 1), "vbn": (5, 1)}, seed=7)
    return str(folder)


def key(w) -> tuple:
    return (w["path"], w["row_group"], w["row"], w["neuron_start"], w["bin_start"], w["spike_counts"].tobytes())


def run(make, old: int, new: int, cut: int):
    """Items before (``cut`` per old rank) and after (every new rank to the end), and the epoch."""
    epoch = Counter(key(w) for r in range(old) for w in make(rank=r, world_size=old))
    before, states = [], []
    for r in range(old):
        stream = make(rank=r, world_size=old)
        it = iter(stream)
        before += [key(next(it)) for _ in range(cut)]
        states.append(json.loads(json.dumps(stream.state_dict())))
    combined = json.loads(json.dumps(combine_states(states[::-1])))  # any order
    after = []
    for r in range(new):
        stream = make(rank=r, world_size=new)
        stream.load_state_dict(combined)
        after.append([key(w) for w in stream])
    return epoch, before, after


@pytest.mark.parametrize("old,new,cut", [(4, 2, 3), (2, 3, 5), (2, 3, 4), (3, 1, 2)])
def test_before_and_after_a_world_size_change_are_one_epoch(pile_folder, old, new, cut):
    make = functools.partial(window_stream, pile_folder, n_neurons=4, n_bins=10, seed=1, epochs=1, sampling="uniform")
    epoch, before, after = run(make, old, new, cut)
    assert len({len(a) for a in after}) == 1  # every new rank yields the same count
    seen = Counter(before) + Counter(k for a in after for k in a)
    remainder = sum(epoch.values()) - len(before)
    dropped = remainder % new  # left out so the new ranks stay equal
    assert not seen - epoch  # nothing outside the epoch, nothing twice
    assert sum((epoch - seen).values()) == dropped
    if dropped == 0:
        assert seen == epoch


def test_an_elastic_stream_resumes_exactly_on_its_topology(pile_folder):
    make = functools.partial(token_stream, pile_folder, seq_len=30, n_neurons=8, seed=2, epochs=2)
    states = []
    for r in range(2):
        stream = make(rank=r, world_size=2)
        it = iter(stream)
        for _ in range(4):
            next(it)
        states.append(stream.state_dict())
    combined = combine_states(states)

    def restored():
        s = make(rank=0, world_size=3)
        s.load_state_dict(combined)
        return s

    whole = [s["input_ids"].tobytes() for s in restored()]
    total = len(whole)
    for cut in (1, total // 2, total - 1):
        stream = restored()
        it = iter(stream)
        head = [next(it)["input_ids"].tobytes() for _ in range(cut)]
        state = json.loads(json.dumps(stream.state_dict()))
        again = make(rank=0, world_size=3)
        again.load_state_dict(state)
        assert head + [s["input_ids"].tobytes() for s in again] == whole, cut


def test_combine_states_refuses_an_incomplete_or_mixed_set(pile_folder):
    make = functools.partial(window_stream, pile_folder, n_neurons=4, n_bins=10, seed=1)
    states = [make(rank=r, world_size=2).state_dict() for r in range(2)]
    with pytest.raises(StreamStateError, match=r"missing \(rank, worker\) \[\(1, 0\)\]"):
        combine_states(states[:1])
    other = window_stream(pile_folder, n_neurons=4, n_bins=10, seed=2, rank=1, world_size=2).state_dict()
    with pytest.raises(StreamStateError, match="state 1 was saved with seed=2"):
        combine_states([states[0], other])
    combined = combine_states(states)
    with pytest.raises(StreamStateError, match="saved with seed=1, this stream has seed=3"):
        window_stream(pile_folder, n_neurons=4, n_bins=10, seed=3).load_state_dict(combined)
