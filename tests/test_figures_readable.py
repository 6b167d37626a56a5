"""Figures a scientist can read: discrete count scales that say where they clip, token ids as
categories, whole-number neuron ticks, the subject in the title, one summing block per command,
reordered rasters marked, and the test share per component on the statistics figure."""

from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest

import builders.jobs.figures as figures
from builders.cli.main import main
from builders.jobs.figures import IdCategories, RasterPanel, raster_figure
from builders.pile import open_pile
from tests.support.pile_folder import make_row, write_pile_folder


def colour_bars(fig):
    return [ax for ax in fig.axes if not ax.images and ax.get_ylabel()]


def meta(**extra) -> dict:
    return {"source_dataset": "demo", "subject_id": "M7", "session_id": "3", "segment_id": "segment_0", **extra}


def test_integer_counts_get_one_colour_per_count_and_the_clip_is_said():
    rng = np.random.default_rng(4)
    counts = rng.poisson(0.6, (5, 300)).astype(np.uint8)
    counts[1, 10] = 60  # far above the 99th percentile
    nonzero = counts[counts > 0]
    top = math.ceil(np.percentile(nonzero, 99))
    fig = raster_figure([RasterPanel(counts, meta(t_start=0.0))], "one row")
    image = next(ax for ax in fig.axes if ax.images).images[0]
    norm, cmap = image.norm, image.cmap
    # one level per integer 0..top, counts above top get the colour of top
    assert list(norm(np.arange(top + 1))) == list(range(top + 1)) and cmap.N == top + 1
    assert np.allclose(cmap(norm(60)), cmap(top))
    (bar,) = colour_bars(fig)
    ticks = bar.get_yticks()
    assert len(ticks) >= 2 and all(t == int(t) and 0 <= t <= top for t in ticks)
    label = bar.get_ylabel()
    assert label.startswith("spikes per 20 ms bin\n")
    assert f"clipped at {top} " in label and f"{top + 1}-60 drawn as {top}" in label

    quiet = np.zeros((3, 50), np.uint8)
    quiet[0, 3], quiet[2, 9] = 1, 2  # nothing above the percentile: no clip mentioned
    fig = raster_figure([RasterPanel(quiet, meta(t_start=0.0))], "quiet")
    (bar,) = colour_bars(fig)
    assert "clipped" not in bar.get_ylabel() and list(bar.get_yticks()) == [0, 1, 2]


def test_three_neurons_tick_at_whole_numbers_and_reordered_rows_are_marked():
    counts = np.array([[0, 1, 0, 2], [1, 0, 0, 0], [0, 0, 3, 1]], np.uint8)
    fig = raster_figure(
        [RasterPanel(counts, meta(t_start=2.0)), RasterPanel(counts, meta(t_start=2.0, neuron_order=[2, 0, 1]))], "t"
    )
    plain, reordered = [ax for ax in fig.axes if ax.images]
    for ax in (plain, reordered):
        low, high = sorted(ax.get_ylim())
        ticks = [t for t in ax.get_yticks() if low <= t <= high]
        assert ticks and all(t == int(t) for t in ticks)
    assert "reordered" not in plain.get_title() and plain.get_ylabel() == "unit"
    assert "neurons reordered" in reordered.get_title() and reordered.get_ylabel() == "unit (reordered)"


def test_token_ids_are_categories_most_frequent_first():
    grid = np.array([[0] * 10 + [7] * 5 + [3] * 3 + [11, 12, 13]])  # 21 patches, 6 distinct ids
    categories = IdCategories.of(grid, top=3, names={0: "(silent)"})
    assert categories.labels == [
        "id 0 (silent): 47.6%",
        "id 7: 23.8%",
        "id 3: 14.3%",
        "3 other ids: 14.3%",
    ]
    expected = np.array([[0] * 10 + [1] * 5 + [2] * 3 + [3, 3, 3]])
    np.testing.assert_array_equal(categories.codes, expected)
    cmap, norm = categories.cmap_norm()
    colours = [tuple(cmap(norm(c))) for c in range(4)]
    assert len(set(colours)) == 4 and colours[3][:3] == (0.85, 0.85, 0.85)
    every = IdCategories.of(np.array([[5, 5, 9]]))
    assert every.labels == ["id 5: 66.7%", "id 9: 33.3%"] and every.shown == 2
    with pytest.raises(ValueError, match="top must be"):
        IdCategories.of(grid, top=10)


