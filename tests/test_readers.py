"""The three readers on synthetic files, against the ground truth their writers used."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys

import h5py
import numpy as np
import pytest
from scipy.io import savemat

from builders.archives import list_sessions
from builders.archives.sessions import Asset, Session
from builders.build.rows import session_to_rows
from builders.readers import BinnedUnits, ReaderError, SpikeTrains, read_session
from builders.readers.firing_rates import read_firing_rates
from builders.readers.mat_spks import read_mat_spks
from builders.readers.nwb_file import normalize_region
from builders.readers.nwb_units import read_nwb_units
from builders.spec.binning import bin_flat, bin_spikes
from builders.spec.registry import get_component
from builders.synthetic.recordings import PROBE_AREAS


def _asset(path) -> Asset:
    return Asset(path=f"sub-X/{path.name}", url=str(path))


class CountingFile(io.RawIOBase):
    """A read-only binary file that counts the bytes handed out (what a stream would fetch)."""

    def __init__(self, path):
        self._f = open(path, "rb")
        self.bytes_read = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def readinto(self, buffer):
        n = self._f.readinto(buffer)
        self.bytes_read += n or 0
        return n

    def seek(self, offset, whence=io.SEEK_SET):
        return self._f.seek(offset, whence)

    def tell(self):
        return self._f.tell()

    def close(self):
        self._f.close()
        super().close()


def _assert_trains_equal(got: SpikeTrains, truth) -> None:
    np.testing.assert_array_equal(got.ends, truth.population.ends)
    np.testing.assert_array_equal(got.times, truth.population.times)
    np.testing.assert_array_equal(got.unit_ids, truth.unit_ids)
    assert got.unit_regions == truth.unit_regions


# --- NWB units table -------------------------------------------------------------------------


@pytest.mark.parametrize("as_file_object", [False, True])
def test_nwb_units_match_ground_truth(nwb_session, as_file_object):
    if as_file_object:
        with open(nwb_session.path, "rb") as handle:
            got = read_nwb_units(handle, _asset(nwb_session.path))
    else:
        got = read_nwb_units(str(nwb_session.path), _asset(nwb_session.path))
    _assert_trains_equal(got, nwb_session)
    assert got.origin == 0.0
    # regions came through the electrodes table and are real area names
    assert set(got.unit_regions) <= {area for areas in PROBE_AREAS for area in areas}
    assert "" not in got.unit_regions


def test_silent_units_stay_as_rows(nwb_session):
    got = read_nwb_units(str(nwb_session.path), _asset(nwb_session.path))
    lengths = np.diff(got.ends, prepend=0)
    assert got.n_units == 40
    assert np.count_nonzero(lengths == 0) == np.count_nonzero(nwb_session.population.silent) >= 1
    counts = bin_flat(got.times, got.ends)[0]
    assert counts.shape[0] == 40 and not counts[lengths == 0].any()


def test_own_region_column_is_preferred_over_electrodes(region_column_session):
    path = region_column_session.path
    with h5py.File(path, "r") as f:  # the electrodes table only says "unknown"
        assert {v.decode() for v in f["general/extracellular_ephys/electrodes/location"][()]} == {"unknown"}
    got = read_nwb_units(str(path), _asset(path))
    _assert_trains_equal(got, region_column_session)
    assert "" not in got.unit_regions


def test_regions_fall_back_to_empty(tmp_path, region_column_session):
    # without the units' own column, the electrodes' "unknown" becomes ""
    path = tmp_path / "sub-X_ses-1_ecephys.nwb"
    path.write_bytes(region_column_session.path.read_bytes())
    with h5py.File(path, "r+") as f:
        del f["units/location"]
    got = read_nwb_units(str(path), _asset(path))
    assert got.unit_regions == [""] * got.n_units


@pytest.mark.parametrize(
    "label, expected",
    [("CA1", "CA1"), ("  VISp ", "VISp"), ("unknown", ""), ("NaN", ""), ("", ""), ("None", "")],
)
def test_normalize_region(label, expected):
    assert normalize_region(label) == expected


def test_nwb_reader_reads_only_units_of_a_big_file(lfp_session):
    size = lfp_session.path.stat().st_size
    handle = CountingFile(lfp_session.path)
    try:
        got = read_nwb_units(handle, _asset(lfp_session.path))
    finally:
        handle.close()
    _assert_trains_equal(got, lfp_session)
    spike_bytes = lfp_session.population.times.size * 8
    assert size > 9_000_000  # the LFP series is the bulk of the file
    assert handle.bytes_read < spike_bytes + 1_000_000
    assert handle.bytes_read < 0.1 * size


def test_unsorted_and_nan_times_are_read_and_counted(unsorted_nan_file):
    path, trains = unsorted_nan_file
    got = read_nwb_units(str(path), _asset(path))
    np.testing.assert_array_equal(got.times, np.concatenate(trains))  # NaN compare equal here
    np.testing.assert_array_equal(got.unit_ids, [10, 11, 12, 13])
    counts, stats = bin_flat(got.times, got.ends)
    assert stats.unsorted_units == 1 and stats.dropped_nonfinite == 2
    # reference: np.histogram of each train's finite times on edges 0, 0.02, ... past 0.52 s
    edges = np.arange(0, 0.52 + 0.02, 0.02)
    expected = np.vstack([np.histogram(t[np.isfinite(t)], edges)[0] for t in trains]).astype(np.uint8)
    np.testing.assert_array_equal(counts, expected)


@pytest.mark.parametrize(
    "kind", ["not_hdf5", "no_units", "no_spike_times", "bad_index", "spikes_without_units", "truncated"]
)
def test_bad_nwb_files_name_the_file(bad_nwb_files, kind):
    path = bad_nwb_files[kind]
    asset = _asset(path)
    with pytest.raises(ReaderError, match=path.name):
        read_nwb_units(str(path), asset)
    with open(path, "rb") as handle, pytest.raises(ReaderError, match=path.name):
        read_nwb_units(handle, asset)


def test_spike_times_owned_by_no_unit_are_refused(bad_nwb_files):
    path = bad_nwb_files["spikes_without_units"]
    with h5py.File(path, "r") as f:
        n_times = f["units/spike_times"].shape[0]
    assert n_times > 0
    with pytest.raises(ReaderError, match=f"{path.name}.*{n_times} spike times for 0 units"):
        read_nwb_units(str(path), _asset(path))
    # the binning contract refuses the same inconsistency instead of failing on array shapes
    with pytest.raises(ValueError, match=f"{n_times} times, 0 units"):
        bin_flat(np.linspace(0.0, 1.0, n_times), np.zeros(0, dtype=np.int64))


def test_bad_file_through_read_session_names_it(bad_nwb_files):
    path = bad_nwb_files["no_units"]
    session = Session("demo", "B1", "nounits", (Asset(path="sub-B1/" + path.name, url=str(path)),))
    with pytest.raises(ReaderError, match="sub-B1/" + path.name):
        read_session(get_component("demo"), session)


def test_hdf5_that_is_not_nwb(tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f["units/spike_times"] = np.arange(3.0)
    with pytest.raises(ReaderError, match="plain.h5.*NWB"):
        read_nwb_units(str(path), _asset(path))


# --- firing rates (Gonzalez) ------------------------------------------------------------------


def test_firing_rates_through_gonzalez_listing(firing_rate_session, firing_rate_dir):
    component = get_component("gonzalez")
    sessions = list_sessions(component, data_dir=firing_rate_dir)
    assert [(s.subject_id, s.session_id) for s in sessions] == [("rat01", "1")]
    got = read_session(component, sessions[0])
    assert isinstance(got, BinnedUnits)
    np.testing.assert_array_equal(got.counts, firing_rate_session.counts)
    assert got.counts.dtype == np.uint8 and got.t_start == 2.5
    np.testing.assert_array_equal(got.unit_ids, np.arange(15))
    assert got.stats.dropped_spikes == 0 and got.stats.saturated_bins == 0
    result = session_to_rows(component, sessions[0])
    np.testing.assert_array_equal(result.rows[0]["spike_counts"], firing_rate_session.counts)
    assert result.rows[0]["t_start"] == 2.5


def test_firing_rates_apply_conversion_and_offset(tmp_path, firing_rate_session):
    # the same rates stored scaled and shifted: value (Hz) = data * conversion + offset
    path = tmp_path / "sub-rat01_ses-7_ecephys.nwb"
    path.write_bytes(firing_rate_session.path.read_bytes())
    with h5py.File(path, "r+") as f:
        data = f["acquisition/firing_rates/data"]
        hz = data[()].astype(np.float64)
        del f["acquisition/firing_rates/data"]
        stored = f["acquisition/firing_rates"].create_dataset("data", data=(hz - 100.0) / 1e-3)
        stored.attrs["unit"] = "Hz"
        stored.attrs["conversion"] = 1e-3
        stored.attrs["offset"] = 100.0  # two counts per 20 ms bin
    got = read_firing_rates(str(path), _asset(path))
    np.testing.assert_array_equal(got.counts, firing_rate_session.counts)


def test_firing_rates_bad_inputs(tmp_path, firing_rate_session, nwb_file):
    with pytest.raises(ReaderError, match=f"{nwb_file.name}.*firing_rates"):
        read_firing_rates(str(nwb_file), _asset(nwb_file))
    wrong_rate = tmp_path / "sub-rat01_ses-9_ecephys.nwb"
    wrong_rate.write_bytes(firing_rate_session.path.read_bytes())
    with h5py.File(wrong_rate, "r+") as f:
        f["acquisition/firing_rates/starting_time"].attrs["rate"] = 30.0  # 33 ms: no whole number per 20 ms bin
    with pytest.raises(ReaderError, match=f"{wrong_rate.name}.*sampled every"):
        read_firing_rates(str(wrong_rate), _asset(wrong_rate))
    text = tmp_path / "sub-rat01_ses-8_ecephys.nwb"
    text.write_text("not hdf5")
    with pytest.raises(ReaderError, match=text.name):
        read_firing_rates(str(text), _asset(text))


def test_firing_rates_follow_the_build_bin_size(firing_rate_session, firing_rate_dir):
    """read_session gets the build's bin size: 40 ms bins sum two 20 ms samples; 10 or 30 ms is refused."""
    component = get_component("gonzalez")
    session = list_sessions(component, data_dir=firing_rate_dir)[0]
    truth = firing_rate_session.counts.astype(np.int64)
    n_units, n_samples = truth.shape
    expected = np.array([[truth[u, j : j + 2].sum() for j in range(0, n_samples, 2)] for u in range(n_units)])
    result = session_to_rows(component, session, bin_size=0.04)
    np.testing.assert_array_equal(result.rows[0]["spike_counts"], np.minimum(expected, 255))
    assert result.rows[0]["t_start"] == 2.5
    np.testing.assert_array_equal(read_session(component, session, bin_size=0.02).counts, firing_rate_session.counts)
    for bin_size in (0.01, 0.03):
        with pytest.raises(
            ReaderError, match=rf"{session.assets[0].path}.*sampled every 0.02 s, so bins of {bin_size:g} s"
        ):
            session_to_rows(component, session, bin_size=bin_size)


