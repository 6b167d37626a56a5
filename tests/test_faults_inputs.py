"""Damaged piles: a pile without a card works; a shard whose ``spike_counts`` is not
``list<list<uint8>>``, or holds a ragged row (neurons with unequal numbers of bins), is named in
one line by every command and stream, and nothing is copied from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from builders.cli.main import main
from builders.pile import PileError, open_pile
from tests.support.pile_folder import write_pile_folder


@pytest.fixture(scope="module")
def good_pile_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("good") / "pile"
    write_pile_folder(out, {"vbn": (2, 1), "v2h": (2, 0)}, seed=8)
    return out


def damaged_copy(good_pile_folder: Path, folder: Path, change) -> tuple[Path, Path]:
    """A copy of ``good`` whose first vbn train shard has ``change(spike_counts)`` instead; (pile, shard)."""
    shutil.copytree(good_pile_folder, folder)
    shard = sorted((folder / "data" / "vbn").glob("train-*.parquet"))[0]
    table = pq.read_table(shard)
    index = table.schema.get_field_index("spike_counts")
    pq.write_table(table.set_column(index, "spike_counts", change(table.column("spike_counts"))), shard)
    return folder, shard


def flat(column):
    rows = [np.concatenate([np.asarray(n, np.uint8) for n in row]) for row in column.to_pylist()]
    return pa.array(rows, pa.list_(pa.uint8()))


def int32(column):
    return column.cast(pa.list_(pa.list_(pa.int32())))


def ragged(column):
    rows = column.to_pylist()
    rows[1][2] = rows[1][2][:-1]  # row 1, neuron 2 one bin short
    return pa.array(rows, pa.list_(pa.list_(pa.uint8())))


DAMAGES = {"list<uint8>": flat, "list<list<int32>>": int32, "ragged": ragged}


def commands(pile: Path, out: Path) -> dict[str, list[str]]:
    return {
        "stats": ["stats", "--dataset", str(pile), "--out-dir", str(out), "--no-progress"],
        "merge": ["merge", "--in", str(pile), "--out", str(out), "--no-progress"],
        "visualize": ["visualize", "--dataset", str(pile), "--config", "vbn", "--out-dir", str(out)],
        "motifs": ["motifs", "--dataset", str(pile), "--patch-size", "1", "2", "--out", str(out), "--quiet"],
        "reorder": ["reorder", "--in", str(pile), "--out", str(out), "--no-progress"],
    }


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("command", ["stats", "merge", "visualize", "motifs", "reorder"])
def test_a_bad_spike_counts_column_is_named_in_one_line(damage, command, good_pile_folder, tmp_path, capsys):
    pile, shard = damaged_copy(good_pile_folder, tmp_path / "pile", DAMAGES[damage])
    out = tmp_path / "out"
    assert main(commands(pile, out)[command]) != 0
    printed = capsys.readouterr()
    lines = printed.err.strip().splitlines()
    assert "Traceback" not in printed.err and lines[-1].startswith("error: ")
    # reorder lists each failed file (its report has them), then one error line
    named = [line for line in (printed.out + printed.err).splitlines() if str(shard) in line]
    assert named == [lines[-1]] if command != "reorder" else len(named) == 1
    assert ("ragged" if damage == "ragged" else "not list<") in named[0]
    if command == "merge":  # nothing merged from a pile holding a bad row
        assert not list((out / "data").glob("*.parquet")) if (out / "data").exists() else True


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_the_reader_refuses_the_bad_row_group_and_says_which_row(damage, good_pile_folder, tmp_path):
    pile, shard = damaged_copy(good_pile_folder, tmp_path / "pile", DAMAGES[damage])
    opened = open_pile(pile, "vbn", ["train"])
    group = next(g for g in opened.row_groups() if g.path.endswith(shard.name))
    expected = r"row 1 of row group 0 is ragged" if damage == "ragged" else "spike_counts is list<"
    with pytest.raises(PileError, match=expected) as err:
        opened.read(group)
    assert str(shard) in str(err.value)
    other = next(g for g in opened.row_groups() if not g.path.endswith(shard.name))
    assert opened.read(other).num_rows == other.num_rows  # the good shards still read


def test_a_ragged_row_stops_the_window_stream_naming_the_file(good_pile_folder, tmp_path):
    from neural_pile_rodent import window_stream

    pile, shard = damaged_copy(good_pile_folder, tmp_path / "pile", ragged)
    from builders.streams.errors import StreamError

    stream = window_stream(str(pile), "vbn", n_neurons=2, n_bins=2, epochs=1)
    # the stream decodes rows itself (one at a time): its own one-line error, the file named
    with pytest.raises(StreamError, match="neurons have different numbers of time bins") as err:
        for _ in stream:
            pass
    assert str(shard) in str(err.value)


def test_a_pile_without_a_card_is_read_by_stats_reorder_and_merge(good_pile_folder, tmp_path, capsys):
    pile = tmp_path / "nocard"
    shutil.copytree(good_pile_folder, pile)
    (pile / "README.md").unlink()
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in pile.rglob("*.parquet"))
    for name in ("stats", "reorder", "merge"):
        assert main(commands(pile, tmp_path / name)[name]) == 0, capsys.readouterr().err
    merged = sum(pq.ParquetFile(p).metadata.num_rows for p in (tmp_path / "merge" / "data").glob("*.parquet"))
    assert merged == rows
