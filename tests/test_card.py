"""The dataset card: Hub-style dataset_info that renews the load_dataset cache, license and sources."""

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from builders.cli.main import main as cli
from builders.pile import PileError, open_pile
from builders.storage.attribution import (
    UNKNOWN,
    attributions,
    pile_license,
    sources_section,
)
from builders.storage.card import card_front_matter, card_text, read_front_matter
from builders.synthetic.recordings import write_nwb_session


def write_peyrache(folder: Path, sessions: list[str], seed: int = 30) -> Path:
    for i, session in enumerate(sessions):
        write_nwb_session(
            folder / "sub-P" / f"sub-P_ses-{session}_ecephys.nwb",
            subject_id="P",
            session_id=session,
            n_units=10 + 3 * i,
            duration_s=30.0,
            seed=seed + i,
        )
    return folder


def build(data: Path, out: Path, component: str = "peyrache") -> None:
    assert cli(["build", component, "--data-dir", str(data), "--out", str(out), "--no-progress"]) == 0


def front_matter(out: Path) -> dict:
    return yaml.safe_load((out / "README.md").read_text().split("---", 2)[1])


@pytest.fixture
def default_cache(tmp_path, monkeypatch):
    """The default ``datasets`` cache (no ``cache_dir=``), moved under tmp_path."""
    import datasets

    cache = tmp_path / "hf_cache"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


def test_dataset_info_counts_rows_per_config_and_split(tmp_path):
    out = tmp_path / "pile"
    build(write_peyrache(tmp_path / "000056", ["1", "2"]), out)
    front = front_matter(out)
    assert front == card_front_matter(out, ["peyrache"])
    for info in front["dataset_info"]:
        assert info["features"] and info["download_size"] > 0
        for split in info["splits"]:
            files = sorted((out / "data" / "peyrache").glob(f"{split['name']}-*.parquet"))
            assert split["num_examples"] == sum(pq.ParquetFile(f).metadata.num_rows for f in files) > 0
    assert {i["config_name"] for i in front["dataset_info"]} == {c["config_name"] for c in front["configs"]}


def test_grown_folder_and_same_named_folder_load_their_own_rows(tmp_path, default_cache):
    from datasets import load_dataset

    data = write_peyrache(tmp_path / "a" / "000056", ["1", "2"])
    out = tmp_path / "a" / "pile"
    build(data, out)
    before = load_dataset(str(out), "peyrache", split="train")
    assert sorted(set(before["session_id"])) == ["1", "2"]
    write_peyrache(data, ["1", "2", "3"])  # one more session, then resume the build
    build(data, out)
    after = load_dataset(str(out), "peyrache", split="train")
    assert sorted(set(after["session_id"])) == ["1", "2", "3"]

    other = tmp_path / "b" / "pile"  # same folder name, other recordings
    build(write_peyrache(tmp_path / "b" / "000056", ["7", "8"], seed=90), other)
    theirs = load_dataset(str(other), "peyrache", split="train")
    assert sorted(set(theirs["session_id"])) == ["7", "8"]
    assert any(default_cache.iterdir()), "the default cache was not used"


def test_license_and_sources_follow_the_components():
    assert pile_license(["peyrache", "ibl"]) == "cc-by-4.0"
    assert pile_license(["peyrache", "finkelstein"]) == "other"  # finkelstein states no license
    assert pile_license(["demo"]) == "mit"
    table = attributions()
    assert len(table) == 25 and table["vbn"].archive_id == "000713"
    text = sources_section(["demo", "peyrache", "vbn"], pile="user/neural-pile")
    assert "`user/neural-pile`" in text and "| demo |" not in text
    assert table["peyrache"].citation in text and "dandi:000056 | 0.250624.0430 | CC-BY-4.0" in text
    vbn_line = next(line for line in text.splitlines() if line.startswith("| vbn |"))
    assert UNKNOWN in vbn_line and "dandiarchive.org/dandiset/000713" in vbn_line


def test_card_states_license_rule_and_sources(tmp_path):
    out = tmp_path / "pile"
    build(write_peyrache(tmp_path / "000056", ["1"]), out)
    card = (out / "README.md").read_text()
    assert front_matter(out)["license"] == "cc-by-4.0"
    assert "## Sources and citation" in card and attributions()["peyrache"].citation in card
    assert "split rule version 2" in card and "time_tail" in card
    shutil.rmtree(out)


def test_front_matter_reads_back_what_the_card_writer_wrote_and_names_a_broken_card(tmp_path):
    front = {
        "license": "cc-by-4.0",
        "configs": [{"config_name": "vbn", "data_files": [{"split": "train", "path": "data/vbn/train-*.parquet"}]}],
        "dataset_info": [{"config_name": "vbn", "splits": [{"name": "train", "num_examples": 3}]}],
    }
    assert read_front_matter(card_text(front, "# body\n\n---\nnot front matter: 1\n")) == front
    assert read_front_matter("# a card with no front matter\n") == {}
    assert read_front_matter("---\n- a list, not a mapping\n---\n") == {}
    with pytest.raises(yaml.YAMLError):
        read_front_matter("---\nconfigs: [unclosed\n---\n")
    folder = tmp_path / "pile"
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text("---\nconfigs: [unclosed\n---\n")
    with pytest.raises(PileError, match=r"README.md has an invalid `configs:` block"):
        open_pile(folder)
