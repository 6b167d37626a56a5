"""Readers: one asset (already opened) -> :class:`SpikeTrains` or :class:`BinnedUnits`.

``read_session`` opens every asset of a session through :func:`builders.sources.open_asset`
(local file, byte cache or HTTP stream: the readers cannot tell), reads it with the reader kind
the registry names, and merges per-probe files on shared time bins.
"""

from __future__ import annotations

from .base import BinnedUnits, ReaderError, SpikeTrains, merge_trains

__all__ = ["BinnedUnits", "ReaderError", "SpikeTrains", "merge_trains", "prefetch_asset", "read_session"]


def _reader_for(kind: str):
    if kind == "nwb_units":
        from .nwb_units import read_nwb_units

        return read_nwb_units
    if kind == "firing_rates":
        from .firing_rates import read_firing_rates

        return read_firing_rates
    if kind == "mat_spks":
        from .mat_spks import read_mat_spks

        return read_mat_spks
    raise ValueError(f"unknown reader kind {kind!r}")


def prefetch_asset(kind: str, handle, asset) -> None:
    """Fetch through ``handle`` (a :class:`~builders.sources.rangefile.RangeFile`) the bytes the
    ``kind`` reader will read from ``asset``, without decoding them (see
    :mod:`builders.sources.prefetch`)."""
    if kind == "mat_spks":  # scipy reads the whole variable, i.e. nearly the whole file
        handle.prefetch([(0, handle.size)])
        return
    if kind == "nwb_units":
        from .nwb_units import prefetch_nwb_units

        prefetch_nwb_units(handle, asset)
        return
    if kind == "firing_rates":
        from ..sources.hdf5plan import prefetch_datasets
        from .firing_rates import series_datasets
        from .nwb_file import open_nwb

        with open_nwb(handle, asset) as f:
            prefetch_datasets(handle, series_datasets(f))
        return
    raise ValueError(f"unknown reader kind {kind!r}")


def read_session(component, session, *, cache_dir=None) -> SpikeTrains | BinnedUnits:
    """Read every asset of ``session`` and return one merged recording.

    Args:
        component: the session's :class:`~builders.registry.Component` (names the reader).
        session: the :class:`~builders.sessions.Session`.
        cache_dir: optional folder for a local byte cache of remote assets.

    Raises:
        ReaderError: naming the asset, when a file is not what its reader expects.
    """
    from ..sources import open_asset

    read = _reader_for(component.reader)
    parts = []
    for asset in session.assets:
        with open_asset(asset, cache_dir=cache_dir) as handle:
            parts.append(read(handle, asset))
    if all(isinstance(p, SpikeTrains) for p in parts):
        return merge_trains(parts)
    if len(parts) == 1:
        return parts[0]
    raise ReaderError(f"{session.describe()}: cannot merge several binned files into one session")
