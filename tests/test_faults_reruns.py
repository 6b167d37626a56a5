"""Reruns and repeated runs: a rerun removes the temporaries a killed writer left (and only those),
the same input gives the same bytes, and the workers of a killed parent end with it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from builders.cli.main import main
from tests.support.pile_folder import write_pile_folder

HOST = socket.gethostname()


@pytest.fixture(scope="module")
def pile_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("pile") / "pile"
    write_pile_folder(out, {"vbn": (2, 1), "v2h": (2, 1)}, seed=9)
    return out


@pytest.fixture(scope="module")
def motif_table_folder(pile_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("table") / "table"
    assert (
        main(
            [
                "motifs",
                "--dataset",
                str(pile_folder),
                "--patch-size",
                "1",
                "2",
                "--out",
                str(out),
                "--quiet",
                "--top",
                "4",
            ]
        )
        == 0
    )
    return out


@pytest.fixture(scope="module")
def dead_pid():
    """The process id of a process that has ended (as a killed writer's)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


@pytest.fixture
def live_pid():
    """The process id of a live process (a writer still at work)."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield other.pid
    other.kill()
    other.wait()


def command(name: str, pile_folder: Path, motif_table_folder: Path, out: Path) -> list[str]:
    return {
        "merge": ["merge", "--in", str(pile_folder), "--out", str(out), "--no-progress"],
        "motifs": [
            "motifs",
            "--dataset",
            str(pile_folder),
            "--patch-size",
            "1",
            "2",
            "--out",
            str(out),
            "--quiet",
            "--top",
            "4",
        ],
        "train-tokenizer": [
            "train-tokenizer",
            "--motifs",
            str(motif_table_folder),
            "--vocab-size",
            "6",
            "--out",
            str(out),
        ],
        "reorder": ["reorder", "--in", str(pile_folder), "--out", str(out), "--no-progress"],
    }[name] + (["--quiet"] if name == "train-tokenizer" else [])


#: Where each job writes its files (the temporaries of a writer killed mid-file sit beside them).
TEMPORARIES = {
    "merge": ["data/.train-00000-of-00001.parquet", ".merge/.params.json"],
    "motifs": [".metadata.json", ".motifs.parquet"],
    "train-tokenizer": [".config.json", ".motif_tokenizer.safetensors"],
    "reorder": ["data/vbn/.train-vbn-train-0.parquet", ".reorder_report.json"],
}


@pytest.mark.parametrize("name", sorted(TEMPORARIES))
def test_a_rerun_removes_the_temporaries_of_a_killed_writer_only(
    name, pile_folder, motif_table_folder, dead_pid, live_pid, tmp_path
):
    out = tmp_path / "out"
    assert main(command(name, pile_folder, motif_table_folder, out)) == 0
    dead = [out / f"{path}.tmp-{HOST}-{dead_pid}" for path in TEMPORARIES[name]]
    alive = out / f"{TEMPORARIES[name][0]}.tmp-{HOST}-{live_pid}"
    elsewhere = out / f"{TEMPORARIES[name][1]}.tmp-otherhost-{dead_pid}"  # another host: cannot be checked
    for path in [*dead, alive, elsewhere]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
    assert main(command(name, pile_folder, motif_table_folder, out)) == 0
    assert not any(p.exists() for p in dead)
    assert alive.exists() and elsewhere.exists()


def test_motifs_twice_give_the_same_bytes(pile_folder, tmp_path):
    for run in ("a", "b"):
        args = [
            "motifs",
            "--dataset",
            str(pile_folder),
            "--patch-size",
            "1",
            "3",
            "--out",
            str(tmp_path / run),
            "--quiet",
            "--top",
            "4",
        ]
        assert main(args) == 0
    for name in ("motifs.parquet", "metadata.json", "top_motifs.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_reorder_twice_gives_the_same_bytes(pile_folder, tmp_path):
    for run in ("a", "b"):
        assert main(["reorder", "--in", str(pile_folder), "--out", str(tmp_path / run), "--no-progress"]) == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert Path("reorder_report.json") in files and any(p.suffix == ".parquet" for p in files)
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


#: A parent running a 2-process pool whose items never end; prints once both workers started.
POOL_PARENT = """
import os, sys, time
from pathlib import Path
from builders.runtime.executor import ProcessExecutor, Task

class Forever(Task):
    def run(self, item):
        Path(sys.argv[1], str(os.getpid())).write_text("started")
        time.sleep(600)

if __name__ == "__main__":
    ProcessExecutor(2).map(Forever(), [0, 1], progress=False)
"""


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.processes
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to list a process's children")
def test_the_workers_of_a_killed_parent_end_with_it(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(POOL_PARENT)
    started = tmp_path / "started"
    started.mkdir()
    parent = subprocess.Popen([sys.executable, str(script), str(started)])
    family: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(list(started.iterdir())) < 2:
            assert time.monotonic() < deadline and parent.poll() is None, "the pool never started"
            time.sleep(0.1)
        family = children(parent.pid)  # the two workers and the resource tracker
        assert {int(p.name) for p in started.iterdir()} <= set(family)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 15
        while any(running(pid) for pid in family) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in family if running(pid)], "processes outlived their killed parent"
    finally:  # what this test started, by id
        parent.kill()
        parent.wait()
        for pid in family:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
