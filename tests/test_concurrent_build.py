"""Builds sharing one folder, as real processes: different components both succeed, the same
component is refused naming the running build, and only dead writers' temporaries are removed."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from builders.storage import layout
from builders.storage.locks import HOST
from builders.synthetic.recordings import write_nwb_session

REPO = Path(__file__).resolve().parents[1]


def build_command(component: str, data: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "builders.cli",
        "build",
        component,
        "--data-dir",
        str(data),
        "--out",
        str(out),
        "--max-tokens",
        "200000",
        "--no-progress",
    ]


def environment() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "DANDI_NO_ET": "1"}


@pytest.fixture(scope="module")
def peyrache_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("peyrache") / "000056"
    for i in range(3):
        write_nwb_session(
            folder / "sub-P" / f"sub-P_ses-{i}_ecephys.nwb",
            subject_id="P",
            session_id=str(i),
            n_units=20,
            duration_s=40.0,
            seed=20 + i,
        )
    return folder


def test_two_components_built_together_into_one_folder(demo_recordings_dir, peyrache_dir, tmp_path):
    out = tmp_path / "pile"
    procs = [
        subprocess.Popen(
            build_command(c, d, out),
            cwd=tmp_path,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c, d in (("demo", demo_recordings_dir), ("peyrache", peyrache_dir))
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err[-2000:]
    report = json.loads((out / layout.REPORT).read_text())
    assert report["components"]["demo"]["sessions_built"] == len(list(demo_recordings_dir.rglob("*.nwb")))
    assert report["components"]["peyrache"]["sessions_built"] == 3
    card = (out / layout.CARD).read_text()
    assert "config_name: demo" in card and "config_name: peyrache" in card
    assert not list(out.rglob(f".*{'.tmp-'}*")), "temporaries left behind"


def hold_lock(out: Path, component: str) -> subprocess.Popen:
    """A process that holds a component's build lock until killed; returns once it holds it."""
    code = (
        "import sys, time\nfrom builders.storage.locks import component_locks\n"
        f"with component_locks({str(out)!r}, [{component!r}]):\n"
        "    print('held', flush=True)\n    time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=environment(), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_same_component_is_refused_while_another_build_runs(demo_recordings_dir, tmp_path):
    out = tmp_path / "pile"
    holder = hold_lock(out, "demo")
    try:
        done = subprocess.run(
            build_command("demo", demo_recordings_dir, out),
            cwd=tmp_path,
            env=environment(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 2
        assert f"pid {holder.pid} on {HOST}" in done.stderr and "demo" in done.stderr
        assert "Traceback" not in done.stderr
        assert not (out / layout.DATA_DIR / "demo").exists()
    finally:
        holder.kill()
        holder.wait()
    # the kernel drops the lock with its process: the next build goes through
    assert (
        subprocess.run(
            build_command("demo", demo_recordings_dir, out),
            cwd=tmp_path,
            env=environment(),
            capture_output=True,
            timeout=300,
        ).returncode
        == 0
    )


def test_only_temporaries_of_dead_writers_are_removed(demo_recordings_dir, tmp_path):
    out = tmp_path / "pile"
    assert (
        subprocess.run(
            build_command("demo", demo_recordings_dir, out), env=environment(), capture_output=True, timeout=300
        ).returncode
        == 0
    )
    other = out / layout.DATA_DIR / "peyrache"
    other.mkdir(parents=True)
    live_writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    dead_writer = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_writer.wait()
    time.sleep(0.1)
    try:
        live = other / f".train-x.parquet.tmp-{HOST}-{live_writer.pid}"
        dead = other / f".train-y.parquet.tmp-{HOST}-{dead_writer.pid}"
        remote = other / ".train-z.parquet.tmp-another-host-1"
        for path in (live, dead, remote):
            path.write_bytes(b"partial")
        assert (
            subprocess.run(
                build_command("demo", demo_recordings_dir, out), env=environment(), capture_output=True, timeout=300
            ).returncode
            == 0
        )
        assert live.exists() and remote.exists() and not dead.exists()
    finally:
        live_writer.kill()
        live_writer.wait()
