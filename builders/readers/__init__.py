"""Readers: one asset (already opened) -> :class:`SpikeTrains` or :class:`BinnedUnits`.

``read_session`` opens every asset of a session through :func:`builders.archives.open_asset`
(local file, byte cache or HTTP stream: the readers cannot tell), reads it with the reader kind
the registry names, given the component's ``reader_options``, applies the component's
``file_error`` rule to a file that fails, and merges per-probe files on shared time bins.
"""

from __future__ import annotations

from functools import partial
from inspect import Parameter, signature

from builders.archives import open_asset
from builders.readers.base import BinnedUnits, Reader, ReaderError, SpikeTrains, merge_trains
from builders.readers.firing_rates import FIRING_RATES
from builders.readers.mat_spks import MAT_SPKS
from builders.readers.nwb_units import NWB_UNITS
from builders.spec.binning import BIN_SIZE

__all__ = ["READERS", "BinnedUnits", "Reader", "ReaderError", "SpikeTrains", "merge_trains", "read_session"]


#: Reader kind (:data:`builders.spec.registry.READER_KINDS`) -> how that kind reads an opened asset.
READERS: dict[str, Reader] = {
    "nwb_units": NWB_UNITS,
    "firing_rates": FIRING_RATES,
    "mat_spks": MAT_SPKS,
}


def _reader_for(component, bin_size: float):
    """``read(handle, asset)`` of the component's reader kind, given the component's
    :attr:`~builders.spec.registry.Component.reader_options` as keyword arguments; readers of already
    binned data also get ``bin_size``.

    Raises:
        ValueError: naming the component, when the registry gives the reader an option it does not take.
    """
    reader = READERS[component.reader]
    options = dict(component.reader_options)
    if reader.binned:
        options["bin_size"] = bin_size
    taken = {name for name, p in signature(reader.read).parameters.items() if p.kind is Parameter.KEYWORD_ONLY}
    unknown = sorted(set(options) - taken)
    if unknown:
        raise ValueError(
            f"component {component.name!r}: reader {component.reader!r} takes no option {', '.join(unknown)} "
            f"(its options: {', '.join(sorted(taken)) or 'none'})"
        )
    return partial(reader.read, **options)


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
    """Whether ``exc`` is a failed fetch of a remote asset."""
    # the HTTP layer (requests) is imported only once a file failed: a local build never needs it
    from builders.archives.http import RemoteReadError

    return isinstance(exc, RemoteReadError)


def _skip_line(path: str, exc: Exception) -> str:
    """``"<path>: <reason>"`` for a skipped file (the reason without the path a message may start with)."""
    reason = str(exc).removeprefix(f"{path}: ")
    return f"{path}: {reason or type(exc).__name__}"
