"""A spiking population with realistic statistics, simulated without any file I/O.

The model, per unit ``i`` in latent group ``g(i)``::

    rate_i(t) = base_i * exp(c_i * x_g(t) - c_i**2 / 2)        (Hz)

``base_i`` is lognormal (median ~3 Hz, so most units fire at 1-10 Hz), ``x_g`` is a slow
Gaussian fluctuation shared by the group (an AR(1) process sampled every bin, unit variance,
~1 s timescale), ``c_i`` the unit's coupling to it (the ``- c**2/2`` keeps the mean rate at
``base_i``). Spikes are Poisson counts per bin from the modulated rate, each placed uniformly
inside its bin, so units of one group are correlated on the ~1 s timescale and more than 90% of
20 ms bins are empty. Everything is vectorized and time is processed in chunks, so memory stays
at one chunk of ``n_units x chunk bins`` floats plus the spikes themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

#: Resolution at which rates are modulated and spikes drawn (seconds).
SIM_BIN_S = 0.02
#: Time processed at once (seconds); bounds memory to n_units x 15000 float32.
_CHUNK_S = 300.0


@dataclass
class Population:
    """Ground truth of a simulated population.

    Attributes:
        times: float64 spike times in seconds, all units concatenated, each unit sorted.
        ends: int64 end offset of each unit in ``times`` (NWB ``spike_times_index``).
        base_rates_hz: mean firing rate each unit was simulated with (0 for silent units).
        groups: latent group of each unit (int).
        couplings: each unit's coupling to its group's fluctuation (unitless gain).
        duration_s: length of the recording in seconds; every spike is in ``[0, duration_s)``.
    """

    times: np.ndarray
    ends: np.ndarray
    base_rates_hz: np.ndarray
    groups: np.ndarray
    couplings: np.ndarray
    duration_s: float

    @property
    def n_units(self) -> int:
        return int(self.ends.size)

    @property
    def silent(self) -> np.ndarray:
        """Boolean mask of units that fired no spike."""
        return np.diff(self.ends, prepend=0) == 0

    def train(self, unit: int) -> np.ndarray:
        """Spike times (seconds) of unit number ``unit`` (position, not id)."""
        start = int(self.ends[unit - 1]) if unit else 0
        return self.times[start : int(self.ends[unit])]

    def trains(self) -> list[np.ndarray]:
        """Every unit's spike times (seconds), in unit order."""
        return [self.train(i) for i in range(self.n_units)]

    def subset(self, units: np.ndarray) -> Population:
        """The population restricted to the given unit positions, in that order."""
        units = np.asarray(units, dtype=np.int64)
        parts = [self.train(int(u)) for u in units]
        lengths = np.array([p.size for p in parts], dtype=np.int64)
        return Population(
            times=np.concatenate(parts) if parts else np.zeros(0),
            ends=np.cumsum(lengths),
            base_rates_hz=self.base_rates_hz[units],
            groups=self.groups[units],
            couplings=self.couplings[units],
            duration_s=self.duration_s,
        )


def _latent_fluctuations(rng: np.random.Generator, n_groups: int, n_bins: int, timescale_s: float) -> np.ndarray:
    """``(n_groups, n_bins)`` stationary AR(1) processes, unit variance, correlation time in s."""
    a = float(np.exp(-SIM_BIN_S / timescale_s))
    noise = rng.standard_normal((n_groups, n_bins))
    start = rng.standard_normal((n_groups, 1))
    x, _ = lfilter([np.sqrt(1.0 - a * a)], [1.0, -a], noise, axis=1, zi=a * start)
    return x.astype(np.float32)


def simulate_population(
    n_units: int,
    duration_s: float,
    seed: int,
    *,
    n_groups: int | None = None,
    silent_fraction: float = 0.05,
    median_rate_hz: float = 3.0,
    rate_log_sd: float = 0.8,
    max_rate_hz: float = 40.0,
    timescale_s: float = 1.0,
    coupling_range: tuple[float, float] = (0.6, 1.2),
) -> Population:
    """Simulate ``n_units`` for ``duration_s`` seconds, deterministically from ``seed``.

    Args:
        n_units: number of units, silent ones included.
        duration_s: recording length in seconds (rounded down to whole 20 ms bins).
        seed: random seed; the same arguments give the same spikes.
        n_groups: number of latent groups (default: one per ~30 units, 2 to 6).
        silent_fraction: share of units that never fire (at least one if > 0 and n_units > 1).
        median_rate_hz, rate_log_sd: lognormal distribution of mean rates (Hz, natural-log sd).
        max_rate_hz: mean rates are clipped to this (Hz).
        timescale_s: correlation time of the shared fluctuations (seconds).
        coupling_range: uniform range of each unit's gain on its group's fluctuation.
    """
    if n_units < 0:
        raise ValueError(f"n_units must be >= 0, got {n_units}")
    if not duration_s > 0:
        raise ValueError(f"duration_s must be positive seconds, got {duration_s}")
    if not 0.0 <= silent_fraction < 1.0:
        raise ValueError(f"silent_fraction must be in [0, 1), got {silent_fraction}")
    rng = np.random.default_rng(seed)
    n_bins = max(1, int(duration_s / SIM_BIN_S))
    if n_groups is None:
        n_groups = int(np.clip(n_units // 30, 2, 6))
    n_groups = max(1, n_groups)

    base = np.minimum(np.exp(rng.normal(np.log(median_rate_hz), rate_log_sd, n_units)), max_rate_hz)
    n_silent = int(round(silent_fraction * n_units))
    if silent_fraction > 0 and n_units > 1:
        n_silent = max(1, n_silent)
    base[rng.choice(n_units, size=n_silent, replace=False)] = 0.0
    groups = rng.integers(0, n_groups, n_units)
    couplings = rng.uniform(*coupling_range, n_units)
    latent = _latent_fluctuations(rng, n_groups, n_bins, timescale_s)

    scale = (base * SIM_BIN_S).astype(np.float32)[:, None]
    gain = couplings.astype(np.float32)[:, None]
    offset = (couplings**2 / 2).astype(np.float32)[:, None]
    chunk = max(1, int(_CHUNK_S / SIM_BIN_S))
    unit_parts, time_parts = [], []
    for first in range(0, n_bins, chunk):
        stop = min(first + chunk, n_bins)
        expected = scale * np.exp(gain * latent[groups, first:stop] - offset)
        counts = rng.poisson(expected)
        unit, local_bin = np.nonzero(counts)
        k = counts[unit, local_bin]
        spike_bin = np.repeat(local_bin + first, k)
        unit_parts.append(np.repeat(unit, k))
        time_parts.append((spike_bin + rng.random(spike_bin.size)) * SIM_BIN_S)
    units = np.concatenate(unit_parts) if unit_parts else np.zeros(0, np.int64)
    times = np.concatenate(time_parts) if time_parts else np.zeros(0)
    order = np.lexsort((times, units))
    times = times[order]
    ends = np.cumsum(np.bincount(units, minlength=n_units)).astype(np.int64)
    return Population(
        times=times,
        ends=ends,
        base_rates_hz=base,
        groups=groups,
        couplings=couplings,
        duration_s=n_bins * SIM_BIN_S,
    )
