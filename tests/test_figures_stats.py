"""Raster figures and token statistics of a built dataset folder."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from builders.cli.main import main as cli_main
from builders.jobs.figures import downsample_time, sample_rows
from builders.jobs.stats import dataset_stats
from builders.pile import open_pile
from tests.support.pile_folder import write_pile_folder


@pytest.fixture(scope="module")
def pile_folder_and_rows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pile") / "neural_pile_rodent"
    return folder, write_pile_folder(folder, seed=9)


def direct_histogram(rows: list[dict]) -> np.ndarray:
    """Count values by looping over every row's array (independent of the streaming code)."""
    out = np.zeros(256, np.int64)
    for row in rows:
        values, counts = np.unique(row["spike_counts"], return_counts=True)
        out[values] += counts
    return out


def test_stats_equal_a_direct_count(pile_folder_and_rows):
    folder, written = pile_folder_and_rows
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


def test_stats_command_writes_json_and_plot(pile_folder_and_rows, tmp_path, capsys):
    folder, _ = pile_folder_and_rows
    assert cli_main(["stats", "--dataset", str(folder), "--out-dir", str(tmp_path), "--no-progress"]) == 0
    saved = json.loads((tmp_path / "token_stats_all_train+test.json").read_text())
    assert saved["tokens"] == dataset_stats(open_pile(folder, None, None), progress=False)["tokens"]
    assert (tmp_path / "token_stats_all_train+test.png").stat().st_size > 1000
    assert "vbn" in capsys.readouterr().out


def test_visualize_all_writes_one_png_per_component(pile_folder_and_rows, tmp_path):
    folder, _ = pile_folder_and_rows
    out = tmp_path / "figs"
    assert cli_main(["visualize", "--all", "--n-examples", "2", "--dataset", str(folder), "--out-dir", str(out)]) == 0
    for component in ("demo", "v2h", "vbn"):
        png = out / f"raster_{component}_train_2rows_seed0.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_visualize_defaults_into_the_dataset_figures_folder(pile_folder_and_rows):
    folder, _ = pile_folder_and_rows
    assert cli_main(["visualize", "--config", "vbn", "--n-examples", "1", "--dataset", str(folder)]) == 0
    assert (folder / "figures" / "raster_vbn_train_1rows_seed0.png").stat().st_size > 1000


def test_visualize_unknown_config_is_a_clear_error(pile_folder_and_rows, capsys):
    folder, _ = pile_folder_and_rows
    assert cli_main(["visualize", "--config", "nope", "--dataset", str(folder)]) == 2
    assert "nope" in capsys.readouterr().err


def test_sampling_is_seeded_distinct_and_covers_rows(pile_folder_and_rows):
    folder, written = pile_folder_and_rows
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
    write_motif_table(
        tmp_path / "m", MotifTable(motifs, counts, table_metadata((1, 5), "drop", motifs, counts, configs=["demo"]))
    )
    assert cli_main(["visualize", "--motifs", str(tmp_path / "m"), "--top", "6"]) == 0
    figure = tmp_path / "m" / "top_motifs.png"  # the table's one figure, redrawn: no near-duplicate beside it
    assert str(figure) in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "m").glob("*.png")) == ["top_motifs.png"]
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli_main(["visualize", "--motifs", str(tmp_path / "nothing")]) == 2
    assert "nothing" in capsys.readouterr().err


def panel_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def colour_bar_labels(fig) -> list[str]:
    return [ax.get_ylabel() for ax in fig.axes if not ax.images and ax.get_ylabel().startswith("spikes per")]


def blocks_by_loop(counts: np.ndarray, k: int) -> np.ndarray:
    """Sums over blocks of k bins, by hand."""
    n, t = counts.shape
    return np.array([[int(counts[i, j : j + k].sum()) for j in range(0, t, k)] for i in range(n)])


