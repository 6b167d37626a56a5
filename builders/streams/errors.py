"""Typed errors of the training streams (one line each, naming the argument or dataset)."""

from __future__ import annotations


class StreamError(ValueError):
    """Bad stream arguments, or a dataset/config/split with nothing to stream."""


class StreamStateError(StreamError):
    """A ``state_dict`` that does not belong to this stream (the message names what differs)."""