# --- probe merge (Le Merre) -------------------------------------------------------------------


def test_probe_split_sessions_merge_on_shared_bins(probe_split_sessions, probe_split_dir):
    component = get_component("lemerre")
    sessions = list_sessions(component, data_dir=probe_split_dir)
    assert [(s.subject_id, s.session_id, len(s.assets)) for s in sessions] == [("LM1", "1", 2), ("LM1", "2", 3)]
    for session, truth in zip(sessions, probe_split_sessions):
        got = read_session(component, session)
        _assert_trains_equal(got, truth)
        counts, _ = bin_flat(got.times, got.ends)
        np.testing.assert_array_equal(counts, bin_spikes(truth.trains()))
        # every probe file's units are present, in probe order
        np.testing.assert_array_equal(np.diff(truth.probes) >= 0, True)
        assert counts.shape[0] == truth.population.n_units


# --- Steinmetz-2 .mat -------------------------------------------------------------------------


def test_mat_spks_through_steinmetz2_listing(mat_subjects, mat_dir):
    # without the registry's dense_cluster_ids option (tests/test_reader_parity.py has it): spiking clusters only
    component = dataclasses.replace(get_component("steinmetz-2"), reader_options=())
    sessions = list_sessions(component, data_dir=mat_dir)
    assert [(s.subject_id, s.session_id) for s in sessions] == [("Krebs", "Krebs"), ("Waksman", "Waksman")]
    for session, truth in zip(sessions, mat_subjects):
        got = read_session(component, session)
        _assert_trains_equal(got, truth)
        first_spike = min(t.min() for t in truth.trains() if t.size)
        assert got.origin == first_spike
        assert len(set(got.unit_ids.tolist())) == got.n_units  # offsets keep ids unique
        result = session_to_rows(component, session)
        expected = bin_spikes([t - first_spike for t in truth.trains()])
        np.testing.assert_array_equal(result.rows[0]["spike_counts"], expected)
        assert result.rows[0]["t_start"] == first_spike


