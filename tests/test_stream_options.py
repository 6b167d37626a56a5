"""The options every stream shares: checked once, defaults the public functions share, and the
arguments that used to crash deep inside a stream are one-line errors."""

from __future__ import annotations

import copy
import dataclasses
import inspect

import numpy as np
import pytest

from builders.streams import StreamError, StreamStateError, combine_states, token_stream, window_stream
from builders.streams.options import StreamOptions
from tests.support.pile_folder import write_pile_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("options_pile")
    write_pile_folder(folder, {"v2h": (3, 1), "vbn": (3, 1)}, seed=4)
    return str(folder)


@pytest.mark.parametrize("stream", [window_stream, token_stream])
def test_the_public_functions_default_to_the_options_defaults(stream):
    parameters = inspect.signature(stream).parameters
    for field in dataclasses.fields(StreamOptions):
        assert parameters[field.name].default == field.default, field.name


def test_options_are_checked_and_stored_as_ints():
    options = StreamOptions(seed=np.int64(3), rank=np.int32(1), world_size=np.int64(2), epochs=np.int8(2))
    assert (options.seed, options.rank, options.world_size, options.epochs) == (3, 1, 2, 2)
    assert all(type(v) is int for v in (options.seed, options.rank, options.world_size, options.epochs))
    assert dataclasses.replace(options, epochs=None).run_items(5) is None and options.run_items(5) == 10
    with pytest.raises(TypeError, match="endless and has no length"):
        StreamOptions().run_length(5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.seed = 4  # type: ignore[misc]  # the point of the test: the options are frozen
    cases = [
        (dict(seed=-1), "seed must be a non-negative integer, got -1"),
        (dict(seed=True), "seed must be a non-negative integer, got True"),
        (dict(rank=2, world_size=2), r"rank must be an integer in \[0, world_size=2\), got 2"),
        (dict(world_size=0), "world_size must be a positive integer, got 0"),
        (dict(epochs=0), "epochs must be a positive integer, got 0"),
        (dict(sampling="random"), "sampling must be one of"),
        (dict(neurons="all"), "neurons must be one of"),
        (dict(pad="edge"), "pad must be one of"),
        (dict(open_pieces=0), "open_pieces must be a positive integer, got 0"),
    ]
    for arguments, message in cases:
        with pytest.raises(StreamError, match=message):
            StreamOptions(**arguments)


def test_a_mixture_of_mixtures_is_refused_in_one_line(folder):
    with pytest.raises(StreamError, match="mixture source 0 .* has a mixture as its config"):
        window_stream([(folder, {"vbn": 1.0}, 1.0)], n_neurons=4, n_bins=10)


def test_align_must_be_a_pair(folder):
    with pytest.raises(StreamError, match=r"align must be a pair \(neurons, bins\), got \(2,\)"):
        window_stream(folder, n_neurons=4, n_bins=10, align=(2,))


@pytest.mark.parametrize(
    "where, field, value, message",
    [
        ("stream", "rank", 7, r"combined state stream 0: rank must be an integer in \[0, world_size=2\), got 7"),
        ("stream", "rank", None, "combined state stream 0: rank must be an integer"),
        ("bundle", "world_size", 0, "combined state stream 0: world_size must be a positive integer, got 0"),
    ],
)
def test_a_combined_state_with_a_bad_rank_or_world_size_is_refused(folder, where, field, value, message):
    states = [
        window_stream(folder, n_neurons=4, n_bins=10, seed=1, rank=r, world_size=2).state_dict() for r in range(2)
    ]
    combined = copy.deepcopy(combine_states(states))
    (combined["streams"][0] if where == "stream" else combined)[field] = value
    with pytest.raises(StreamStateError, match=message):
        window_stream(folder, n_neurons=4, n_bins=10, seed=1).load_state_dict(combined)
