"""The merged pile: same rows, shuffled across components, reference layout, reproducible."""

import hashlib
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from builders.cli.main import main as cli
from builders.jobs.merge import merge_pile
from tests.support.pile_folder import write_pile_folder

#: component -> (train sessions, test sessions); the demo is left out of the default config `all`
COMPONENTS = {"demo": (2, 1), "vbn": (5, 1), "v2h": (4, 1), "ibl": (4, 0)}
SHARD_BYTES = 4_000  # tiny shards: several per split


def row_checksums(paths) -> Counter:
    """Multiset of per-row checksums over every column (the row's identity, whatever its place)."""
    sums = Counter()
    for path in paths:
        table = pq.read_table(path)
        for row in table.to_pylist():
            sums[hashlib.sha256(repr(sorted(row.items())).encode()).hexdigest()] += 1
    return sums


def sources_in_order(paths) -> list[str]:
    return [s for p in paths for s in pq.read_table(p, columns=["source_dataset"]).column(0).to_pylist()]


@pytest.fixture(scope="module")
def pile_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("input") / "pile"
    write_pile_folder(out, COMPONENTS, seed=4)
    return out


@pytest.fixture(scope="module")
def merged_folder(pile_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("merged") / "merged"
    assert (
        cli(["merge", "--in", str(pile_folder), "--out", str(out), "--seed", "7", "--shard-bytes", str(SHARD_BYTES)])
        == 0
    )
    return out


def split_files(folder: Path, split: str) -> list[Path]:
    return sorted((folder / "data").glob(f"{split}-*.parquet"))


def test_same_rows_reference_layout_and_mixed_order(pile_folder, merged_folder):
    for split in ("train", "test"):
        inputs = [
            p for c in ("vbn", "v2h", "ibl") for p in sorted((pile_folder / "data" / c).glob(f"{split}-*.parquet"))
        ]
        outputs = split_files(merged_folder, split)
        assert outputs and all(p.name.endswith(f"-of-{len(outputs):05d}.parquet") for p in outputs)
        assert [p.name for p in outputs] == [
            f"{split}-{i:05d}-of-{len(outputs):05d}.parquet" for i in range(len(outputs))
        ]
        assert row_checksums(outputs) == row_checksums(inputs)
        assert pq.read_schema(outputs[0]).names == pq.read_schema(inputs[0]).names  # extra columns kept
    train = split_files(merged_folder, "train")
    assert len(train) > 2
    order = sources_in_order(train)
    switches = sum(a != b for a, b in zip(order, order[1:], strict=False))
    assert switches > 2 * len(set(order))  # grouped by component would switch twice at most
    assert "demo" not in order
    card = (merged_folder / "README.md").read_text()
    assert "config_name: default" in card and "## Sources and citation" in card and "[7, split number]" in card


def test_loads_with_load_dataset(merged_folder, tmp_path):
    from datasets import load_dataset

    ds = load_dataset(str(merged_folder), cache_dir=str(tmp_path / "cache"))
    for split in ("train", "test"):
        assert len(ds[split]) == sum(pq.ParquetFile(p).metadata.num_rows for p in split_files(merged_folder, split))
    assert set(ds["train"]["source_dataset"]) == {"vbn", "v2h", "ibl"}


def test_same_seed_same_files_other_seed_other_order(pile_folder, merged_folder, tmp_path):
    again = tmp_path / "again"
    merge_pile(pile_folder, again, seed=7, shard_bytes=SHARD_BYTES, parts=3)  # other task split, same result
    for split in ("train", "test"):
        assert [p.read_bytes() for p in split_files(again, split)] == [
            p.read_bytes() for p in split_files(merged_folder, split)
        ]
    other = tmp_path / "other"
    merge_pile(pile_folder, other, seed=8, shard_bytes=SHARD_BYTES)
    assert sources_in_order(split_files(other, "train")) != sources_in_order(split_files(merged_folder, "train"))
    merge_pile(pile_folder, again, seed=7, shard_bytes=SHARD_BYTES)  # rerun into its own output is allowed


@pytest.mark.ray
def test_ray_merge_equals_local(pile_folder, merged_folder, tmp_path, local_ray):
    from builders.runtime.executor import RayExecutor

    out = tmp_path / "ray"
    merge_pile(pile_folder, out, seed=7, shard_bytes=SHARD_BYTES, parts=2, executor=RayExecutor(num_workers=2))
    for split in ("train", "test"):
        assert [p.read_bytes() for p in split_files(out, split)] == [
            p.read_bytes() for p in split_files(merged_folder, split)
        ]


def test_bad_input_and_foreign_output(pile_folder, tmp_path, capsys):
    assert cli(["merge", "--in", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m")]) == 2
    assert "nowhere" in capsys.readouterr().err
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    assert cli(["merge", "--in", str(pile_folder), "--out", str(foreign)]) == 2
    assert "does not hold an earlier merged pile" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "keep"
    assert cli(["merge", "--in", str(pile_folder), "--out", str(tmp_path / "m"), "--config", "nosuch"]) == 2
    assert "nosuch" in capsys.readouterr().err


def test_hub_repo_merges_like_its_folder(package_pile_folder_and_rows, package_layout_repo, tmp_path):
    """The input is read through builders.pile: a Hub repo gives the same files as its local copy."""
    folder, _ = package_pile_folder_and_rows
    repo_id, _ = package_layout_repo
    local, remote = tmp_path / "local", tmp_path / "remote"
    merge_pile(folder, local, seed=3, shard_bytes=SHARD_BYTES)
    merge_pile(repo_id, remote, seed=3, shard_bytes=SHARD_BYTES)
    for split in ("train", "test"):
        assert [p.read_bytes() for p in split_files(remote, split)] == [
            p.read_bytes() for p in split_files(local, split)
        ]


def test_a_reference_layout_pile_remerges(reference_pile, tmp_path):
    out = tmp_path / "again"
    merge_pile(reference_pile.folder, out, seed=1, shard_bytes=SHARD_BYTES)
    for split in ("train", "test"):
        inputs = sorted((reference_pile.folder / "data").glob(f"{split}-*.parquet"))
        assert row_checksums(split_files(out, split)) == row_checksums(inputs)
    with pytest.raises(ValueError, match="selects one component"):
        merge_pile(reference_pile.folder, tmp_path / "one", config="vbn")


def test_output_row_groups_are_bounded_in_tokens(pile_folder, tmp_path, monkeypatch):
    """gather streams rows into row groups of at most ROW_GROUP_TOKENS (a row alone may exceed it)."""
    import builders.jobs.merge as merge

    limit = 6_000
    monkeypatch.setattr(merge, "ROW_GROUP_TOKENS", limit)
    out = tmp_path / "bounded"
    merge_pile(pile_folder, out, seed=7, shard_bytes=10**9)
    (train,) = split_files(out, "train")
    parquet = pq.ParquetFile(train)
    assert parquet.metadata.num_row_groups > 1
    for i in range(parquet.metadata.num_row_groups):
        group = parquet.read_row_group(i)
        tokens = merge.row_tokens(group)
        assert tokens.sum() <= limit or len(tokens) == 1
    assert row_checksums([train]) == row_checksums(
        [p for c in ("vbn", "v2h", "ibl") for p in sorted((pile_folder / "data" / c).glob("train-*.parquet"))]
    )
