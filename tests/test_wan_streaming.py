"""Streaming over a wide-area link, on loopback: the stand-ins add a time to first byte and cap
each connection's bandwidth. Every spike layout streams to the rows of the local build in a
bounded number of requests; faults under latency change nothing; the next sessions' bytes are
fetched ahead within their bounds; a dead or failing archive API fails the listing fast.
"""

from __future__ import annotations

import dataclasses
import socket
import time

import h5py
import numpy as np
import pytest

from builders.archives import list_sessions, warm
from builders.archives.dandi import DandiListingError, list_dandi_assets
from builders.archives.figshare import FigshareListingError, list_figshare_assets
from builders.archives.http import FetchStats, open_remote
from builders.archives.rangefile import HoldLimitExceeded, RangeFile
from builders.archives.sessions import group_sessions
from builders.build.pipeline import BuildOptions, SessionJob, run_jobs
from builders.build.rows import session_to_rows
from builders.readers import prefetch as prefetch_source
from builders.readers.hdf5plan import all_chunks
from builders.spec.registry import get_component
from builders.synthetic.recordings import SPIKE_LAYOUTS, write_nwb_session
from tests.support.loopback import DandiStandIn, FileServer
from tests.support.nwb_sizes import spike_data_bytes

pytestmark = pytest.mark.wan

DANDISET = "000021"  # vcn, pinned to "draft"
#: Wide-area settings of the tests: small, so the tests stay quick, but every request pays.
LATENCY_S = 0.005
BANDWIDTH = 50e6
#: Requests a streamed session may take whatever its layout: one to resolve the download URL,
#: about ten for HDF5 metadata (superblock, groups, object headers, the first chunk of each
#: chunk index) and a few batches of prefetched ranges (four at once).
MAX_REQUESTS = 24


def _path(number: int, layout: str) -> str:
    return f"sub-W{number}/sub-W{number}_ses-{layout}_ecephys.nwb"


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch):
    monkeypatch.setenv("DANDI_NO_ET", "1")
    monkeypatch.setenv("NEURAL_PILE_HTTP_BACKOFF_S", "0.01")
    monkeypatch.setenv("NEURAL_PILE_HTTP_ATTEMPTS", "5")


@pytest.fixture(scope="module")
def wan_archive_root(tmp_path_factory):
    """One session per spike layout (150 units x 10 min: ~37 chunks of 64 KiB) plus LFP."""
    root = tmp_path_factory.mktemp("wan")
    for number, layout in enumerate(SPIKE_LAYOUTS):
        write_nwb_session(
            root / DANDISET / _path(number, layout),
            subject_id=f"W{number}",
            session_id=layout,
            n_units=150,
            duration_s=600.0,
            seed=40 + number,
            lfp_seconds=4.0,
            spike_layout=layout,
        )
    return root


@pytest.fixture(scope="module")
def wan_servers(wan_archive_root):
    with (
        FileServer(wan_archive_root, latency_s=LATENCY_S, bandwidth_bytes_per_s=BANDWIDTH) as files,
        DandiStandIn(files, latency_s=LATENCY_S) as dandi,
    ):
        dandi.add_dandiset(DANDISET, DANDISET)
        yield files, dandi


@pytest.fixture()
def file_server(wan_servers):
    files = wan_servers[0]
    files.clear_faults()
    files.reset_counts()
    yield files
    files.clear_faults()


@pytest.fixture(scope="module")
def vcn_draft_component():
    return dataclasses.replace(get_component("vcn"), version="draft")


@pytest.fixture(scope="module")
def remote_and_local_sessions(vcn_draft_component, wan_servers, wan_archive_root):
    """``{layout: (remote session, local session)}``."""
    _, dandi = wan_servers
    remote = {s.key: s for s in list_sessions(vcn_draft_component, dandi_api_url=dandi.api_url)}
    local = {s.key: s for s in list_sessions(vcn_draft_component, data_dir=wan_archive_root)}
    assert sorted(remote) == sorted(local) and len(remote) == len(SPIKE_LAYOUTS)
    return {s.session_id: (s, local[key]) for key, s in remote.items()}


def assert_same_rows(a, b):
    assert (a.n_neurons, a.n_time_bins, len(a.rows)) == (b.n_neurons, b.n_time_bins, len(b.rows))
    for row_a, row_b in zip(a.rows, b.rows):
        assert row_a.keys() == row_b.keys()
        for key in row_a:
            if isinstance(row_a[key], np.ndarray):
                np.testing.assert_array_equal(row_a[key], row_b[key])
            else:
                assert row_a[key] == row_b[key], key


