"""Typed errors of the training streams (one line each, naming the argument or dataset)."""

from __future__ import annotations

from builders.errors import NeuralPileError


class StreamError(NeuralPileError, ValueError):
    """Bad stream arguments, or a dataset/config/split with nothing to stream."""


class StreamStateError(StreamError):
    """A ``state_dict`` that does not belong to this stream (the message names what differs)."""
