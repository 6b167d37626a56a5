"""``neural-pile plan`` and the selection behind it, against stand-ins serving listings shaped like
today's archives (``tests/archive_listings.py``). Expected counts come from the facts files."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from builders.archives import select_component
from builders.archives.selection import map_allen_session, select, verdict
from builders.archives.sessions import Asset, ListedFile
from builders.cli.main import main
from builders.spec.registry import get_component, registry
from tests.support.archive_listings import (
    STEINMETZ2_OTHERS,
    STEINMETZ2_SPKS,
    VBN_FILES,
    ibl_entries,
    vbn_entries,
    vbn_main_path,
    vbn_rows,
    visual_coding_entries,
    write_no_units_root,
    write_units_root,
)
from tests.support.loopback import DandiStandIn, FigshareStandIn, FileServer, ListingEntry


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch):
    monkeypatch.setenv("DANDI_NO_ET", "1")
    monkeypatch.setenv("NEURAL_PILE_HTTP_BACKOFF_S", "0.01")


@pytest.fixture(scope="module")
def archive_servers(tmp_path_factory):
    """A file server with one units file and one no-units file, a DANDI stand-in with VBN,
    Visual Coding and IBL listings, and a figshare article for Steinmetz-2."""
    root = tmp_path_factory.mktemp("archive")
    write_units_root(root / "units.nwb")
    write_no_units_root(root / "lfp.nwb")
    article = root / "figshare"
    article.mkdir()
    for name in STEINMETZ2_SPKS + STEINMETZ2_OTHERS:
        (article / name).write_bytes(b"MATLAB 5.0 MAT-file placeholder")
    with FileServer(root) as files, DandiStandIn(files, page_size=1000) as dandi, FigshareStandIn(files) as fig:
        dandi.add_listing("000713", vbn_entries(main_file="units.nwb"))
        dandi.add_listing("000021", visual_coding_entries(), published=("0.230101.0100",))
        dandi.add_listing("000409", ibl_entries())
        fig.add_article("7739750", "figshare")
        yield files, dandi, fig


def _plan(archive_servers, tmp_path, *components, extra=()):
    _, dandi, fig = archive_servers
    out = tmp_path / "plan.json"
    code = main(
        [
            "plan",
            *components,
            "--dandi-api-url",
            dandi.api_url,
            "--figshare-api-url",
            fig.api_url,
            "--json",
            str(out),
            "--no-progress",
            *extra,
        ]
    )
    records = {r["component"]: r for r in json.loads(out.read_text())["components"]} if out.exists() else {}
    return code, records


def test_the_published_vbn_session_maps_to_its_dandi_file_name():
    """The one public example: ecephys session 1043752325 of mouse 506940, acquired 15:21:49 by the
    Allen table, is ``sub-506940_ses-20200817T222149.nwb`` on DANDI."""
    session = map_allen_session("sub-506940/sub-506940_ses-20200817T222149.nwb", None)
    assert (session.session_id, session.mouse_id) == ("1043752325", "506940")
    assert map_allen_session("sub-506940/sub-506940_ses-20200818T000000.nwb", None) is None  # 1 h 38 min later
    assert map_allen_session("sub-524761/sub-524761_ses-20200817T222149.nwb", None) is None  # another mouse


def test_plan_vbn_selects_the_153_reference_sessions_without_touching_a_file(archive_servers, tmp_path, capsys):
    files, dandi, _ = archive_servers
    files.reset_counts()
    code, records = _plan(archive_servers, tmp_path, "vbn")
    vbn = records["vbn"]
    rows = vbn_rows()
    probes = sum(r.probes for r in rows)
    assert code == 0 and vbn["verdict"] == "ok" and vbn["reasons"] == []
    assert vbn["listed_files"] == VBN_FILES
    assert vbn["selected_files"] == 153 and vbn["sessions"] == 153 and vbn["subjects"] == 81
    assert vbn["skipped_files"] == {
        "stimulus/behaviour-only file (no units)": VBN_FILES - 153 - probes,
        "LFP/probe file (no units)": probes,
    }
    assert vbn["decided_by"] == {"listing names": VBN_FILES - 153, "listing metadata": 153}
    assert vbn["root_requests"] == 0 and sum(files.requests.values()) == 0  # no file was asked for anything
    assert dandi.calls["assets"] == 5  # 4,293 files at 1,000 a page
    printed = capsys.readouterr().out
    assert re.search(r"^vbn\s+4,293\s+153\s+4,140\s+153 / 153\s+81 / 81\s+.*ok$", printed, re.M)


def test_vbn_session_and_subject_ids_are_the_allen_ids(archive_servers):
    _, dandi, _ = archive_servers
    selection = select_component(get_component("vbn"), dandi_api_url=dandi.api_url)
    expected = {(r.mouse_id, r.session_id) for r in vbn_rows()}
    assert {(s.subject_id, s.session_id) for s in selection.sessions} == expected
    by_id = {s.session_id: s for s in selection.sessions}
    row = vbn_rows()[5]
    assert [a.path for a in by_id[row.session_id].assets] == [vbn_main_path(row)]


def test_missing_vbn_sessions_are_named_and_fail_the_plan(archive_servers, tmp_path, capsys):
    _, dandi, _ = archive_servers
    dropped = tuple(r.session_id for r in vbn_rows()[10:14])
    dandi.add_listing("000713", vbn_entries(drop_sessions=dropped))
    try:
        code, records = _plan(archive_servers, tmp_path, "vbn")
    finally:
        dandi.add_listing("000713", vbn_entries(main_file="units.nwb"))
    assert code == 1 and records["vbn"]["verdict"] == "differs"
    assert records["vbn"]["missing_sessions"] == sorted(dropped)
    assert f"4 of 153 VBN sessions not found: {', '.join(sorted(dropped))}" in capsys.readouterr().out


def test_a_vbn_main_file_of_no_listed_session_is_bad_input(archive_servers, tmp_path, capsys):
    _, dandi, _ = archive_servers
    stray = ListingEntry(
        "sub-506940/sub-506940_ses-20200101T120000.nwb",
        10,
        metadata={"variableMeasured": [{"value": "Units"}]},
    )
    dandi.add_listing("000713", [*vbn_entries(), stray])
    try:
        code, records = _plan(archive_servers, tmp_path, "vbn")
    finally:
        dandi.add_listing("000713", vbn_entries(main_file="units.nwb"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and records == {}
    assert len(err) == 1 and "sub-506940_ses-20200101T120000.nwb: maps to no session of the vbn list" in err[0]


def test_without_listing_metadata_only_unnamed_files_are_opened_and_their_requests_counted(archive_servers, tmp_path):
    """An archive whose listing carries no metadata: name rules still decide the LFP and image
    files with no request; each main file's root costs a few range requests, all counted."""
    files, dandi, _ = archive_servers
    size = (files.root / "units.nwb").stat().st_size
    dandi.add_listing("000713", vbn_entries(main_file="units.nwb", main_size=size), listing_metadata=False)
    files.reset_counts()
    redirects = dandi.calls["download"]
    try:
        code, records = _plan(archive_servers, tmp_path, "vbn")
    finally:
        dandi.add_listing("000713", vbn_entries(main_file="units.nwb"))
    vbn = records["vbn"]
    assert code == 0 and vbn["sessions"] == 153
    assert vbn["decided_by"] == {"listing names": VBN_FILES - 153, "HDF5 roots": 153}
    redirects = dandi.calls["download"] - redirects  # one per file: the archive's download link
    assert vbn["root_requests"] == files.requests["units.nwb"] + redirects
    assert redirects == 153 and files.requests["units.nwb"] == 153  # a small root is one range request
    assert set(files.requests) == {"units.nwb"}  # no request to a file the names rule out


