"""Firing-rate recordings (Gonzalez) -> :class:`BinnedUnits`.

These files have no spike times: ``acquisition/firing_rates`` is a TimeSeries of rates in Hz,
time x units, one sample per 20 ms bin. Counts are ``round(rate * 0.02)`` = ``round(rate / 50)``
(:func:`builders.binning.counts_from_rates`). Only that series (data, timing, conversion,
offset) is read.
"""

from __future__ import annotations

import h5py
import numpy as np

from ..binning import BIN_SIZE, counts_from_rates
from ..sources.hdf5plan import prefetch_datasets
from .base import BinnedUnits, ReaderError
from .nwb_file import open_nwb

#: Where the rates live in the file.
SERIES_PATH = "acquisition/firing_rates"
#: Relative tolerance on the sampling interval against the bin size.
_PERIOD_TOLERANCE = 1e-3


def read_firing_rates(handle, asset, *, bin_size: float = BIN_SIZE) -> BinnedUnits:
    """Counts per bin from ``acquisition/firing_rates`` (Hz, time x units).

    Args:
        handle: path or seekable binary file object.
        asset: the asset (its ``path`` names the file in errors).
        bin_size: bin width in seconds; the series must be sampled once per bin.

    Raises:
        ReaderError: not HDF5/NWB, no ``firing_rates`` series, data not 2-D, or sampled at
            another interval than ``bin_size``.
    """
    with open_nwb(handle, asset) as f:
        series = f.get(SERIES_PATH)
        if not isinstance(series, h5py.Group) or not isinstance(series.get("data"), h5py.Dataset):
            raise ReaderError(f"{asset.path}: no {SERIES_PATH} TimeSeries with data in this NWB file")
        data = series["data"]
        prefetch_datasets(handle, series_datasets(f))
        if data.ndim != 2:
            raise ReaderError(f"{asset.path}: {SERIES_PATH}/data must be time x units, got shape {data.shape}")
        t_start = _start_time(series, data.shape[0], bin_size, asset)
        conversion = float(data.attrs.get("conversion", 1.0))
        offset = float(data.attrs.get("offset", 0.0))
        rates = np.asarray(data[()], dtype=np.float64)
    # NWB TimeSeries: value in ``unit`` (Hz) = data * conversion + offset
    if conversion != 1.0:
        rates *= conversion
    if offset != 0.0:
        rates += offset
    counts, stats = counts_from_rates(rates, bin_size)
    n_units = counts.shape[0]
    return BinnedUnits(
        counts=counts,
        unit_ids=np.arange(n_units, dtype=np.int64),
        unit_regions=[""] * n_units,
        t_start=t_start,
        stats=stats,
    )


def series_datasets(f: h5py.File) -> list[h5py.Dataset]:
    """The datasets :func:`read_firing_rates` reads (those present), to fetch them up front."""
    found = (f.get(f"{SERIES_PATH}/{name}") for name in ("data", "timestamps", "starting_time"))
    return [d for d in found if isinstance(d, h5py.Dataset)]


def _start_time(series: h5py.Group, n_samples: int, bin_size: float, asset) -> float:
    """Time of the first sample (s), after checking the series is sampled once per bin."""
    if isinstance(series.get("starting_time"), h5py.Dataset):
        start = series["starting_time"]
        rate = float(start.attrs.get("rate", 0.0))
        period = 1.0 / rate if rate > 0 else float("nan")
        t0 = float(start[()])
    elif isinstance(series.get("timestamps"), h5py.Dataset):
        stamps = np.asarray(series["timestamps"][()], dtype=np.float64)
        if stamps.size != n_samples:
            raise ReaderError(f"{asset.path}: {SERIES_PATH} has {stamps.size} timestamps for {n_samples} samples")
        period = float(np.median(np.diff(stamps))) if stamps.size > 1 else bin_size
        t0 = float(stamps[0]) if stamps.size else 0.0
    else:
        raise ReaderError(f"{asset.path}: {SERIES_PATH} has neither starting_time/rate nor timestamps")
    if not abs(period - bin_size) <= _PERIOD_TOLERANCE * bin_size:
        raise ReaderError(
            f"{asset.path}: {SERIES_PATH} is sampled every {period} s, not once per {bin_size} s bin"
        )
    return t0
