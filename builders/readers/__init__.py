"""Readers: one asset (already opened) -> :class:`SpikeTrains` or :class:`BinnedUnits`.

``read_session`` opens every asset of a session through :func:`builders.sources.open_asset`
(local file, byte cache or HTTP stream: the readers cannot tell), reads it with the reader kind
the registry names, and merges per-probe files on shared time bins.
"""

from __future__ import annotations

from functools import partial

from ..binning import BIN_SIZE
from .base import BinnedUnits, ReaderError, SpikeTrains, merge_trains

__all__ = ["BinnedUnits", "ReaderError", "SpikeTrains", "merge_trains", "read_session"]


#: Reader kind (:data:`builders.registry.READER_KINDS`) -> ``"module:function"`` reading one opened asset.
#: Imported on first use, so a build that never meets a ``.mat`` file never imports scipy.io.
READERS = {
    "nwb_units": "nwb_units:read_nwb_units",
    "firing_rates": "firing_rates:read_firing_rates",
    "mat_spks": "mat_spks:read_mat_spks",
}
#: Readers of already binned data: they are given the build's bin size (seconds).
BINNED_READERS = frozenset({"firing_rates"})


def _reader_for(kind: str, bin_size: float):
    """``read(handle, asset)`` of a reader kind; readers of already binned data get ``bin_size``."""
    from importlib import import_module

    module, function = READERS[kind].split(":")
    read = getattr(import_module(f"{__name__}.{module}"), function)
    return partial(read, bin_size=bin_size) if kind in BINNED_READERS else read


def read_session(component, session, *, bin_size: float = BIN_SIZE, cache_dir=None) -> SpikeTrains | BinnedUnits:
    """Read every asset of ``session`` and return one merged recording.

    Args:
        component: the session's :class:`~builders.registry.Component` (names the reader).
        session: the :class:`~builders.sessions.Session`.
        bin_size: bin width in seconds of the build; readers of already binned data (firing
            rates) return counts in bins of this width, or refuse it naming the file.
        cache_dir: optional folder for a local byte cache of remote assets.

    Raises:
        ReaderError: naming the asset, when a file is not what its reader expects.
    """
    from ..sources import open_asset

    read = _reader_for(component.reader, bin_size)
    parts = []
    for asset in session.assets:
        with open_asset(asset, cache_dir=cache_dir) as handle:
            parts.append(read(handle, asset))
    if all(isinstance(p, SpikeTrains) for p in parts):
        return merge_trains(parts)
    if len(parts) == 1:
        return parts[0]
    raise ReaderError(f"{session.describe()}: cannot merge several binned files into one session")
