"""NWB units table -> :class:`SpikeTrains`, reading only what the pile needs.

Read: ``units/id``, ``units/spike_times``, ``units/spike_times_index`` and each unit's brain
region: the units table's own region column if it has one, else the ``location`` of the unit's
first electrode (the peak channel, in files that list several) through ``units/electrodes``.
Nothing else is touched: no waveforms, no other columns, no acquisition data.

Units without spikes stay as rows (zero-length trains). Unsorted or NaN spike times are kept
as stored: binning counts them (:class:`~builders.spec.binning.BinStats`).
"""

from __future__ import annotations

import h5py
import numpy as np

from builders.readers.base import Reader, ReaderError, SpikeTrains
from builders.readers.hdf5plan import prefetch_datasets
from builders.readers.nwb_file import normalize_region, open_nwb, read_strings

#: Units-table columns taken as the unit's own brain region, in order of preference.
REGION_COLUMNS = (
    "brain_area",
    "brain_region",
    "location",
    "region",
    "area",
    "ecephys_structure_acronym",
    "structure_acronym",
)


def read_nwb_units(handle, asset) -> SpikeTrains:
    """Spike trains (seconds), unit ids and regions of an NWB file's units table.

    Args:
        handle: path or seekable binary file object (what :func:`builders.archives.open_asset`
            yields).
        asset: the :class:`~builders.archives.sessions.Asset`; its ``path`` names the file in errors.

    Raises:
        ReaderError: not HDF5 / truncated, not NWB, no units table, no ``spike_times``, or a
            ``spike_times_index`` inconsistent with the spike times or the unit ids.
    """
    with open_nwb(handle, asset) as f:
        units = f.get("units")
        if not isinstance(units, h5py.Group):
            raise ReaderError(f"{asset.path}: no units table (/units) in this NWB file")
        prefetch_datasets(handle, spike_datasets(f))
        if not isinstance(units.get("spike_times"), h5py.Dataset):
            raise ReaderError(f"{asset.path}: the units table has no spike_times column")
        ids = _unit_ids(units, asset)
        ends, times = _spike_times(units, ids.size, asset)
        regions = _unit_regions(f, units, ids.size)
    return SpikeTrains(times=times, ends=ends, unit_ids=ids, unit_regions=regions, origin=0.0)


def spike_datasets(f: h5py.File) -> list[h5py.Dataset]:
    """The datasets :func:`read_nwb_units` reads from ``f`` (those present): what a stream
    fetches up front (:func:`builders.readers.hdf5plan.prefetch_datasets`)."""
    names = [
        "units/id",
        "units/spike_times",
        "units/spike_times_index",
        "units/electrodes",
        "units/electrodes_index",
        "general/extracellular_ephys/electrodes/location",
    ]
    names += [f"units/{column}" for column in REGION_COLUMNS]
    found = (f.get(name) for name in names)
    return [d for d in found if isinstance(d, h5py.Dataset)]


def prefetch_nwb_units(handle, asset) -> None:
    """Fetch through ``handle`` everything :func:`read_nwb_units` reads, decoding only the small
    columns (ids, index, regions: their string heaps are found only by reading them), not the
    spike times. Used to fetch a session ahead (:mod:`builders.readers.prefetch`)."""
    with open_nwb(handle, asset) as f:
        prefetch_datasets(handle, spike_datasets(f))
        units = f.get("units")
        ids = units.get("id") if isinstance(units, h5py.Group) else None
        if isinstance(ids, h5py.Dataset) and ids.ndim == 1:
            if isinstance(units.get("spike_times_index"), h5py.Dataset):
                units["spike_times_index"][()]
            _unit_regions(f, units, ids.shape[0])


def _unit_ids(units: h5py.Group, asset) -> np.ndarray:
    ids = units.get("id")
    if not isinstance(ids, h5py.Dataset):
        raise ReaderError(f"{asset.path}: the units table has no id column")
    return np.asarray(ids[()], dtype=np.int64).ravel()


def _spike_times(units: h5py.Group, n_units: int, asset) -> tuple[np.ndarray, np.ndarray]:
    """``(ends, times)``: the index checked against the times and the number of units."""
    times = np.asarray(units["spike_times"][()], dtype=np.float64)
    if times.ndim != 1:
        raise ReaderError(f"{asset.path}: units/spike_times is not 1-D (shape {times.shape})")
    index = units.get("spike_times_index")
    if index is None:
        if n_units > 1:
            raise ReaderError(f"{asset.path}: units/spike_times has no spike_times_index for {n_units} units")
        ends = np.array([times.size] * n_units, dtype=np.int64)
    else:
        ends = np.asarray(index[()], dtype=np.int64).ravel()
    if ends.size != n_units:
        raise ReaderError(f"{asset.path}: units/spike_times_index has {ends.size} entries for {n_units} unit ids")
    last = int(ends[-1]) if n_units else 0
    if last != times.size or (n_units and (ends[0] < 0 or np.any(np.diff(ends) < 0))):
        raise ReaderError(
            f"{asset.path}: units/spike_times_index is inconsistent with units/spike_times "
            f"({times.size} spike times for {n_units} units; offsets must rise from 0 to that "
            f"count, last is {last})"
        )
    return ends, times


def _unit_regions(f: h5py.File, units: h5py.Group, n_units: int) -> list[str]:
    """Each unit's region: own column, else its first electrode's ``location``, else ""."""
    for name in REGION_COLUMNS:
        column = units.get(name)
        if isinstance(column, h5py.Dataset) and f"{name}_index" not in units and column.shape == (n_units,):
            if column.dtype.kind in ("S", "O", "U"):
                return [normalize_region(v) for v in read_strings(column)]
    regions = _regions_via_electrodes(f, units, n_units)
    return regions if regions is not None else [""] * n_units


def _regions_via_electrodes(f: h5py.File, units: h5py.Group, n_units: int) -> list[str] | None:
    column = units.get("electrodes")
    if not isinstance(column, h5py.Dataset) or column.ndim != 1:
        return None
    table = _referenced_table(f, column)
    if table is None or not isinstance(table.get("location"), h5py.Dataset):
        return None
    rows = np.asarray(column[()], dtype=np.int64)
    index = units.get("electrodes_index")
    if isinstance(index, h5py.Dataset):
        ends = np.asarray(index[()], dtype=np.int64).ravel()
        if ends.size != n_units or (n_units and ends[-1] > rows.size):
            return None
        starts = np.concatenate([[0], ends[:-1]])
        has_electrode = ends > starts
        first = np.where(has_electrode, starts, 0)
    else:
        if rows.size != n_units:
            return None
        has_electrode = np.ones(n_units, dtype=bool)
        first = np.arange(n_units)
    locations = [normalize_region(v) for v in read_strings(table["location"])]
    out = []
    for unit in range(n_units):
        row = int(rows[first[unit]]) if has_electrode[unit] else -1
        out.append(locations[row] if 0 <= row < len(locations) else "")
    return out


def _referenced_table(f: h5py.File, column: h5py.Dataset) -> h5py.Group | None:
    """The table a DynamicTableRegion points at (its ``table`` attribute), else /general/extracellular_ephys/electrodes."""
    ref = column.attrs.get("table")
    if isinstance(ref, h5py.Reference) and ref:
        target = f[ref]
        if isinstance(target, h5py.Group):
            return target
    fallback = f.get("general/extracellular_ephys/electrodes")
    return fallback if isinstance(fallback, h5py.Group) else None


#: The ``nwb_units`` reader kind.
NWB_UNITS = Reader(read=read_nwb_units, prefetch=prefetch_nwb_units)