# -- the stand-ins' wide-area mode ----------------------------------------------------------


def test_the_stand_in_adds_latency_and_caps_bandwidth(tmp_path):
    import requests

    (tmp_path / "blob").write_bytes(bytes(1_000_000))
    with FileServer(tmp_path, latency_s=0.05, bandwidth_bytes_per_s=10e6) as files, requests.Session() as http:
        start = time.perf_counter()
        assert http.get(files.url_for("blob"), headers={"Range": "bytes=0-0"}).content == b"\0"
        assert time.perf_counter() - start >= 0.05
        start = time.perf_counter()
        assert len(http.get(files.url_for("blob")).content) == 1_000_000
        assert time.perf_counter() - start >= 0.05 + 0.1  # 1 MB at 10 MB/s
        files.set_wan(latency_s=0.0)
        assert (files.latency_s, files.bandwidth_bytes_per_s) == (0.0, None)
        assert files.requests["blob"] == 2 and files.bytes_sent["blob"] == 1_000_001


# -- every layout -----------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(SPIKE_LAYOUTS))
def test_every_layout_streams_to_the_local_rows_in_few_requests(
    layout, vcn_draft_component, remote_and_local_sessions, wan_archive_root, file_server
):
    remote, local = remote_and_local_sessions[layout]
    served = f"{DANDISET}/{remote.assets[0].path}"
    result = session_to_rows(vcn_draft_component, remote)
    assert_same_rows(result, session_to_rows(vcn_draft_component, local))
    path = wan_archive_root / served
    with h5py.File(path, "r") as f:
        times = f["units/spike_times"]
        chunks = len(all_chunks(times)) if times.chunks else 1
        assert times.dtype == (np.float32 if layout == "float32" else np.float64)
    spike = sum(spike_data_bytes(path).values())
    assert file_server.requests[served] <= MAX_REQUESTS
    if layout in ("gzip-64kib", "shuffle-gzip", "float32"):
        assert chunks > MAX_REQUESTS  # one request per chunk would have broken the bound
    assert file_server.bytes_sent[served] <= 1.2 * spike + 2e6


def test_faults_under_latency_still_give_the_local_rows(
    vcn_draft_component, remote_and_local_sessions, file_server, wan_archive_root
):
    remote, local = remote_and_local_sessions["gzip-64kib"]
    served = f"{DANDISET}/{remote.assets[0].path}"
    expected = session_to_rows(vcn_draft_component, local)
    file_server.reset_counts()
    file_server.fail(served, times=2, status=503)  # the probe and the first metadata block
    file_server.drop(served, times=2)  # ranged requests: metadata blocks, then the prefetch batch
    assert_same_rows(session_to_rows(vcn_draft_component, remote), expected)
    assert file_server.requests[served] >= 4 + 1
    file_server.clear_faults()
    from builders.readers.nwb_units import read_nwb_units

    (asset,) = remote.assets
    truth = read_nwb_units(wan_archive_root / served, asset)
    for kind in ("status", "drop"):
        # failures in the middle of the parallel batch: the metadata requests pass first
        stats = FetchStats()
        with open_remote(asset, stats=stats) as handle:
            handle.read(1)
            if kind == "status":
                file_server.fail(served, times=3, status=500)
            else:
                file_server.drop(served, times=3)
            trains = read_nwb_units(handle, asset)
        assert stats.retries >= 3
        np.testing.assert_array_equal(trains.times, truth.times)
        np.testing.assert_array_equal(trains.ends, truth.ends)


def test_a_break_during_the_parallel_batch_names_the_asset_and_url(remote_and_local_sessions, file_server):
    from builders.archives.http import RemoteReadError
    from builders.readers.hdf5plan import dataset_extents, prefetch_datasets
    from builders.readers.nwb_units import spike_datasets

    remote, _ = remote_and_local_sessions["shuffle-gzip"]
    (asset,) = remote.assets
    served = f"{DANDISET}/{asset.path}"
    with pytest.raises(RemoteReadError) as caught:
        with open_remote(asset) as handle, h5py.File(handle, "r") as f:
            datasets = spike_datasets(f)
            for dataset in datasets:  # the index look-ups happen now: only the batch is left
                dataset_extents(dataset, walk_index=False)
            file_server.reset_counts()
            file_server.break_path(served, status=500)
            prefetch_datasets(handle, datasets)
    message = str(caught.value)
    assert asset.path in message and file_server.url_for(served) in message and "5 times" in message
    assert file_server.requests[served] >= 5