def test_a_no_units_file_without_a_name_rule_is_skipped_from_its_root(archive_servers, tmp_path):
    files, _, _ = archive_servers
    vcn = get_component("vcn")
    base = files.url
    listed = [
        ListedFile(Asset("sub-1/sub-1_ses-1.nwb", f"{base}/units.nwb", size=None)),
        ListedFile(Asset("sub-1/sub-1_ses-1_behavior.nwb", f"{base}/lfp.nwb", size=None)),
    ]
    files.reset_counts()
    selection = select(vcn, listed)
    assert [a.path for a in selection.assets] == ["sub-1/sub-1_ses-1.nwb"]
    assert selection.skipped == [("sub-1/sub-1_ses-1_behavior.nwb", "no units table (HDF5 root)")]
    assert selection.root_requests == sum(files.requests.values()) > 0


def test_plan_visual_coding_ibl_and_steinmetz2(archive_servers, tmp_path):
    code, records = _plan(archive_servers, tmp_path, "vcn", "ibl", "steinmetz-2")
    vcn, ibl, s2 = records["vcn"], records["ibl"], records["steinmetz-2"]
    assert code == 0
    assert (vcn["listed_files"], vcn["selected_files"], vcn["sessions"], vcn["subjects"]) == (214, 32, 32, 32)
    assert vcn["skipped_files"] == {"LFP/probe file (no units)": 182}
    assert (ibl["listed_files"], ibl["selected_files"], ibl["sessions"], ibl["subjects"]) == (694, 347, 347, 115)
    assert ibl["skipped_files"] == {"not in the reference's set": 347}
    assert (s2["listed_files"], s2["selected_files"], s2["sessions"], s2["subjects"]) == (6, 3, 3, 3)
    assert {item["path"].rsplit("/", 1)[-1]: item["reason"] for item in s2["skipped"]} == {
        "probeLocations.mat": "not a file the reference read",
        "Krebs_face_proc.mat": "not a file the reference read",
        "Waksman.zip": "not a .mat file",
    }
    assert {r["verdict"] for r in records.values()} == {"ok"}


