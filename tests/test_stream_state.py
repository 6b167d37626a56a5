"""A stream state is data from outside: every field is checked, and a state of other pile content
(a shard rewritten with the same path, row groups and rows) is refused, each in one line."""

from __future__ import annotations

import copy
import json
from itertools import islice

import numpy as np
import pyarrow.parquet as pq
import pytest

from builders.spec.schema import rows_to_table
from builders.streams import StreamStateError, token_stream, window_stream
from tests.support.pile_folder import make_row
from tests.support.stream_piles import FIVE, write_reference_folder


def rows(seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [make_row(rng, "a", f"s{k % 2}", f"ses-{k}", 0, 6, 80) for k in range(8)]


@pytest.fixture
def reference_folder(tmp_path):
    return write_reference_folder(tmp_path / "pile", rows(0), row_group=2)


def test_a_state_over_rewritten_shard_content_is_refused(reference_folder):
    stream = window_stream(str(reference_folder), n_neurons=4, n_bins=20, seed=1)
    list(islice(stream, 5))
    state = json.loads(json.dumps(stream.state_dict()))
    # the same path, row groups and rows (and shapes), other counts
    path = reference_folder / "data" / "train-00000-of-00001.parquet"
    pq.write_table(rows_to_table(rows(1)).select(FIVE), path, row_group_size=2)
    assert pq.ParquetFile(path).metadata.num_row_groups == 4
    with pytest.raises(StreamStateError, match="saved with pile="):
        window_stream(str(reference_folder), n_neurons=4, n_bins=20, seed=1).load_state_dict(state)
    # the same content rewritten loads
    pq.write_table(rows_to_table(rows(0)).select(FIVE), path, row_group_size=2)
    window_stream(str(reference_folder), n_neurons=4, n_bins=20, seed=1).load_state_dict(state)


def edited(state: dict, change) -> dict:
    out = copy.deepcopy(state)
    change(out)
    return out


def set_position(key, value):
    return lambda s: s["position"].__setitem__(key, value)


def set_slot(index, value):
    return lambda s: s["position"]["slots"][0].__setitem__(index, value)


def test_every_edited_field_is_refused_in_one_line(reference_folder):
    def make():
        return token_stream(str(reference_folder), seq_len=20, n_neurons=4, n_bins=10, seed=2, epochs=1)

    stream = make()
    it = iter(stream)
    for _ in range(3):
        next(it)
    state = json.loads(json.dumps(stream.state_dict()))
    assert state["position"]["slots"] and state["position"]["offset"] > 0
    at_load = [
        (set_position("offset", -1), "position offset must be an integer in"),
        (set_position("offset", 3.7), "position offset must be an integer in"),
        (set_position("offset", True), "position offset must be an integer in"),
        (set_position("offset", "abc"), "position offset must be an integer in"),
        (set_position("offset", None), "position offset must be an integer in"),
        (set_position("yielded", -3), "position yielded must be an integer in"),
        (set_position("step", 2**70), "position step must be an integer in"),
        (set_slot(1, -1), "slot row must be an integer in"),
        (set_slot(2, -2), "slot draw must be an integer in"),
        (set_slot(0, -1), "slot piece must be an integer in"),
        (lambda s: s["position"].__setitem__("slots", [[0, 0]]), "slots must be a list of"),
        (lambda s: s["position"].pop("step"), "position must hold exactly"),
        (lambda s: s.pop("worker"), r"missing \['worker'\]"),
        (lambda s: s.__setitem__("extra", 1), r"unknown \['extra'\]"),
        (lambda s: s.__setitem__("worker", 5), "worker=5 is out of bounds for num_workers=1"),
        (lambda s: s.__setitem__("num_workers", 0), "num_workers must be an integer in"),
        (lambda s: s.__setitem__("arguments", []), "arguments must be a dict"),
        (lambda s: s["arguments"].pop("seed"), "saved with seed=None"),
    ]
    for change, message in at_load:
        with pytest.raises(StreamStateError, match=message) as err:
            make().load_state_dict(edited(state, change))
        assert "\n" not in str(err.value)
    at_start = [  # bounds that depend on the data: refused before anything is yielded
        (set_position("offset", 10**12), "offset=1000000000000 is out of bounds"),
        (set_position("yielded", 10**9), "yielded=1000000000 is out of bounds"),
        (set_slot(1, 10**6), "slot row=1000000 is out of bounds"),
        (set_slot(2, 10**6), "slot draw=1000000 is out of bounds"),
        (lambda s: s["position"].__setitem__("next_piece", 0), "names a piece not opened yet"),
        (lambda s: s["position"].__setitem__("slots", [[0, 0, 0]] * 99), "holds 99 open pieces"),
    ]
    for change, message in at_start:
        restored = make()
        restored.load_state_dict(edited(state, change))
        with pytest.raises(StreamStateError, match=message) as err:
            next(iter(restored))
        assert "\n" not in str(err.value)


def test_a_connection_dropped_inside_a_row_group_is_retried_with_the_same_items(reference_folder, monkeypatch):
    """The first handle of the file drops after some bytes: the row reader reopens and continues at
    its next row; the items equal an undisturbed stream's."""
    from builders.pile import open_pile

    def make():
        return window_stream(open_pile(str(reference_folder)), n_neurons=4, n_bins=20, seed=1, open_pieces=1, epochs=1)

    expected = [w["spike_counts"].tobytes() for w in make()]
    stream = make()
    fs = stream._source.pile.fs
    real_open, dropped = fs.open, []

    class Dropping:
        def __init__(self, handle):
            self.handle, self.read_bytes = handle, 0

        def read(self, n=-1):
            data = self.handle.read(n)
            self.read_bytes += len(data)
            if self.read_bytes > 300 and not dropped:
                dropped.append(True)
                raise ConnectionResetError("connection reset by peer")
            return data

        def __getattr__(self, name):
            return getattr(self.handle, name)

    monkeypatch.setattr(fs, "open", lambda path, mode="rb", **kw: Dropping(real_open(path, mode, **kw)))
    assert [w["spike_counts"].tobytes() for w in stream] == expected and dropped
