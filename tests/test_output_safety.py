"""No job overwrites a folder it did not write; a build with bad inputs writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders.cli.main import main
from builders.storage.ownership import MARKER, OutputFolderError, check_output_folder, claim_output_folder
from tests.support.pile_folder import write_pile_folder

USER_FILES = {"README.md": "# my notes\n", "config.json": '{"mine": true}\n', "metadata.json": '{"mine": 1}\n'}


def user_folder(path: Path) -> Path:
    """A folder a user made, holding the three file names the jobs write."""
    path.mkdir(parents=True)
    for name, text in USER_FILES.items():
        (path / name).write_text(text)
    return path


def assert_untouched(path: Path) -> None:
    assert sorted(p.name for p in path.iterdir()) == sorted(USER_FILES)
    for name, text in USER_FILES.items():
        assert (path / name).read_text() == text


@pytest.fixture(scope="module")
def pile_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("pile") / "pile"
    write_pile_folder(out, {"demo": (2, 1)}, seed=4)
    return out


def test_claim_rules(tmp_path):
    new = claim_output_folder(tmp_path / "new", "motif table")
    assert json.loads((new / MARKER).read_text()) == {"kind": "motif table"}
    (new / "motifs.parquet").write_bytes(b"x")
    assert claim_output_folder(new, "motif table") == new  # its own earlier output
    with pytest.raises(OutputFolderError, match=r"new: holds a motif table, not a motif tokenizer"):
        claim_output_folder(new, "motif tokenizer")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_output_folder(empty, "motif table") is False
    legacy = tmp_path / "legacy"  # written before markers existed: recognised by its own file
    legacy.mkdir()
    (legacy / "motifs.parquet").write_bytes(b"x")
    assert check_output_folder(legacy, "motif table", earlier=("motifs.parquet",)) is True
    claim_output_folder(legacy, "motif table", earlier=("motifs.parquet",))
    assert (legacy / MARKER).exists()
    mine = user_folder(tmp_path / "mine")
    with pytest.raises(OutputFolderError) as err:
        claim_output_folder(mine, "motif table", earlier=("motifs.parquet",))
    assert str(mine) in str(err.value) and "\n" not in str(err.value) and "README.md" in str(err.value)
    assert_untouched(mine)
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputFolderError, match="not a folder"):
        claim_output_folder(tmp_path / "file", "motif table")


def motif_job(pile_folder: Path, out: Path, top: int = 24):
    """The motifs job on the demo config's train rows, 1x5 patches."""
    from builders.pile import open_pile
    from tokenizer.motif_job import motif_table_job

    return motif_table_job([open_pile(pile_folder, "demo", ["train"])], (1, 5), "drop", out, top=top, progress=False)


def test_motifs_refuses_a_users_folder_and_reruns_into_its_own(pile_folder, tmp_path):
    from tokenizer.motif_table import FIGURE_FILE, read_motif_table

    mine = user_folder(tmp_path / "mine")
    with pytest.raises(OutputFolderError, match=str(mine)):
        motif_job(pile_folder, mine)
    assert_untouched(mine)

    dest = tmp_path / "table"
    first = motif_job(pile_folder, dest)
    second = motif_job(pile_folder, dest, top=5)  # rerun: allowed
    assert (read_motif_table(dest).counts == first.counts).all() and (second.counts == first.counts).all()
    assert (dest / FIGURE_FILE).is_file()


def test_train_tokenizer_refuses_a_users_folder_and_reruns_into_its_own(pile_folder, tmp_path, capsys):
    from tokenizer import MotifTokenizer

    table = tmp_path / "table"
    motif_job(pile_folder, table)
    mine = user_folder(tmp_path / "mine")
    assert main(["train-tokenizer", "--motifs", str(table), "--vocab-size", "4", "--out", str(mine), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(mine) in err
    assert_untouched(mine)

    dest = tmp_path / "tok"
    for vocab_size in (4, 6):  # the second run rewrites its own earlier output
        assert (
            main(
                [
                    "train-tokenizer",
                    "--motifs",
                    str(table),
                    "--vocab-size",
                    str(vocab_size),
                    "--out",
                    str(dest),
                    "--quiet",
                ]
            )
            == 0
        )
        assert MotifTokenizer.from_pretrained(dest).vocab_size == vocab_size
    assert main(["train-tokenizer", "--motifs", str(table), "--vocab-size", "4", "--out", str(table), "--quiet"]) == 2
    assert "holds a motif table" in capsys.readouterr().err


def test_reorder_refuses_a_users_folder_and_reruns_into_its_own(pile_folder, tmp_path, capsys):
    mine = user_folder(tmp_path / "mine")
    assert main(["reorder", "--in", str(pile_folder), "--out", str(mine), "--no-progress"]) == 2
    assert str(mine) in capsys.readouterr().err
    assert_untouched(mine)
    dest = tmp_path / "reordered"
    assert main(["reorder", "--in", str(pile_folder), "--out", str(dest), "--no-progress"]) == 0
    assert main(["reorder", "--in", str(pile_folder), "--out", str(dest), "--no-progress"]) == 0
    assert "already done" in capsys.readouterr().out


def test_build_with_a_missing_data_dir_writes_nothing(tmp_path, capsys):
    out = tmp_path / "pile"
    assert main(["build", "demo", "--data-dir", str(tmp_path / "nowhere"), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--data-dir" in err and "nowhere" in err and err.count("\n") == 1
    assert not out.exists()


def test_build_demo_without_data_dir_says_to_run_demo(tmp_path, capsys):
    out = tmp_path / "pile"
    assert main(["build", "demo", "--out", str(out), "--no-progress"]) == 2
    assert "neural-pile demo" in capsys.readouterr().err
    assert not out.exists()


def test_build_with_a_data_dir_holding_no_session_writes_nothing(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("no recordings here")
    out = tmp_path / "pile"
    assert main(["build", "demo", "--data-dir", str(data), "--out", str(out), "--no-progress"]) == 2
    assert "no session" in capsys.readouterr().err
    assert not out.exists()


def test_build_refuses_another_jobs_folder(pile_folder, tmp_path, capsys):

    table = tmp_path / "table"
    motif_job(pile_folder, table)
    before = sorted(p.name for p in table.iterdir())
    assert main(["build", "demo", "--data-dir", str(tmp_path), "--out", str(table), "--no-progress"]) == 2
    assert "holds a motif table" in capsys.readouterr().err
    assert sorted(p.name for p in table.iterdir()) == before
