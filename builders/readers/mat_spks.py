"""Steinmetz-2 (figshare 7739750) MATLAB files -> :class:`SpikeTrains`.

The variable ``spks`` holds one entry per probe (a 1x8 cell of structs, or a 1x8 struct array);
each has ``st`` (spike times in seconds) and ``clu`` (the 1-based cluster id of each spike).
Units are listed probe after probe, clusters ascending: by default the clusters that have spikes;
with ``dense_cluster_ids`` every cluster id from 1 to the probe's largest id, ids that never spike
(the dataset's bad clusters) as units without spikes, i.e. rows of zeros, as the reference built
them. Cluster ids are offset by the sum of the previous probes' largest cluster ids, so ids stay
unique within the session (dense ids then run 1..total without a gap). Binning starts at the
session's first spike (``origin``), as the reference did.
"""

from __future__ import annotations

import numpy as np

from builders.readers.base import Reader, ReaderError, SpikeTrains

#: The MATLAB variable holding the probes.
VARIABLE = "spks"


def read_mat_spks(handle, asset, *, dense_cluster_ids: bool = False) -> SpikeTrains:
    """Spike trains of every cluster of every probe in a Steinmetz-2 ``.mat`` file.

    Args:
        handle: path or seekable binary file object.
        asset: the asset (its ``path`` names the file in errors).
        dense_cluster_ids: give every cluster id 1..max of each probe a unit, spiking or not
            (registry option of Steinmetz-2); otherwise only clusters with spikes are units.

    Raises:
        ReaderError: not a MATLAB file (or a v7.3/HDF5 one), no ``spks`` variable, a probe
            without ``st``/``clu``, ``st`` and ``clu`` of different lengths, or cluster ids
            that are not positive integers.
    """
    spks = _load_spks(handle, asset)
    times_parts, unit_parts, ids_parts = [], [], []
    offset = 0
    for probe, (st, clu) in enumerate(_probe_entries(spks, asset)):
        st = np.asarray(st, dtype=np.float64).ravel()
        clu = np.asarray(clu, dtype=np.float64).ravel()
        if st.size != clu.size:
            raise ReaderError(f"{asset.path}: probe {probe} has {st.size} spike times but {clu.size} cluster ids")
        if clu.size and (not np.all(np.isfinite(clu)) or np.any(clu < 1) or np.any(clu != np.round(clu))):
            raise ReaderError(f"{asset.path}: probe {probe} has cluster ids that are not 1-based integers")
        clusters = clu.astype(np.int64)
        largest = int(clusters.max()) if clusters.size else 0
        order = np.argsort(clusters, kind="stable")  # group by cluster, keep each one's stored order
        if dense_cluster_ids:
            ids = np.arange(1, largest + 1, dtype=np.int64)
            spikes_per_unit = np.bincount(clusters, minlength=largest + 1)[1:]
        else:
            ids, spikes_per_unit = np.unique(clusters, return_counts=True)
        times_parts.append(st[order])
        unit_parts.append(spikes_per_unit)
        ids_parts.append(ids + offset)
        offset += largest
    times = np.concatenate(times_parts) if times_parts else np.zeros(0)
    ends = np.cumsum(np.concatenate(unit_parts)).astype(np.int64) if unit_parts else np.zeros(0, np.int64)
    finite = times[np.isfinite(times)]
    origin = float(finite.min()) if finite.size else 0.0
    return SpikeTrains(
        times=times,
        ends=ends,
        unit_ids=np.concatenate(ids_parts).astype(np.int64) if ids_parts else np.zeros(0, np.int64),
        unit_regions=[""] * int(ends.size),
        origin=origin,
    )


def prefetch_mat_spks(handle, asset) -> None:
    """Fetch through ``handle`` the whole file: scipy reads the whole variable, i.e. nearly all of it."""
    handle.prefetch([(0, handle.size)])


def _load_spks(handle, asset) -> np.ndarray:
    # scipy.io is imported when a .mat file is read, not with this module: the reader table
    # imports every reader kind, and a build that never meets a .mat file never needs scipy.io.
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        contents = loadmat(handle, variable_names=[VARIABLE], squeeze_me=False, struct_as_record=True)
    except NotImplementedError as exc:  # scipy's message for v7.3 (HDF5) files
        raise ReaderError(f"{asset.path}: MATLAB v7.3 (HDF5) files are not supported: {exc}") from exc
    except (MatReadError, ValueError, TypeError, OSError, EOFError) as exc:
        raise ReaderError(f"{asset.path}: not a readable MATLAB .mat file: {exc}") from exc
    if VARIABLE not in contents:
        raise ReaderError(f"{asset.path}: no variable {VARIABLE!r} in this .mat file")
    return contents[VARIABLE]


def _probe_entries(spks: np.ndarray, asset) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(st, clu)`` per probe from a struct array, a cell of structs or a cell of pairs."""
    if spks.dtype.names:
        return [_fields(entry, probe, asset) for probe, entry in enumerate(spks.ravel())]
    if spks.dtype != object:
        raise ReaderError(f"{asset.path}: {VARIABLE!r} is not a cell or struct array of probes")
    out = []
    for probe, cell in enumerate(spks.ravel()):
        cell = np.asarray(cell)
        if cell.dtype.names:
            out.append(_fields(cell.ravel()[0], probe, asset))
        elif cell.dtype == object and cell.size == 2:
            st, clu = cell.ravel()
            out.append((st, clu))
        else:
            raise ReaderError(
                f"{asset.path}: probe {probe} of {VARIABLE!r} holds neither a struct (st, clu) nor a pair"
            )
    return out


def _fields(entry, probe: int, asset) -> tuple[np.ndarray, np.ndarray]:
    names = entry.dtype.names or ()
    if "st" not in names or "clu" not in names:
        raise ReaderError(f"{asset.path}: probe {probe} of {VARIABLE!r} lacks the st/clu fields (has {list(names)})")
    return entry["st"], entry["clu"]


#: The ``mat_spks`` reader kind.
MAT_SPKS = Reader(read=read_mat_spks, prefetch=prefetch_mat_spks)
