"""Registry contents against the shared facts, session grouping, and split stability."""

import csv
from importlib import resources

import numpy as np
import pytest

from builders.archives.sessions import Asset, group_sessions
from builders.spec.registry import get_component, pile_components, registry
from builders.spec.split import (
    SESSION_RULE,
    TIME_TAIL_RULE,
    assign_sessions,
    component_rule,
    held_out_bins,
    rule_of,
    split_score,
)


def facts_rows():
    text = resources.files("builders.spec").joinpath("facts", "components.tsv").read_text()
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
    sessions = group_sessions(
        comp,
        [
            asset("sub-A/sub-A_ses-1-probe0_ecephys.nwb"),
            asset("sub-A/sub-A_ses-1-probe1_ecephys.nwb"),
            asset("sub-A/sub-A_ses-2_probe0_ecephys.nwb"),
            asset("sub-B/sub-B_ses-1_probe3.nwb"),
        ],
    )
    assert [(s.subject_id, s.session_id, len(s.assets)) for s in sessions] == [
        ("A", "1", 2),
        ("A", "2", 1),
        ("B", "1", 1),
    ]


def test_file_grouping_keeps_duplicate_labels_apart():
    comp = get_component("peyrache")
    sessions = group_sessions(
        comp,
        [
            asset("sub-A/sub-A_ses-1_ecephys.nwb"),
            asset("sub-A/sub-A_ses-1_behavior.nwb"),
            asset("sub-A/sub-A_ses-2.nwb"),
        ],
    )
    ids = [s.session_id for s in sessions]
    assert len(set(ids)) == 3 and "2" in ids


def test_split_score_is_pinned():
    """The hashed key is ``component/subject_id/session_id``: swapping any part moves the score."""
    assert split_score("vbn", "a", "b") == 0.5792122606047317
    assert split_score("ibl", "PL015", "1d4a") == 0.5317642117864515
    assert split_score("vbn", "b", "a") != split_score("vbn", "a", "b")


def synthetic_component(rng, name, n_sessions):
    """Sessions of unequal sizes (log-normal tokens, a few very large ones)."""
    tokens = (rng.lognormal(18, 0.8, n_sessions)).astype(np.int64) + 1
    return [(f"m{i % 7}", f"{name}-s{i}", int(t)) for i, t in enumerate(tokens)]


def brute_force_prefix(name, sessions, fraction):
    """The rule restated: every prefix length k >= 1 of the hash order, the nearest wins (smaller on ties)."""
    ordered = sorted(sessions, key=lambda s: split_score(name, s[0], s[1]))
    target = fraction * sum(s[2] for s in sessions)
    best = min(range(1, len(ordered) + 1), key=lambda k: (abs(sum(s[2] for s in ordered[:k]) - target), k))
    return {(s[0], s[1]) for s in ordered[:best]}


@pytest.mark.parametrize("n_sessions", [50, 120, 300])
def test_session_rule_is_the_nearest_prefix_and_near_one_percent(n_sessions):
    rng = np.random.default_rng(n_sessions)
    for trial in range(5):
        name = f"synthetic{trial}"
        sessions = synthetic_component(rng, name, n_sessions)
        splits = assign_sessions(name, sessions, 0.01)
        assert set(splits) == {(s[0], s[1]) for s in sessions}  # every session in exactly one split
        test = {k for k, v in splits.items() if v == "test"}
        assert test == brute_force_prefix(name, sessions, 0.01)
        total = sum(s[2] for s in sessions)
        share = sum(s[2] for s in sessions if (s[0], s[1]) in test) / total
        largest = max(s[2] for s in sessions) / total
        # never further than half a session from 1%, unless the first session alone is past 1%
        assert abs(share - 0.01) <= max(largest / 2, largest - 0.01) + 1e-12
        assert test  # a component with enough sessions always has test data


def test_adding_a_component_or_sessions_moves_only_the_boundary():
    rng = np.random.default_rng(7)
    components = {name: synthetic_component(rng, name, n) for name, n in (("a", 150), ("b", 220))}
    before = {name: assign_sessions(name, items) for name, items in components.items()}
    components["c"] = synthetic_component(rng, "c", 90)
    after = {name: assign_sessions(name, items) for name, items in components.items()}
    assert after["a"] == before["a"] and after["b"] == before["b"]
    # one more session in "a": only it and the sessions where the prefix crosses 1% may change
    grown = components["a"] + [("m0", "a-new", int(rng.lognormal(18, 0.8)))]
    moved = {k for k, v in assign_sessions("a", grown).items() if before["a"].get(k) != v}
    ordered = sorted(grown, key=lambda s: split_score("a", s[0], s[1]))
    old_test = [i for i, s in enumerate(ordered) if before["a"].get((s[0], s[1])) == "test"]
    boundary = {(s[0], s[1]) for s in ordered[max(old_test) - 1 : max(old_test) + 3]} | {("m0", "a-new")}
    assert moved <= boundary


def test_rule_choice_and_time_tail():
    assert component_rule(100) == SESSION_RULE and component_rule(99) == TIME_TAIL_RULE
    assert component_rule(20, test_fraction=0.05) == SESSION_RULE
    assert rule_of("vbn") == rule_of("ibl") == SESSION_RULE
    assert rule_of("iurilli") == rule_of("steinmetz-2") == rule_of("demo") == TIME_TAIL_RULE
    assert held_out_bins(1000) == 10 and held_out_bins(150) == 2 and held_out_bins(149) == 1
    assert held_out_bins(1) == 0 and held_out_bins(40) == 0
    assert assign_sessions("x", [("s", "1", 5)], 0.0) == {("s", "1"): "train"}
    assert set(assign_sessions("x", [("s", "1", 5), ("s", "2", 7)], 1.0).values()) == {"test"}
    with pytest.raises(ValueError, match="test_fraction"):
        assign_sessions("x", [], 1.5)


def test_readme_component_table_is_the_registry():
    from pathlib import Path

    from builders.cli.components import component_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert component_table() in readme, "README component table is stale: paste `neural-pile components`"


def test_dispatch_tables_cover_exactly_the_declared_kinds():
    from builders.archives.sessions import SESSION_LABEL
    from builders.readers import READERS
    from builders.spec.registry import GROUPINGS, READER_KINDS, Component

    assert tuple(SESSION_LABEL) == GROUPINGS
    assert tuple(READERS) == READER_KINDS
    base = dict(
        name="x",
        display_name="X",
        archive="dandi",
        archive_id="1",
        version=None,
        species="mouse",
        subjects=1,
        sessions=1,
        tokens=1,
    )
    with pytest.raises(ValueError, match="grouping 'files' is not one of file, probe_merge, subject_folder"):
        Component(**base, grouping="files")
    with pytest.raises(ValueError, match="reader 'nwb' is not one of"):
        Component(**base, reader="nwb")
