"""Readers: one asset (already opened) -> :class:`SpikeTrains` or :class:`BinnedUnits`.

``read_session`` opens every asset of a session through :func:`builders.archives.open_asset`
(local file, byte cache or HTTP stream: the readers cannot tell), reads it with the reader kind
the registry names, given the component's ``reader_options``, applies the component's
``file_error`` rule to a file that fails, and merges per-probe files on shared time bins.
"""

from __future__ import annotations

from functools import partial

from builders.readers.base import BinnedUnits, ReaderError, SpikeTrains, merge_trains
from builders.spec.binning import BIN_SIZE

__all__ = ["BinnedUnits", "ReaderError", "SpikeTrains", "merge_trains", "prefetch_asset", "read_session"]


#: Reader kind (:data:`builders.spec.registry.READER_KINDS`) -> ``"module:function"`` reading one opened asset.
#: Imported on first use, so a build that never meets a ``.mat`` file never imports scipy.io.
READERS = {
    "nwb_units": "nwb_units:read_nwb_units",
    "firing_rates": "firing_rates:read_firing_rates",
    "mat_spks": "mat_spks:read_mat_spks",
}
#: Readers of already binned data: they are given the build's bin size (seconds).
BINNED_READERS = frozenset({"firing_rates"})


def prefetch_asset(kind: str, handle, asset) -> None:
    """Fetch through ``handle`` (a :class:`~builders.archives.rangefile.RangeFile`) the bytes the
    ``kind`` reader will read from ``asset``, without decoding them (see
    :mod:`builders.readers.prefetch`)."""
    if kind == "mat_spks":  # scipy reads the whole variable, i.e. nearly the whole file
        handle.prefetch([(0, handle.size)])
        return
    if kind == "nwb_units":
        from builders.readers.nwb_units import prefetch_nwb_units

        prefetch_nwb_units(handle, asset)
        return
    if kind == "firing_rates":
        from builders.readers.firing_rates import series_datasets
        from builders.readers.hdf5plan import prefetch_datasets
        from builders.readers.nwb_file import open_nwb

        with open_nwb(handle, asset) as f:
            prefetch_datasets(handle, series_datasets(f))
        return
    raise ValueError(f"unknown reader kind {kind!r}")


def _reader_for(component, bin_size: float):
    """``read(handle, asset)`` of the component's reader kind, given the component's
    :attr:`~builders.spec.registry.Component.reader_options` as keyword arguments; readers of already
    binned data also get ``bin_size``.

    Raises:
        ValueError: naming the component, when the registry gives the reader an option it does not take.
    """
    from importlib import import_module
    from inspect import Parameter, signature

    module, function = READERS[component.reader].split(":")
    read = getattr(import_module(f"{__name__}.{module}"), function)
    options = dict(component.reader_options)
    if component.reader in BINNED_READERS:
        options["bin_size"] = bin_size
    taken = {name for name, p in signature(read).parameters.items() if p.kind is Parameter.KEYWORD_ONLY}
    unknown = sorted(set(options) - taken)
    if unknown:
        raise ValueError(
            f"component {component.name!r}: reader {component.reader!r} takes no option {', '.join(unknown)} "
            f"(its options: {', '.join(sorted(taken)) or 'none'})"
        )
    return partial(read, **options)


def read_session(component, session, *, bin_size: float = BIN_SIZE, cache_dir=None) -> SpikeTrains | BinnedUnits:
    """Read every asset of ``session`` and return one merged recording.

    With the component's ``file_error`` rule ``skip_file`` (the reference's Le Merre rule), a file
    that fails to read (:class:`ReaderError`, or an ``OSError`` such as a missing file) is left out
    and the session is built from the others; each skipped file is named in the recording's
    ``notes["skipped_files"]`` as ``"<path>: <reason>"``. A failed fetch over the network
    (:class:`~builders.archives.http.RemoteReadError`) is not skipped: it fails the session, so a
    rerun tries the file again instead of keeping a session without it.

    Args:
        component: the session's :class:`~builders.spec.registry.Component` (names the reader, its
            options and the file-error rule).
        session: the :class:`~builders.archives.sessions.Session`.
        bin_size: bin width in seconds of the build; readers of already binned data (firing
            rates) return counts in bins of this width, or refuse it naming the file.
        cache_dir: optional folder for a local byte cache of remote assets.

    Raises:
        ReaderError: naming the asset, when a file is not what its reader expects (with
            ``skip_file``: when every file of the session fails, naming each).
    """
    from builders.archives import open_asset

    read = _reader_for(component, bin_size)
    parts, skipped = [], []
    for asset in session.assets:
        try:
            with open_asset(asset, cache_dir=cache_dir) as handle:
                parts.append(read(handle, asset))
        except (ReaderError, OSError) as exc:
            if component.file_error != "skip_file" or _network_failure(exc):
                raise
            skipped.append(_skip_line(asset.path, exc))
    if not parts:
        raise ReaderError(f"{session.describe()}: no file could be read: {'; '.join(skipped)}")
    if all(isinstance(p, SpikeTrains) for p in parts):
        recording = merge_trains(parts)
    elif len(parts) == 1:
        recording = parts[0]
    else:
        raise ReaderError(f"{session.describe()}: cannot merge several binned files into one session")
    if skipped:
        recording.notes.setdefault("skipped_files", []).extend(skipped)
    return recording


def _network_failure(exc: Exception) -> bool:
    """Whether ``exc`` is a failed fetch of a remote asset (imports the HTTP layer only when asked)."""
    from builders.archives.http import RemoteReadError

    return isinstance(exc, RemoteReadError)


def _skip_line(path: str, exc: Exception) -> str:
    """``"<path>: <reason>"`` for a skipped file (the reason without the path a message may start with)."""
    reason = str(exc).removeprefix(f"{path}: ")
    return f"{path}: {reason or type(exc).__name__}"
