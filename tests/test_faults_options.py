"""Numeric options out of their bounds are refused up front, in one line naming the option and the
bound, and nothing is written; the demo never silently ignores ``--seed`` / ``--scale``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders.cli.common import MAX_RASTERS, MAX_TOP_MOTIFS
from builders.cli.main import main
from builders.synthetic.recordings import DEMO_RECORD, write_demo_recordings
from tests.support.pile_folder import write_pile_folder
from tokenizer.motif_table import read_motif_table


@pytest.fixture(scope="module")
def pile_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("pile") / "pile"
    write_pile_folder(out, {"vbn": (2, 1)}, seed=2)
    return out


@pytest.fixture(scope="module")
def motif_table_folder(pile_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("table") / "table"
    assert main(["motifs", "--dataset", str(pile_folder), "--patch-size", "1", "2", "--out", str(out), "--quiet"]) == 0
    return out


def refused(args: list[str], capsys, *words: str) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for word in words:
        assert word in err, err
    return err


@pytest.mark.parametrize(
    "option, value, bound",
    [
        ("--scale", "0", "> 0 and at most 4"),
        ("--scale", "-1", "> 0 and at most 4"),
        ("--scale", "nan", "> 0 and at most 4"),
        ("--scale", "inf", "> 0 and at most 4"),
        ("--scale", "1e6", "> 0 and at most 4"),
        ("--seed", "-1", "[0, 4,294,967,295]"),
        ("--n-examples", "0", f"[1, {MAX_RASTERS}]"),
        ("--n-examples", "-1", f"[1, {MAX_RASTERS}]"),
        ("--num-proc", "0", "at least 1"),
    ],
)
def test_demo_refuses_bad_options_before_writing(option, value, bound, tmp_path, capsys):
    args = ["demo", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"), option, value]
    refused(args, capsys, option, bound)
    assert not list(tmp_path.iterdir())


def test_demo_refuses_other_seed_or_scale_for_recordings_it_already_wrote(tmp_path, capsys):
    data = tmp_path / "data"
    write_demo_recordings(data, seed=0, scale=0.02)
    capsys.readouterr()
    assert json.loads((data / DEMO_RECORD).read_text()) == {"component": "demo", "seed": 0, "scale": 0.02}
    before = {p: p.stat().st_mtime_ns for p in data.rglob("*")}
    base = ["demo", "--data-dir", str(data), "--out", str(tmp_path / "out"), "--num-proc", "1"]
    refused([*base, "--scale", "0.5"], capsys, "--scale 0.5", "seed 0, scale 0.02", "new folder")
    refused([*base, "--seed", "1"], capsys, "--seed 1", "seed 0, scale 0.02")
    assert {p: p.stat().st_mtime_ns for p in data.rglob("*")} == before  # nothing rewritten
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--top", "0"], ["--top", f"[1, {MAX_TOP_MOTIFS}]"]),
        (["--top", str(10**12)], ["--top", f"[1, {MAX_TOP_MOTIFS}]"]),
        (["--patch-size", str(10**12), "10"], ["patch_size", "at most 65,536"]),
    ],
)
def test_motifs_bounds(args, words, pile_folder, tmp_path, capsys):
    base = ["motifs", "--dataset", str(pile_folder), "--out", str(tmp_path / "out"), "--quiet"]
    if "--patch-size" not in args:
        base += ["--patch-size", "1", "2"]
    err = refused(base + args, capsys, *words)
    assert str(pile_folder) not in err  # the option is named, not a data file
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--n-examples", "0"], ["--n-examples", f"[1, {MAX_RASTERS}]"]),
        (["--n-examples", str(10**12)], ["--n-examples", f"[1, {MAX_RASTERS}]"]),
        (["--seed", "-1"], ["--seed"]),
    ],
)
def test_visualize_bounds(args, words, pile_folder, tmp_path, capsys):
    refused(["visualize", "--dataset", str(pile_folder), "--out-dir", str(tmp_path / "figs"), *args], capsys, *words)
    assert not (tmp_path / "figs").exists()


@pytest.mark.parametrize("top", ["0", "-1", str(10**12)])
def test_visualize_motifs_top_bounds(top, motif_table_folder, capsys):
    before = sorted(p.name for p in motif_table_folder.iterdir())
    refused(["visualize", "--motifs", str(motif_table_folder), "--top", top], capsys, "--top", f"[1, {MAX_TOP_MOTIFS}]")
    assert sorted(p.name for p in motif_table_folder.iterdir()) == before


def test_a_figure_is_named_for_the_rows_it_holds(pile_folder, tmp_path, capsys):
    import pyarrow.parquet as pq

    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in (pile_folder / "data" / "vbn").glob("train-*.parquet"))
    assert rows < MAX_RASTERS  # ask for more rows than the split holds
    args = ["visualize", "--dataset", str(pile_folder), "--config", "vbn", "--out-dir", str(tmp_path), "--n-examples"]
    assert main([*args, str(MAX_RASTERS)]) == 0
    written = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert written.name == f"raster_vbn_train_{rows}rows_seed0.png" and written.exists()


def test_sample_bounds(pile_folder, capsys):
    refused(["sample", "--dataset", str(pile_folder), "--config", "vbn", "-n", str(10**12)], capsys, "-n", "[1, 1,000]")


@pytest.mark.parametrize("vocab_size", ["0", "1", str(10**8)])
def test_train_tokenizer_one_rule_one_message_nothing_written(vocab_size, motif_table_folder, tmp_path, capsys):
    available = len(read_motif_table(motif_table_folder).counts)  # the silent motif is among them
    out = tmp_path / "tok"
    refused(
        [
            "train-tokenizer",
            "--motifs",
            str(motif_table_folder),
            "--vocab-size",
            vocab_size,
            "--out",
            str(out),
            "--quiet",
        ],
        capsys,
        f"vocab_size must be in [2, {available}]",
        f"got {vocab_size}",
    )
    assert not out.exists()
