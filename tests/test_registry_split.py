"""Registry contents against the shared facts, session grouping, and split stability."""

import csv
from importlib import resources

import pytest

from builders.registry import get_component, pile_components, registry
from builders.sessions import Asset, group_sessions
from builders.split import assign_split, split_score


def facts_rows():
    text = resources.files("builders").joinpath("facts", "components.tsv").read_text()
    return list(csv.DictReader(text.splitlines(), delimiter="\t"))


def test_all_25_components_match_the_reference_table():
    rows = facts_rows()
    comps = pile_components()
    assert len(comps) == 25 == len(rows)
    assert sum(c.tokens for c in comps) == 452_793_851_799
    for row, comp in zip(rows, comps):
        assert comp.name == row["name"]
        assert comp.archive_id == row["archive_id"]
        assert comp.sessions == int(row["sessions"]) and comp.tokens == int(row["tokens"])
        assert (comp.version or "") == row["version"]
    assert "demo" in registry() and not get_component("demo").in_all


def test_filters_and_readers():
    assert len(get_component("ibl").include_paths) == 347
    assert len(get_component("vbn").include_sessions) == 153
    assert get_component("gonzalez").reader == "firing_rates"
    assert get_component("lemerre").grouping == "probe_merge"
    assert get_component("steinmetz-2").reader == "mat_spks"
    ibl = get_component("ibl")
    listed = next(iter(ibl.include_paths))
    assert ibl.accepts_path(listed)
    assert not ibl.accepts_path(listed.replace("processed-only_behavior", "raw_ecephys"))


def test_unknown_component_error_lists_names():
    with pytest.raises(KeyError, match="unknown component 'vbm'.*vbn"):
        get_component("vbm")


def asset(path):
    return Asset(path=path, url="/nowhere/" + path)


def test_probe_merge_grouping():
    comp = get_component("lemerre")
    sessions = group_sessions(comp, [
        asset("sub-A/sub-A_ses-1-probe0_ecephys.nwb"),
        asset("sub-A/sub-A_ses-1-probe1_ecephys.nwb"),
        asset("sub-A/sub-A_ses-2_probe0_ecephys.nwb"),
        asset("sub-B/sub-B_ses-1_probe3.nwb"),
    ])
    assert [(s.subject_id, s.session_id, len(s.assets)) for s in sessions] == [("A", "1", 2), ("A", "2", 1), ("B", "1", 1)]


def test_file_grouping_keeps_duplicate_labels_apart():
    comp = get_component("peyrache")
    sessions = group_sessions(comp, [asset("sub-A/sub-A_ses-1_ecephys.nwb"), asset("sub-A/sub-A_ses-1_behavior.nwb"),
                                     asset("sub-A/sub-A_ses-2.nwb")])
    ids = [s.session_id for s in sessions]
    assert len(set(ids)) == 3 and "2" in ids


def test_split_is_stable_and_about_one_percent():
    keys = [("vbn", f"s{i % 97}", f"ses{i}") for i in range(20000)]
    splits = [assign_split(*k) for k in keys]
    share = splits.count("test") / len(splits)
    assert 0.007 < share < 0.013
    # a session's split depends on its own key only: adding other components moves nothing
    again = [assign_split(*k) for k in keys]
    assert splits == again
    assert split_score("vbn", "a", "b") == split_score("vbn", "a", "b")
    assert assign_split("vbn", "a", "b", test_fraction=1.0) == "test"
    assert assign_split("vbn", "a", "b", test_fraction=0.0) == "train"


def test_readme_component_table_is_the_registry():
    from pathlib import Path

    from builders.commands.components import component_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert component_table() in readme, "README component table is stale: paste `neural-pile components`"


def test_dispatch_tables_cover_exactly_the_declared_kinds():
    from builders.readers import READERS
    from builders.registry import GROUPINGS, READER_KINDS, Component
    from builders.sessions import SESSION_LABEL

    assert tuple(SESSION_LABEL) == GROUPINGS
    assert tuple(READERS) == READER_KINDS
    base = dict(name="x", display_name="X", archive="dandi", archive_id="1", version=None, species="mouse",
                subjects=1, sessions=1, tokens=1)
    with pytest.raises(ValueError, match="grouping 'files' is not one of file, probe_merge, subject_folder"):
        Component(**base, grouping="files")
    with pytest.raises(ValueError, match="reader 'nwb' is not one of"):
        Component(**base, reader="nwb")
