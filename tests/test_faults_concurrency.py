"""Two writers of one output folder, as real processes: the second is refused in one line while the
first holds the folder, and two merges started together leave one complete pile."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from builders.cli.main import main
from builders.storage.ownership import LOCK, MARKER
from tests.support.pile_folder import write_pile_folder

pytestmark = pytest.mark.processes

#: Holds the output lock of a folder (claimed as ``kind``) until its stdin closes.
HOLDER = """
import sys
from builders.storage.ownership import owned_output_folder
with owned_output_folder(sys.argv[1], sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture(scope="module")
def pile_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("pile") / "pile"
    write_pile_folder(out, {"vbn": (3, 1), "v2h": (2, 1)}, seed=5)
    return out


@pytest.fixture(scope="module")
def motif_table_folder(pile_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("table") / "table"
    assert main(["motifs", "--dataset", str(pile_folder), "--patch-size", "1", "5", "--out", str(out), "--quiet"]) == 0
    return out


def hold(folder: Path, kind: str) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def release(holder: subprocess.Popen) -> None:
    holder.stdin.close()
    assert holder.wait(timeout=30) == 0


COMMANDS = {
    "merged pile": lambda pile, table, out: ["merge", "--in", str(pile), "--out", str(out), "--no-progress"],
    "motif table": lambda pile, table, out: [
        "motifs",
        "--dataset",
        str(pile),
        "--patch-size",
        "1",
        "5",
        "--out",
        str(out),
        "--quiet",
    ],
    "motif tokenizer": lambda pile, table, out: [
        "train-tokenizer",
        "--motifs",
        str(table),
        "--vocab-size",
        "4",
        "--out",
        str(out),
        "--quiet",
    ],
    "reordered dataset": lambda pile, table, out: ["reorder", "--in", str(pile), "--out", str(out), "--no-progress"],
}


@pytest.mark.parametrize("kind", sorted(COMMANDS))
def test_a_second_writer_is_refused_while_the_first_holds_the_folder(
    kind, pile_folder, motif_table_folder, tmp_path, capsys
):
    out = tmp_path / "out"
    holder = hold(out, kind)
    try:
        assert main(COMMANDS[kind](pile_folder, motif_table_folder, out)) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(out) in err and "is writing this" in err
        assert f"pid {holder.pid} " in err
        assert sorted(p.name for p in out.iterdir()) == sorted([LOCK, MARKER])  # nothing written
    finally:
        release(holder)
    assert (
        main(COMMANDS[kind](pile_folder, motif_table_folder, out)) == 0
    )  # the folder is free again once its writer ends


def merge_process(pile_folder: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "builders.cli",
            *COMMANDS["merged pile"](pile_folder, None, out),
            "--shard-bytes",
            "3000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_merges_into_one_folder_leave_one_complete_pile(pile_folder, tmp_path):
    """Started together: each either wins, or is refused in one line, or runs after the other; the
    folder then holds every input row once and a card that counts them."""
    out = tmp_path / "merged"
    runs = [merge_process(pile_folder, out) for _ in range(2)]
    results = [(run.wait(timeout=300), *run.communicate()) for run in runs]
    assert any(code == 0 for code, _, _ in results)
    for code, _, err in results:
        assert code in (0, 2)
        if code == 2:
            assert err.count("\n") == 1 and "is writing this merged pile" in err
    card = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    for split in ("train", "test"):
        expected = sum(
            pq.ParquetFile(p).metadata.num_rows
            for c in ("vbn", "v2h")
            for p in (pile_folder / "data" / c).glob(f"{split}-*")
        )
        files = sorted((out / "data").glob(f"{split}-*.parquet"))
        assert sum(pq.ParquetFile(p).metadata.num_rows for p in files) == expected
        claimed = next(s for s in card["dataset_info"][0]["splits"] if s["name"] == split)
        assert claimed["num_examples"] == expected
    assert not list(out.rglob(".*.tmp-*"))