# -- the file object on its own -----------------------------------------------------------


def _counting_fetch(content: bytes):
    calls = []

    def fetch(start, stop):
        calls.append((start, stop))
        return content[start:stop]

    return fetch, calls


def test_prefetch_merges_ranges_fetches_in_parallel_and_serves_reads_from_memory():
    content = bytes(np.random.default_rng(1).integers(0, 256, 4_000_000, dtype=np.uint8))
    fetch, calls = _counting_fetch(content)
    handle = RangeFile(fetch, len(content), block_size=1000, max_request_bytes=1_500_000, parallel=3)
    # three ranges, the first two 500 bytes apart (merged), the third far away
    fetched = handle.prefetch([(10_000, 1_200_000), (1_200_500, 3_000_000), (3_500_000, 3_600_000)])
    assert fetched == (3_000_000 - 10_000) + 100_000
    assert len(calls) == 3  # 2.99 MB in two pieces (at most 1.5 MB each), plus the far range
    assert all(stop - start <= 1_500_000 for start, stop in calls)
    calls.clear()
    for start, stop in [(10_000, 20_000), (1_199_000, 1_201_000), (2_999_999, 3_000_000), (3_500_100, 3_599_000)]:
        handle.seek(start)
        assert handle.read(stop - start) == content[start:stop]
    assert calls == []  # all from the held ranges
    assert handle.prefetch([(20_000, 30_000)]) == 0  # already held
    handle.hold_limit = handle.held_bytes + 10
    with pytest.raises(HoldLimitExceeded):
        handle.prefetch([(3_700_000, 3_800_000)])


def test_overlapping_held_runs_serve_every_read_inside_them():
    content = bytes(range(256)) * 100
    fetch, calls = _counting_fetch(content)
    runs = [
        (0, content[0:10_000]),
        (2_000, content[2_000:2_100]),
        (9_000, content[9_000:15_000]),
        (15_000, content[15_000:16_000]),
    ]
    handle = RangeFile(fetch, len(content), block_size=1000, preloaded=runs)
    for start, stop in [(2_050, 2_500), (5_000, 12_000), (0, 16_000), (14_990, 15_010)]:
        handle.seek(start)
        assert handle.read(stop - start) == content[start:stop]
    assert calls == [] and handle.held_bytes == 16_000


def test_sequential_reads_grow_the_read_ahead_scattered_reads_do_not():
    content = bytes(range(256)) * 4000  # 1,024,000 bytes
    fetch, calls = _counting_fetch(content)
    handle = RangeFile(fetch, len(content), block_size=1000, max_request_bytes=64_000, memory_bytes=200_000)
    out = b"".join(handle.read(500) for _ in range(2048))
    assert out == content
    # 1024 blocks read in order: read-ahead doubles up to 63 blocks per request
    assert len(calls) <= 1024 // 63 + 8
    assert sum(stop - start for start, stop in calls) == len(content)  # no byte fetched twice
    # long reads (more blocks than the memory keeps) followed by more sequential reads
    calls.clear()
    handle = RangeFile(fetch, len(content), block_size=1000, max_request_bytes=64_000, memory_bytes=100_000)
    sizes = np.random.default_rng(2).integers(1, 60_000, 40)
    out = b"".join(handle.read(int(n)) for n in sizes)
    assert out == content
    assert sum(stop - start for start, stop in calls) <= 1.02 * len(content)  # read-ahead kept, not refetched
    calls.clear()
    for offset in (900_000, 100_000, 500_000):
        handle = RangeFile(fetch, len(content), block_size=1000)
        handle.seek(offset)
        handle.read(10)
    assert all(stop - start == 1000 for start, stop in calls)


# -- the next sessions fetched ahead --------------------------------------------------------


