"""The registry's reading rules that make the build match the published pile: Steinmetz-2's dense
cluster ids, Le Merre's skipped files, Gonzalez's one stored sample per token, and how each
decision reaches the completion marker and the report."""

from __future__ import annotations

import dataclasses
import json
import shutil

import h5py
import numpy as np
import pytest
from scipy.io import savemat

from builders.archives import list_sessions
from builders.archives.http import RemoteReadError
from builders.archives.rangefile import RangeFile
from builders.archives.sessions import Asset, Session
from builders.build.pipeline import BuildOptions, build
from builders.build.report import format_report
from builders.build.rows import SessionSkipped, session_to_rows
from builders.readers import READERS, ReaderError, read_session
from builders.readers.firing_rates import read_firing_rates
from builders.readers.mat_spks import read_mat_spks
from builders.spec.binning import bin_spikes
from builders.spec.registry import get_component
from builders.storage import layout
from builders.storage.marker import read_markers


def _asset(path, prefix="sub-X") -> Asset:
    return Asset(path=f"{prefix}/{path.name}", url=str(path))


# --- Steinmetz-2: every cluster id 1..max of each probe is a row ------------------------------


@pytest.fixture
def gappy_mat(tmp_path):
    """Probe 0 has clusters {1, 2, 4, 7} (3, 5, 6 never spike), probe 1 cluster {2} only;
    spike times on a clock that starts at 10 s, none within 1 ms of a 20 ms edge."""
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0] = {
        "st": 10.0 + np.array([[0.0], [0.01], [0.05], [0.03], [0.11], [0.07]]),
        "clu": np.array([[1], [7], [2], [7], [4], [1]], dtype=np.float64),
    }
    cells[0, 1] = {"st": np.array([[10.09]]), "clu": np.array([[2.0]])}
    path = tmp_path / "Hench" / "spksHench.mat"
    path.parent.mkdir()
    savemat(path, {"spks": cells})
    return path


def test_dense_cluster_ids_give_zero_rows_for_ids_that_never_spike(gappy_mat):
    component = get_component("steinmetz-2")
    session = Session("steinmetz-2", "Hench", "Hench", (Asset(path="Hench/spksHench.mat", url=str(gappy_mat)),))
    result = session_to_rows(component, session)
    (row,) = result.rows
    # probe 0: ids 1..7; probe 1: ids 1..2 offset by probe 0's largest id (7) -> 8, 9
    np.testing.assert_array_equal(row["unit_ids"], np.arange(1, 10))
    # bins of 20 ms from the first spike (10.00 s) up to the last (10.11 s): 6 bins
    expected = np.array(
        [
            [1, 0, 0, 1, 0, 0],  # cluster 1: 10.00, 10.07
            [0, 0, 1, 0, 0, 0],  # cluster 2: 10.05
            [0, 0, 0, 0, 0, 0],  # cluster 3: never spikes
            [0, 0, 0, 0, 0, 1],  # cluster 4: 10.11
            [0, 0, 0, 0, 0, 0],  # cluster 5
            [0, 0, 0, 0, 0, 0],  # cluster 6
            [1, 1, 0, 0, 0, 0],  # cluster 7: 10.01, 10.03
            [0, 0, 0, 0, 0, 0],  # probe 1 cluster 1: never spikes
            [0, 0, 0, 0, 1, 0],  # probe 1 cluster 2: 10.09
        ],
        dtype=np.uint8,
    )
    np.testing.assert_array_equal(row["spike_counts"], expected)
    assert row["t_start"] == 10.0 and result.n_neurons == 9
    # without the option only the clusters that spike are units (ids keep the same offsets)
    sparse = read_mat_spks(str(gappy_mat), _asset(gappy_mat))
    np.testing.assert_array_equal(sparse.unit_ids, [1, 2, 4, 7, 9])


