"""Neuron reordering: planted groups, exact inversion, optimality, edge cases, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import pdist, squareform

from builders.analysis.reorder import (
    adjacent_cosine_distance,
    cosine_distances,
    gram_matrix,
    optimal_leaf_order,
    reorder_neurons,
)


def planted_groups(seed: int, n_groups: int = 4, per_group: int = 15, n_bins: int = 3000):
    """Counts of neurons in co-active groups (each group bursts in its own random bins),
    shuffled; returns (counts uint8, group label of each row)."""
    rng = np.random.default_rng(seed)
    bursts = rng.random((n_groups, n_bins)) < 0.08
    labels = np.repeat(np.arange(n_groups), per_group)
    rates = np.where(bursts[labels], 1.5, 0.01)
    counts = rng.poisson(rates).astype(np.uint8)
    shuffle = rng.permutation(len(labels))
    return counts[shuffle], labels[shuffle]


def tree_orders(tree: np.ndarray, n: int, node: int) -> list[list[int]]:
    """Every leaf order reachable by flipping children (brute force, small trees only)."""
    if node < n:
        return [[node]]
    left, right = (int(c) for c in tree[node - n, :2])
    out = []
    for a in tree_orders(tree, n, left):
        for b in tree_orders(tree, n, right):
            out += [a + b, b + a]
    return out


def path_cost(order, dist) -> float:
    order = np.asarray(order)
    return float(dist[order[:-1], order[1:]].sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_groups_come_back_contiguous(seed):
    counts, labels = planted_groups(seed)
    reordered, order = reorder_neurons(counts)
    grouped = labels[order]
    changes = int(np.count_nonzero(grouped[1:] != grouped[:-1]))
    assert changes == len(np.unique(labels)) - 1, grouped
    np.testing.assert_array_equal(reordered, counts[order])


def test_order_is_a_permutation_that_inverts_exactly():
    counts, _ = planted_groups(5)
    counts[[3, 17]] = 0  # two silent neurons
    reordered, order = reorder_neurons(counts)
    assert order.dtype == np.int64
    np.testing.assert_array_equal(np.sort(order), np.arange(len(counts)))
    np.testing.assert_array_equal(reordered[np.argsort(order)], counts)
    assert reordered.dtype == counts.dtype


def test_silent_neurons_go_last_in_original_order():
    counts, _ = planted_groups(3, per_group=6, n_bins=500)
    silent = [0, 4, 9, 20]
    counts[silent] = 0
    _, order = reorder_neurons(counts)
    np.testing.assert_array_equal(order[-len(silent):], silent)
    assert counts[order[: -len(silent)]].any(axis=1).all()


@pytest.mark.parametrize(
    "counts, expected",
    [
        (np.zeros((0, 7), np.uint8), []),
        (np.array([[0, 3, 1]], np.uint8), [0]),
        (np.zeros((5, 4), np.uint8), [0, 1, 2, 3, 4]),
        (np.array([[0, 0], [1, 2], [0, 0]], np.uint8), [1, 0, 2]),
        (np.array([[0, 0], [1, 2], [0, 0], [2, 0]], np.uint8), [1, 3, 0, 2]),
        (np.zeros((3, 0), np.uint8), [0, 1, 2]),
    ],
)
def test_small_and_silent_rows(counts, expected):
    reordered, order = reorder_neurons(counts)
    np.testing.assert_array_equal(order, expected)
    assert reordered.shape == counts.shape


def test_deterministic_including_duplicate_neurons():
    counts, _ = planted_groups(7)
    counts[10] = counts[11]  # exact tie in distance
    counts[30] = counts[11]
    first = reorder_neurons(counts)[1]
    for _ in range(3):
        np.testing.assert_array_equal(reorder_neurons(counts.copy())[1], first)


@pytest.mark.parametrize("bad", [np.zeros(5, np.uint8), np.ones((2, 3)), np.full((2, 2), -1)])
def test_bad_input_is_refused(bad):
    with pytest.raises(ValueError):
        reorder_neurons(bad)


def test_optimal_leaf_order_matches_brute_force():
    rng = np.random.default_rng(11)
    for n in (3, 5, 7, 8):
        for method in ("ward", "average", "complete"):
            dist = squareform(pdist(rng.normal(size=(n, 4))))
            tree = linkage(squareform(dist), method)
            candidates = tree_orders(tree, n, 2 * n - 2)
            mine = list(optimal_leaf_order(tree, dist))
            assert mine in candidates
            assert path_cost(mine, dist) == pytest.approx(min(path_cost(o, dist) for o in candidates), abs=1e-5)


def test_distances_equal_scipy_cosine_and_gram_is_exact():
    rng = np.random.default_rng(2)
    counts = rng.poisson(0.3, (30, 400)).astype(np.uint8)
    counts[:, 0] = 1  # no silent row
    np.testing.assert_allclose(squareform(cosine_distances(counts), checks=False), pdist(counts.astype(float), "cosine"), atol=1e-12)
    big = np.full((2, 300), 255, np.uint8)  # 255**2 * 300 > 2**24: the float64 path
    np.testing.assert_array_equal(gram_matrix(big), np.full((2, 2), 255.0**2 * 300))


def test_quality_no_worse_than_reference_restated():
    counts, _ = planted_groups(4, n_groups=5, per_group=20)
    reference_tree = linkage(pdist(counts.astype(float), "cosine"), method="ward", optimal_ordering=True)

    reference = leaves_list(reference_tree)
    _, order = reorder_neurons(counts)
    assert adjacent_cosine_distance(counts, order) <= adjacent_cosine_distance(counts, reference) + 1e-9
