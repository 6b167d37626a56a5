"""``neural-pile compare``: a build against a reference-layout copy of its rows, locally and on the Hub.

Expectations are counted from the rows the pile writers were given (``written``), never from the
code under test: rows, distinct (subject, session) pairs, the largest ``n_neurons`` of each
session's rows, and ``spike_counts.size`` summed over rows.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from builders.cli.main import main as cli_main
from builders.jobs.compare import ComponentCounts, PileCounts, compare_counts, count_pile
from builders.spec.registry import get_component
from tests.support.pile_folder import write_pile_folder
from tests.support.reference_pile import write_reference_pile

COMPONENTS = {"demo": (2, 1), "v2h": (2, 0), "vbn": (3, 1)}
SPLITS = ("train", "test")
#: The session left out of the altered reference, and the row cut to half its bins.
REMOVED = ("vbn", "vbn-train-1")
TRUNCATED = ("demo", "demo-train-0")


def expected(rows: list[dict]) -> dict:
    """Rows, sessions, neurons and tokens of ``rows`` counted directly."""
    sessions: dict = {}
    for r in rows:
        key = (r["subject_id"], r["session_id"])
        sessions[key] = max(sessions.get(key, 0), r["spike_counts"].shape[0])
    return {
        "rows": len(rows),
        "sessions": len(sessions),
        "neurons": sum(sessions.values()),
        "tokens": sum(int(r["spike_counts"].size) for r in rows),
    }


def by_split(written: dict) -> dict[str, list[dict]]:
    return {s: [r for c in written for r in written[c][s]] for s in SPLITS}


@pytest.fixture(scope="module")
def package_layout_folder_and_rows(tmp_path_factory):
    """``(folder, written)``: a pile in this package's layout."""
    folder = tmp_path_factory.mktemp("compare") / "ours"
    return folder, write_pile_folder(folder, COMPONENTS, seed=11)


@pytest.fixture(scope="module")
def same_rows_reference_pile(package_layout_folder_and_rows, tmp_path_factory):
    """The same rows in the reference layout: shuffled together, 4-row row groups, five columns."""
    return write_reference_pile(
        tmp_path_factory.mktemp("same") / "pile", rows=by_split(package_layout_folder_and_rows[1]), row_group_rows=4
    )