def test_mat_cluster_offsets_by_hand(tmp_path):
    # probe 0: clusters 2 and 5 (max 5); probe 1: cluster 1 -> id 1 + 5 = 6; probe 2 empty
    cells = np.empty((1, 3), dtype=object)
    cells[0, 0] = {"st": np.array([[4.0], [3.0], [3.5]]), "clu": np.array([[5], [2], [5]])}
    cells[0, 1] = {"st": np.array([[3.2]]), "clu": np.array([[1]])}
    cells[0, 2] = {"st": np.zeros((0, 1)), "clu": np.zeros((0, 1))}
    path = tmp_path / "spksA.mat"
    savemat(path, {"spks": cells})
    got = read_mat_spks(str(path), _asset(path))
    np.testing.assert_array_equal(got.unit_ids, [2, 5, 6])
    np.testing.assert_array_equal(got.ends, [1, 3, 4])
    np.testing.assert_array_equal(got.times, [3.0, 4.0, 3.5, 3.2])  # stored order kept per cluster
    assert got.origin == 3.0
    # the same file read as a file object
    with open(path, "rb") as handle:
        np.testing.assert_array_equal(read_mat_spks(handle, _asset(path)).times, got.times)


def test_mat_bad_inputs(tmp_path):
    no_var = tmp_path / "spksB.mat"
    savemat(no_var, {"other": np.arange(3)})
    with pytest.raises(ReaderError, match=f"{no_var.name}.*'spks'"):
        read_mat_spks(str(no_var), _asset(no_var))
    text = tmp_path / "spksC.mat"
    text.write_text("not a mat file at all, just text\n" * 10)
    with pytest.raises(ReaderError, match=text.name):
        read_mat_spks(str(text), _asset(text))
    mismatch = tmp_path / "spksD.mat"
    cells = np.empty((1, 1), dtype=object)
    cells[0, 0] = {"st": np.array([[1.0], [2.0]]), "clu": np.array([[1]])}
    savemat(mismatch, {"spks": cells})
    with pytest.raises(ReaderError, match=f"{mismatch.name}.*2 spike times but 1 cluster"):
        read_mat_spks(str(mismatch), _asset(mismatch))
    zero_based = tmp_path / "spksE.mat"
    cells[0, 0] = {"st": np.array([[1.0]]), "clu": np.array([[0]])}
    savemat(zero_based, {"spks": cells})
    with pytest.raises(ReaderError, match=f"{zero_based.name}.*1-based"):
        read_mat_spks(str(zero_based), _asset(zero_based))