def test_the_next_sessions_are_fetched_ahead_and_read_without_requests(
    vcn_draft_component, remote_and_local_sessions, file_server
):
    order = [remote_and_local_sessions[layout][0] for layout in SPIKE_LAYOUTS]
    with prefetch_source.SessionPrefetcher([(vcn_draft_component, s) for s in order], ahead=2) as ahead:
        ahead.reached(0)
        ahead.wait()
        assert warm.warm_bytes() > 0
        file_server.reset_counts()
        for position in (1, 2):
            session = order[position]
            result = session_to_rows(vcn_draft_component, session)
            assert file_server.requests[f"{DANDISET}/{session.assets[0].path}"] == 0
            assert_same_rows(
                result, session_to_rows(vcn_draft_component, remote_and_local_sessions[session.session_id][1])
            )
        assert warm.warm_bytes() == 0
    # a byte bound below one session's spike data: nothing is held, the session reads as usual
    with prefetch_source.SessionPrefetcher(
        [(vcn_draft_component, s) for s in order], ahead=1, max_bytes=100_000
    ) as ahead:
        ahead.reached(0)
        ahead.wait()
        assert warm.warm_bytes() == 0


def test_a_streamed_local_build_with_prefetch_equals_the_local_build(
    vcn_draft_component, remote_and_local_sessions, file_server, tmp_path, monkeypatch
):
    monkeypatch.setattr("builders.build.pipeline.get_component", lambda name: vcn_draft_component)
    layouts = ["contiguous", "gzip-64kib", "float32"]
    remote = [SessionJob(remote_and_local_sessions[k][0], BuildOptions(out=str(tmp_path / "remote"))) for k in layouts]
    local = [SessionJob(remote_and_local_sessions[k][1], BuildOptions(out=str(tmp_path / "local"))) for k in layouts]
    streamed = run_jobs(remote, progress=False)
    copied = run_jobs(local, progress=False)
    keep = ("key", "status", "split", "n_neurons", "n_time_bins", "tokens", "rows", "stats")
    assert [{k: r.get(k) for k in keep} for r in streamed] == [{k: r.get(k) for k in keep} for r in copied]
    for record in streamed:
        assert record["shards"]
        for shard in record["shards"]:
            assert (tmp_path / "remote" / shard).read_bytes() == (tmp_path / "local" / shard).read_bytes()


def test_prefetch_batches_share_remote_jobs_and_leave_local_ones_single(remote_and_local_sessions):
    remote = [SessionJob(s, None) for s, _ in remote_and_local_sessions.values()]
    local = [SessionJob(s, None) for _, s in remote_and_local_sessions.values()]
    batches = prefetch_source.prefetch_batches(remote + local, 2, size=4)
    assert [len(b) for b in batches] == [3, 2] + [1] * len(local)
    assert [j for b in batches for j in b] == remote + local
    assert [len(b) for b in prefetch_source.prefetch_batches(remote * 4, 2, size=4)] == [4] * 5


# -- listing against a dead or failing API ----------------------------------------------------


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_listing_against_a_dead_port_fails_fast_naming_the_api(vcn_draft_component, monkeypatch):
    monkeypatch.setenv("NEURAL_PILE_LISTING_TIMEOUT_S", "1")
    api = f"http://127.0.0.1:{_dead_port()}/api"
    start = time.perf_counter()
    with pytest.raises(DandiListingError, match=api) as caught:
        list_dandi_assets(vcn_draft_component, api)
    assert time.perf_counter() - start < 5
    assert "\n" not in str(caught.value)
    steinmetz = get_component("steinmetz-2")
    start = time.perf_counter()
    with pytest.raises(FigshareListingError, match=f"http://127.0.0.1:\\d+/v2/articles/{steinmetz.archive_id}/files"):
        list_figshare_assets(steinmetz, api.replace("/api", "/v2"), timeout_s=1.0)
    assert time.perf_counter() - start < 5


def test_listing_against_a_failing_api_fails_fast_naming_the_api(vcn_draft_component, wan_servers, monkeypatch):
    _, dandi = wan_servers
    monkeypatch.setenv("NEURAL_PILE_LISTING_TIMEOUT_S", "1")
    dandi.break_route("assets", status=503)
    try:
        start = time.perf_counter()
        with pytest.raises(DandiListingError, match=dandi.api_url):
            list_dandi_assets(vcn_draft_component, dandi.api_url)
        assert time.perf_counter() - start < 8  # the client's own retries would take minutes
        assert dandi.calls["assets"] >= 1
    finally:
        dandi.clear_broken_routes()
    assert len(group_sessions(vcn_draft_component, list_dandi_assets(vcn_draft_component, dandi.api_url))) == len(
        SPIKE_LAYOUTS
    )
