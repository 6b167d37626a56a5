"""Neuron reordering: planted groups, exact inversion, optimality, edge cases, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import pdist, squareform

from builders.jobs.reorder import (
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
    np.testing.assert_array_equal(order[-len(silent) :], silent)
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
    np.testing.assert_allclose(
        squareform(cosine_distances(counts), checks=False), pdist(counts.astype(float), "cosine"), atol=1e-12
    )
    big = np.full((2, 300), 255, np.uint8)  # 255**2 * 300 > 2**24: the float64 path
    np.testing.assert_array_equal(gram_matrix(big), np.full((2, 2), 255.0**2 * 300))
    for density in (0.05, 0.5):  # sparse and dense routes against integer arithmetic
        sparse_or_dense = (rng.random((20, 500)) < density) * rng.integers(1, 256, (20, 500))
        exact = sparse_or_dense.astype(np.int64) @ sparse_or_dense.T.astype(np.int64)
        np.testing.assert_array_equal(gram_matrix(sparse_or_dense.astype(np.uint8)), exact)


def test_quality_no_worse_than_reference_restated():
    counts, _ = planted_groups(4, n_groups=5, per_group=20)
    reference_tree = linkage(pdist(counts.astype(float), "cosine"), method="ward", optimal_ordering=True)

    reference = leaves_list(reference_tree)
    _, order = reorder_neurons(counts)
    assert adjacent_cosine_distance(counts, order) <= adjacent_cosine_distance(counts, reference) + 1e-9


# ----------------------------------------------------------------------------------- datasets

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow.parquet as pq  # noqa: E402

from builders.cli.main import main as cli_main  # noqa: E402
from builders.jobs.reorder_dataset import REORDER_REPORT, reorder_dataset  # noqa: E402
from builders.spec.counts import spike_counts_array  # noqa: E402
from builders.storage.shards import write_rows_atomic  # noqa: E402
from tests.support.pile_folder import make_row, write_pile_folder  # noqa: E402


@pytest.fixture(scope="module")
def pile_folder_and_rows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pile")
    return folder, write_pile_folder(folder, seed=3)


@pytest.fixture(scope="module")
def reordered_folder_and_report(pile_folder_and_rows, tmp_path_factory):
    out = tmp_path_factory.mktemp("reordered") / "out"
    report = reorder_dataset(pile_folder_and_rows[0], out, progress=False)
    return out, report


def by_segment(written: dict) -> dict:
    """``{component: {split: rows}}`` -> ``{(session_id, segment_id): row}``."""
    return {
        (r["session_id"], r["segment_id"]): r for splits in written.values() for rows in splits.values() for r in rows
    }


def test_reordered_dataset_loads_every_config_with_rows_permuted(
    pile_folder_and_rows, reordered_folder_and_report, tmp_path
):
    from datasets import load_dataset

    _, written = pile_folder_and_rows
    out, report = reordered_folder_and_report
    assert report["failed"] == 0 and report["done"] == report["shards"] == 8
    for config in ["all", "demo", "v2h", "vbn"]:
        dsd = load_dataset(str(out), config, cache_dir=str(tmp_path / "cache"))
        components = ["v2h", "vbn"] if config == "all" else [config]
        for split, ds in dsd.items():
            assert "neuron_order" in ds.features
            originals = by_segment({c: written[c] for c in components})
            expected = [r for r in originals.values() if r["session_id"].split("-")[1] == split]
            assert len(ds) == len(expected)
            for i in range(len(ds)):
                row = ds[i]
                source = originals[(row["session_id"], row["segment_id"])]
                order = np.asarray(row["neuron_order"])
                np.testing.assert_array_equal(spike_counts_array(ds, i), source["spike_counts"][order])
                np.testing.assert_array_equal(row["unit_ids"], source["unit_ids"][order])
                assert row["unit_regions"] == [source["unit_regions"][j] for j in order]
                np.testing.assert_array_equal(spike_counts_array(ds, i)[np.argsort(order)], source["spike_counts"])
        if config == "v2h":
            assert list(dsd) == ["train"]  # its test split holds no row, so the card leaves it out


def test_rerun_skips_complete_shards_and_redoes_missing_ones(pile_folder_and_rows, tmp_path):
    out = tmp_path / "out"
    reorder_dataset(pile_folder_and_rows[0], out, progress=False)
    victim = sorted((out / "data" / "vbn").glob("train-*.parquet"))[0]
    before = victim.read_bytes()
    victim.unlink()
    report = reorder_dataset(pile_folder_and_rows[0], out, progress=False)
    assert (report["done"], report["skipped"]) == (1, report["shards"] - 1)
    assert victim.read_bytes() == before


def test_row_that_cannot_be_reordered_fails_loudly(tmp_path, capsys):
    source = tmp_path / "in"
    write_pile_folder(source, {"demo": (1, 1)}, seed=4)
    rng = np.random.default_rng(0)
    broken = make_row(rng, "demo", "sub-9", "broken", 0, 6, 40)
    broken["unit_regions"] = broken["unit_regions"][:4]  # 6 neurons, 4 regions
    good = make_row(rng, "demo", "sub-9", "broken", 1, 6, 40)
    bad_shard = source / "data" / "demo" / "train-broken.parquet"
    write_rows_atomic(bad_shard, [good, broken])
    out = tmp_path / "out"
    code = cli_main(["reorder", "--in", str(source), "--out", str(out), "--no-progress"])
    assert code == 1
    report = json.loads((out / REORDER_REPORT).read_text())
    assert report["failed"] == 1
    error = report["failures"][0]["error"]
    assert "train-broken.parquet" in error and "row 1" in error and "'broken'" in error
    assert not (out / "data" / "demo" / "train-broken.parquet").exists()
    assert not list((out / "data" / "demo").glob(".*"))  # no temporary left behind
    assert "could not be reordered" in capsys.readouterr().err


def test_refuses_missing_input_folder(tmp_path, capsys):
    assert cli_main(["reorder", "--in", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "nope" in capsys.readouterr().err


@pytest.mark.ray
def test_ray_job_writes_the_same_shards_as_the_local_run(
    pile_folder_and_rows, reordered_folder_and_report, local_ray, tmp_path
):
    from ray_jobs.entry import run_on_ray

    out = tmp_path / "ray_out"
    assert run_on_ray("reorder", ["--in", str(pile_folder_and_rows[0]), "--out", str(out), "--no-progress"]) == 0
    local_out = reordered_folder_and_report[0]
    for shard in sorted(Path(local_out, "data").rglob("*.parquet")):
        twin = out / shard.relative_to(local_out)
        assert pq.read_table(twin).equals(pq.read_table(shard))
    assert (out / "README.md").read_text() == (local_out / "README.md").read_text()