@pytest.fixture(scope="module")
def altered_reference_pile(package_layout_folder_and_rows, tmp_path_factory):
    """``(pile, removed rows, truncated row before, after)``: one session's rows left out, one row cut
    to half its bins, in the reference layout."""
    removed, truncated = [], None
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for split, split_rows in by_split(package_layout_folder_and_rows[1]).items():
        for r in split_rows:
            if (r["source_dataset"], r["session_id"]) == REMOVED:
                removed.append(r)
                continue
            if truncated is None and (r["source_dataset"], r["session_id"]) == TRUNCATED:
                cut = dict(
                    r, spike_counts=np.ascontiguousarray(r["spike_counts"][:, : r["spike_counts"].shape[1] // 2])
                )
                truncated = (r, cut)
                r = cut
            rows[split].append(r)
    assert removed and truncated is not None
    pile = write_reference_pile(tmp_path_factory.mktemp("altered") / "pile", rows=rows, row_group_rows=3)
    return pile, removed, truncated


def run_compare(argv, tmp_path, capsys) -> tuple[int, dict | None, str, str]:
    out = tmp_path / f"compare-{len(list(tmp_path.glob('compare-*.json')))}.json"
    code = cli_main(["compare", *argv, "--json", str(out), "--no-progress"])
    captured = capsys.readouterr()
    report = json.loads(out.read_text()) if out.exists() else None
    return code, report, captured.out, captured.err


def cells(report: dict) -> dict:
    return {e["component"]: e for e in report["components"]}


def test_counts_of_our_layout_equal_a_direct_count(package_layout_folder_and_rows):
    folder, written = package_layout_folder_and_rows
    counted = count_pile(str(folder))
    assert set(counted.components) == set(COMPONENTS)
    for component, counts in counted.components.items():
        want = expected([r for s in SPLITS for r in written[component][s]])
        got = counts.as_dict()
        assert {q: got[q] for q in want} == want, component
        assert got["tokens_from"] == ["n_neurons x n_time_bins"]


def test_same_rows_in_the_reference_layout_compare_equal(
    package_layout_folder_and_rows, same_rows_reference_pile, tmp_path, capsys
):
    folder, written = package_layout_folder_and_rows
    # shuffled row groups hold several components: without --count-tokens the reference's neurons
    # and tokens are not counted (and not checked), rows and sessions are
    code, report, out, _ = run_compare(
        ["--ours", str(folder), "--reference", str(same_rows_reference_pile.folder)], tmp_path, capsys
    )
    assert code == 0, out
    for component, entry in cells(report).items():
        want = expected(same_rows_reference_pile.select(component))
        assert entry["rows"]["reference"] == want["rows"] and entry["rows"]["difference"] == 0
        assert entry["sessions"]["reference"] == want["sessions"] and entry["sessions"]["difference"] == 0
        assert entry["neurons"]["reference"] is None and entry["tokens"]["reference"] is None
        assert entry["unchecked"] == ["neurons", "tokens"]
    assert "not counted" in out
    # --count-tokens reads spike_counts: every difference is 0
    code, report, out, _ = run_compare(
        ["--ours", str(folder), "--reference", str(same_rows_reference_pile.folder), "--count-tokens"], tmp_path, capsys
    )
    assert code == 0, out
    for component, entry in cells(report).items():
        want = expected(same_rows_reference_pile.select(component))
        for quantity, value in want.items():
            assert entry[quantity]["ours"] == entry[quantity]["reference"] == value, (component, quantity)
            assert entry[quantity]["difference"] == 0
        assert entry["tokens_from"] == {"ours": ["n_neurons x n_time_bins"], "reference": ["spike_counts"]}
        assert entry["ok"] and not entry["unchecked"]


def test_tokens_from_the_footer_where_a_row_group_holds_one_component(package_layout_folder_and_rows, tmp_path_factory):
    folder, written = package_layout_folder_and_rows
    grouped = write_reference_pile(
        tmp_path_factory.mktemp("grouped") / "pile", rows=by_split(written), row_group_rows=3, shuffle=False
    )
    # which row groups hold one component, from the files themselves
    single: dict[str, bool] = {c: True for c in COMPONENTS}
    for split in SPLITS:
        for relative in grouped.files[split]:
            parquet = pq.ParquetFile(grouped.folder / relative)
            for i in range(parquet.num_row_groups):
                labels = set(parquet.read_row_group(i, columns=["source_dataset"]).column(0).to_pylist())
                for label in labels:
                    single[label] &= len(labels) == 1
    assert any(single.values()) and not all(single.values())  # both cases occur
    counted = count_pile(str(grouped.folder))
    for component, counts in counted.components.items():
        got = counts.as_dict()
        assert got["neurons"] is None
        if single[component]:
            assert got["tokens"] == expected(grouped.select(component))["tokens"]
            assert got["tokens_from"] == ["parquet footer"]
        else:
            assert got["tokens"] is None


def test_a_removed_session_and_a_truncated_row_are_the_differences(
    package_layout_folder_and_rows, altered_reference_pile, tmp_path, capsys
):
    folder, written = package_layout_folder_and_rows
    pile, removed, (before, after) = altered_reference_pile
    code, report, out, _ = run_compare(
        ["--ours", str(folder), "--reference", str(pile.folder), "--count-tokens"], tmp_path, capsys
    )
    assert code == 1, out
    lost = expected(removed)
    cut_tokens = before["spike_counts"].size - after["spike_counts"].size
    assert cut_tokens > 0
    want = {
        "vbn": {"rows": lost["rows"], "sessions": 1, "neurons": lost["neurons"], "tokens": lost["tokens"]},
        "demo": {"rows": 0, "sessions": 0, "neurons": 0, "tokens": cut_tokens},
        "v2h": {"rows": 0, "sessions": 0, "neurons": 0, "tokens": 0},
    }
    table = cells(report)
    for component, differences in want.items():
        got = {q: table[component][q]["difference"] for q in differences}
        assert got == differences, component
    assert not table["vbn"]["ok"] and not table["demo"]["ok"] and table["v2h"]["ok"]
    assert table["demo"]["problems"] == [
        f"tokens differ by +{cut_tokens:,} ({cut_tokens / (expected([r for s in SPLITS for r in written['demo'][s]])['tokens'] - cut_tokens):+.4%})"
    ]
    assert "DIFFERS" in out and "DIFFERENT" in out
    # a tolerance that covers the truncation (but 0 sessions) leaves only vbn failing
    relative = table["demo"]["tokens"]["relative"]
    code, report, _, _ = run_compare(
        ["--ours", str(folder), "--reference", str(pile.folder), "--count-tokens", "--tolerance", str(relative * 1.01)],
        tmp_path,
        capsys,
    )
    assert code == 1 and cells(report)["demo"]["ok"] and not cells(report)["vbn"]["ok"]
    code, report, _, _ = run_compare(
        [
            "--ours",
            str(folder),
            "--reference",
            str(pile.folder),
            "--count-tokens",
            "--components",
            "demo",
            "v2h",
            "--tolerance",
            str(relative * 1.01),
        ],
        tmp_path,
        capsys,
    )
    assert code == 0 and [e["component"] for e in report["components"]] == ["demo", "v2h"]
    assert report["only_in_reference"] == ["vbn"]


def test_a_component_missing_on_one_side_differs(
    package_layout_folder_and_rows, same_rows_reference_pile, tmp_path, capsys
):
    folder, written = package_layout_folder_and_rows
    demo_only = tmp_path / "demo_only"
    write_pile_folder(demo_only, {"demo": COMPONENTS["demo"]}, seed=11)  # the same demo rows (same seed, first)
    code, report, out, _ = run_compare(
        ["--ours", str(demo_only), "--reference", str(same_rows_reference_pile.folder)], tmp_path, capsys
    )
    assert code == 0 and report["only_in_reference"] == ["v2h", "vbn"]
    assert "only in the reference, not compared: v2h, vbn" in out
    code, report, _, _ = run_compare(
        ["--ours", str(demo_only), "--reference", str(same_rows_reference_pile.folder), "--components", "demo", "vbn"],
        tmp_path,
        capsys,
    )
    assert code == 1
    vbn = cells(report)["vbn"]
    assert (
        vbn["rows"]["ours"] == 0
        and vbn["rows"]["difference"] == -expected(same_rows_reference_pile.select("vbn"))["rows"]
    )


def test_without_count_tokens_no_spike_data_is_read(
    package_layout_folder_and_rows, same_rows_reference_pile, monkeypatch
):
    folder, _ = package_layout_folder_and_rows
    asked: list = []
    for name in ("read_row_group", "read", "iter_batches", "read_row_groups"):
        original = getattr(pq.ParquetFile, name)

        def wrapped(self, *args, _original=original, **kwargs):
            asked.append(kwargs.get("columns"))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(pq.ParquetFile, name, wrapped)
    count_pile(str(folder))
    count_pile(str(same_rows_reference_pile.folder))
    assert asked and all(columns is not None and "spike_counts" not in columns for columns in asked), asked
    asked.clear()
    count_pile(str(same_rows_reference_pile.folder), count_tokens=True)
    assert any(columns == ["spike_counts"] for columns in asked)


def test_reference_on_the_hub(package_layout_folder_and_rows, same_rows_reference_pile, hub, tmp_path, capsys):
    folder, _ = package_layout_folder_and_rows
    commit = hub.add_repo("loopback/pile-published", same_rows_reference_pile.folder)["main"]
    code, report, out, err = run_compare(
        ["--ours", str(folder), "--reference", "loopback/pile-published", "--count-tokens"], tmp_path, capsys
    )
    assert code == 0, out + err
    assert report["reference"]["repo_id"] == "loopback/pile-published" and report["reference"]["commit"] == commit
    for component, entry in cells(report).items():
        want = expected(same_rows_reference_pile.select(component))
        assert {q: entry[q]["reference"] for q in want} == want
    # our layout on the Hub too: one config per component, each read at the commit first resolved
    built_commit = hub.add_repo("loopback/pile-built", folder)["main"]
    code, report, out, err = run_compare(
        ["--ours", "loopback/pile-built", "--reference", "loopback/pile-published", "--count-tokens"], tmp_path, capsys
    )
    assert code == 0, out + err
    assert report["ours"]["commit"] == built_commit and sorted(report["ours"]["configs"]) == sorted(COMPONENTS)
    assert all(e[q]["difference"] == 0 for e in report["components"] for q in ("rows", "sessions", "neurons", "tokens"))


def test_published_figures_column(package_layout_folder_and_rows, tmp_path, capsys):
    folder, written = package_layout_folder_and_rows
    code, report, out, _ = run_compare(["--ours", str(folder)], tmp_path, capsys)
    assert code == 1  # a few synthetic sessions are not the published VBN
    table = cells(report)
    vbn = get_component("vbn")
    ours_vbn = expected([r for s in SPLITS for r in written["vbn"][s]])
    assert table["vbn"]["sessions"]["published"] == vbn.sessions
    assert table["vbn"]["sessions"]["published_difference"] == ours_vbn["sessions"] - vbn.sessions
    assert table["vbn"]["tokens"]["published_difference"] == ours_vbn["tokens"] - vbn.tokens
    assert "published" not in table["demo"]["tokens"] and table["demo"]["ok"]  # the demo has no published figures
    assert f"{vbn.tokens:,}" in out


def counts_with(name: str, n_sessions: int, tokens: int) -> PileCounts:
    sessions = {("s", str(i)): 10 for i in range(n_sessions)}
    return PileCounts({"dataset": "x"}, {name: ComponentCounts(rows=n_sessions, sessions=sessions, tokens=tokens)})


def test_published_check_uses_the_registry_tolerances():
    giocomo = get_component("giocomo")
    assert giocomo.session_tolerance > 0
    at_edge = compare_counts(counts_with("giocomo", giocomo.sessions - giocomo.session_tolerance, giocomo.tokens), None)
    assert at_edge["ok"]
    beyond = compare_counts(
        counts_with("giocomo", giocomo.sessions - giocomo.session_tolerance - 1, giocomo.tokens), None
    )
    assert not beyond["ok"] and beyond["components"][0]["problems"][0].startswith("sessions differ")
    tokens_off = compare_counts(counts_with("giocomo", giocomo.sessions, int(giocomo.tokens * 1.002)), None)
    assert not tokens_off["ok"]
    assert compare_counts(counts_with("giocomo", giocomo.sessions, int(giocomo.tokens * 1.002)), None, tolerance=0.003)[
        "ok"
    ]
    # a published figure that counts files is shown, not checked
    lemerre = get_component("lemerre")
    assert lemerre.session_figure == "files"
    report = compare_counts(counts_with("lemerre", 3, lemerre.tokens), None)
    assert report["ok"] and report["components"][0]["unchecked"] == ["sessions (the published figure counts files)"]


def one_line(err: str) -> str:
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_bad_input_is_one_line_and_exit_2(
    package_layout_folder_and_rows, same_rows_reference_pile, hub, tmp_path, capsys
):
    folder, _ = package_layout_folder_and_rows
    missing = tmp_path / "no_such_pile"
    code, report, _, err = run_compare(
        ["--ours", str(missing), "--reference", str(same_rows_reference_pile.folder)], tmp_path, capsys
    )
    assert code == 2 and report is None
    assert one_line(err).startswith(f"error: --ours {missing}: no such folder")
    code, report, _, err = run_compare(["--ours", str(folder), "--reference", "loopback/nope"], tmp_path, capsys)
    assert code == 2 and report is None
    assert "--reference loopback/nope: no such dataset repo" in one_line(err)
    code, report, _, err = run_compare(["--ours", str(folder), "--components", "nosuch"], tmp_path, capsys)
    assert code == 2 and report is None and "--components nosuch" in one_line(err)
    code = cli_main(["compare", "--ours", str(folder), "--json", str(tmp_path), "--no-progress"])
    assert code == 2 and "--json" in one_line(capsys.readouterr().err)
    assert not list(tmp_path.glob("*.json"))


def test_sessions_are_told_apart_by_subject(package_layout_folder_and_rows, tmp_path):
    """Archives reuse session labels across subjects (``ses-1``): a session is a (subject, session) pair."""
    _, written = package_layout_folder_and_rows
    rows = {s: [dict(r, session_id="ses-1") for c in written for r in written[c][s]] for s in SPLITS}
    pile = write_reference_pile(tmp_path / "pile", rows=rows, row_group_rows=4)
    counted = count_pile(str(pile.folder))
    for component, counts in counted.components.items():
        subjects = {r["subject_id"] for s in SPLITS for r in written[component][s]}
        assert counts.n_sessions == len(subjects) > 0
    assert counted.components["vbn"].n_sessions == 3  # sub-0, sub-1, sub-2 of the train split (sub-0 again in test)
