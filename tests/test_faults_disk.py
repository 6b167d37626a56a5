"""Full disks and read-only places, on real (small) file systems: a tmpfs of a few hundred KiB,
mounted for the test (root only; ``chmod`` does not stop root, a read-only mount does).

What must hold on a full disk: no exit 0 with data missing, one line naming the file (no
traceback), no truncated file under a final name, no temporary left, and a rerun with space
again completes the output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from builders.cli.main import main
from tests.support.pile_folder import write_pile_folder

pytestmark = pytest.mark.mounts

PAGE = os.sysconf("SC_PAGE_SIZE")


def mount_tmpfs(folder: Path, size: str, *, read_only: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8): full-disk and read-only probes not run")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(
            f"mount -t tmpfs not permitted here ({done.stderr.strip()}): full-disk and read-only probes not run"
        )


@pytest.fixture
def tmpfs_disk_maker(tmp_path):
    """``make(size, read_only=False) -> folder``: mounts a tmpfs, unmounted at the end of the test."""
    mounted = []

    def make(size: str, *, read_only: bool = False) -> Path:
        folder = tmp_path / f"fs-{uuid.uuid4().hex[:6]}"
        mount_tmpfs(folder, size, read_only=read_only)
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, leave_bytes: int) -> Path:
    """A ballast file leaving about ``leave_bytes`` free on ``folder``'s file system."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    ballast = folder / "ballast"
    with open(ballast, "wb") as handle:
        handle.write(b"\0" * max(0, free - leave_bytes))
    return ballast


def assert_one_line_error(err: str, *names: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines and lines[-1].startswith("error: ")
    for name in names:
        assert name in lines[-1]


def assert_nothing_truncated(folder: Path) -> None:
    """Every file under a final name is complete (JSON parses, Parquet opens, PNG ends), no temporary stays."""
    assert not [p for p in folder.rglob("*") if ".tmp-" in p.name]
    for path in folder.rglob("*"):
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".parquet":
            pq.ParquetFile(path)
        elif path.suffix == ".png":
            assert path.read_bytes().endswith(b"IEND\xaeB`\x82")


@pytest.fixture(scope="module")
def pile_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("pile") / "pile"
    write_pile_folder(out, {"vbn": (2, 1), "v2h": (2, 1)}, seed=6)
    return out


# free bytes that fail, in turn, a session's shard, the card and the report (measured on the demo)
@pytest.mark.parametrize("free_kib", [120, 180, 200, 220])
def test_build_on_a_full_disk_never_exits_0_with_a_session_missing(
    free_kib, demo_recordings_dir, tmpfs_disk_maker, capsys
):
    disk = tmpfs_disk_maker("1m")
    ballast = fill(disk, free_kib * 1024)
    out = disk / "pile"
    args = ["build", "demo", "--data-dir", str(demo_recordings_dir), "--out", str(out), "--no-progress"]
    code = main(args)
    err = capsys.readouterr().err
    report = out / "build_report.json"
    built = json.loads(report.read_text())["components"]["demo"]["sessions_built"] if report.exists() else 0
    assert code != 0 or built == 6, f"exit 0 with {built} of 6 sessions"
    if code:
        assert "Traceback" not in err and "No space left on device" in err
    if report.exists() and built < 6:  # the report names every session it lacks
        failed = json.loads(report.read_text())["components"]["demo"]["failed"]
        assert len(failed) == 6 - built and all("No space left on device" in f["error"] for f in failed)
    assert_nothing_truncated(out)
    ballast.unlink()  # space again: the rerun completes the folder
    assert main(args) == 0
    capsys.readouterr()
    assert json.loads(report.read_text())["components"]["demo"]["sessions_built"] == 6
    assert_nothing_truncated(out)


@pytest.mark.parametrize("command", ["stats", "visualize", "motifs", "train-tokenizer", "merge"])
def test_a_full_disk_gives_one_line_and_no_truncated_output(command, pile_folder, tmpfs_disk_maker, tmp_path, capsys):
    disk = tmpfs_disk_maker("1m")
    table = tmp_path / "table"
    if command == "train-tokenizer":
        assert (
            main(["motifs", "--dataset", str(pile_folder), "--patch-size", "1", "2", "--out", str(table), "--quiet"])
            == 0
        )
    fill(disk, PAGE)  # one page free: the small marker fits, the outputs do not
    out = disk / "out"
    args = {
        "stats": ["stats", "--dataset", str(pile_folder), "--out-dir", str(out), "--no-progress"],
        "visualize": ["visualize", "--dataset", str(pile_folder), "--config", "vbn", "--out-dir", str(out)],
        "motifs": ["motifs", "--dataset", str(pile_folder), "--patch-size", "1", "2", "--out", str(out), "--quiet"],
        "train-tokenizer": [
            "train-tokenizer",
            "--motifs",
            str(table),
            "--vocab-size",
            "8",
            "--out",
            str(out),
            "--quiet",
        ],
        "merge": ["merge", "--in", str(pile_folder), "--out", str(out), "--no-progress"],
    }[command]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert_one_line_error(err, str(out), "No space left on device")
    if out.exists():
        assert_nothing_truncated(out)


COMMANDS = {
    "build": lambda pile, demo, out: ["build", "demo", "--data-dir", str(demo), "--out", str(out), "--no-progress"],
    "demo": lambda pile, demo, out: ["demo", "--data-dir", str(demo), "--out", str(out), "--num-proc", "1"],
    "merge": lambda pile, demo, out: ["merge", "--in", str(pile), "--out", str(out), "--no-progress"],
    "motifs": lambda pile, demo, out: ["motifs", "--dataset", str(pile), "--patch-size", "1", "2", "--out", str(out)],
    "train-tokenizer": lambda pile, demo, out: [
        "train-tokenizer",
        "--motifs",
        str(pile),
        "--vocab-size",
        "4",
        "--out",
        str(out),
    ],
    "reorder": lambda pile, demo, out: ["reorder", "--in", str(pile), "--out", str(out), "--no-progress"],
    "stats": lambda pile, demo, out: ["stats", "--dataset", str(pile), "--out-dir", str(out), "--no-progress"],
    "visualize": lambda pile, demo, out: [
        "visualize",
        "--dataset",
        str(pile),
        "--config",
        "vbn",
        "--out-dir",
        str(out),
    ],
}


@pytest.fixture(scope="module")
def motif_table_folder(pile_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("table") / "table"
    assert main(["motifs", "--dataset", str(pile_folder), "--patch-size", "1", "2", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_read_only_place_gives_one_line(
    command, pile_folder, motif_table_folder, demo_recordings_dir, tmpfs_disk_maker, capsys
):
    place = tmpfs_disk_maker("64k", read_only=True)
    source = motif_table_folder if command == "train-tokenizer" else pile_folder
    assert main(COMMANDS[command](source, demo_recordings_dir, place / "out")) != 0
    assert_one_line_error(capsys.readouterr().err, str(place / "out"))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_output_path_below_a_regular_file_gives_one_line(
    command, pile_folder, motif_table_folder, demo_recordings_dir, tmp_path, capsys
):
    (tmp_path / "file").write_text("a regular file\n")
    out = tmp_path / "file" / "out"
    source = motif_table_folder if command == "train-tokenizer" else pile_folder
    assert main(COMMANDS[command](source, demo_recordings_dir, out)) != 0
    assert_one_line_error(capsys.readouterr().err, str(tmp_path / "file"))
    assert (tmp_path / "file").read_text() == "a regular file\n"