# --- session -> rows end to end ---------------------------------------------------------------


def test_session_to_rows_equals_binning_the_ground_truth(nwb_session):
    session = Session("demo", "T1", "1", (Asset(path="sub-T1/" + nwb_session.path.name, url=str(nwb_session.path)),))
    expected = bin_spikes(nwb_session.trains())
    n_units, n_bins = expected.shape
    max_tokens = n_units * n_bins // 3 + 1  # forces 3 segments
    result = session_to_rows(get_component("demo"), session, max_tokens=max_tokens)
    assert len(result.rows) == 3
    np.testing.assert_array_equal(np.hstack([r["spike_counts"] for r in result.rows]), expected)
    starts = np.cumsum([0] + [r["n_time_bins"] for r in result.rows[:-1]])
    assert [r["t_start"] for r in result.rows] == pytest.approx(list(starts * 0.02))
    for row in result.rows:
        np.testing.assert_array_equal(row["unit_ids"], nwb_session.unit_ids)
        assert row["unit_regions"] == nwb_session.unit_regions
    assert result.stats.dropped_spikes == 0 and result.stats.unsorted_units == 0


def test_reading_nwb_sessions_never_imports_scipy_io(nwb_session):
    """scipy.io is imported when a .mat file is read, not with the reader table."""
    code = (
        "import sys\n"
        "from builders.archives.sessions import Asset, Session\n"
        "from builders.build.rows import session_to_rows\n"
        "from builders.spec.registry import get_component\n"
        f"asset = Asset(path='sub-T1/{nwb_session.path.name}', url={str(nwb_session.path)!r})\n"
        "session_to_rows(get_component('demo'), Session('demo', 'T1', '1', (asset,)))\n"
        "print('scipy.io' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False"]
