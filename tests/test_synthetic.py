"""Synthetic recordings: determinism, file structure, and the statistics they promise."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from pynwb import NWBHDF5IO
from scipy.io import loadmat

from builders.archives import list_sessions
from builders.archives.sessions import Asset
from builders.readers.nwb_units import read_nwb_units
from builders.spec.binning import MAX_TOKENS, bin_flat
from builders.spec.registry import get_component
from builders.synthetic.population import SIM_BIN_S, simulate_population
from builders.synthetic.recordings import (
    DEMO_MIN_DURATION_S,
    DEMO_SESSIONS,
    WAVEFORM_SAMPLES,
    demo_path,
    write_demo_recordings,
    write_nwb_session,
    write_probe_split_session,
)
from tests.support.constants import DEMO_TEST_MAX_TOKENS, DEMO_TEST_SCALE


def _read(path):
    return read_nwb_units(str(path), Asset(path=path.name, url=str(path)))


def _slow_correlations(counts: np.ndarray, groups: np.ndarray, bins_per_window: int = 50):
    """Mean Pearson correlation of 1 s spike counts for same-group and different-group pairs."""
    n = counts.shape[1] // bins_per_window * bins_per_window
    windows = counts[:, :n].reshape(counts.shape[0], -1, bins_per_window).sum(axis=2).astype(float)
    active = windows.std(axis=1) > 0
    r = np.corrcoef(windows[active])
    g = groups[active]
    same = (g[:, None] == g[None, :]) & ~np.eye(g.size, dtype=bool)
    return r[same].mean(), r[g[:, None] != g[None, :]].mean()


# --- the population model ----------------------------------------------------------------------


def test_population_is_deterministic_and_seeded():
    a = simulate_population(30, 20.0, seed=5)
    b = simulate_population(30, 20.0, seed=5)
    c = simulate_population(30, 20.0, seed=6)
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.ends, b.ends)
    assert a.times.size != c.times.size or not np.array_equal(a.times, c.times)


def test_population_statistics():
    pop = simulate_population(100, 120.0, seed=3)
    assert pop.duration_s == pytest.approx(120.0)
    assert np.count_nonzero(pop.silent) == 5  # 5% of 100
    assert np.all(pop.base_rates_hz[pop.silent] == 0)
    for train in pop.trains():
        assert np.all(np.diff(train) >= 0)
        assert train.size == 0 or (train[0] >= 0 and train[-1] < 120.0)
    active = ~pop.silent
    rates = np.diff(pop.ends, prepend=0)[active] / pop.duration_s
    assert 1.5 <= np.median(rates) <= 6.0  # lognormal around 3 Hz
    assert np.mean((rates > 0.5) & (rates < 15)) > 0.7
    # each unit fires at its model rate on average (shared fluctuations average out over 2 min)
    ratio = rates / pop.base_rates_hz[active]
    assert 0.75 < np.median(ratio) < 1.25
    counts, _ = bin_flat(pop.times, pop.ends, SIM_BIN_S)
    assert np.mean(counts == 0) > 0.9


def test_population_groups_share_slow_fluctuations():
    pop = simulate_population(60, 120.0, seed=4, n_groups=3)
    counts, _ = bin_flat(pop.times, pop.ends, SIM_BIN_S)
    same, different = _slow_correlations(counts, pop.groups)
    assert same > 0.2 and same > different + 0.15


def test_population_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_units"):
        simulate_population(-1, 10.0, seed=0)
    with pytest.raises(ValueError, match="duration_s"):
        simulate_population(5, 0.0, seed=0)
    with pytest.raises(ValueError, match="silent_fraction"):
        simulate_population(5, 1.0, seed=0, silent_fraction=1.0)


# --- NWB files ---------------------------------------------------------------------------------


def test_nwb_file_is_a_realistic_ecephys_file(nwb_session):
    with NWBHDF5IO(str(nwb_session.path), "r") as io:
        nwbfile = io.read()
        assert nwbfile.subject.subject_id == "T1" and nwbfile.subject.species == "Mus musculus"
        assert nwbfile.session_id == "1"
        assert sorted(nwbfile.electrode_groups) == ["probeGroup0", "probeGroup1"]
        assert sorted(nwbfile.devices) == ["probe0", "probe1"]
        electrodes = nwbfile.electrodes.to_dataframe()
        assert len(electrodes) == 2 * 48 and electrodes["location"].str.len().min() > 0
        units = nwbfile.units
        assert len(units) == 40
        np.testing.assert_array_equal(units.id[:], nwb_session.unit_ids)
        assert units["waveform_mean"].data.shape == (40, WAVEFORM_SAMPLES)
        for i in (0, 17, 39):
            rows = units["electrodes"][i]  # the unit's electrodes, peak first
            assert len(rows) == 2
            assert rows["location"].iloc[0] == nwb_session.unit_regions[i]
            assert rows["group_name"].iloc[0] == f"probeGroup{nwb_session.probes[i]}"
            np.testing.assert_array_equal(units["spike_times"][i], nwb_session.population.train(i))


def test_same_seed_writes_the_same_file_contents(tmp_path):
    kwargs = dict(subject_id="D1", session_id="1", n_units=12, duration_s=8.0, seed=9, n_probes=2)
    first = write_nwb_session(tmp_path / "a.nwb", **kwargs)
    second = write_nwb_session(tmp_path / "b.nwb", **kwargs)
    with h5py.File(first.path, "r") as fa, h5py.File(second.path, "r") as fb:
        for name in (
            "units/id",
            "units/spike_times",
            "units/spike_times_index",
            "units/electrodes",
            "units/waveform_mean",
        ):
            np.testing.assert_array_equal(fa[name][()], fb[name][()])
        assert list(fa["general/extracellular_ephys/electrodes/location"][()]) == list(
            fb["general/extracellular_ephys/electrodes/location"][()]
        )
    assert first.unit_regions == second.unit_regions


def test_lfp_makes_the_file_mostly_not_spikes(lfp_session):
    with h5py.File(lfp_session.path, "r") as f:
        lfp = f["acquisition/ElectricalSeriesLFP/data"]
        assert lfp.dtype == np.int16 and lfp.shape == (20 * 2500, 96)
        assert f["acquisition/ElectricalSeriesLFP/starting_time"].attrs["rate"] == 2500.0
    assert lfp_session.path.stat().st_size > 10 * lfp_session.population.times.nbytes


# --- the demo component ------------------------------------------------------------------------


def test_demo_layout_and_sizes(demo_recordings_dir):
    sessions = list_sessions(get_component("demo"), data_dir=demo_recordings_dir)
    assert len(sessions) == len(DEMO_SESSIONS) == 6
    assert {s.subject_id for s in sessions} == {"M01", "M02", "M03"}
    for spec in DEMO_SESSIONS:
        path = demo_path(demo_recordings_dir, spec)
        assert (
            path.relative_to(demo_recordings_dir).as_posix()
            == f"sub-{spec.subject_id}/sub-{spec.subject_id}_ses-{spec.session_id}_ecephys.nwb"
        )
        assert _read(path).n_units == spec.n_units
    assert {spec.n_units for spec in DEMO_SESSIONS} <= set(range(40, 301))
    assert min(spec.n_units for spec in DEMO_SESSIONS) == 40 and max(spec.n_units for spec in DEMO_SESSIONS) == 300
    # at full scale one session is cut into segments; at test scale one exceeds the test limit
    full_tokens = [spec.n_units * round(spec.duration_s / SIM_BIN_S) for spec in DEMO_SESSIONS]
    assert max(full_tokens) > MAX_TOKENS
    test_tokens = [
        s.n_units * round(max(DEMO_MIN_DURATION_S, s.duration_s * DEMO_TEST_SCALE) / SIM_BIN_S) for s in DEMO_SESSIONS
    ]
    assert max(test_tokens) > DEMO_TEST_MAX_TOKENS > min(test_tokens)


def test_demo_statistics_and_seed_rule(demo_recordings_dir):
    for number, spec in enumerate(DEMO_SESSIONS):
        got = _read(demo_path(demo_recordings_dir, spec))
        duration = max(DEMO_MIN_DURATION_S, spec.duration_s * DEMO_TEST_SCALE)
        truth = simulate_population(spec.n_units, duration, seed=number)  # seed 0 * 1000 + number
        np.testing.assert_array_equal(got.times, truth.times)
        np.testing.assert_array_equal(got.ends, truth.ends)
        counts, _ = bin_flat(got.times, got.ends)
        assert np.mean(counts == 0) > 0.9
        spikes = np.diff(got.ends, prepend=0)
        assert np.any(spikes == 0)  # silent units stay rows
        assert 1.0 <= np.median(spikes[spikes > 0] / duration) <= 10.0
        assert "" not in got.unit_regions
        same, different = _slow_correlations(counts, truth.groups)
        assert same > different + 0.15, spec


def test_demo_sessions_with_own_region_column(demo_recordings_dir):
    for spec in DEMO_SESSIONS:
        with h5py.File(demo_path(demo_recordings_dir, spec), "r") as f:
            columns = set(f["units"].keys())
        if spec.unit_region_column:
            assert spec.unit_region_column in columns
        else:
            assert not columns & {"brain_area", "location"}
    assert {s.unit_region_column for s in DEMO_SESSIONS} >= {None, "brain_area", "location"}


def test_demo_rejects_bad_scale(tmp_path):
    with pytest.raises(ValueError, match="scale"):
        write_demo_recordings(tmp_path, scale=0)


# --- firing rates, probe split, .mat -----------------------------------------------------------


def test_firing_rate_file_encodes_the_counts(firing_rate_session):
    truth = firing_rate_session
    with NWBHDF5IO(str(truth.path), "r") as io:
        nwbfile = io.read()
        assert len(nwbfile.units or []) == 0
        series = nwbfile.acquisition["firing_rates"]
        assert series.unit == "Hz" and series.rate == 50.0 and series.starting_time == 2.5
        rates = series.data[:]
    n_bins = rates.shape[0]
    assert rates.shape == (n_bins, 15) and n_bins == 1000
    np.testing.assert_array_equal(np.rint(rates.T / 50.0).astype(np.uint8), truth.counts)
    edges = np.arange(n_bins + 1) * SIM_BIN_S  # the counts are the simulated spikes per 20 ms
    expected = np.vstack([np.histogram(t, edges)[0] for t in truth.trains()])
    np.testing.assert_array_equal(truth.counts, expected)


def test_probe_split_file_names(probe_split_sessions):
    names = [[p.name for p in s.paths] for s in probe_split_sessions]
    assert names == [
        ["sub-LM1_ses-1-probe0_ecephys.nwb", "sub-LM1_ses-1-probe1_ecephys.nwb"],
        ["sub-LM1_ses-2_probe0_ecephys.nwb", "sub-LM1_ses-2_probe1_ecephys.nwb", "sub-LM1_ses-2_probe2_ecephys.nwb"],
    ]
    for truth in probe_split_sessions:
        counts = [_read(p).n_units for p in truth.paths]
        assert counts == [int(np.count_nonzero(truth.probes == k)) for k in range(len(truth.paths))]


def test_mat_file_structure(mat_subjects):
    truth = mat_subjects[1]
    spks = loadmat(str(truth.path), squeeze_me=False)["spks"]
    assert spks.shape == (1, 8)
    all_times = []
    for cell in spks.ravel():
        st, clu = cell["st"][0, 0].ravel(), cell["clu"][0, 0].ravel()
        assert st.size == clu.size and np.all(np.diff(st) >= 0)
        assert clu.size == 0 or (clu.min() >= 1 and np.all(clu == np.round(clu)))
        all_times.append(st)
    # every spike is stored, on a clock that starts 120.3 s before the simulated time 0
    np.testing.assert_allclose(np.sort(np.concatenate(all_times)), np.sort(truth.population.times))
    assert np.sort(truth.population.times)[0] > 120.3


def test_writers_reject_files_without_units(tmp_path):
    with pytest.raises(ValueError, match="n_units"):
        write_nwb_session(tmp_path / "empty.nwb", subject_id="E", session_id="1", n_units=0, duration_s=5.0, seed=0)
    assert not (tmp_path / "empty.nwb").exists()


def test_every_probe_file_has_units(tmp_path):
    truth = write_probe_split_session(
        tmp_path, subject_id="P", session_id="1", n_units=4, duration_s=3.0, seed=1, n_probes=4
    )
    assert sorted(truth.probes.tolist()) == [0, 1, 2, 3]
    assert [_read(p).n_units for p in truth.paths] == [1, 1, 1, 1]