def test_raster_figure_shows_time_in_seconds_one_colour_scale_and_its_unit():
    from builders.jobs.figures import RasterPanel, raster_figure

    rng = np.random.default_rng(0)
    specs = [(4, 30, 0.0), (6, 50, 12.5), (3, 41, 100.04)]  # units, bins, t_start (s)
    panels = [
        RasterPanel(
            rng.poisson(0.8, (n, t)).astype(np.uint8),
            {
                "source_dataset": "demo",
                "subject_id": "M1",
                "session_id": f"s{i}",
                "segment_id": "segment_1",
                "t_start": t0,
            },
        )
        for i, (n, t, t0) in enumerate(specs)
    ]
    panels[1].counts[2, 7] = 40  # one large count: the scale must not follow it
    fig = raster_figure(panels, "three rows", bin_size_s=0.02, max_bins=20)
    axes = panel_axes(fig)
    assert len(axes) == 3
    k = 3  # ceil(50 / 20): the same block for every panel
    summed = [blocks_by_loop(p.counts, k) for p in panels]
    nonzero = np.concatenate([b[b > 0] for b in summed])
    vmax = max(1, math.ceil(np.percentile(nonzero, 99)))  # one colour per integer count 0..vmax
    for ax, _panel, blocks, (n, t, t0) in zip(axes, panels, summed, specs):
        image = ax.images[0]
        np.testing.assert_array_equal(image.get_array(), blocks)
        assert image.get_clim() == pytest.approx((-0.5, vmax + 0.5))
        left, right, bottom, top = image.get_extent()
        assert left == pytest.approx(t0) and right == pytest.approx(t0 + -(-t // k) * k * 0.02)
        assert (bottom, top) == (n - 0.5, -0.5)
        assert ax.get_xlabel() == "time from the session's start (s)" and ax.get_ylabel() == "unit"
        assert f"starts at {t0:,.2f} s" in ax.get_title() and f"{n} units x {t} bins" in ax.get_title()
    assert [label.split("\n")[0] for label in colour_bar_labels(fig)] == ["spikes per 60 ms (3 bins of 20 ms summed)"]
    assert vmax < 40
    short = raster_figure(panels[:1], "one row", bin_size_s=0.01, max_bins=2000)
    assert len(panel_axes(short)) == 1 and colour_bar_labels(short) == ["spikes per 10 ms bin"]
    np.testing.assert_array_equal(panel_axes(short)[0].images[0].get_array(), panels[0].counts)


def test_dataset_rasters_use_the_dataset_bin_size(pile_folder_and_rows, tmp_path):
    import json as json_module
    import shutil

    from builders.jobs.figures import pile_bin_size

    folder, _ = pile_folder_and_rows
    assert pile_bin_size(open_pile(folder, "demo")) == 0.02  # no build parameters: the pile's 20 ms
    copy = shutil.copytree(folder, tmp_path / "copy")
    (copy / ".build").mkdir(exist_ok=True)
    (copy / ".build" / "params.json").write_text(json_module.dumps({"bin_size_s": 0.01}))
    assert pile_bin_size(open_pile(copy, "demo")) == 0.01


@pytest.mark.parametrize("patch_size", [(1, 5), (1, 100), (8, 10), (500, 10), (1, 500)])
def test_motif_figure_panels_unit_and_size(patch_size):
    from tokenizer.motif_figure import DPI, MAX_FIGURE_INCHES, top_motifs_figure

    p_n, p_t = patch_size
    rng = np.random.default_rng(1)
    motifs = rng.integers(0, 5, (30, p_n * p_t)).astype(np.uint8)
    counts = np.arange(30, 0, -1, dtype=np.int64)
    fig = top_motifs_figure(motifs, counts, patch_size, top=24)
    axes = panel_axes(fig)
    assert len(axes) == 24
    np.testing.assert_array_equal(axes[0].images[0].get_array(), np.minimum(motifs[0].reshape(p_n, p_t), 3))
    assert axes[1].get_title().startswith("#2  29 (")
    assert colour_bar_labels(fig) == ["spikes per 20 ms bin"]
    width, height = fig.get_size_inches() * DPI
    assert width <= MAX_FIGURE_INCHES[0] * DPI and height <= MAX_FIGURE_INCHES[1] * DPI
