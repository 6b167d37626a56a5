"""Every job reads the pile wherever it lives: a local folder, a Hub repo (loopback stand-in), in this
package's layout or the reference project's published one.

Expectations come from the rows the pile writers returned (direct counts, brute-force motif
counts) and from the files on disk (bytes), never from the code under test.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from builders.cli.main import main as cli_main
from builders.pile import PileError, open_pile, parse_reference
from builders.spec.counts import table_spike_counts
from tests.support.constants import HUB_PILE_COMPONENTS, REFERENCE_REPO
from tests.support.motif_counts import as_counter, brute_force
from tokenizer.motif_table import read_motif_table


def direct_histogram(arrays) -> np.ndarray:
    out = np.zeros(256, np.int64)
    for a in arrays:
        out += np.bincount(a.ravel(), minlength=256)
    return out


def rows_of(pile) -> list[np.ndarray]:
    return [np.array(a) for _, t in pile.iter_tables() for a in table_spike_counts(t)]


# ------------------------------------------------------------------------------------ references


@pytest.mark.parametrize(
    "given, kind, location, revision",
    [
        ("user/neural-pile-rodent", "hub", "user/neural-pile-rodent", None),
        ("user/neural-pile-rodent@v1.0", "hub", "user/neural-pile-rodent", "v1.0"),
        ("hf://datasets/user/pile@abc/sub", "hub", "user/pile", "abc"),
        ("s3://bucket/pile", "url", "s3://bucket/pile", None),
    ],
)
def test_references_are_classified(given, kind, location, revision):
    ref = parse_reference(given)
    assert (ref.kind, ref.location, ref.revision) == (kind, location, revision)


def test_an_existing_folder_wins_over_a_repo_id(tmp_path, monkeypatch):
    (tmp_path / "user" / "pile").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert parse_reference("user/pile").kind == "local"
    with pytest.raises(PileError, match="no such folder"):
        parse_reference("./missing/folder/x")


# ------------------------------------------------------------------------------ local folders


def test_package_layout_configs_and_default(package_pile_folder_and_rows):
    folder, written = package_pile_folder_and_rows
    default = open_pile(folder, None, None)
    assert default.source.config == "all"  # the card's default: every real component
    assert sorted(default.source.splits) == ["test", "train"]
    expected = [r["spike_counts"] for c in ("v2h", "vbn") for s in ("train", "test") for r in written[c][s]]
    np.testing.assert_array_equal(direct_histogram(rows_of(default)), direct_histogram(expected))
    demo = open_pile(folder, "demo", ["test"])
    assert [np.array(a).tolist() for a in rows_of(demo)] == [
        r["spike_counts"].tolist() for r in written["demo"]["test"]
    ]
    with pytest.raises(PileError, match="no config 'nosuch'; this pile holds: all, demo, v2h, vbn"):
        open_pile(folder, "nosuch")
    with pytest.raises(PileError, match="config 'v2h' has no split 'test'; it has: train"):
        open_pile(folder, "v2h", ["test"])


def test_reference_layout_selects_components_by_source_dataset(reference_pile):
    every = open_pile(reference_pile.folder, None, ["train", "test"])
    assert every.source.layout == "single-config" and every.source_filter is None
    assert len(rows_of(every)) == reference_pile.n_rows()
    assert open_pile(reference_pile.folder, "all", ["train"]).num_rows() == reference_pile.n_rows(splits=("train",))
    for component in HUB_PILE_COMPONENTS:
        pile = open_pile(reference_pile.folder, component, ["train", "test"])
        got = rows_of(pile)
        assert len(got) == reference_pile.n_rows(component)
        np.testing.assert_array_equal(direct_histogram(got), reference_pile.value_counts(component))
    with pytest.raises(PileError, match="matches nothing.*source_dataset values: demo, v2h, vbn"):
        open_pile(reference_pile.folder, "nosuch")


def test_stats_command_equals_a_direct_count_on_both_layouts(reference_pile, package_pile_folder_and_rows, tmp_path):
    assert (
        cli_main(
            [
                "stats",
                "--dataset",
                str(reference_pile.folder),
                "--config",
                "vbn",
                "--out-dir",
                str(tmp_path / "ref"),
                "--no-progress",
            ]
        )
        == 0
    )
    saved = json.loads(next((tmp_path / "ref").glob("*.json")).read_text())
    np.testing.assert_array_equal(saved["counts"], reference_pile.value_counts("vbn"))
    assert set(saved["parts"]) == {"vbn"}
    folder, written = package_pile_folder_and_rows
    assert cli_main(["stats", "--dataset", str(folder), "--out-dir", str(tmp_path / "pkg"), "--no-progress"]) == 0
    saved = json.loads(next((tmp_path / "pkg").glob("*.json")).read_text())
    for component in ("v2h", "vbn"):
        for split in ("train", "test"):
            assert saved["parts"][component][split]["rows"] == len(written[component][split])


def test_dataset_without_spike_counts_is_one_line(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "p" / "data").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1, 2]}), tmp_path / "p" / "data" / "train-00000-of-00001.parquet")
    assert cli_main(["stats", "--dataset", str(tmp_path / "p"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "no column spike_counts" in err and "train-00000-of-00001.parquet" in err and "Traceback" not in err


def test_commands_default_to_the_folder_make_demo_leaves(tmp_path, monkeypatch, capsys):
    from tests.support.pile_folder import write_pile_folder

    written = write_pile_folder(tmp_path / "neural_pile_rodent", {"demo": (2, 1)}, seed=8)
    monkeypatch.chdir(tmp_path)
    assert cli_main(["stats", "--no-progress"]) == 0
    assert cli_main(["motifs", "--patch-size", "1", "5", "--out", "m", "--quiet"]) == 0
    arrays = [r["spike_counts"] for r in written["demo"]["train"]]
    table = read_motif_table(tmp_path / "m")
    assert as_counter(table.motifs, table.counts) == brute_force(arrays, (1, 5))
    assert cli_main(["visualize", "--n-examples", "2"]) == 0
    assert list((tmp_path / "neural_pile_rodent" / "figures").glob("raster_demo_train_*.png"))
    capsys.readouterr()
    assert cli_main(["motifs", "--patch-size", "1", "5", "--config", "all", "--out", "m2"]) == 2
    assert "no config 'all'; this pile holds: demo" in capsys.readouterr().err
    assert cli_main(["motifs", "--patch-size", "0", "10", "--out", "m3"]) == 2
    assert not (tmp_path / "m2").exists() and not (tmp_path / "m3").exists()


# ------------------------------------------------------------------------------------- the Hub


def hf_home_bytes(tmp_path) -> int:
    home = tmp_path / "hf_home"
    return sum(p.stat().st_size for p in home.rglob("*") if p.is_file()) if home.exists() else 0


def test_every_command_on_a_reference_layout_hub_repo(reference_layout_repo, hub, tmp_path):
    repo, pile = reference_layout_repo
    # stats: a direct count, every file read about once, nothing cached locally
    hub.reset_counts()
    assert cli_main(["stats", "--dataset", repo, "--out-dir", str(tmp_path / "stats"), "--no-progress"]) == 0
    saved = json.loads(next((tmp_path / "stats").glob("*.json")).read_text())
    np.testing.assert_array_equal(saved["counts"], pile.value_counts())
    assert saved["source"]["repo_id"] == repo and len(saved["source"]["commit"]) == 40
    for _split, paths in pile.files.items():
        for path in paths:
            size = (pile.folder / path).stat().st_size
            assert hub.file_bytes(repo, path) <= 1.1 * size + 65536, path
    assert hf_home_bytes(tmp_path) < 100_000
    # motifs per config equal a brute-force count over the component's train rows
    for component in ("vbn", "demo"):
        out = tmp_path / f"motifs_{component}"
        assert (
            cli_main(
                [
                    "motifs",
                    "--dataset",
                    repo,
                    "--config",
                    component,
                    "--patch-size",
                    "1",
                    "4",
                    "--out",
                    str(out),
                    "--quiet",
                ]
            )
            == 0
        )
        table = read_motif_table(out)
        arrays = [r["spike_counts"] for r in pile.select(component, ("train",))]
        assert as_counter(table.motifs, table.counts) == brute_force(arrays, (1, 4))
        assert table.metadata["sources"][0]["source_filter"] == component
    # rasters are drawn; reorder's output loads with its config
    assert (
        cli_main(
            [
                "visualize",
                "--dataset",
                f"{repo}@main",
                "--config",
                "vbn",
                "--n-examples",
                "3",
                "--out-dir",
                str(tmp_path / "figs"),
            ]
        )
        == 0
    )
    assert list((tmp_path / "figs").glob("raster_vbn_train_3rows_seed0.png"))
    reordered = tmp_path / "reordered"
    assert cli_main(["reorder", "--in", f"hf://datasets/{repo}", "--out", str(reordered), "--no-progress"]) == 0
    from datasets import load_dataset

    loaded = load_dataset(str(reordered), "default", split="train", cache_dir=str(tmp_path / "cache"))
    assert len(loaded) == pile.n_rows(splits=("train",)) and "neuron_order" in loaded.features


def test_package_layout_hub_repo_reads_per_config(package_layout_repo, hub, tmp_path):
    repo, written = package_layout_repo
    pile = open_pile(repo, "vbn", ["train", "test"])
    expected = [r["spike_counts"] for s in ("train", "test") for r in written["vbn"][s]]
    np.testing.assert_array_equal(direct_histogram(rows_of(pile)), direct_histogram(expected))
    reordered = tmp_path / "reordered"
    assert cli_main(["reorder", "--in", repo, "--out", str(reordered), "--no-progress"]) == 0
    from datasets import load_dataset

    for config in ("all", "demo", "v2h", "vbn"):
        dsd = load_dataset(str(reordered), config, cache_dir=str(tmp_path / "cache"))
        components = ["v2h", "vbn"] if config == "all" else [config]
        assert sum(len(d) for d in dsd.values()) == sum(
            len(written[c][s]) for c in components for s in ("train", "test")
        )


def test_hub_errors_are_one_line(hub, reference_pile, capsys):
    hub.add_repo(REFERENCE_REPO, reference_pile.folder)
    hub.add_repo("loopback/private", reference_pile.folder, private=True)
    cases = [
        (["stats", "--dataset", "loopback/nope"], "no such dataset repo"),
        (["stats", "--dataset", f"{REFERENCE_REPO}@v9"], "has no revision 'v9'"),
        (["stats", "--dataset", "loopback/private"], "private"),
        (["stats", "--dataset", REFERENCE_REPO, "--config", "nosuch"], "source_dataset values: demo, v2h, vbn"),
    ]
    for argv, message in cases:
        assert cli_main([*argv, "--no-progress", "--out-dir", "unused"]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_a_dropped_connection_is_retried_then_named(reference_layout_repo, hub):
    repo, pile = reference_layout_repo
    path = pile.files["train"][0]
    opened = open_pile(repo, None, ["train"])
    groups = [g for g in opened.row_groups() if g.path.endswith(path)]
    hub.drop(hub.key(repo, path), times=1)
    assert opened.read(groups[0]).num_rows == groups[0].num_rows
    hub.break_path(hub.key(repo, path), status=403)  # answered at once (a 5xx is retried by the client for long)
    fresh = open_pile(repo, None, ["train"])
    fresh_groups = [g for g in fresh.row_groups() if g.path.endswith(path)] if False else None
    with pytest.raises(PileError, match=path.replace(".", r"\.")):
        fresh.read(groups[-1])
    del fresh_groups


def test_a_local_copy_of_a_hub_repo_reads_the_same(reference_pile, tmp_path):
    copy = shutil.copytree(reference_pile.folder, tmp_path / "copy")
    pile = open_pile(copy, "v2h", ["train"])
    np.testing.assert_array_equal(direct_histogram(rows_of(pile)), reference_pile.value_counts("v2h", ("train",)))


def test_an_fsspec_url_reads_like_a_folder(reference_pile):
    """Any fsspec filesystem serves a pile (s3://, gs:// with their packages); here fsspec's in-memory one."""
    import fsspec

    memory = fsspec.filesystem("memory")
    for path in reference_pile.folder.rglob("*"):
        if path.is_file():
            memory.pipe(f"/pile/{path.relative_to(reference_pile.folder).as_posix()}", path.read_bytes())
    try:
        pile = open_pile("memory://pile", "vbn", ["train", "test"])
        assert pile.source.uri == "memory://pile" and pile.source_filter == "vbn"
        np.testing.assert_array_equal(direct_histogram(rows_of(pile)), reference_pile.value_counts("vbn"))
        with pytest.raises(PileError, match="no such folder"):
            open_pile("memory://nowhere")
    finally:
        memory.rm("/pile", recursive=True)
