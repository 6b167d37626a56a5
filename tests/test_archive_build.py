"""Builds over archive-shaped inputs: files without units are skipped and counted, never failed;
VBN rows carry the Allen ids; a folder of other recordings is refused before anything is written."""

from __future__ import annotations

import json

import pytest

from builders.archives.local import write_synthetic_identity
from builders.cli.main import main
from builders.pile import open_pile
from builders.synthetic.recordings import write_nwb_session
from tests.support.archive_listings import vbn_entries, vbn_main_path, vbn_rows, write_no_units_root
from tests.support.loopback import DandiStandIn, FileServer, ListingEntry


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch):
    monkeypatch.setenv("DANDI_NO_ET", "1")
    monkeypatch.setenv("NEURAL_PILE_HTTP_BACKOFF_S", "0.01")


def _session(path, subject, session, seed):
    write_nwb_session(path, subject_id=subject, session_id=session, n_units=6, duration_s=8.0, seed=seed, n_probes=1)


def test_an_allen_folder_builds_with_its_lfp_and_behaviour_files_skipped(tmp_path, capsys):
    folder = tmp_path / "dandi" / "000021"
    for number in range(2):
        base = folder / f"sub-{number}" / f"sub-{number}_ses-{number}"
        _session(base.with_name(base.name + ".nwb"), str(number), str(number), number)
        for probe in range(3):
            write_no_units_root(base.with_name(f"{base.name}_probe-{probe}_ecephys.nwb"))
    write_no_units_root(folder / "sub-1" / "sub-1_ses-1_behavior.nwb")  # no name rule: decided from its root
    out = tmp_path / "pile"
    code = main(["build", "vcn", "--data-dir", str(folder), "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    report = json.loads((out / "build_report.json").read_text())
    assert code == 0
    assert report["components"]["vcn"]["sessions_built"] == 2 and report["components"]["vcn"]["failed"] == []
    assert report["selection"]["vcn"] == {
        "listed_files": 9,
        "selected_files": 2,
        "skipped_files": {"LFP/probe file (no units)": 6, "no units table (HDF5 root)": 1},
        "missing_sessions": [],
    }
    assert (
        "vcn: read 2 of 9 listed files; skipped files (not failures): 6 LFP/probe file (no units), "
        "1 no units table (HDF5 root)" in printed
    )


def test_vbn_builds_from_dandi_names_with_allen_session_and_mouse_ids(tmp_path):
    rows = vbn_rows()[:2]
    root = tmp_path / "served"
    for number, row in enumerate(rows):
        _session(root / vbn_main_path(row), row.mouse_id, row.acquired_utc.isoformat(), number)
    served = {vbn_main_path(r) for r in rows}
    others = tuple(r.session_id for r in vbn_rows()[2:])  # their main files are not listed
    entries = [
        ListingEntry(e.path, (root / e.path).stat().st_size, file_path=e.path, metadata=e.metadata)
        if e.path in served
        else e
        for e in vbn_entries(drop_sessions=others)
    ]
    with FileServer(root) as files, DandiStandIn(files, page_size=1000) as dandi:
        dandi.add_listing("000713", entries)
        out = tmp_path / "pile"
        code = main(["build", "vbn", "--dandi-api-url", dandi.api_url, "--out", str(out), "--no-progress"])
        requested = set(files.requests)
    report = json.loads((out / "build_report.json").read_text())
    assert code == 0 and report["components"]["vbn"]["failed"] == []
    assert requested == set(served)  # only the two main files were read; no LFP or image file was asked
    assert report["selection"]["vbn"]["missing_sessions"] == sorted(r.session_id for r in vbn_rows()[2:])
    pile = open_pile(str(out), "vbn", ["train", "test"])
    labels = set()
    for group in pile.row_groups():
        table = pile.read(group, ["subject_id", "session_id"])
        labels |= set(zip(table["subject_id"].to_pylist(), table["session_id"].to_pylist(), strict=True))
    assert labels == {(r.mouse_id, r.session_id) for r in rows}


def test_a_synthetic_folder_is_refused_as_a_real_component(tmp_path, capsys):
    data = tmp_path / "demo_data"
    _session(data / "sub-M01" / "sub-M01_ses-1.nwb", "M01", "1", 0)
    write_synthetic_identity(data)
    out = tmp_path / "pile"
    assert main(["build", "peyrache", "--data-dir", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds the synthetic demo recordings, not peyrache (DANDI:000056)" in err[0]
    assert not out.exists()
    assert main(["build", "demo", "--data-dir", str(data), "--out", str(out), "--no-progress"]) == 0


def test_a_dandi_download_folder_of_another_dandiset_is_refused(tmp_path, capsys):
    data = tmp_path / "000056"
    _session(data / "sub-A" / "sub-A_ses-1.nwb", "A", "1", 0)
    (data / "dandiset.yaml").write_text("identifier: DANDI:000059\nname: another dandiset\n")
    assert main(["build", "peyrache", "--data-dir", str(data), "--out", str(tmp_path / "pile")]) == 2
    assert "holds DANDI:000059, not peyrache (DANDI:000056)" in capsys.readouterr().err
    (data / "dandiset.yaml").write_text("identifier: DANDI:000056\nname: Peyrache\n")
    assert main(["build", "peyrache", "--data-dir", str(data), "--out", str(tmp_path / "pile"), "--no-progress"]) == 0
