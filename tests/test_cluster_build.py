"""Issue 3 end to end: streamed builds through the DANDI stand-in, Ray builds, kill -9 and resume."""

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from builders.cli.main import main as cli
from builders.storage import layout
from tests.support.loopback import DandiStandIn, FileServer

REPO = Path(__file__).resolve().parents[1]
MAX_TOKENS = 200_000
DANDISET = "000056"  # peyrache, pinned to 0.250624.0430 in the registry
PINNED = "0.250624.0430"


def folder_rows(out: Path, component: str) -> dict:
    """Every row of a built component keyed by (subject, session, segment), with its split."""
    rows = {}
    for path in sorted((out / "data" / component).glob("*.parquet")):
        split = path.name.split("-")[0]
        table = pq.read_table(path)
        for i, meta in enumerate(table.drop(["spike_counts"]).to_pylist()):
            counts = np.concatenate(table.column("spike_counts")[i].values.to_numpy(zero_copy_only=False))
            rows[(meta["subject_id"], meta["session_id"], meta["segment_id"])] = (split, meta, counts.tobytes())
    return rows


@pytest.fixture(scope="module")
def served_archive(tmp_path_factory, demo_recordings_dir):
    """The small demo served as dandiset 000056 through a file server and a DANDI stand-in."""
    root = tmp_path_factory.mktemp("archive")
    shutil.copytree(demo_recordings_dir, root / DANDISET)
    with FileServer(root) as files, DandiStandIn(files, page_size=2) as dandi:
        dandi.add_dandiset(DANDISET, DANDISET, published=(PINNED,))
        yield root, files, dandi


@pytest.fixture(scope="module")
def local_build_folder(served_archive, tmp_path_factory):
    root, _, _ = served_archive
    out = tmp_path_factory.mktemp("local") / "pile"
    assert (
        cli(
            [
                "build",
                "peyrache",
                "--data-dir",
                str(root / DANDISET),
                "--out",
                str(out),
                "--max-tokens",
                str(MAX_TOKENS),
                "--no-progress",
            ]
        )
        == 0
    )
    return out


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch):
    monkeypatch.setenv("DANDI_NO_ET", "1")
    monkeypatch.setenv("NEURAL_PILE_HTTP_ATTEMPTS", "3")
    monkeypatch.setenv("NEURAL_PILE_HTTP_BACKOFF_S", "0.01")


def streamed_build(dandi, out) -> int:
    """``neural-pile build peyrache`` streamed through the DANDI stand-in into ``out``; the exit code."""
    argv = ["build", "peyrache", "--dandi-api-url", dandi.api_url, "--out", str(out), "--max-tokens", str(MAX_TOKENS)]
    return cli([*argv, "--no-progress"])


def test_streamed_build_equals_local_build(served_archive, local_build_folder, tmp_path):
    _, files, dandi = served_archive
    files.reset_counts()
    out = tmp_path / "pile"
    assert streamed_build(dandi, out) == 0
    assert folder_rows(out, "peyrache") == folder_rows(local_build_folder, "peyrache")
    card = (out / "README.md").read_text()
    assert PINNED in card


def test_broken_asset_is_reported_and_the_rest_built(served_archive, local_build_folder, tmp_path, capsys):
    root, files, dandi = served_archive
    victim = sorted(p.relative_to(root).as_posix() for p in (root / DANDISET).rglob("*.nwb"))[1]
    files.break_path(victim, status=500)
    try:
        out = tmp_path / "pile"
        code = streamed_build(dandi, out)
    finally:
        files.clear_faults()
    assert code == 1
    assert Path(victim).name in capsys.readouterr().err
    built, expected = folder_rows(out, "peyrache"), folder_rows(local_build_folder, "peyrache")
    assert built and all(built[k] == expected[k] for k in built)
    assert len({k[:2] for k in expected} - {k[:2] for k in built}) == 1
    # the asset comes back: a rerun builds only the missing session and completes the folder
    assert streamed_build(dandi, out) == 0
    assert folder_rows(out, "peyrache") == expected


@pytest.mark.ray
def test_ray_build_equals_single_machine_build(served_archive, local_build_folder, local_ray, tmp_path):
    root, _, _ = served_archive
    out = tmp_path / "pile"
    assert (
        cli(
            [
                "build",
                "peyrache",
                "--data-dir",
                str(root / DANDISET),
                "--out",
                str(out),
                "--max-tokens",
                str(MAX_TOKENS),
                "--no-progress",
                "--ray",
            ]
        )
        == 0
    )
    assert folder_rows(out, "peyrache") == folder_rows(local_build_folder, "peyrache")
    report = (out / layout.REPORT).read_text()
    assert '"failed": []' in report


def test_killed_build_resumes_to_the_same_folder(tmp_path):
    from builders.synthetic.recordings import write_demo_recordings

    data = tmp_path / "data"
    write_demo_recordings(data, seed=4, scale=0.25)  # sessions big enough to kill the build between them
    expected = tmp_path / "uninterrupted"
    assert cli(["build", "demo", "--data-dir", str(data), "--out", str(expected), "--no-progress"]) == 0
    out = tmp_path / "pile"
    args = [
        sys.executable,
        "-m",
        "builders.cli",
        "build",
        "demo",
        "--data-dir",
        str(data),
        "--out",
        str(out),
        "--no-progress",
    ]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    markers = out / layout.STATE_DIR / "demo"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not list(markers.glob("*.json")):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list(markers.glob("*.json")))
    assert 0 < done_before < 6, "the build should have been killed part-way"
    rerun = subprocess.run(args, cwd=REPO, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert folder_rows(out, "demo") == folder_rows(expected, "demo")
    assert not list(out.rglob(".*.tmp-*"))


@pytest.mark.ray
def test_ray_job_submit_of_the_build_script(served_archive, local_build_folder, tmp_path, ray_head):
    root, _, _ = served_archive
    out = tmp_path / "pile"
    done = ray_head.submit(
        "ray_jobs/build.py",
        "peyrache",
        "--data-dir",
        str(root / DANDISET),
        "--out",
        str(out),
        "--max-tokens",
        str(MAX_TOKENS),
        "--no-progress",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert folder_rows(out, "peyrache") == folder_rows(local_build_folder, "peyrache")


@pytest.mark.ray
def test_ray_build_retries_then_reports_a_bad_session(demo_recordings_dir, local_ray, tmp_path):
    from builders.build.pipeline import BuildOptions, build
    from builders.runtime.executor import RayExecutor

    data = tmp_path / "data"
    shutil.copytree(demo_recordings_dir, data)
    victim = sorted(data.rglob("*.nwb"))[2]
    victim.write_bytes(b"not an HDF5 file")
    options = BuildOptions(out=str(tmp_path / "pile"), data_dir=str(data), max_tokens=MAX_TOKENS)
    report, records = build(["demo"], options, executor=RayExecutor(max_retries=2), progress=False)
    failed = [r for r in records if r["status"] == "failed"]
    assert len(failed) == 1 and victim.name in failed[0]["error"]
    assert failed[0]["attempts"] == 3  # the first try and two retries
    assert all(r["attempts"] == 1 for r in records if r["status"] == "done")
    assert report.components["demo"]["sessions_built"] == 5
    assert len(report.components["demo"]["failed"]) == 1
