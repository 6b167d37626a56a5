"""Firing-rate recordings (Gonzalez) -> :class:`BinnedUnits`.

These files have no spike times: ``acquisition/firing_rates`` is a TimeSeries of rates in Hz,
time x units, one sample per 20 ms bin. Counts are ``round(rate * 0.02)`` = ``round(rate / 50)``
(:func:`builders.spec.binning.counts_from_rates`). Only that series (data, timing, conversion,
offset) is read.

A bin of the build holds a whole number k of samples: its count is the sum of its k samples'
counts ``round(rate * sampling period)`` (the last bin may hold fewer samples), so with 20 ms
samples and ``--bin-size 0.04`` it is the sum of two 20 ms counts. A bin size that is not a whole number of
samples (finer than the sampling, say) cannot be made from the series and is refused.

Where the sampling period comes from is the reader's ``timing`` option (:data:`TIMING_RULES`):

- ``metadata`` (the default): the series' ``starting_time``/``rate`` or ``timestamps``; a file
  without them, or whose period no bin of the build is a whole number of, is refused.
- ``stored_samples`` (the reference's Gonzalez rule): one stored sample is one 20 ms token
  (:data:`~builders.spec.binning.BIN_SIZE`) whatever the metadata says, so at the default bin size
  the counts are ``round(rate / 50)`` sample by sample. The metadata still gives the time of the
  first sample when it is usable (0 when it is not).

The recording's ``notes["timing_rule"]`` says which rule the file was read with: ``metadata``
when the metadata was used (under ``stored_samples``: when it agrees with one sample per 20 ms),
else ``stored_samples: <why the metadata was not used>``.
"""

from __future__ import annotations

import h5py
import numpy as np

from builders.readers.base import BinnedUnits, Reader, ReaderError
from builders.readers.hdf5plan import prefetch_datasets
from builders.readers.nwb_file import open_nwb
from builders.spec.binning import BIN_SIZE, MAX_COUNT, counts_from_rates

#: Where the rates live in the file.
SERIES_PATH = "acquisition/firing_rates"
#: Relative tolerance on the sampling interval against the bin size.
_PERIOD_TOLERANCE = 1e-3
#: Values of the reader's ``timing`` option (see the module docstring).
TIMING_RULES = ("metadata", "stored_samples")


def read_firing_rates(handle, asset, *, bin_size: float = BIN_SIZE, timing: str = "metadata") -> BinnedUnits:
    """Counts per bin from ``acquisition/firing_rates`` (Hz, time x units).

    Args:
        handle: path or seekable binary file object.
        asset: the asset (its ``path`` names the file in errors).
        bin_size: bin width in seconds; a whole number of the series' sampling periods.
        timing: one of :data:`TIMING_RULES`: where the sampling period comes from.

    Raises:
        ReaderError: not HDF5/NWB, no ``firing_rates`` series, data not 2-D, timing metadata
            missing (rule ``metadata``), or ``bin_size`` not a whole number of sampling periods.
        ValueError: ``timing`` is not one of :data:`TIMING_RULES`.
    """
    if timing not in TIMING_RULES:
        raise ValueError(f"timing must be one of {', '.join(TIMING_RULES)}, got {timing!r}")
    with open_nwb(handle, asset) as f:
        series = f.get(SERIES_PATH)
        if not isinstance(series, h5py.Group) or not isinstance(series.get("data"), h5py.Dataset):
            raise ReaderError(f"{asset.path}: no {SERIES_PATH} TimeSeries with data in this NWB file")
        data = series["data"]
        prefetch_datasets(handle, series_datasets(f))
        if data.ndim != 2:
            raise ReaderError(f"{asset.path}: {SERIES_PATH}/data must be time x units, got shape {data.shape}")
        if timing == "metadata":
            t_start, period = _start_and_period(series, data.shape[0], bin_size, asset)
            rule = "metadata"
        else:
            t_start, period, rule = _stored_sample_timing(series, data.shape[0], bin_size, asset)
        per_bin = samples_per_bin(period, bin_size, asset)
        conversion = float(data.attrs.get("conversion", 1.0))
        offset = float(data.attrs.get("offset", 0.0))
        rates = np.asarray(data[()], dtype=np.float64)
    # NWB TimeSeries: value in ``unit`` (Hz) = data * conversion + offset
    if conversion != 1.0:
        rates *= conversion
    if offset != 0.0:
        rates += offset
    if per_bin == 1:
        counts, stats = counts_from_rates(rates, bin_size)
    else:
        counts, stats = _summed_counts(rates, period, per_bin)
    n_units = counts.shape[0]
    return BinnedUnits(
        counts=counts,
        unit_ids=np.arange(n_units, dtype=np.int64),
        unit_regions=[""] * n_units,
        t_start=t_start,
        stats=stats,
        notes={"timing_rule": [rule]},
    )


