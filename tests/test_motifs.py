"""Motif counting: exact against a brute-force Counter, local == Ray Data, table/figure I/O, CLI (the
``ray job submit`` of ``ray_jobs/motifs.py`` is checked against brute force in tests/test_ray_recipe.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from builders.pile import open_pile
from builders.runtime.executor import RayExecutor
from tests.support.motif_counts import as_counter, brute_force
from tests.support.pile_folder import sparse_counts, write_pile_folder
from tokenizer.motif_counting import count_pile_motifs
from tokenizer.motif_table import (
    FIGURE_FILE,
    METADATA_FILE,
    TABLE_FILE,
    MotifTable,
    read_motif_table,
    write_motif_table,
)
from tokenizer.motifs import MotifCounter, count_motifs, merge_motif_counts

REPO = Path(__file__).resolve().parents[1]


def assert_sorted(motifs, counts):
    assert np.all(np.diff(counts) <= 0)
    assert len({m.tobytes() for m in motifs}) == len(motifs)


@pytest.mark.parametrize("patch_size", [(1, 1), (1, 5), (1, 10), (2, 5), (3, 4), (4, 3)])
@pytest.mark.parametrize("pad", ["drop", "zero"])
def test_count_motifs_equals_brute_force(patch_size, pad):
    rng = np.random.default_rng(hash((patch_size, pad)) % 2**32)
    arrays = [sparse_counts(rng, int(rng.integers(1, 12)), int(rng.integers(1, 70))) for _ in range(12)]
    arrays.append(rng.integers(0, 256, (7, 23)).astype(np.uint8))  # values up to 255, dense
    arrays.append(np.zeros((5, 13), np.uint8))  # all silent, not divisible
    arrays.append(np.full((2, 3), 255, np.uint8))  # smaller than some patches
    motifs, counts = count_motifs(arrays, patch_size, pad=pad)
    assert motifs.dtype == np.uint8 and counts.dtype == np.int64
    assert motifs.shape[1] == patch_size[0] * patch_size[1]
    assert as_counter(motifs, counts) == brute_force(arrays, patch_size, pad)
    assert_sorted(motifs, counts)


@pytest.mark.parametrize("patch_size", [(1, 65), (8, 10), (1, 100), (500, 10)])
def test_motifs_wider_than_a_packed_key_are_counted_exactly(patch_size):
    """Patches of more than 64 values have no uint64 key; they are counted bytewise, exactly."""
    rng = np.random.default_rng(sum(patch_size))
    arrays = [sparse_counts(rng, 503, 140), grouped_counts_dense(rng, 17, 230), np.zeros((9, 120), np.uint8)]
    for pad in ("drop", "zero"):
        motifs, counts = count_motifs(arrays, patch_size, pad=pad)
        assert motifs.shape[1] == patch_size[0] * patch_size[1]
        assert as_counter(motifs, counts) == brute_force(arrays, patch_size, pad)
        assert_sorted(motifs, counts)
    parts = [count_motifs([a], patch_size) for a in arrays]
    merged = merge_motif_counts(parts, patch_size)
    whole = count_motifs(arrays, patch_size)
    np.testing.assert_array_equal(merged[0], whole[0])
    np.testing.assert_array_equal(merged[1], whole[1])


def grouped_counts_dense(rng, n_neurons, n_bins):
    """Counts with some values up to 255, so both small and large values reach wide patches."""
    counts = rng.poisson(0.4, (n_neurons, n_bins)).astype(np.uint8)
    counts[rng.random((n_neurons, n_bins)) < 0.01] = 255
    return counts


def test_cli_counts_wide_motifs(pile_folder_and_counts, tmp_path):
    out, written = pile_folder_and_counts
    from builders.cli.main import main

    dest = tmp_path / "motifs_1x65"
    assert (
        main(
            [
                "motifs",
                "--patch-size",
                "1",
                "65",
                "--dataset",
                str(out),
                "--config",
                "demo",
                "--out",
                str(dest),
                "--quiet",
                "--top",
                "4",
            ]
        )
        == 0
    )
    table = read_motif_table(dest)
    assert as_counter(table.motifs, table.counts) == brute_force(written["demo"]["train"], (1, 65))


def test_all_silent_and_too_small_arrays():
    silent = [np.zeros((3, 25), np.uint8), np.zeros((1, 7), np.uint8)]
    motifs, counts = count_motifs(silent, (1, 10))
    assert motifs.tolist() == [[0] * 10] and counts.tolist() == [3 * 2]  # 3 rows x 2 whole patches; 7 bins make none
    motifs, counts = count_motifs(silent, (1, 10), pad="zero")
    assert counts.tolist() == [3 * 3 + 1]
    motifs, counts = count_motifs([np.zeros((1, 4), np.uint8)], (2, 5))
    assert motifs.shape == (0, 10) and counts.shape == (0,)


def test_drop_does_not_inflate_silent_motif():
    arr = np.ones((1, 15), np.uint8)  # 1 whole 1x10 patch and 5 leftover bins
    drop = as_counter(*count_motifs([arr], (1, 10)))
    zero = as_counter(*count_motifs([arr], (1, 10), pad="zero"))
    assert drop == Counter({(1,) * 10: 1})
    assert zero == Counter({(1,) * 10: 1, (1,) * 5 + (0,) * 5: 1})


def test_partial_tables_merge_exactly_whatever_the_flush_size():
    rng = np.random.default_rng(3)
    arrays = [sparse_counts(rng, 9, 210) for _ in range(10)]
    whole = count_motifs(arrays, (2, 5))
    parts = [count_motifs(arrays[i : i + 3], (2, 5)) for i in range(0, 10, 3)]
    merged = merge_motif_counts(parts[::-1], (2, 5))
    small_flush = MotifCounter((2, 5), flush_keys=7)
    for a in arrays:
        small_flush.add(a)
    for table in (merged, small_flush.result()):
        np.testing.assert_array_equal(table[0], whole[0])
        np.testing.assert_array_equal(table[1], whole[1])
    assert small_flush.total_patches == sum((a.shape[0] // 2) * (a.shape[1] // 5) for a in arrays)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="patch_size"):
        count_motifs([np.zeros((2, 2), np.uint8)], (0, 3))
    with pytest.raises(ValueError, match="pad"):
        count_motifs([np.zeros((2, 2), np.uint8)], (1, 2), pad="reflect")
    with pytest.raises(ValueError, match="2-D"):
        count_motifs([np.zeros(5, np.uint8)], (1, 2))
    with pytest.raises(ValueError, match="uint8"):
        count_motifs([np.full((2, 2), 300)], (1, 2))


def test_motif_table_round_trip_and_figure(tmp_path):
    rng = np.random.default_rng(5)
    arrays = [sparse_counts(rng, 6, 97) for _ in range(4)]
    motifs, counts = count_motifs(arrays, (1, 5))
    meta = {
        "patch_size": [1, 5],
        "pad": "drop",
        "configs": ["demo"],
        "splits": ["train"],
        "rows": 4,
        "total_patches": int(counts.sum()),
    }
    write_motif_table(tmp_path, MotifTable(motifs, counts, meta))
    back = read_motif_table(tmp_path)
    np.testing.assert_array_equal(back.motifs, motifs)
    np.testing.assert_array_equal(back.counts, counts)
    assert back.metadata == meta == json.loads((tmp_path / METADATA_FILE).read_text())
    probability = pq.read_table(tmp_path / TABLE_FILE).column("probability").to_numpy()
    np.testing.assert_allclose(probability, counts / counts.sum())
    from tokenizer.motif_figure import plot_top_motifs

    png = plot_top_motifs(motifs, counts, (1, 5), tmp_path / FIGURE_FILE, top=10)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="sorted"):
        write_motif_table(tmp_path / "x", MotifTable(motifs[::-1], counts[::-1], meta))
    (tmp_path / "bad").mkdir()
    pq.write_table(pq.read_table(tmp_path / TABLE_FILE).replace_schema_metadata({}), tmp_path / "bad" / TABLE_FILE)
    with pytest.raises(ValueError, match="bad/motifs.parquet"):
        read_motif_table(tmp_path / "bad")


@pytest.fixture(scope="module")
def pile_folder_and_counts(tmp_path_factory):
    out = tmp_path_factory.mktemp("pile")
    written = write_pile_folder(out, {"demo": (2, 1), "v2h": (2, 0), "vbn": (2, 1)}, seed=0, counts_fn=sparse_counts)
    return out, {
        c: {split: [r["spike_counts"] for r in rows] for split, rows in by_split.items()}
        for c, by_split in written.items()
    }


def test_local_shard_counting_reads_train_only(pile_folder_and_counts):
    out, written = pile_folder_and_counts
    pile_folder_and_counts = open_pile(out, "all", ["train"])
    assert all("/demo/" not in f.path and "/test-" not in f.path for f in pile_folder_and_counts.files)
    counted = count_pile_motifs([pile_folder_and_counts], (1, 10), progress=False)
    motifs, counts, rows = counted.motifs, counted.counts, counted.rows
    expected = [a for c in ("v2h", "vbn") for a in written[c]["train"]]
    assert rows == len(expected)
    assert as_counter(motifs, counts) == brute_force(expected, (1, 10))


def test_cli_writes_table_metadata_and_figure(pile_folder_and_counts, tmp_path):
    out, written = pile_folder_and_counts
    from builders.cli.main import main

    dest = tmp_path / "motifs_2x5"
    assert (
        main(
            [
                "motifs",
                "--patch-size",
                "2",
                "5",
                "--dataset",
                str(out),
                "--config",
                "demo",
                "--splits",
                "train",
                "test",
                "--out",
                str(dest),
                "--quiet",
            ]
        )
        == 0
    )
    table = read_motif_table(dest)
    arrays = written["demo"]["train"] + written["demo"]["test"]
    assert as_counter(table.motifs, table.counts) == brute_force(arrays, (2, 5))
    assert table.metadata["rows"] == len(arrays) and table.metadata["splits"] == ["train", "test"]
    assert table.metadata["total_patches"] == sum(brute_force(arrays, (2, 5)).values())
    assert (dest / FIGURE_FILE).stat().st_size > 1000
    assert (
        main(
            ["motifs", "--patch-size", "1", "10", "--dataset", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]
        )
        == 2
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.ray
def test_ray_actor_counting_equals_local(pile_folder_and_counts, local_ray):
    out, _ = pile_folder_and_counts
    for config, splits, patch_size, pad in (
        (["all"], ["train"], (1, 10), "drop"),
        (["demo", "vbn"], ["train", "test"], (2, 5), "zero"),
    ):
        piles = [open_pile(out, c, splits) for c in config]
        local = count_pile_motifs(piles, patch_size, pad, progress=False)
        remote = count_pile_motifs(piles, patch_size, pad, executor=RayExecutor(num_workers=2), progress=False)
        np.testing.assert_array_equal(remote.motifs, local.motifs)
        np.testing.assert_array_equal(remote.counts, local.counts)
        assert remote.rows == local.rows
        assert remote.components == local.components == ({"v2h", "vbn"} if config == ["all"] else {"demo", "vbn"})


@pytest.mark.ray
def test_ray_tokenizer_job_equals_local_training(pile_folder_and_counts, local_ray, tmp_path):
    out, _ = pile_folder_and_counts
    from tokenizer.motif_tokenizer import MotifTokenizer
    from tokenizer.tokenizer_job import assign_nearest

    counted = count_pile_motifs([open_pile(out, "all", ["train"])], (1, 5), progress=False)
    motifs, counts, rows = counted.motifs, counted.counts, counted.rows
    write_motif_table(tmp_path / "m", MotifTable(motifs, counts, {"patch_size": [1, 5], "pad": "drop", "rows": rows}))
    # as a script joining the running cluster: the script must not shadow the tokenizer package,
    # neither in the driver nor in the Ray workers its actors run on
    address = local_ray.get_runtime_context().gcs_address
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "ray_jobs" / "train_tokenizer.py"),
            "--motifs",
            str(tmp_path / "m"),
            "--vocab-size",
            "20",
            "--out",
            str(tmp_path / "t"),
            "--quiet",
            "--ray",
            address,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    on_ray = MotifTokenizer.from_pretrained(tmp_path / "t")
    local = MotifTokenizer.from_counts(motifs, counts, 20, (1, 5))
    assert len(local.known_motifs) > 7
    np.testing.assert_array_equal(on_ray.vocab, local.vocab)
    np.testing.assert_array_equal(on_ray.known_motifs, local.known_motifs)
    np.testing.assert_array_equal(on_ray.known_ids, local.known_ids)
    many_tasks = assign_nearest(
        local.known_motifs, local.vocab, local.zero_id, executor=RayExecutor(num_workers=2), chunk=7, progress=False
    )
    np.testing.assert_array_equal(many_tasks, local.known_ids)
