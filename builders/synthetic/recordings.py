"""Synthetic recordings written like real archive files, deterministic from a seed.

Used by the built-in ``demo`` component, the tests and the benchmarks, because no machine here
reaches DANDI or figshare. The statistics come from :mod:`builders.synthetic.population`;
this module lays the units out on probes and writes them the way the archives store them:

- :func:`write_nwb_session`: an NWB ecephys file (Subject, devices and electrode groups per
  probe, electrodes table with a brain ``location`` per electrode, units table with
  ``spike_times`` + index, ``electrodes`` per unit, ``waveform_mean``; optionally a per-unit
  region column and an LFP-sized ``ElectricalSeries`` so that the file is mostly not spikes).
- :func:`write_demo_recordings`: the ``demo`` component, a folder as ``dandi download`` leaves it.
- :func:`write_firing_rate_session`: a Gonzalez-like file with ``acquisition/firing_rates``.
- :func:`write_probe_split_session`: a Le Merre-like session, one NWB file per probe.
- :func:`write_mat_subject`: a Steinmetz-2-like ``.mat`` file (``spks``: 8 probes).

Every writer returns a :class:`SyntheticSession` holding the ground truth it wrote.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from builders.spec.binning import bin_flat
from builders.storage.atomic import write_json_atomic
from builders.synthetic.population import SIM_BIN_S, Population, simulate_population

#: Brain areas a synthetic probe passes through, by probe (cycled when there are more probes).
PROBE_AREAS: tuple[tuple[str, ...], ...] = (
    ("VISp", "CA1", "DG", "LP"),
    ("MOs", "ACA", "STR"),
    ("SSp", "CA3", "TH"),
    ("RSP", "SUB", "PO"),
)
#: Recording channels per synthetic probe.
CHANNELS_PER_PROBE = 48
#: Sampling rate of the optional LFP series (Hz).
LFP_RATE_HZ = 2500.0
#: How ``units/spike_times`` and ``units/spike_times_index`` can be stored, as archive files do
#: it (older converters, h5py's auto-chunking, compression): ``h5py.create_dataset`` options
#: per layout name; ``chunk_bytes`` is clamped to the data, ``dtype`` applies to the times only.
#: ``None`` (the default) keeps what pynwb writes.
SPIKE_LAYOUTS: dict[str, dict] = {
    "contiguous": {},
    "chunks-4mib": {"chunk_bytes": 4 * 1024 * 1024},
    "gzip-64kib": {"chunk_bytes": 64 * 1024, "compression": "gzip"},
    "shuffle-gzip": {"chunk_bytes": 64 * 1024, "compression": "gzip", "shuffle": True},
    "float32": {"dtype": "float32", "chunk_bytes": 64 * 1024, "compression": "gzip"},
}
#: Samples of a unit's mean waveform (at 30 kHz).
WAVEFORM_SAMPLES = 61
_EPOCH = datetime(2021, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class SyntheticSession:
    """What a writer put in its file(s): the ground truth the readers must give back.

    Attributes:
        paths: files written (one, or one per probe).
        subject_id, session_id: labels used in the file names and the NWB metadata.
        population: spike times (seconds) and the model behind them, in unit order.
        unit_ids: the id each unit carries in the file(s).
        unit_regions: the brain area a reader should report per unit ("" if none is stored).
        probes: probe number of each unit.
        counts: for binned files only, the uint8 ``(n_units, n_bins)`` counts they encode.
    """

    paths: list[Path]
    subject_id: str
    session_id: str
    population: Population
    unit_ids: np.ndarray
    unit_regions: list[str]
    probes: np.ndarray
    counts: np.ndarray | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        return self.paths[0]

    def trains(self) -> list[np.ndarray]:
        return self.population.trains()


@dataclass
class _Layout:
    """Where each electrode and unit sits: probes, areas, peak channels."""

    electrode_probe: np.ndarray  # probe of each electrode row
    electrode_area: list[str]  # brain area of each electrode row
    unit_probe: np.ndarray
    unit_electrodes: list[np.ndarray]  # electrode rows per unit, peak channel first
    unit_ids: np.ndarray

    def unit_areas(self) -> list[str]:
        return [self.electrode_area[int(e[0])] for e in self.unit_electrodes]


def _probe_layout(rng: np.random.Generator, n_units: int, n_probes: int) -> _Layout:
    if n_probes < 1:
        raise ValueError(f"n_probes must be >= 1, got {n_probes}")
    electrode_probe = np.repeat(np.arange(n_probes), CHANNELS_PER_PROBE)
    electrode_area: list[str] = []
    for probe in range(n_probes):
        areas = PROBE_AREAS[probe % len(PROBE_AREAS)]
        # contiguous depth ranges of unequal size, one per area, deepest area last
        cuts = np.sort(rng.choice(np.arange(4, CHANNELS_PER_PROBE - 4), len(areas) - 1, replace=False))
        sizes = np.diff(np.concatenate([[0], cuts, [CHANNELS_PER_PROBE]]))
        electrode_area += [a for a, s in zip(areas, sizes) for _ in range(s)]
    # every probe records at least one unit when there are enough units
    guaranteed = np.arange(min(n_probes, n_units))
    unit_probe = np.sort(np.concatenate([guaranteed, rng.integers(0, n_probes, n_units - guaranteed.size)]))
    peak = rng.integers(0, CHANNELS_PER_PROBE, n_units)
    unit_electrodes = []
    for probe, channel in zip(unit_probe, peak):
        neighbour = channel + 1 if channel + 1 < CHANNELS_PER_PROBE else channel - 1
        base = probe * CHANNELS_PER_PROBE
        unit_electrodes.append(np.array([base + channel, base + neighbour], dtype=np.int64))
    # sorted ids with gaps, as spike sorters leave them after curation
    unit_ids = np.sort(rng.choice(max(1, 3 * n_units), n_units, replace=False)).astype(np.int64)
    return _Layout(electrode_probe, electrode_area, unit_probe, unit_electrodes, unit_ids)


def _waveforms(rng: np.random.Generator, n_units: int) -> np.ndarray:
    """Mean waveforms in volts ``(n_units, WAVEFORM_SAMPLES)``: a trough and a slower peak."""
    t = np.arange(WAVEFORM_SAMPLES) / 30.0 - 0.6  # ms, trough at 0
    width = rng.uniform(0.08, 0.2, (n_units, 1))
    amplitude = rng.uniform(40e-6, 200e-6, (n_units, 1))
    trough = -np.exp(-(t**2) / (2 * width**2))
    peak = 0.35 * np.exp(-((t - 0.45) ** 2) / (2 * (2 * width) ** 2))
    return (amplitude * (trough + peak)).astype(np.float32)


def _new_nwbfile(subject_id: str, session_id: str, seed: int, description: str):
    from pynwb import NWBFile
    from pynwb.file import Subject

    start = _EPOCH + timedelta(days=seed % 365, minutes=seed % 600)
    nwbfile = NWBFile(
        session_description=description,
        identifier=f"synthetic-{subject_id}-{session_id}-{seed}",
        session_start_time=start,
        file_create_date=[start],
        session_id=session_id,
        institution="synthetic",
        lab="neural-pile-rodent",
    )
    nwbfile.subject = Subject(
        subject_id=subject_id,
        species="Mus musculus",
        sex="M" if seed % 2 else "F",
        age="P90D",
        description="synthetic subject",
    )
    return nwbfile


def _add_probes(nwbfile, layout: _Layout, probes: list[int], area_label) -> dict[int, int]:
    """Add devices, electrode groups and electrodes of ``probes``; old row -> new row."""
    rows: dict[int, int] = {}
    groups = {}
    model = nwbfile.create_device_model(
        name="synthetic probe", manufacturer="synthetic", description="synthetic Neuropixels-like probe"
    )
    for probe in probes:
        device = nwbfile.create_device(
            name=f"probe{probe}", description="synthetic Neuropixels-like probe", model=model
        )
        groups[probe] = nwbfile.create_electrode_group(
            name=f"probeGroup{probe}",
            description=f"electrodes of probe {probe}",
            location=", ".join(PROBE_AREAS[probe % len(PROBE_AREAS)]),
            device=device,
        )
    for row in np.flatnonzero(np.isin(layout.electrode_probe, probes)):
        probe = int(layout.electrode_probe[row])
        depth = float((row % CHANNELS_PER_PROBE) * 20.0)
        nwbfile.add_electrode(
            group=groups[probe],
            location=area_label(layout.electrode_area[row]),
            x=float(probe * 1000),
            y=depth,
            z=0.0,
        )
        rows[int(row)] = len(rows)
    return rows


def _units_table(
    nwbfile,
    population: Population,
    layout: _Layout,
    units: np.ndarray,
    rows: dict[int, int],
    waveforms: np.ndarray,
    region_column: str | None,
):
    """A pynwb Units table holding ``units`` (positions into the population / layout)."""
    from hdmf.common import DynamicTableRegion, VectorData, VectorIndex
    from pynwb.misc import Units

    sub = population.subset(units)
    spike_times = VectorData(name="spike_times", description="spike times in seconds", data=sub.times)
    spike_index = VectorIndex(name="spike_times_index", data=sub.ends, target=spike_times)
    electrode_rows = [np.array([rows[int(e)] for e in layout.unit_electrodes[u]]) for u in units]
    electrodes = DynamicTableRegion(
        name="electrodes",
        description="electrodes of each unit, peak channel first",
        data=np.concatenate(electrode_rows) if len(units) else np.zeros(0, np.int64),
        table=nwbfile.electrodes,
    )
    electrodes_index = VectorIndex(
        name="electrodes_index",
        data=np.cumsum([len(r) for r in electrode_rows]).astype(np.int64),
        target=electrodes,
    )
    columns = [
        spike_times,
        spike_index,
        electrodes,
        electrodes_index,
        VectorData(name="waveform_mean", description="mean waveform (V)", data=waveforms[units]),
        VectorData(name="quality", description="curation label", data=["good"] * len(units)),
    ]
    if region_column:
        areas = layout.unit_areas()
        columns.append(
            VectorData(name=region_column, description="brain area of the unit", data=[areas[u] for u in units])
        )
    return Units(
        name="units",
        description="synthetic sorted units",
        id=layout.unit_ids[units],
        columns=columns,
    )


def _add_lfp(nwbfile, rng: np.random.Generator, lfp_seconds: float) -> None:
    """An int16 ``ElectricalSeries`` on every electrode: the bulk of a real ecephys file."""
    from pynwb.ecephys import ElectricalSeries

    n_electrodes = len(nwbfile.electrodes)
    n_samples = int(lfp_seconds * LFP_RATE_HZ)
    region = nwbfile.create_electrode_table_region(list(range(n_electrodes)), "all electrodes")
    data = rng.integers(-300, 300, (n_samples, n_electrodes), dtype=np.int16)
    nwbfile.add_acquisition(
        ElectricalSeries(
            name="ElectricalSeriesLFP",
            description="synthetic local field potential",
            data=data,
            electrodes=region,
            rate=LFP_RATE_HZ,
            starting_time=0.0,
            conversion=0.195e-6,
        )
    )


def _write(nwbfile, path: Path, spike_layout: str | None = None) -> None:
    from pynwb import NWBHDF5IO

    if spike_layout is not None and spike_layout not in SPIKE_LAYOUTS:
        raise ValueError(f"{path}: spike_layout must be one of {sorted(SPIKE_LAYOUTS)}, got {spike_layout!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with warnings.catch_warnings():  # pynwb warns about the temporary name's extension
        warnings.filterwarnings("ignore", message=".*does not end in '.nwb'", category=UserWarning)
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)
    if spike_layout is not None:
        _restore_spike_columns(tmp, spike_layout)
    os.replace(tmp, path)


def _restore_spike_columns(path: Path, spike_layout: str) -> None:
    """Store ``units/spike_times`` and its index again with :data:`SPIKE_LAYOUTS` options.

    The new datasets keep their attributes (the index's ``target`` points at the new times)
    and are written in one go at the end of the file, as a converter writes them: they are
    made under temporary names before the old ones are deleted (so HDF5 cannot put their
    chunks in the space the old ones free), and renamed after.
    """
    import h5py

    options = SPIKE_LAYOUTS[spike_layout]
    names = ("spike_times", "spike_times_index")
    with h5py.File(path, "r+") as f:
        units = f["units"]
        for name in names:
            old = units[name]
            data = old[()]
            if name == "spike_times" and "dtype" in options:
                data = data.astype(options["dtype"])
            kwargs = {k: v for k, v in options.items() if k not in ("dtype", "chunk_bytes")}
            if "chunk_bytes" in options and data.size:
                kwargs["chunks"] = (max(1, min(data.size, options["chunk_bytes"] // data.dtype.itemsize)),)
            new = units.create_dataset(f"{name}.new", data=data, **kwargs)
            for key, value in old.attrs.items():
                if key != "target":
                    new.attrs[key] = value
    with h5py.File(path, "r+") as f:
        units = f["units"]
        for name in names:
            del units[name]
            units.move(f"{name}.new", name)
        units["spike_times_index"].attrs["target"] = units["spike_times"].ref


def _unknown(_area: str) -> str:
    return "unknown"


def _same(area: str) -> str:
    return area


def write_nwb_session(
    path: str | os.PathLike,
    *,
    subject_id: str,
    session_id: str,
    n_units: int,
    duration_s: float,
    seed: int,
    n_probes: int = 2,
    silent_fraction: float = 0.05,
    lfp_seconds: float = 0.0,
    unit_region_column: str | None = None,
    n_groups: int | None = None,
    spike_layout: str | None = None,
) -> SyntheticSession:
    """Write one synthetic NWB ecephys session and return its ground truth.

    Args:
        path: output ``.nwb`` file (parent folders are created; written atomically).
        subject_id, session_id: NWB subject and session labels.
        n_units: units in the units table (silent ones included).
        duration_s: recording length in seconds.
        seed: random seed; equal arguments write equal spikes, ids and regions.
        n_probes: probes (electrode groups) the units are spread over.
        silent_fraction: share of units without any spike (they stay rows of the table).
        lfp_seconds: seconds of int16 LFP at 2.5 kHz on every electrode (0: none).
        unit_region_column: if set (``location``, ``brain_area``), the units table gets this
            column holding each unit's area, and the electrodes table's ``location`` says
            ``unknown`` (as in files whose areas come only from the spike-sorting output);
            otherwise areas are only in the electrodes table.
        n_groups: latent correlated groups (default from :func:`simulate_population`).
        spike_layout: how ``units/spike_times`` and its index are stored, a key of
            :data:`SPIKE_LAYOUTS` (contiguous, 4 MiB chunks, 64 KiB gzip chunks, shuffle + gzip,
            float32 times in 64 KiB gzip chunks); ``None`` keeps pynwb's own layout. The ground
            truth's times stay float64 (a reader of ``float32`` gets them rounded).
    """
    path = Path(path)
    if n_units < 1:
        raise ValueError(f"{path}: n_units must be >= 1 (write_nwb_without_units writes a file without units)")
    population = simulate_population(n_units, duration_s, seed, silent_fraction=silent_fraction, n_groups=n_groups)
    rng = np.random.default_rng([seed, 1])
    layout = _probe_layout(rng, n_units, n_probes)
    nwbfile = _new_nwbfile(subject_id, session_id, seed, f"synthetic ecephys session, {n_units} units")
    rows = _add_probes(nwbfile, layout, list(range(n_probes)), _unknown if unit_region_column else _same)
    units = np.arange(n_units)
    nwbfile.units = _units_table(nwbfile, population, layout, units, rows, _waveforms(rng, n_units), unit_region_column)
    if lfp_seconds > 0:
        _add_lfp(nwbfile, rng, lfp_seconds)
    _write(nwbfile, path, spike_layout)
    return SyntheticSession(
        paths=[path],
        subject_id=subject_id,
        session_id=session_id,
        population=population,
        unit_ids=layout.unit_ids,
        unit_regions=layout.unit_areas(),
        probes=layout.unit_probe,
    )


def write_probe_split_session(
    folder: str | os.PathLike,
    *,
    subject_id: str,
    session_id: str,
    n_units: int = 60,
    duration_s: float = 60.0,
    seed: int = 0,
    n_probes: int = 2,
    separator: str = "-",
) -> SyntheticSession:
    """A Le Merre-like session: one population recorded on ``n_probes`` probes, one file each.

    Files are ``<folder>/sub-<S>/sub-<S>_ses-<N><sep>probe<k>_ecephys.nwb`` with ``separator``
    ``-`` or ``_``; each holds its probe's electrodes and units (ids restart per file, as in the
    archive). The ground truth lists units probe after probe, the order a reader sees them
    when the files are read in path order.
    """
    if separator not in ("-", "_"):
        raise ValueError(f"separator must be '-' or '_', got {separator!r}")
    folder = Path(folder)
    if n_units < n_probes:
        raise ValueError(
            f"{folder}: n_units ({n_units}) must be at least n_probes ({n_probes}), one unit per probe file"
        )
    population = simulate_population(n_units, duration_s, seed)
    rng = np.random.default_rng([seed, 1])
    layout = _probe_layout(rng, n_units, n_probes)
    waveforms = _waveforms(rng, n_units)
    paths, ids = [], []
    for probe in range(n_probes):
        units = np.flatnonzero(layout.unit_probe == probe)
        layout.unit_ids[units] = np.arange(units.size)
        nwbfile = _new_nwbfile(subject_id, session_id, seed, f"synthetic session {session_id}, probe {probe}")
        rows = _add_probes(nwbfile, layout, [probe], _same)
        nwbfile.units = _units_table(nwbfile, population, layout, units, rows, waveforms, None)
        path = folder / f"sub-{subject_id}" / f"sub-{subject_id}_ses-{session_id}{separator}probe{probe}_ecephys.nwb"
        _write(nwbfile, path)
        paths.append(path)
        ids.append(layout.unit_ids[units])
    return SyntheticSession(
        paths=paths,
        subject_id=subject_id,
        session_id=session_id,
        population=population,
        unit_ids=np.concatenate(ids),
        unit_regions=layout.unit_areas(),
        probes=layout.unit_probe,
    )


def write_firing_rate_session(
    path: str | os.PathLike,
    *,
    subject_id: str = "rat01",
    session_id: str = "1",
    n_units: int = 20,
    duration_s: float = 30.0,
    seed: int = 0,
    starting_time: float = 0.0,
) -> SyntheticSession:
    """A Gonzalez-like NWB file: no units table, ``acquisition/firing_rates`` (Hz, time x units).

    One rate sample per 20 ms bin. Rates are ``50 * count + u`` with ``u`` uniform in
    ``[0, 20)`` Hz, so ``round(rate / 50)`` gives back the simulated counts exactly; those
    counts are the ground truth (``SyntheticSession.counts``).
    """
    from pynwb import TimeSeries

    path = Path(path)
    population = simulate_population(n_units, duration_s, seed)
    n_bins = int(round(population.duration_s / SIM_BIN_S))
    counts, _ = bin_flat(population.times, population.ends, SIM_BIN_S)
    full = np.zeros((n_units, n_bins), dtype=np.uint8)
    full[:, : counts.shape[1]] = counts[:, :n_bins]
    rng = np.random.default_rng([seed, 2])
    rates = full.T.astype(np.float64) / SIM_BIN_S + rng.uniform(0.0, 20.0, (n_bins, n_units))
    nwbfile = _new_nwbfile(subject_id, session_id, seed, "synthetic firing-rate session")
    nwbfile.add_acquisition(
        TimeSeries(
            name="firing_rates",
            description="firing rate of each unit, one sample per 20 ms",
            data=rates.astype(np.float32),
            unit="Hz",
            rate=1.0 / SIM_BIN_S,
            starting_time=starting_time,
        )
    )
    _write(nwbfile, path)
    return SyntheticSession(
        paths=[path],
        subject_id=subject_id,
        session_id=session_id,
        population=population,
        unit_ids=np.arange(n_units, dtype=np.int64),
        unit_regions=[""] * n_units,
        probes=np.zeros(n_units, dtype=np.int64),
        counts=full,
    )


def write_mat_subject(
    folder: str | os.PathLike,
    *,
    subject_id: str = "Krebs",
    n_probes: int = 8,
    units_per_probe: int = 12,
    duration_s: float = 60.0,
    seed: int = 0,
    clock_offset_s: float = 3.75,
) -> SyntheticSession:
    """A Steinmetz-2-like subject: ``<folder>/<subject_id>/spks<subject_id>.mat``.

    The variable ``spks`` is a 1 x ``n_probes`` cell; each cell holds a struct with ``st``
    (spike times in seconds on the recording clock, which starts ``clock_offset_s`` before
    the simulated time 0), ``clu`` (1-based cluster id of each spike) and ``Wheights``
    (depth of each cluster, um). Cluster numbers have gaps, and silent units do not appear
    (a cluster exists only through its spikes). Ground truth: units probe after probe,
    clusters ascending, ``unit_ids`` = cluster id + the sum of the previous probes' largest
    cluster ids, times shifted by ``clock_offset_s``.
    """
    from scipy.io import savemat

    n_units = n_probes * units_per_probe
    population = simulate_population(n_units, duration_s, seed)
    population = population.subset(np.flatnonzero(~population.silent))
    population.times = population.times + clock_offset_s
    rng = np.random.default_rng([seed, 3])
    probe_of = np.sort(rng.integers(0, n_probes, population.n_units))
    cells = np.empty((1, n_probes), dtype=object)
    ids, offset = [], 0
    for probe in range(n_probes):
        members = np.flatnonzero(probe_of == probe)
        clusters = np.sort(rng.choice(np.arange(1, 3 * max(1, members.size) + 1), members.size, replace=False))
        st, clu = [], []
        for unit, cluster in zip(members, clusters):
            train = population.train(int(unit))
            st.append(train)
            clu.append(np.full(train.size, cluster))
        st_all = np.concatenate(st) if st else np.zeros(0)
        clu_all = np.concatenate(clu) if clu else np.zeros(0)
        order = np.argsort(st_all, kind="stable")  # files store spikes in time order
        depth = rng.uniform(0, 3840, int(clusters.max()) if clusters.size else 0)
        cells[0, probe] = {
            "st": st_all[order].reshape(-1, 1),
            "clu": clu_all[order].astype(np.float64).reshape(-1, 1),
            "Wheights": depth.reshape(-1, 1),
        }
        ids.append(clusters + offset)
        offset += int(clusters.max()) if clusters.size else 0
    path = Path(folder) / subject_id / f"spks{subject_id}.mat"
    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(str(path), {"spks": cells}, do_compression=False)
    return SyntheticSession(
        paths=[path],
        subject_id=subject_id,
        session_id=subject_id,
        population=population,
        unit_ids=np.concatenate(ids).astype(np.int64),
        unit_regions=[""] * population.n_units,
        probes=probe_of,
    )


@dataclass(frozen=True)
class DemoSession:
    """One recording of the demo component (durations at ``scale=1``)."""

    subject_id: str
    session_id: str
    n_units: int
    duration_s: float
    n_probes: int = 2
    unit_region_column: str | None = None


#: The demo: 3 subjects, 6 sessions, 40-300 units, 3 to 45 minutes. ``M02`` session 1
#: (250 units x 45 min = 33.75M tokens) is long enough to be cut into 4 segments.
DEMO_SESSIONS: tuple[DemoSession, ...] = (
    DemoSession("M01", "1", 120, 600.0, 2),
    DemoSession("M01", "2", 80, 300.0, 2),
    DemoSession("M02", "1", 250, 2700.0, 3),
    DemoSession("M02", "2", 40, 180.0, 1),
    DemoSession("M03", "1", 300, 720.0, 4, "brain_area"),
    DemoSession("M03", "2", 160, 1200.0, 2, "location"),
)
#: Shortest demo session (seconds) whatever the ``scale``.
DEMO_MIN_DURATION_S = 10.0


def demo_path(out_dir: str | os.PathLike, spec: DemoSession) -> Path:
    """Where ``spec`` lives under ``out_dir`` (``dandi download`` layout)."""
    return Path(out_dir) / f"sub-{spec.subject_id}" / f"sub-{spec.subject_id}_ses-{spec.session_id}_ecephys.nwb"


#: Written beside the demo recordings: what they are and the options that wrote them.
DEMO_RECORD = ".synthetic-demo.json"
#: Largest ``scale`` of the demo recordings (the longest session is then 3 hours, ~200M tokens).
DEMO_MAX_SCALE = 4.0


def read_demo_record(out_dir: str | os.PathLike) -> dict | None:
    """``{"component": "demo", "seed": ..., "scale": ...}`` of a folder the demo wrote, else ``None``."""
    import json

    try:
        record = json.loads((Path(out_dir) / DEMO_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_demo_recordings(out_dir: str | os.PathLike, *, seed: int = 0, scale: float = 1.0) -> list[Path]:
    """Write the ``demo`` component's recordings under ``out_dir`` and return their paths; the
    folder's :data:`DEMO_RECORD` says they are synthetic and records ``seed`` and ``scale``.

    Args:
        out_dir: folder to fill (created if missing) as ``dandi download`` would.
        seed: base seed; session ``i`` uses ``seed * 1000 + i``.
        scale: factor on every duration (at least :data:`DEMO_MIN_DURATION_S`); use e.g.
            0.02 in tests to write the whole demo in a few seconds.

    Returns:
        The written ``.nwb`` paths, in :data:`DEMO_SESSIONS` order.
    """
    if not 0 < scale <= DEMO_MAX_SCALE:
        raise ValueError(f"scale must be > 0 and at most {DEMO_MAX_SCALE:g}, got {scale}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be within [0, 2**32), got {seed}")
    from tqdm.auto import tqdm

    paths = []
    for number, spec in enumerate(tqdm(DEMO_SESSIONS, desc="writing demo recordings", unit="session")):
        path = demo_path(out_dir, spec)
        write_nwb_session(
            path,
            subject_id=spec.subject_id,
            session_id=spec.session_id,
            n_units=spec.n_units,
            duration_s=max(DEMO_MIN_DURATION_S, spec.duration_s * scale),
            seed=seed * 1000 + number,
            n_probes=spec.n_probes,
            unit_region_column=spec.unit_region_column,
        )
        paths.append(path)
    write_json_atomic(Path(out_dir) / DEMO_RECORD, {"component": "demo", "seed": seed, "scale": scale})
    return paths