def series_datasets(f: h5py.File) -> list[h5py.Dataset]:
    """The datasets :func:`read_firing_rates` reads (those present), to fetch them up front."""
    found = (f.get(f"{SERIES_PATH}/{name}") for name in ("data", "timestamps", "starting_time"))
    return [d for d in found if isinstance(d, h5py.Dataset)]


def prefetch_firing_rates(handle, asset) -> None:
    """Fetch through ``handle`` the series :func:`read_firing_rates` reads, without decoding it."""
    with open_nwb(handle, asset) as f:
        prefetch_datasets(handle, series_datasets(f))


def _summed_counts(rates: np.ndarray, period: float, per_bin: int):
    """Counts per sample (``round(rate * period)``), summed over ``per_bin`` samples per bin
    (the last bin may hold fewer); sums above 255 saturate and are counted."""
    per_sample, stats = counts_from_rates(rates, period)
    n_units, n_samples = per_sample.shape
    n_bins = -(-n_samples // per_bin)
    padded = np.zeros((n_units, n_bins * per_bin), dtype=np.int64)
    padded[:, :n_samples] = per_sample
    sums = padded.reshape(n_units, n_bins, per_bin).sum(axis=2)
    stats.saturated_bins += int(np.count_nonzero(sums > MAX_COUNT))
    return np.minimum(sums, MAX_COUNT).astype(np.uint8), stats


def samples_per_bin(period: float, bin_size: float, asset) -> int:
    """How many samples of period ``period`` (s) make one ``bin_size`` (s) bin, or a ReaderError."""
    per_bin = round(bin_size / period) if period > 0 else 0
    if per_bin < 1 or abs(per_bin * period - bin_size) > _PERIOD_TOLERANCE * bin_size:
        raise ReaderError(
            f"{asset.path}: {SERIES_PATH} is sampled every {period:g} s, so bins of {bin_size:g} s cannot be "
            f"made from it (use a bin size that is a whole number of samples, e.g. --bin-size {period:g})"
        )
    return per_bin


def _stored_sample_timing(series: h5py.Group, n_samples: int, bin_size: float, asset) -> tuple[float, float, str]:
    """``(time of the first sample, period, rule)`` under ``stored_samples``: the period is always
    :data:`BIN_SIZE` (one stored sample per 20 ms token); the rule says whether the metadata agreed."""
    try:
        t0, period = _start_and_period(series, n_samples, bin_size, asset)
    except ReaderError as exc:
        reason = str(exc).removeprefix(f"{asset.path}: ")
        return 0.0, BIN_SIZE, f"stored_samples: {reason}; time 0 is the first sample"
    if abs(period - BIN_SIZE) > _PERIOD_TOLERANCE * BIN_SIZE:
        return t0, BIN_SIZE, f"stored_samples: the metadata gives {period:g} s per sample, not {BIN_SIZE:g} s"
    return t0, period, "metadata"


def _start_and_period(series: h5py.Group, n_samples: int, bin_size: float, asset) -> tuple[float, float]:
    """Time of the first sample and the sampling period (s)."""
    if isinstance(series.get("starting_time"), h5py.Dataset):
        start = series["starting_time"]
        rate = float(start.attrs.get("rate", 0.0))
        if not rate > 0:
            raise ReaderError(f"{asset.path}: {SERIES_PATH}/starting_time has no positive sampling rate")
        period = 1.0 / rate
        t0 = float(start[()])
    elif isinstance(series.get("timestamps"), h5py.Dataset):
        stamps = np.asarray(series["timestamps"][()], dtype=np.float64)
        if stamps.size != n_samples:
            raise ReaderError(f"{asset.path}: {SERIES_PATH} has {stamps.size} timestamps for {n_samples} samples")
        period = float(np.median(np.diff(stamps))) if stamps.size > 1 else bin_size
        t0 = float(stamps[0]) if stamps.size else 0.0
    else:
        raise ReaderError(f"{asset.path}: {SERIES_PATH} has neither starting_time/rate nor timestamps")
    return t0, period


#: The ``firing_rates`` reader kind: already binned, so it is given the build's bin size.
FIRING_RATES = Reader(read=read_firing_rates, prefetch=prefetch_firing_rates, binned=True)
