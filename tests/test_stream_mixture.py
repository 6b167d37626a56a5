"""Weighted mixtures of components and of piles: token shares follow the weights, resume exactly,
and bad weights, sources and states are one-line errors."""

from __future__ import annotations

import functools
import json
from itertools import islice

import numpy as np
import pytest

from builders.streams import StreamError, StreamStateError, token_stream, window_stream
from tests.support.pile_folder import make_row, write_pile_folder
from tests.support.stream_piles import write_reference_folder


@pytest.fixture(scope="module")
def own_and_reference_folders(tmp_path_factory):
    own = tmp_path_factory.mktemp("mix_own")
    write_pile_folder(own, {"v2h": (3, 1), "vbn": (3, 1)}, seed=4)
    rng = np.random.default_rng(9)
    rows = [make_row(rng, "primate", "m", f"ses-{k}", 0, 20, 200) for k in range(6)]
    other = write_reference_folder(tmp_path_factory.mktemp("mix_other"), rows, row_group=2)
    return str(own), str(other)


def shares(items, key) -> dict:
    labels = [key(w) for w in items]
    return {k: labels.count(k) / len(labels) for k in set(labels)}


def test_component_weights_are_the_token_shares(own_and_reference_folders):
    own, _ = own_and_reference_folders
    items = list(islice(window_stream(own, config={"v2h": 0.25, "vbn": 1.0}, n_neurons=4, n_bins=10, seed=0), 10_000))
    got = shares(items, lambda w: w["source_dataset"])  # every item holds n_neurons x n_bins tokens
    assert got["v2h"] == pytest.approx(0.2, abs=0.02) and got["vbn"] == pytest.approx(0.8, abs=0.02)


def test_piles_of_both_layouts_mix_by_weight_and_resume_exactly(own_and_reference_folders):
    own, other = own_and_reference_folders
    sources = [(own, "all", 0.7), (other, None, 0.3)]
    make = functools.partial(token_stream, sources, seq_len=30, n_neurons=8, seed=1)
    reference = list(islice(make(), 60))
    for cut in (0, 7, 33):
        stream = make()
        it = iter(stream)
        head = [next(it) for _ in range(cut)]
        state = json.loads(json.dumps(stream.state_dict()))
        restored = make()
        restored.load_state_dict(state)
        tail = list(islice(restored, 60 - cut))
        for a, b in zip(head + tail, reference, strict=True):
            np.testing.assert_array_equal(a["input_ids"], b["input_ids"])
            np.testing.assert_array_equal(a["labels"], b["labels"])
    windows = list(islice(window_stream(sources, n_neurons=8, n_bins=20, seed=2), 10_000))
    got = shares(windows, lambda w: w["source_dataset"] == "primate")
    assert got[True] == pytest.approx(0.3, abs=0.02)


def test_a_mixture_epoch_ends_where_the_first_source_completes_one(own_and_reference_folders):
    own, _ = own_and_reference_folders
    config = {"v2h": 1.0, "vbn": 3.0}
    stream = window_stream(own, config=config, n_neurons=4, n_bins=10, seed=0, epochs=1, sampling="uniform")
    alone = {c: window_stream(own, config=c, n_neurons=4, n_bins=10, sampling="uniform").epoch_length() for c in config}
    expected = int(min(alone["v2h"] / 0.25, alone["vbn"] / 0.75))
    assert len(stream) == expected == len(list(stream))


def test_mixture_bad_input_is_one_line_naming_it(own_and_reference_folders, tmp_path):
    own, other = own_and_reference_folders
    for weight in (0, -1, "x", True, float("nan"), float("inf")):
        with pytest.raises(StreamError, match=r"config\['vbn'\] must be a positive number"):
            window_stream(own, config={"v2h": 1.0, "vbn": weight}, n_neurons=4, n_bins=10)
    with pytest.raises(StreamError, match="weight of mixture source 1 .* must be a positive number"):
        window_stream([(own, "all", 1.0), (other, None, -2)], n_neurons=4, n_bins=10)
    missing = str(tmp_path / "nowhere")
    with pytest.raises(StreamError, match=rf"mixture source 1 \({missing}, config None\)"):
        window_stream([(own, "all", 1.0), (missing, None, 1.0)], n_neurons=4, n_bins=10)
    with pytest.raises(StreamError, match="must be \\(source, config, weight\\)"):
        window_stream([(own, "all")], n_neurons=4, n_bins=10)
    state = window_stream(own, config={"v2h": 1.0, "vbn": 2.0}, n_neurons=4, n_bins=10).state_dict()
    with pytest.raises(StreamStateError, match="saved with sources="):
        window_stream(own, config={"v2h": 1.0, "vbn": 3.0}, n_neurons=4, n_bins=10).load_state_dict(state)
    with pytest.raises(StreamStateError, match="saved with seed="):
        window_stream(own, config={"v2h": 1.0, "vbn": 2.0}, n_neurons=4, n_bins=10, seed=5).load_state_dict(state)