def test_dense_ids_of_the_synthetic_subjects_run_without_a_gap(mat_subjects, mat_dir):
    """Offsets are the earlier probes' largest ids, so the dense ids are 1..total: the units the
    writer made sit at their ids, every other row is empty."""
    component = get_component("steinmetz-2")
    for session, truth in zip(list_sessions(component, data_dir=mat_dir), mat_subjects):
        got = read_session(component, session)
        total = int(truth.unit_ids.max())
        np.testing.assert_array_equal(got.unit_ids, np.arange(1, total + 1))
        trains = [np.zeros(0)] * total
        for unit_id, train in zip(truth.unit_ids, truth.trains()):
            trains[unit_id - 1] = train
        first_spike = min(t.min() for t in truth.trains() if t.size)
        expected = bin_spikes([t - first_spike for t in trains])
        np.testing.assert_array_equal(session_to_rows(component, session).rows[0]["spike_counts"], expected)
        assert total > truth.population.n_units  # the writer leaves gaps, so there are zero rows


def test_an_option_the_reader_does_not_take_is_refused_naming_the_component(gappy_mat):
    component = dataclasses.replace(get_component("steinmetz-2"), reader_options=(("dense_ids", True),))
    session = Session("steinmetz-2", "Hench", "Hench", (Asset(path="Hench/spksHench.mat", url=str(gappy_mat)),))
    with pytest.raises(ValueError, match="'steinmetz-2'.*'mat_spks' takes no option dense_ids"):
        read_session(component, session)


# --- Le Merre: a file that fails is skipped, the rest of the recording kept ----------------------


@pytest.fixture
def lemerre_with_a_bad_probe(tmp_path, probe_split_sessions, probe_split_dir):
    """The two Le Merre-like sessions, the second probe file of session 2 overwritten with junk."""
    data = tmp_path / "lemerre"
    shutil.copytree(probe_split_dir, data)
    truth = probe_split_sessions[1]
    bad = data / truth.paths[1].relative_to(probe_split_dir)
    bad.write_bytes(b"not an HDF5 file at all")
    return data, truth, f"sub-LM1/{bad.name}"


def test_skip_file_keeps_the_rest_of_the_recording_and_names_the_file(lemerre_with_a_bad_probe):
    data, truth, bad_path = lemerre_with_a_bad_probe
    component = get_component("lemerre")
    session = list_sessions(component, data_dir=data)[1]
    assert len(session.assets) == 3
    result = session_to_rows(component, session)
    (line,) = result.notes["skipped_files"]
    assert line.startswith(f"{bad_path}: not a readable HDF5/NWB file")
    kept = [train for train, probe in zip(truth.trains(), truth.probes) if probe != 1]
    np.testing.assert_array_equal(result.rows[0]["spike_counts"], bin_spikes(kept))
    np.testing.assert_array_equal(result.rows[0]["unit_ids"], truth.unit_ids[truth.probes != 1])
    # the same session under the default rule fails, naming the file
    with pytest.raises(ReaderError, match=bad_path):
        read_session(dataclasses.replace(component, file_error="fail_session"), session)


def test_skip_file_fails_the_session_when_every_file_fails(tmp_path):
    bad = tmp_path / "bad.nwb"
    bad.write_bytes(b"junk")
    missing = tmp_path / "missing.nwb"
    assets = (Asset(path="sub-LM9/bad.nwb", url=str(bad)), Asset(path="sub-LM9/missing.nwb", url=str(missing)))
    session = Session("lemerre", "LM9", "1", assets)
    with pytest.raises(ReaderError, match=r"no file could be read: sub-LM9/bad.nwb: .*; sub-LM9/missing.nwb: file not"):
        read_session(get_component("lemerre"), session)


def test_a_session_left_without_spikes_says_which_files_were_skipped(tmp_path):
    silent = tmp_path / "silent.nwb"
    with h5py.File(silent, "w") as f:  # two units, no spike
        f.attrs["nwb_version"] = "2.5.0"
        f["units/id"] = np.array([0, 1])
        f["units/spike_times"] = np.zeros(0)
        f["units/spike_times_index"] = np.array([0, 0])
    bad = tmp_path / "bad.nwb"
    bad.write_bytes(b"junk")
    assets = (Asset(path="sub-LM9/bad.nwb", url=str(bad)), Asset(path="sub-LM9/silent.nwb", url=str(silent)))
    with pytest.raises(SessionSkipped, match=r"no spike in any unit; skipped file sub-LM9/bad.nwb: not a readable"):
        session_to_rows(get_component("lemerre"), Session("lemerre", "LM9", "1", assets))


