"""Raster figures and token statistics of a built dataset folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from builders.analysis.figures import downsample_time, sample_rows
from builders.analysis.stats import dataset_stats
from builders.cli import main as cli_main
from builders.pile import open_pile
from pile_folder import write_pile_folder


@pytest.fixture(scope="module")
def pile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pile") / "neural_pile_rodent"
    return folder, write_pile_folder(folder, seed=9)


def direct_histogram(rows: list[dict]) -> np.ndarray:
    """Count values by looping over every row's array (independent of the streaming code)."""
    out = np.zeros(256, np.int64)
    for row in rows:
        values, counts = np.unique(row["spike_counts"], return_counts=True)
        out[values] += counts
    return out


def test_stats_equal_a_direct_count(pile):
    folder, written = pile
    stats = dataset_stats(open_pile(folder, "all", ("train", "test")), progress=False)
    rows = [r for c in ("v2h", "vbn") for split in ("train", "test") for r in written[c][split]]
    np.testing.assert_array_equal(stats["counts"], direct_histogram(rows))
    assert stats["tokens"] == sum(r["spike_counts"].size for r in rows)
    assert sum(stats["probabilities"]) == pytest.approx(1.0)
    for component in ("v2h", "vbn"):
        for split in ("train", "test"):
            part = stats["parts"][component][split]
            assert part["tokens"] == sum(r["spike_counts"].size for r in written[component][split])
            assert part["rows"] == len(written[component][split])
    demo_train = dataset_stats(open_pile(folder, "demo", ("train",)), progress=False)
    np.testing.assert_array_equal(demo_train["counts"], direct_histogram(written["demo"]["train"]))


def test_stats_command_writes_json_and_plot(pile, tmp_path, capsys):
    folder, _ = pile
    assert cli_main(["stats", "--dataset", str(folder), "--out-dir", str(tmp_path), "--no-progress"]) == 0
    saved = json.loads((tmp_path / "token_stats_all_train+test.json").read_text())
    assert saved["tokens"] == dataset_stats(open_pile(folder, None, None), progress=False)["tokens"]
    assert (tmp_path / "token_stats_all_train+test.png").stat().st_size > 1000
    assert "vbn" in capsys.readouterr().out


def test_visualize_all_writes_one_png_per_component(pile, tmp_path):
    folder, _ = pile
    out = tmp_path / "figs"
    assert cli_main(["visualize", "--all", "--n-examples", "2", "--dataset", str(folder), "--out-dir", str(out)]) == 0
    for component in ("demo", "v2h", "vbn"):
        png = out / f"raster_{component}_train_2rows_seed0.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_visualize_defaults_into_the_dataset_figures_folder(pile):
    folder, _ = pile
    assert cli_main(["visualize", "--config", "vbn", "--n-examples", "1", "--dataset", str(folder)]) == 0
    assert (folder / "figures" / "raster_vbn_train_1rows_seed0.png").stat().st_size > 1000


def test_visualize_unknown_config_is_a_clear_error(pile, capsys):
    folder, _ = pile
    assert cli_main(["visualize", "--config", "nope", "--dataset", str(folder)]) == 2
    assert "nope" in capsys.readouterr().err


def test_sampling_is_seeded_distinct_and_covers_rows(pile):
    folder, written = pile
    demo = open_pile(folder, "demo", ["train"])
    total = len(written["demo"]["train"])
    first = sample_rows(demo, 3, seed=5)
    assert first == sample_rows(demo, 3, seed=5)
    assert len(set(first)) == min(3, total)
    everything = sample_rows(demo, 100, seed=1)
    assert len(everything) == total


def test_downsample_sums_blocks_of_bins():
    counts = np.arange(10, dtype=np.uint8).reshape(1, 10)
    shown, k = downsample_time(counts, max_bins=4)
    assert k == 3
    np.testing.assert_array_equal(shown, [[0 + 1 + 2, 3 + 4 + 5, 6 + 7 + 8, 9]])
    same, k1 = downsample_time(counts, max_bins=10)
    assert k1 == 1 and same is counts


def test_visualize_draws_the_motif_figure_of_a_motif_table(tmp_path, capsys):
    from tokenizer.motif_table import MotifTable, table_metadata, write_motif_table
    from tokenizer.motifs import count_motifs

    rng = np.random.default_rng(3)
    arrays = [(rng.random((6, 200)) < 0.1).astype(np.uint8) for _ in range(3)]
    motifs, counts = count_motifs(arrays, (1, 5))
    write_motif_table(tmp_path / "m", MotifTable(motifs, counts, table_metadata((1, 5), "drop", motifs, counts,
                                                                                  configs=["demo"])))
    assert cli_main(["visualize", "--motifs", str(tmp_path / "m"), "--top", "6"]) == 0
    figure = tmp_path / "m" / "top6_motifs_1x5.png"
    assert figure.stat().st_size > 1000 and str(figure) in capsys.readouterr().out
    assert cli_main(["visualize", "--motifs", str(tmp_path / "nothing")]) == 2
    assert "nothing" in capsys.readouterr().err