def test_a_hand_pruned_component_differs_within_its_stated_tolerance():
    giocomo = get_component("giocomo")  # 359 files / 349 published sessions; tolerance in the registry
    listed = [
        ListedFile(Asset(f"sub-{n % 34}/sub-{n % 34}_ses-{n}.nwb", "x"), {"variableMeasured": [{"value": "Units"}]})
        for n in range(349 + giocomo.session_tolerance)
    ]
    within = verdict(giocomo, select(giocomo, listed))
    assert within.ok and within.sessions == 349 + giocomo.session_tolerance
    assert within.reasons == (
        f"sessions {within.sessions:,} against 349 published (+{giocomo.session_tolerance}; "
        f"tolerance {giocomo.session_tolerance}: within)",
    )
    beyond = verdict(
        giocomo,
        select(
            giocomo,
            [*listed, ListedFile(Asset("sub-0/sub-0_ses-x.nwb", "x"), {"variableMeasured": [{"value": "Units"}]})],
        ),
    )
    assert not beyond.ok and "beyond" in beyond.reasons[0]
    exact = verdict(dataclasses.replace(giocomo, session_tolerance=0), select(giocomo, listed))
    assert not exact.ok


@pytest.mark.parametrize(
    "argv, message",
    [
        (["plan", "nosuch"], "unknown component 'nosuch'"),
        (["plan", "vcn", "--data-dir", "/nonexistent-folder"], "not a folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    assert main([*argv, "--json", str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "p.json").exists()


def test_an_archive_version_that_does_not_exist_is_named(archive_servers, tmp_path, capsys, monkeypatch):
    _, dandi, _ = archive_servers
    pinned = dataclasses.replace(get_component("vcn"), version="0.999999.0000")
    monkeypatch.setitem(registry(), "vcn", pinned)
    code, records = _plan(archive_servers, tmp_path, "vcn")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and records == {} and len(err) == 1
    assert "0.999999.0000" in err[0] and dandi.api_url in err[0]


def test_a_listing_that_selects_nothing_names_the_url_and_the_rules(archive_servers, tmp_path, capsys):
    _, dandi, _ = archive_servers
    dandi.add_listing("000021", [e for e in visual_coding_entries() if "_probe-" in e.path])
    try:
        code, _ = _plan(archive_servers, tmp_path, "vcn")
    finally:
        dandi.add_listing("000021", visual_coding_entries(), published=("0.230101.0100",))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert f"{dandi.api_url}/dandisets/000021/versions/draft/assets/" in err[0]
    assert "182 LFP/probe file (no units)" in err[0]