def test_a_failed_network_fetch_fails_the_session_instead_of_being_skipped(lemerre_with_a_bad_probe, monkeypatch):
    """A rerun must try a file the network failed on again, so the session is not kept without it."""
    from builders.readers import nwb_units

    data, _, _ = lemerre_with_a_bad_probe
    component = get_component("lemerre")
    session = list_sessions(component, data_dir=data)[0]

    def broken(handle, asset):
        raise RemoteReadError(f"{asset.path}: range request failed 5 times")

    monkeypatch.setitem(READERS, "nwb_units", dataclasses.replace(nwb_units.NWB_UNITS, read=broken))
    with pytest.raises(RemoteReadError, match="failed 5 times"):
        read_session(component, session)


# --- Gonzalez: one stored sample per 20 ms token ------------------------------------------------


def _rates_file(path, rates, **timing) -> None:
    """A minimal NWB file with ``acquisition/firing_rates/data`` (time x units) and the given timing."""
    with h5py.File(path, "w") as f:
        f.attrs["nwb_version"] = "2.5.0"
        series = f.create_group("acquisition/firing_rates")
        series.create_dataset("data", data=np.asarray(rates, dtype=np.float64))
        if "rate" in timing:
            series.create_dataset("starting_time", data=timing.get("start", 0.0)).attrs["rate"] = timing["rate"]


#: 4 stored samples x 2 units (Hz) and their counts round(rate / 50), unit x sample, by hand
HAND_RATES = [[0.0, 10.0], [49.0, 260.0], [76.0, 24.0], [130.0, 51.0]]
HAND_COUNTS = [[0, 1, 2, 3], [0, 5, 0, 1]]


def test_stored_samples_without_timing_metadata(tmp_path):
    path = tmp_path / "sub-rat02_ses-3_ecephys.nwb"
    _rates_file(path, HAND_RATES)
    with pytest.raises(ReaderError, match="neither starting_time/rate nor timestamps"):  # the default refuses
        read_firing_rates(str(path), _asset(path))
    got = read_firing_rates(str(path), _asset(path), timing="stored_samples")
    np.testing.assert_array_equal(got.counts, HAND_COUNTS)
    assert got.t_start == 0.0
    (rule,) = got.notes["timing_rule"]
    assert rule.startswith("stored_samples: ") and "neither starting_time/rate nor timestamps" in rule
    # 40 ms bins are two stored samples each
    wide = read_firing_rates(str(path), _asset(path), bin_size=0.04, timing="stored_samples")
    np.testing.assert_array_equal(wide.counts, [[1, 5], [5, 1]])


@pytest.mark.parametrize("rate_hz", [100.0, 30.0])
def test_stored_samples_when_the_metadata_disagrees(tmp_path, rate_hz):
    """10 ms metadata would sum two samples per bin, 33 ms would be refused; the stored samples
    are the 20 ms tokens either way, and the metadata's start time is kept."""
    path = tmp_path / "sub-rat02_ses-4_ecephys.nwb"
    _rates_file(path, HAND_RATES, rate=rate_hz, start=7.5)
    got = read_firing_rates(str(path), _asset(path), timing="stored_samples")
    np.testing.assert_array_equal(got.counts, HAND_COUNTS)
    assert got.t_start == 7.5
    assert got.notes["timing_rule"] == [f"stored_samples: the metadata gives {1 / rate_hz:g} s per sample, not 0.02 s"]


def test_metadata_that_agrees_is_used_and_said(firing_rate_session, firing_rate_dir):
    component = get_component("gonzalez")
    result = session_to_rows(component, list_sessions(component, data_dir=firing_rate_dir)[0])
    assert result.notes == {"timing_rule": ["metadata"]}
    np.testing.assert_array_equal(result.rows[0]["spike_counts"], firing_rate_session.counts)


