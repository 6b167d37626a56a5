"""Spike times (seconds) -> uint8 spike counts per 20 ms bin, and cutting long sessions.

The reference rule (DESIGN.md): bin edges are ``numpy.arange(0, t_last + bin_size, bin_size)``
where ``t_last`` is the session's last spike; the last bin is closed; spikes before 0 are
dropped; counts above 255 saturate at 255. :func:`bin_spikes` reproduces
``numpy.histogram(train, edges)`` per unit exactly, with one pass over all spikes of the session
instead of one histogram per unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from builders.errors import NeuralPileError


class BinningError(NeuralPileError, ValueError):
    """Spike times, rates or counts that cannot be binned as asked (the message names the value)."""


#: Default bin width in seconds.
BIN_SIZE = 0.02
#: Default largest row, in tokens (neurons x bins), before a session is cut along time.
MAX_TOKENS = 10_000_000
#: Largest count a uint8 token holds.
MAX_COUNT = 255


@dataclass
class BinStats:
    """What binning had to change, counted so the build report can state it.

    Attributes:
        saturated_bins: bins whose count exceeded 255 and was stored as 255.
        dropped_nonfinite: spike times that were NaN or +-inf (or NaN firing rates).
        dropped_negative: spike times before 0 s (or negative firing rates).
        dropped_out_of_range: spike times past the last bin edge (only float rounding of
            ``arange`` can produce these; the reference dropped them too).
        unsorted_units: units whose spike times were not in ascending order (binned anyway).
    """

    saturated_bins: int = 0
    dropped_nonfinite: int = 0
    dropped_negative: int = 0
    dropped_out_of_range: int = 0
    unsorted_units: int = 0

    def add(self, other: BinStats) -> BinStats:
        """Accumulate ``other`` into this object and return it."""
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)
        return self

    @property
    def dropped_spikes(self) -> int:
        return self.dropped_nonfinite + self.dropped_negative + self.dropped_out_of_range

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def reference_edges(t_last: float, bin_size: float = BIN_SIZE) -> np.ndarray:
    """Bin edges in seconds exactly as the reference computed them."""
    return np.arange(0.0, t_last + bin_size, bin_size)


def bin_flat(
    times: np.ndarray,
    ends: np.ndarray,
    bin_size: float = BIN_SIZE,
) -> tuple[np.ndarray, BinStats]:
    """Bin spike times stored flat, the way NWB stores them (``spike_times`` + its index).

    Args:
        times: all units' spike times in seconds, unit after unit (float).
        ends: end offset of each unit in ``times`` (NWB ``spike_times_index``), length n_units.
        bin_size: bin width in seconds.

    Returns:
        ``(counts, stats)``: counts is uint8 ``(n_units, n_bins)`` with
        ``n_bins = len(reference_edges(t_last)) - 1`` (0 bins if no valid spike at all);
        units without spikes are rows of zeros.
    """
    if bin_size <= 0 or not math.isfinite(bin_size):
        raise BinningError(f"bin_size must be a positive number of seconds, got {bin_size!r}")
    times = np.asarray(times, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.int64)
    n_units = ends.size
    stats = BinStats()
    last_end = int(ends[-1]) if n_units else 0
    if last_end != times.size or (n_units and (np.any(np.diff(ends) < 0) or ends[0] < 0)):
        raise BinningError(
            f"spike index does not match the spike times: {times.size} times, {n_units} units, last end {last_end}"
        )
    if times.size:
        times, ends = _drop_invalid(times, ends, stats)
    t_last = float(times.max()) if times.size else None

    def chunk_times(first: int, stop: int) -> np.ndarray:
        return times[(int(ends[first - 1]) if first else 0) : int(ends[stop - 1])]

    return _fill_counts(ends, t_last, bin_size, chunk_times, stats), stats


def _fill_counts(ends, t_last, bin_size, chunk_times, stats) -> np.ndarray:
    """Counts ``(n_units, n_bins)`` on the reference edges up to ``t_last`` (no bin if None).

    ``chunk_times(first, stop)`` returns the (valid) spike times of units ``first..stop-1``,
    flat, unit after unit. Units are processed in groups of about :data:`CHUNK_SPIKES` spikes,
    so that the dozen array passes of :func:`_count_chunk` run on cache-resident data instead of
    streaming the whole session through memory each time.
    """
    n_units = ends.size
    if t_last is None:
        return np.zeros((n_units, 0), dtype=np.uint8)
    edges = reference_edges(t_last, bin_size)
    n_bins = edges.size - 1
    counts = np.zeros((n_units, n_bins), dtype=np.uint8)
    edges_are_products = bool(np.array_equal(edges, np.arange(edges.size) * bin_size))
    for first, stop in _unit_chunks(ends, CHUNK_SPIKES):
        base = int(ends[first - 1]) if first else 0
        if base < int(ends[stop - 1]):
            _count_chunk(
                chunk_times(first, stop),
                ends[first:stop] - base,
                edges,
                bin_size,
                counts[first:stop].reshape(-1),
                stats,
                edges_are_products,
            )
    return counts


#: Spikes handled per vectorised pass of :func:`bin_flat` (a few MB of temporaries).
CHUNK_SPIKES = 1 << 17


def _drop_invalid(times: np.ndarray, ends: np.ndarray, stats: BinStats) -> tuple[np.ndarray, np.ndarray]:
    """Remove NaN/inf and negative times (counted in ``stats``), keeping the flat layout."""
    lowest, highest = times.min(), times.max()  # NaN propagates into both
    if lowest >= 0 and highest < np.inf:
        return times, ends
    finite = np.isfinite(times)
    keep = finite & (times >= 0)
    stats.dropped_nonfinite += int(times.size - np.count_nonzero(finite))
    stats.dropped_negative += int(np.count_nonzero(finite) - np.count_nonzero(keep))
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    return times[keep], kept_before[ends]


def _unit_chunks(ends: np.ndarray, chunk_spikes: int) -> list[tuple[int, int]]:
    """``(first_unit, stop_unit)`` groups of consecutive units holding ~``chunk_spikes`` spikes."""
    boundaries = np.searchsorted(ends, np.arange(chunk_spikes, int(ends[-1]), chunk_spikes), side="left") + 1
    cuts = np.unique(np.concatenate([[0], np.minimum(boundaries, ends.size), [ends.size]]))
    return list(zip(cuts[:-1].tolist(), cuts[1:].tolist()))


def _count_chunk(times, ends, edges, bin_size, out, stats, edges_are_products: bool) -> None:
    """Add the counts of a group of units (times flat, ``ends`` relative) into ``out`` (flat).

    ``edges_are_products``: ``edges[k] == k * bin_size`` exactly (what ``numpy.arange`` gives),
    so edge values are recomputed instead of gathered from memory.
    """
    n_bins = edges.size - 1
    n_units = ends.size
    # t * (1 / b) truncated is at most one bin away from the true position against the float
    # edges; correct it against the edges themselves so the result equals numpy.histogram exactly.
    idx = (times * (1.0 / bin_size)).astype(np.int64)
    reaches_last_edge = times.max() >= edges[-2]  # only then can an index point past the last bin
    if reaches_last_edge:
        np.minimum(idx, n_bins - 1, out=idx)
    # corrections are rare: index them instead of adding a whole boolean array
    if edges_are_products:
        idx[np.flatnonzero(times < idx * bin_size)] -= 1
        idx[np.flatnonzero(times >= (idx + 1) * bin_size)] += 1
    else:
        idx[np.flatnonzero(times < edges[idx])] -= 1
        idx[np.flatnonzero(times >= edges[idx + 1])] += 1
    unit = np.repeat(np.arange(n_units, dtype=np.int64) * n_bins, np.diff(ends, prepend=0))  # row offsets
    past_end = idx >= n_bins if reaches_last_edge else None
    if past_end is not None and past_end.any():
        on_last_edge = past_end & (times == edges[-1])  # the last bin is closed
        idx[on_last_edge] = n_bins - 1
        outside = past_end & ~on_last_edge
        stats.dropped_out_of_range += int(np.count_nonzero(outside))
        if outside.any():
            idx, unit = idx[~outside], unit[~outside]
    linear = unit + idx
    if linear.size == 0:
        return
    step = np.diff(linear)
    if step.size and step.min() < 0:
        descending = np.flatnonzero(step < 0)
        stats.unsorted_units += int(np.unique(unit[descending + 1]).size)
        linear = np.sort(linear)
        step = np.diff(linear)
    # Most occupied bins hold one spike: mark them all, then add the repeats of the few others.
    out[linear] = 1
    repeats = linear[np.flatnonzero(step == 0) + 1]  # sorted; a bin of count c appears c - 1 times
    if repeats.size:
        run_starts = np.concatenate([[0], np.flatnonzero(np.diff(repeats)) + 1])
        totals = np.diff(run_starts, append=repeats.size) + 1
        stats.saturated_bins += int(np.count_nonzero(totals > MAX_COUNT))
        out[repeats[run_starts]] = np.minimum(totals, MAX_COUNT)


def bin_spikes(trains: Sequence[np.ndarray], bin_size: float = BIN_SIZE) -> np.ndarray:
    """Bin each unit's spike times (seconds) into uint8 counts on the reference edges.

    Args:
        trains: one 1-D array of spike times in seconds per unit (any order; NaN, inf and
            negative times are dropped).
        bin_size: bin width in seconds (default 0.02 s = 20 ms).

    Returns:
        uint8 array ``(n_units, n_bins)``; :func:`bin_spikes_with_stats` also says what was
        dropped or saturated.
    """
    counts, _ = bin_spikes_with_stats(trains, bin_size)
    return counts


def bin_spikes_with_stats(trains: Sequence[np.ndarray], bin_size: float = BIN_SIZE) -> tuple[np.ndarray, BinStats]:
    """:func:`bin_spikes`, with the :class:`BinStats` of what was dropped or saturated.

    Args:
        trains: one 1-D array of spike times in seconds per unit (any order; NaN, inf and
            negative times are dropped and counted).
        bin_size: bin width in seconds (default 0.02 s = 20 ms).

    Returns:
        (uint8 array ``(n_units, n_bins)``, its :class:`BinStats`).
    """
    if bin_size <= 0 or not math.isfinite(bin_size):
        raise BinningError(f"bin_size must be a positive number of seconds, got {bin_size!r}")
    stats = BinStats()
    arrays, t_last = [], None
    for train in trains:
        train = np.asarray(train, dtype=np.float64).ravel()
        if train.size:
            train, _ = _drop_invalid(train, np.array([train.size]), stats)
        if train.size:
            t_last = max(t_last, float(train.max())) if t_last is not None else float(train.max())
        arrays.append(train)
    ends = np.cumsum([a.size for a in arrays], dtype=np.int64)

    def chunk_times(first: int, stop: int) -> np.ndarray:
        return np.concatenate(arrays[first:stop])  # one cache-sized group at a time

    return _fill_counts(ends, t_last, bin_size, chunk_times, stats), stats


def counts_from_rates(rates: np.ndarray, bin_size: float = BIN_SIZE) -> tuple[np.ndarray, BinStats]:
    """Firing rates (Hz) sampled once per bin -> uint8 counts ``round(rate * bin_size)``.

    Args:
        rates: ``(n_time_bins, n_units)`` firing rates in Hz, one sample per bin
            (as NWB ``TimeSeries`` store them: time first).
        bin_size: bin width in seconds; with 0.02 s the count is ``round(rate / 50)``.

    Returns:
        ``(counts, stats)`` with counts uint8 ``(n_units, n_time_bins)``; NaN/inf and
        negative rates become 0 and are counted as dropped; counts above 255 saturate.
    """
    rates = np.asarray(rates, dtype=np.float64)
    if rates.ndim != 2:
        raise BinningError(f"firing rates must be 2-D (time x units), got shape {rates.shape}")
    stats = BinStats()
    expected = np.rint(rates.T * bin_size)
    finite = np.isfinite(expected)
    stats.dropped_nonfinite = int(expected.size - np.count_nonzero(finite))
    negative = finite & (expected < 0)
    stats.dropped_negative = int(np.count_nonzero(negative))
    expected[~finite | negative] = 0
    stats.saturated_bins = int(np.count_nonzero(expected > MAX_COUNT))
    np.minimum(expected, MAX_COUNT, out=expected)
    return expected.astype(np.uint8), stats


def segment_bounds(n_neurons: int, n_time_bins: int, max_tokens: int = MAX_TOKENS) -> list[tuple[int, int]]:
    """``(start_bin, stop_bin)`` of each segment of a session by the reference chunking rule.

    A session of ``n x T`` tokens above ``max_tokens`` is cut along time into
    ``k = ceil(n T / max_tokens)`` segments of ``ceil(T / k)`` bins; the last may be shorter,
    and a segment that would be empty is not produced.
    """
    if max_tokens <= 0:
        raise BinningError(f"max_tokens must be positive, got {max_tokens}")
    tokens = n_neurons * n_time_bins
    if tokens <= max_tokens:
        return [(0, n_time_bins)]
    k = math.ceil(tokens / max_tokens)
    length = math.ceil(n_time_bins / k)
    return [(s, min(s + length, n_time_bins)) for s in range(0, n_time_bins, length)]


def split_segments(counts: np.ndarray, max_tokens: int = MAX_TOKENS) -> list[np.ndarray]:
    """Cut a ``(n_neurons, n_time_bins)`` array along time by the reference chunking rule.

    Returns views into ``counts`` (no copy), in time order.
    """
    counts = np.asarray(counts)
    if counts.ndim != 2:
        raise BinningError(f"counts must be 2-D (neurons x bins), got shape {counts.shape}")
    return [counts[:, a:b] for a, b in segment_bounds(*counts.shape, max_tokens=max_tokens)]