def test_sample_figure_names_the_subject_and_reads_at_whole_numbers(tmp_path, monkeypatch, capsys):
    import builders.jobs.sample_figure as stream_figure

    folder = tmp_path / "pile"
    write_pile_folder(folder, {"demo": (2, 0)}, seed=5)
    drawn = []
    original = stream_figure.window_tokens_figure

    def keep(*args, **kwargs):
        drawn.append(original(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(stream_figure, "window_tokens_figure", keep)
    picture = tmp_path / "sample.png"
    code = main(["sample", "--dataset", str(folder), "--config", "demo", "--n-neurons", "3", "--out", str(picture)])
    assert code == 0 and picture.stat().st_size > 0
    (fig,) = drawn
    # the subject of the row the first printed window came from, read from its shard directly
    first = capsys.readouterr().out.splitlines()[1].split()[0]  # "demo/<session>/<segment>"
    _, session, segment = first.split("/")
    rows = [r for f in (folder / "data" / "demo").glob("train-*.parquet") for r in pq.read_table(f).to_pylist()]
    subject = next(r["subject_id"] for r in rows if r["session_id"] == session and r["segment_id"] == segment)
    assert f"demo sub-{subject} ses-{session} {segment}:" in fig.get_suptitle()
    counts_ax, ids_ax = [ax for ax in fig.axes if ax.images]
    for ax in (counts_ax, ids_ax):
        low, high = sorted(ax.get_ylim())
        ticks = [t for t in ax.get_yticks() if low <= t <= high]
        assert ticks == [0, 1, 2]
    bars = {ax.get_ylabel().split("\n")[0] for ax in colour_bars(fig)}
    assert bars == {"spikes per 20 ms bin", "id: share of this window's patches"}
    id_bar = next(ax for ax in colour_bars(fig) if ax.get_ylabel().startswith("id"))
    assert all(
        t.get_text().startswith(("id ", "other ids")) or " other ids" in t.get_text() for t in id_bar.get_yticklabels()
    )
    assert any("(silent)" in t.get_text() for t in id_bar.get_yticklabels())


def write_component_lengths(folder, lengths: dict[str, list[int]]) -> None:
    """A pile whose components hold rows of the given numbers of bins (train only)."""
    from builders.storage.atomic import write_text_atomic
    from builders.storage.card import card_yaml
    from builders.storage.layout import empty_shard_path, shard_path
    from builders.storage.shards import write_rows_atomic

    rng = np.random.default_rng(9)
    for component, bins in lengths.items():
        rows = [make_row(rng, component, "sub-1", f"{component}-s", k, 4, n) for k, n in enumerate(bins)]
        write_rows_atomic(shard_path(folder, component, "train", f"{component}-s"), rows)
        write_rows_atomic(empty_shard_path(folder, component, "test"), [])
    write_text_atomic(folder / "README.md", card_yaml(folder, list(lengths)) + "\n# test pile\n")


def test_every_figure_of_one_command_sums_the_same_blocks(tmp_path, monkeypatch):
    folder = tmp_path / "pile"
    write_component_lengths(folder, {"demo": [120, 90], "v2h": [950, 400]})
    drawn = []
    original = figures.save_figure

    def keep(fig, path, **kwargs):
        drawn.append(fig)
        return original(fig, path, **kwargs)

    monkeypatch.setattr(figures, "save_figure", keep)
    piles = [open_pile(folder, config, ["train"]) for config in ("demo", "v2h")]
    paths = list(figures.plot_configs(piles, tmp_path / "out", n_examples=2, max_bins=100))
    assert [p.name for p in paths] == ["raster_demo_train_2rows_seed0.png", "raster_v2h_train_2rows_seed0.png"]
    k = math.ceil(950 / 100)  # the longest row of any figure decides the block of all of them
    labels = [colour_bars(fig)[0].get_ylabel().split("\n")[0] for fig in drawn]
    assert labels == [f"spikes per {k * 20} ms ({k} bins of 20 ms summed)"] * 2
    for fig, lengths in zip(drawn, ([120, 90], [950, 400])):
        shown = sorted(ax.images[0].get_array().shape[1] for ax in fig.axes if ax.images)
        assert shown == sorted(math.ceil(n / k) for n in lengths)
    # alone, the demo figure would have summed 2 bins: the shared block is not each figure's own
    alone = raster_figure(figures.read_panels(piles[0], figures.sample_rows(piles[0], 2, 0)), "x", max_bins=100)
    assert colour_bars(alone)[0].get_ylabel().startswith("spikes per 40 ms (2 bins")


def test_visualize_all_uses_one_block_and_a_reordered_pile_says_so(tmp_path, monkeypatch):
    folder = tmp_path / "pile"
    write_pile_folder(folder, {"demo": (1, 0), "vbn": (1, 0)}, seed=6)
    assert main(["reorder", "--in", str(folder), "--out", str(tmp_path / "reordered"), "--no-progress"]) == 0
    drawn = []
    original = figures.save_figure
    monkeypatch.setattr(
        figures, "save_figure", lambda fig, path, **kw: (drawn.append(fig), original(fig, path, **kw))[1]
    )
    assert main(["visualize", "--dataset", str(tmp_path / "reordered"), "--all", "--n-examples", "2"]) == 0
    assert len(drawn) == 2
    for fig in drawn:
        assert "(neurons reordered)" in fig.get_suptitle()
        assert all(ax.get_ylabel() == "unit (reordered)" for ax in fig.axes if ax.images)


def test_stats_figure_labels_each_component_with_its_test_share(tmp_path):
    from builders.jobs.stats import dataset_stats

    folder = tmp_path / "pile"
    written = write_pile_folder(folder, {"vbn": (2, 1), "v2h": (1, 1)}, seed=7)
    stats = dataset_stats(open_pile(folder, "all", ["train", "test"]), progress=False)
    assert sorted(stats["parts"]) == ["v2h", "vbn"]
    fig = figures.token_stats_figure(stats)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    for splits in written.values():
        tokens = {s: sum(int(r["n_neurons"]) * int(r["n_time_bins"]) for r in rows) for s, rows in splits.items()}
        share = tokens["test"] / (tokens["train"] + tokens["test"])
        assert f"test {share:.2%}" in texts
    train_only = dataset_stats(open_pile(folder, "all", ["train"]), progress=False)
    fig = figures.token_stats_figure(train_only)
    assert not [t for ax in fig.axes for t in ax.texts] and "(test not counted)" in fig.axes[1].get_title()