def test_gonzalez_reads_a_disagreeing_synthetic_file_to_its_counts(tmp_path, firing_rate_session):
    data = tmp_path / "gonzalez" / "sub-rat01"
    data.mkdir(parents=True)
    path = data / firing_rate_session.path.name
    shutil.copy(firing_rate_session.path, path)
    with h5py.File(path, "r+") as f:
        f["acquisition/firing_rates/starting_time"].attrs["rate"] = 100.0
    component = get_component("gonzalez")
    (session,) = list_sessions(component, data_dir=tmp_path / "gonzalez")
    result = session_to_rows(component, session)
    np.testing.assert_array_equal(result.rows[0]["spike_counts"], firing_rate_session.counts)
    assert result.notes["timing_rule"][0].startswith("stored_samples: the metadata gives 0.01 s")


# --- the decisions reach the markers and the report ---------------------------------------------


def test_skipped_files_and_timing_rules_reach_markers_and_report(lemerre_with_a_bad_probe, tmp_path, firing_rate_dir):
    data, _, bad_path = lemerre_with_a_bad_probe
    out = tmp_path / "pile"
    build(["lemerre"], BuildOptions(out=str(out), data_dir=str(data)), progress=False)
    report, _ = build(["gonzalez"], BuildOptions(out=str(out), data_dir=str(firing_rate_dir)), progress=False)
    lemerre = {m.session_id: m for m in read_markers(out, "lemerre")}
    assert [m.status for m in lemerre.values()] == ["done", "done"]
    assert lemerre["1"].notes == {}
    assert [line.split(": ")[0] for line in lemerre["2"].notes["skipped_files"]] == [bad_path]
    (gonzalez,) = read_markers(out, "gonzalez")
    assert gonzalez.notes == {"timing_rule": ["metadata"]}
    summary = report.components["lemerre"]
    assert summary["failed"] == [] and len(summary["skipped_files"]) == 1
    assert report.components["gonzalez"]["timing_rules"] == {"metadata": 1}
    text = format_report(report)
    assert f"skipped file {bad_path}: not a readable HDF5/NWB file" in text
    assert "timing rule metadata: 1 session(s)" in text
    header, _, lemerre_line = text.splitlines()[:3]
    assert lemerre_line.startswith("lemerre")
    start = header.index("skipped files")  # the count sits under its header
    assert lemerre_line[start : start + len("skipped files")].strip() == "1"
    written = json.loads((out / layout.REPORT).read_text())
    assert written["components"]["lemerre"]["skipped_files"] == summary["skipped_files"]


# --- prefetch: what each reader reads is fetched ahead --------------------------------------------


def _range_file(path):
    content = path.read_bytes()
    calls = []

    def fetch(start, stop):
        calls.append((start, stop))
        return content[start:stop]

    return RangeFile(fetch, len(content), name=path.name, block_size=4096), calls


@pytest.mark.parametrize("kind", ["mat_spks", "firing_rates"])
def test_prefetch_fetches_everything_the_reader_reads(kind, gappy_mat, tmp_path):
    if kind == "mat_spks":
        path = gappy_mat
        component = get_component("steinmetz-2")
    else:
        path = tmp_path / "sub-rat02_ses-5_ecephys.nwb"
        _rates_file(path, HAND_RATES, rate=30.0)
        component = get_component("gonzalez")
    asset = _asset(path)
    handle, calls = _range_file(path)
    READERS[kind].prefetch(handle, asset)
    assert calls
    calls.clear()
    read = {"mat_spks": read_mat_spks, "firing_rates": read_firing_rates}[kind]
    got = read(handle, asset, **dict(component.reader_options))
    assert calls == []  # every byte the reader asked for was already held
    local = read_session(component, Session(component.name, "S", "S", (asset,)))
    np.testing.assert_array_equal(local.unit_ids, got.unit_ids)
