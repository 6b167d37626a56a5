"""The options every stream shares: checked once, with the defaults the public functions share."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

from builders.streams import StreamError, token_stream, window_stream
from builders.streams.options import StreamOptions


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
