"""End-to-end builds on synthetic recordings: CLI, resume, bad input, builder class, load_dataset."""

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from builders.archives import list_sessions
from builders.build.pipeline import BuildOptions, build, plan, process_session
from builders.build.rows import session_to_rows
from builders.cli.main import main as cli
from builders.runtime.executor import SerialExecutor
from builders.spec.counts import iter_spike_counts, spike_counts_array
from builders.spec.features import FEATURES
from builders.spec.registry import get_component
from builders.storage import layout
from builders.synthetic.recordings import write_demo_recordings, write_nwb_session

MAX_TOKENS = 200_000  # small, so that the small demo still exercises chunking


@pytest.fixture(scope="module")
def small_demo_recordings_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo_data")
    write_demo_recordings(folder, seed=3, scale=0.05)
    return folder


@pytest.fixture(scope="module")
def built_demo_pile_folder(small_demo_recordings_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "pile"
    code = cli(
        [
            "build",
            "demo",
            "--data-dir",
            str(small_demo_recordings_dir),
            "--out",
            str(out),
            "--max-tokens",
            str(MAX_TOKENS),
            "--no-progress",
        ]
    )
    assert code == 0
    return out


def read_rows(out, component="demo"):
    """Every row of a built component, keyed by (session, segment), spike_counts as arrays."""
    rows = {}
    for path in sorted((Path(out) / "data" / component).glob("*.parquet")):
        table = pq.read_table(path)
        for row, counts in zip(table.drop(["spike_counts"]).to_pylist(), table.column("spike_counts").to_pylist()):
            row["spike_counts"] = np.array(counts, dtype=np.uint8).reshape(row["n_neurons"], row["n_time_bins"])
            row["split"] = path.name.split("-", 1)[0]
            rows[(row["subject_id"], row["session_id"], row["segment_id"])] = row
    return rows


def test_layout_card_and_report(built_demo_pile_folder, small_demo_recordings_dir):
    sessions = list_sessions(get_component("demo"), data_dir=small_demo_recordings_dir)
    report = json.loads((built_demo_pile_folder / layout.REPORT).read_text())
    demo = report["components"]["demo"]
    assert demo["sessions_built"] == len(sessions) > 0
    assert demo["failed"] == [] and demo["skipped"] == []
    for split in ("train", "test"):
        assert list((built_demo_pile_folder / "data" / "demo").glob(f"{split}-*.parquet")), f"no {split} shard"
    card = (built_demo_pile_folder / "README.md").read_text()
    assert "config_name: demo" in card and "data/demo/train-*.parquet" in card
    assert "bin size: 0.02 s" in card and str(MAX_TOKENS) in card.replace(",", "")
    assert not list(built_demo_pile_folder.rglob(".*.tmp-*")), "temporary files left behind"


def test_rows_are_the_session_function_output(built_demo_pile_folder, small_demo_recordings_dir):
    """The demo (6 sessions) is split by its time tail: the last 1% of each session's bins is test."""
    rows = read_rows(built_demo_pile_folder)
    comp = get_component("demo")
    n_segments = 0
    for session in list_sessions(comp, data_dir=small_demo_recordings_dir):
        expected = session_to_rows(comp, session, max_tokens=MAX_TOKENS, held_out_fraction=0.01)
        whole = session_to_rows(comp, session, max_tokens=MAX_TOKENS)
        n_bins = whole.n_time_bins
        assert sum(r["n_time_bins"] for r in expected.held_out_rows) == int(n_bins * 0.01 + 0.5) > 0
        joined = np.concatenate([r["spike_counts"] for r in expected.rows + expected.held_out_rows], axis=1)
        np.testing.assert_array_equal(joined, np.concatenate([r["spike_counts"] for r in whole.rows], axis=1))
        n_segments += len(expected.rows) + len(expected.held_out_rows)
        for split, part in (("train", expected.rows), ("test", expected.held_out_rows)):
            for row in part:
                got = rows[(session.subject_id, session.session_id, row["segment_id"])]
                assert got["split"] == split
                np.testing.assert_array_equal(got["spike_counts"], row["spike_counts"])
                assert got["unit_ids"] == list(row["unit_ids"]) and got["unit_regions"] == row["unit_regions"]
                assert got["t_start"] == pytest.approx(row["t_start"])
                assert got["n_neurons"] * got["n_time_bins"] <= MAX_TOKENS + got["n_neurons"]
    assert n_segments == len(rows)
    assert any(r["segment_id"] == "segment_1" for r in rows.values()), "demo should exercise chunking"


def test_load_dataset_and_fast_accessor(built_demo_pile_folder):
    ds = load_dataset(str(built_demo_pile_folder), "demo", split="train")
    assert ds.features == FEATURES and len(ds) > 0
    test = load_dataset(str(built_demo_pile_folder), "demo", split="test")
    assert test.features == FEATURES
    for i in range(min(3, len(ds))):
        fast = spike_counts_array(ds, i)
        assert fast.dtype == np.uint8 and fast.shape == (ds[i]["n_neurons"], ds[i]["n_time_bins"])
        np.testing.assert_array_equal(fast, np.array(ds[i]["spike_counts"], dtype=np.uint8))
    streamed = list(iter_spike_counts(ds, batch_size=2))
    assert len(streamed) == len(ds)
    shuffled = ds.shuffle(seed=1)  # an indices mapping: the accessor must follow it
    for i in range(len(ds)):
        np.testing.assert_array_equal(streamed[i], spike_counts_array(ds, i))
        np.testing.assert_array_equal(
            spike_counts_array(shuffled, i), np.array(shuffled[i]["spike_counts"], dtype=np.uint8)
        )


def test_second_component_keeps_first_and_all_config(built_demo_pile_folder, tmp_path):
    out = tmp_path / "pile"
    shutil.copytree(built_demo_pile_folder, out)
    peyrache = tmp_path / "000056" / "sub-P1"
    peyrache.mkdir(parents=True)
    write_nwb_session(
        peyrache / "sub-P1_ses-A_ecephys.nwb", subject_id="P1", session_id="A", n_units=12, duration_s=60.0, seed=11
    )
    code = cli(
        [
            "build",
            "peyrache",
            "--data-dir",
            str(tmp_path / "000056"),
            "--out",
            str(out),
            "--max-tokens",
            str(MAX_TOKENS),
            "--no-progress",
        ]
    )
    assert code == 0
    everything = load_dataset(str(out))  # default config: all (demo excluded); an empty split loads as absent
    assert {s for split in everything.values() for s in split["source_dataset"]} == {"peyrache"}
    demo = load_dataset(str(out), "demo", split="train")
    assert set(demo["source_dataset"]) == {"demo"}
    report = json.loads((out / layout.REPORT).read_text())
    assert set(report["components"]) == {"demo", "peyrache"}


def test_interrupted_build_resumes_to_the_same_folder(built_demo_pile_folder, small_demo_recordings_dir, tmp_path):
    options = BuildOptions(out=str(tmp_path / "pile"), data_dir=str(small_demo_recordings_dir), max_tokens=MAX_TOKENS)

    class DiesHalfWay(SerialExecutor):
        """Builds half of its items, then is interrupted (as by Ctrl-C)."""

        def map(self, task, items, **kwargs):
            super().map(task, list(items)[: len(items) // 2], **kwargs)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(["demo"], options, executor=DiesHalfWay(), progress=False)
    remaining = plan(["demo"], options, progress=False)
    assert 0 < len(remaining.jobs) < len(remaining.jobs) + remaining.resumed
    report, records = build(["demo"], options, progress=False)
    assert len(records) == len(remaining.jobs)  # finished sessions were not redone
    first, second = read_rows(built_demo_pile_folder), read_rows(options.out)
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key]["spike_counts"], second[key]["spike_counts"])


def test_bad_session_is_reported_and_others_built(small_demo_recordings_dir, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(small_demo_recordings_dir, data)
    victim = sorted(data.rglob("*.nwb"))[0]
    victim.write_bytes(victim.read_bytes()[:4096])  # truncated file
    out = tmp_path / "pile"
    args = [
        "build",
        "demo",
        "--data-dir",
        str(data),
        "--out",
        str(out),
        "--max-tokens",
        str(MAX_TOKENS),
        "--no-progress",
    ]
    assert cli(args) == 1
    err = capsys.readouterr().err
    assert victim.name in err
    report = json.loads((out / layout.REPORT).read_text())
    assert len(report["components"]["demo"]["failed"]) == 1
    assert report["components"]["demo"]["sessions_built"] == len(list(data.rglob("*.nwb"))) - 1
    assert cli(args + ["--allow-failures"]) == 0  # the failed session is retried, still fails, accepted


def test_bad_arguments(tmp_path, capsys, small_demo_recordings_dir):
    assert cli(["build", "vbm", "--out", str(tmp_path / "x")]) == 2
    assert "unknown component 'vbm'" in capsys.readouterr().err
    assert cli(["build", "demo", "--test-fraction", "2", "--out", str(tmp_path / "x")]) == 2
    assert "--test-fraction" in capsys.readouterr().err and not (tmp_path / "x").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert (
        cli(["build", "demo", "--data-dir", str(small_demo_recordings_dir), "--out", str(other), "--no-progress"]) == 2
    )
    assert str(other) in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "mine"
    assert (
        cli(["build", "demo", "--data-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "y"), "--no-progress"])
        == 2
    )
    assert "missing" in capsys.readouterr().err and not (tmp_path / "y").exists()


def test_parameters_mismatch_refused(built_demo_pile_folder, tmp_path, small_demo_recordings_dir, capsys):
    out = tmp_path / "pile"
    shutil.copytree(built_demo_pile_folder, out)
    assert (
        cli(
            [
                "build",
                "demo",
                "--data-dir",
                str(small_demo_recordings_dir),
                "--out",
                str(out),
                "--bin-size",
                "0.01",
                "--no-progress",
            ]
        )
        == 2
    )
    assert "bin_size" in capsys.readouterr().err


def test_failed_write_leaves_nothing(tmp_path):
    from builders.storage.shards import write_rows_atomic

    target = tmp_path / "data" / "demo" / "train-x.parquet"
    with pytest.raises(KeyError, match="unit_ids"):
        write_rows_atomic(target, [{"spike_counts": np.zeros((2, 3), np.uint8)}])  # missing columns
    assert not target.exists() and not list(target.parent.glob(".*"))


def test_builder_class_with_num_proc(built_demo_pile_folder, small_demo_recordings_dir, tmp_path):
    from neural_pile_rodent import NeuralPileRodent

    builder = NeuralPileRodent(
        config_name="demo",
        data_dir=str(small_demo_recordings_dir),
        cache_dir=str(tmp_path / "cache"),
        max_tokens=MAX_TOKENS,
    )
    builder.download_and_prepare(num_proc=2)
    train = builder.as_dataset(split="train")
    test = builder.as_dataset(split="test")
    expected = read_rows(built_demo_pile_folder)
    assert len(train) + len(test) == len(expected)
    for ds in (train, test):
        for i in range(len(ds)):
            row = ds[i]
            key = (row["subject_id"], row["session_id"], row["segment_id"])
            np.testing.assert_array_equal(spike_counts_array(ds, i), expected[key]["spike_counts"])
    # the cache key follows the code, the config and the inputs
    same = NeuralPileRodent(
        config_name="demo",
        data_dir=str(small_demo_recordings_dir),
        cache_dir=str(tmp_path / "cache"),
        max_tokens=MAX_TOKENS,
    )
    other = NeuralPileRodent(
        config_name="demo",
        data_dir=str(small_demo_recordings_dir),
        cache_dir=str(tmp_path / "cache"),
        max_tokens=MAX_TOKENS // 2,
    )
    assert same.hash == builder.hash != other.hash


def test_process_session_is_idempotent(small_demo_recordings_dir, tmp_path):
    options = BuildOptions(out=str(tmp_path / "pile"), data_dir=str(small_demo_recordings_dir), max_tokens=MAX_TOKENS)
    job = plan(["demo"], options, progress=False).jobs[0]
    first = process_session(job)
    second = process_session(job)
    assert first["status"] == second["status"] == "done"
    assert first["tokens"] == second["tokens"] and first["shards"] == second["shards"]


def test_module_imports_beside_a_built_folder_of_the_same_name(tmp_path):
    """`load_dataset("neural_pile_rodent")` and `import neural_pile_rodent` work from one folder."""
    import subprocess
    import sys

    (tmp_path / "neural_pile_rodent" / "data").mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, "-c", "import neural_pile_rodent as m; print(m.spike_counts_array.__name__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "spike_counts_array" in done.stdout, done.stderr[-2000:]
