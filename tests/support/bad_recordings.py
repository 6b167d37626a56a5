"""Broken recordings, written on purpose, so tests can check every bad input gets a clear error.

Each writer makes one kind of damage a curator meets in archive files and returns the path.
:func:`write_unsorted_nan_session` is not an error at read time: binning counts what it drops.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import h5py
import numpy as np

from builders.synthetic.recordings import _new_nwbfile, _write, write_nwb_session


def write_not_hdf5(path: str | os.PathLike) -> Path:
    """A file with an ``.nwb`` name whose bytes are text, not HDF5."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("this is a download error page, not an NWB file\n" * 20)
    return path


def write_nwb_without_units(path: str | os.PathLike, *, seed: int = 0) -> Path:
    """A valid NWB file (subject, no electrodes) that has no units table."""
    path = Path(path)
    _write(_new_nwbfile("X1", "nounits", seed, "session without sorted units"), path)
    return path


def write_units_without_spike_times(path: str | os.PathLike, *, seed: int = 0) -> Path:
    """A valid NWB file whose units table has ids and a quality column but no spike_times."""
    from hdmf.common import VectorData
    from pynwb.misc import Units

    path = Path(path)
    nwbfile = _new_nwbfile("X1", "nospikes", seed, "units without spike times")
    nwbfile.units = Units(
        name="units",
        description="curated units, spike times stored elsewhere",
        id=np.arange(4),
        columns=[VectorData(name="quality", description="curation label", data=["good"] * 4)],
    )
    _write(nwbfile, path)
    return path


def write_unsorted_nan_session(path: str | os.PathLike) -> tuple[Path, list[np.ndarray]]:
    """An NWB units table with one unsorted train, NaN spike times and a silent unit.

    Returns ``(path, trains)``: the trains exactly as stored, unit by unit (seconds).
    """
    from hdmf.common import VectorData, VectorIndex
    from pynwb.misc import Units

    trains = [
        np.array([0.011, 0.5, 0.049, 0.3]),  # unsorted
        np.array([0.1, np.nan, 0.45, np.nan]),  # two NaN
        np.zeros(0),  # silent
        np.array([0.02, 0.021, 0.52]),
    ]
    path = Path(path)
    nwbfile = _new_nwbfile("X1", "unsorted", 0, "unsorted and NaN spike times")
    times = VectorData(name="spike_times", description="spike times (s)", data=np.concatenate(trains))
    index = VectorIndex(name="spike_times_index", data=np.cumsum([t.size for t in trains]), target=times)
    nwbfile.units = Units(name="units", description="damaged units", id=np.arange(10, 14), columns=[times, index])
    _write(nwbfile, path)
    return path, trains


def write_inconsistent_index(path: str | os.PathLike, *, seed: int = 0) -> Path:
    """A synthetic session whose ``spike_times_index`` points past the end of ``spike_times``."""
    path = Path(path)
    write_nwb_session(path, subject_id="X1", session_id="badindex", n_units=6, duration_s=5.0, seed=seed, n_probes=1)
    with h5py.File(path, "r+") as f:
        index = f["units/spike_times_index"]
        index[-1] = f["units/spike_times"].shape[0] + 10
    return path


def write_spikes_without_unit_ids(path: str | os.PathLike, *, seed: int = 0) -> Path:
    """A synthetic session whose units table lost its rows: ``id`` and ``spike_times_index``
    are empty while ``spike_times`` still holds every spike (no unit owns them)."""
    path = Path(path)
    write_nwb_session(path, subject_id="X1", session_id="noids", n_units=6, duration_s=5.0, seed=seed, n_probes=1)
    with h5py.File(path, "r+") as f:
        units = f["units"]
        for name in ("id", "spike_times_index"):
            dtype = units[name].dtype
            del units[name]
            units.create_dataset(name, data=np.zeros(0, dtype=dtype))
    return path


def write_truncated(path: str | os.PathLike, source: str | os.PathLike, *, keep_fraction: float = 0.5) -> Path:
    """A copy of ``source`` cut after ``keep_fraction`` of its bytes (an interrupted download)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, path)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(int(size * keep_fraction))
    return path
