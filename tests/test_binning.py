"""Binning and chunking against hand-computed arrays and the reference rule (numpy.histogram)."""

import math

import numpy as np
import pytest

from builders.spec.binning import (
    bin_flat,
    bin_spikes,
    bin_spikes_with_stats,
    counts_from_rates,
    segment_bounds,
    split_segments,
)


def reference_bin(trains, bin_size=0.02):
    """The reference method restated: one numpy.histogram per unit on the DESIGN edges."""
    valid = [np.asarray(t, float)[np.isfinite(t)] for t in trains]
    t_last = max((v.max() for v in valid if v.size), default=None)
    edges = np.arange(0, t_last + bin_size, bin_size)
    counts = np.vstack([np.histogram(v, edges)[0] for v in valid])
    return np.minimum(counts, 255).astype(np.uint8)


def test_hand_computed_example():
    # bin 0: [0, 0.02), bin 1: [0.02, 0.04), bin 2: [0.04, 0.06]; edges = arange(0, 0.05 + 0.02, 0.02)
    trains = [np.array([0.0, 0.01, 0.019, 0.05]), np.array([]), np.array([0.02, 0.021])]
    expected = np.array([[3, 0, 1], [0, 0, 0], [0, 2, 0]], dtype=np.uint8)
    counts = bin_spikes(trains)
    assert counts.dtype == np.uint8
    np.testing.assert_array_equal(counts, expected)


def test_last_edge_is_closed_and_negative_and_nan_dropped():
    # t_last = 0.04 -> edges [0, 0.02, 0.04] (arange stops before 0.06): 2 bins, 0.04 in the last one
    edges = np.arange(0, 0.04 + 0.02, 0.02)
    trains = [np.array([-0.5, 0.0, np.nan, edges[-1], np.inf])]
    counts, stats = bin_spikes_with_stats(trains)
    assert counts.shape == (1, edges.size - 1)
    assert counts[0, 0] == 1 and counts[0, -1] == 1 and counts.sum() == 2
    assert stats.dropped_negative == 1 and stats.dropped_nonfinite == 2


def test_saturation_counted():
    trains = [np.full(300, 0.005), np.full(255, 0.005), np.array([0.03])]
    counts, stats = bin_spikes_with_stats(trains)
    assert counts[0, 0] == 255 and counts[1, 0] == 255
    assert stats.saturated_bins == 1


@pytest.mark.parametrize("seed", range(6))
def test_equals_reference_on_random_trains(seed):
    rng = np.random.default_rng(seed)
    duration = rng.uniform(0.05, 200)
    trains = []
    for _ in range(rng.integers(1, 40)):
        n = rng.integers(0, 3000)
        trains.append(np.sort(rng.uniform(0, duration, n)))
    trains[0] = np.append(trains[0], duration)  # ensure a spike exactly at t_last
    np.testing.assert_array_equal(bin_spikes(trains), reference_bin(trains))


@pytest.mark.parametrize("bin_size", [0.02, 0.001, 0.1, 0.03])
def test_equals_reference_on_adversarial_trains(bin_size):
    rng = np.random.default_rng(7)
    k = np.arange(0, 5000)
    on_edges = k * bin_size  # exactly the float edges
    near = np.nextafter(on_edges, -np.inf)[1:]  # one ulp below each edge
    above = np.nextafter(on_edges, np.inf)  # one ulp above
    bursty = np.repeat(rng.uniform(0, 50, 10), 400)  # saturating bursts
    unsorted = rng.permutation(rng.uniform(0, 80, 5000))
    trains = [on_edges, near, above, bursty, unsorted, np.array([]), np.array([3 * bin_size] * 2)]
    np.testing.assert_array_equal(bin_spikes(trains, bin_size), reference_bin(trains, bin_size))


def test_unsorted_units_counted_and_all_silent_session():
    counts, stats = bin_spikes_with_stats([np.array([0.5, 0.1]), np.array([0.1, 0.2])])
    assert stats.unsorted_units == 1
    np.testing.assert_array_equal(counts, reference_bin([[0.5, 0.1], [0.1, 0.2]]))
    silent = bin_spikes([np.array([]), np.array([])])
    assert silent.shape == (2, 0)


def test_bin_flat_rejects_inconsistent_index():
    with pytest.raises(ValueError, match="index"):
        bin_flat(np.array([0.1, 0.2]), np.array([1, 3]))


def test_counts_from_rates():
    rates = np.array([[0.0, 50.0], [24.0, 26.0], [np.nan, -100.0], [20000.0, 75.0]])  # time x units, Hz
    counts, stats = counts_from_rates(rates)
    np.testing.assert_array_equal(counts, np.array([[0, 0, 0, 255], [1, 1, 0, 2]], dtype=np.uint8))
    assert stats.dropped_nonfinite == 1 and stats.dropped_negative == 1 and stats.saturated_bins == 1


@pytest.mark.parametrize(
    "n, t, limit",
    [(10, 100, 1000), (10, 101, 1000), (7, 1000, 1000), (400, 180_000, 10_000_000), (3, 5, 2), (1, 1, 1)],
)
def test_segment_rule(n, t, limit):
    bounds = segment_bounds(n, t, limit)
    if n * t <= limit:
        assert bounds == [(0, t)]
        return
    k = math.ceil(n * t / limit)
    length = math.ceil(t / k)
    assert all(b - a == length for a, b in bounds[:-1])
    assert 0 < bounds[-1][1] - bounds[-1][0] <= length
    assert bounds[0][0] == 0 and bounds[-1][1] == t
    assert all(a2 == b1 for (_, b1), (a2, _) in zip(bounds, bounds[1:]))
    assert len(bounds) <= k


def test_split_segments_exact_counts_and_views():
    counts = np.arange(3 * 10, dtype=np.uint8).reshape(3, 10)
    segments = split_segments(counts, max_tokens=12)  # 30 tokens -> k = 3 segments of ceil(10/3) = 4 bins
    assert [s.shape for s in segments] == [(3, 4), (3, 4), (3, 2)]
    np.testing.assert_array_equal(np.hstack(segments), counts)
    assert all(np.shares_memory(s, counts) for s in segments)
    (whole,) = split_segments(counts, max_tokens=30)
    assert whole.shape == (3, 10)
