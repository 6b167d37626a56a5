"""Reading recordings over the network, on loopback: DANDI listing through the real ``dandi``
client, figshare file lists, range-request streaming (bytes moved, retries, failures, byte cache).
"""

from __future__ import annotations

import dataclasses
import io
import os

import numpy as np
import pytest

from builders.archives import figshare as figshare_source
from builders.archives import list_sessions
from builders.archives.bytecache import RunCache
from builders.archives.dandi import DandiListingError, list_dandi_assets, resolve_version
from builders.archives.figshare import FigshareListingError, figshare_asset_path, list_figshare_assets
from builders.archives.http import FetchStats, RemoteReadError, RetryPolicy, open_remote
from builders.archives.local import list_local_assets
from builders.archives.rangefile import RangeFile
from builders.archives.sessions import Asset, group_sessions
from builders.build.rows import session_to_rows
from builders.spec.registry import get_component
from builders.synthetic.recordings import write_demo_recordings, write_mat_subject, write_nwb_session
from tests.support.loopback import DandiStandIn, FigshareStandIn, FileServer
from tests.support.nwb_sizes import spike_data_bytes

DANDISET = "000021"  # vcn: pinned to "draft" in the registry
LFP_FILE = "sub-M09/sub-M09_ses-lfp_ecephys.nwb"
FAST_RETRIES = RetryPolicy(attempts=4, backoff_s=0.01, max_backoff_s=0.05, read_timeout_s=5.0)


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch):
    monkeypatch.setenv("DANDI_NO_ET", "1")
    monkeypatch.setenv("NEURAL_PILE_HTTP_BACKOFF_S", "0.01")
    monkeypatch.setenv("NEURAL_PILE_HTTP_ATTEMPTS", "5")


@pytest.fixture(scope="module")
def archive_root(tmp_path_factory):
    """``dandi/<id>/``: the small demo plus one session whose file is mostly LFP;
    ``figshare/<id>/``: three Steinmetz-2-like subjects."""
    root = tmp_path_factory.mktemp("archive")
    dandiset = root / "dandi" / DANDISET
    write_demo_recordings(dandiset, seed=5, scale=0.02)
    write_nwb_session(
        dandiset / LFP_FILE,
        subject_id="M09",
        session_id="lfp",
        n_units=60,
        duration_s=120.0,
        seed=9,
        n_probes=2,
        lfp_seconds=40.0,
    )
    (dandiset / "sub-M09" / "notes.txt").write_text("not an asset of the component\n")
    for number, subject in enumerate(("Krebs", "Robbins", "Waksman")):
        write_mat_subject(
            root / "figshare" / "7739750",
            subject_id=subject,
            n_probes=3,
            units_per_probe=4,
            duration_s=20.0,
            seed=number,
        )
    return root


@pytest.fixture(scope="module")
def archive_servers(archive_root):
    with FileServer(archive_root) as files, DandiStandIn(files, page_size=2) as dandi, FigshareStandIn(files) as fig:
        dandi.add_dandiset(DANDISET, f"dandi/{DANDISET}", published=("0.230101.0100", "0.240202.0200"))
        fig.add_article("7739750", "figshare/7739750")
        yield files, dandi, fig


@pytest.fixture()
def file_server(archive_servers):
    files = archive_servers[0]
    files.clear_faults()
    files.reset_counts()
    yield files
    files.clear_faults()


@pytest.fixture(scope="module")
def vcn_component():
    return get_component("vcn")


def _local(vcn_component, archive_root):
    return list_local_assets(dataclasses.replace(vcn_component, archive_id=DANDISET), archive_root / "dandi")


def _remote_session(vcn_component, dandi, path):
    assets = [a for a in list_dandi_assets(_pinned(vcn_component), dandi.api_url) if a.path == path]
    assert len(assets) == 1
    return group_sessions(vcn_component, assets)[0]


def _pinned(vcn_component, version="draft"):
    return dataclasses.replace(vcn_component, archive_id=DANDISET, version=version)


def assert_same_rows(a, b):
    assert (a.n_neurons, a.n_time_bins) == (b.n_neurons, b.n_time_bins)
    assert len(a.rows) == len(b.rows)
    for row_a, row_b in zip(a.rows, b.rows):
        assert row_a.keys() == row_b.keys()
        for key in row_a:
            if isinstance(row_a[key], np.ndarray):
                np.testing.assert_array_equal(row_a[key], row_b[key])
            else:
                assert row_a[key] == row_b[key], key


# -- listing ------------------------------------------------------------------------------


def test_dandi_listing_through_the_client_equals_the_local_listing(vcn_component, archive_servers, archive_root):
    _, dandi, _ = archive_servers
    dandi.calls.clear()
    remote = list_dandi_assets(_pinned(vcn_component), dandi.api_url)
    local = _local(vcn_component, archive_root)
    assert [(a.path, a.size) for a in remote] == [(a.path, a.size) for a in local]
    assert len(remote) == 7  # six demo sessions and the LFP one; notes.txt filtered out
    assert dandi.calls["assets"] == 1  # the client asks for the archive's largest page (1,000 files)
    for asset in remote:
        assert asset.url == f"{dandi.api_url}/assets/{asset.asset_id}/download/"
        assert asset.is_remote


def test_listing_groups_into_the_same_sessions_as_the_local_folder(vcn_component, archive_servers, archive_root):
    _, dandi, _ = archive_servers
    pinned = _pinned(vcn_component)
    remote = list_sessions(pinned, dandi_api_url=dandi.api_url)
    local = list_sessions(pinned, data_dir=archive_root / "dandi")
    assert [s.key for s in remote] == [s.key for s in local]


def test_version_resolution(vcn_component, archive_servers):
    _, dandi, _ = archive_servers
    assert resolve_version(_pinned(vcn_component, None), dandi.api_url) == "0.240202.0200"
    assert resolve_version(_pinned(vcn_component, "0.230101.0100"), dandi.api_url) == "0.230101.0100"
    assert resolve_version(_pinned(vcn_component, "draft"), dandi.api_url) == "draft"
    newest = list_dandi_assets(_pinned(vcn_component, None), dandi.api_url)
    assert len(newest) == 7


def test_unknown_version_or_dandiset_is_named_in_the_error(vcn_component, archive_servers):
    _, dandi, _ = archive_servers
    with pytest.raises(DandiListingError, match=rf"dandiset {DANDISET} .*version 0\.999999\.0000"):
        list_dandi_assets(_pinned(vcn_component, "0.999999.0000"), dandi.api_url)
    missing = dataclasses.replace(vcn_component, archive_id="999999", version="draft")
    with pytest.raises(DandiListingError, match="dandiset 999999"):
        list_dandi_assets(missing, dandi.api_url)


def test_figshare_listing_pages_and_lays_files_out_by_subject(archive_servers, archive_root, monkeypatch):
    _, _, fig = archive_servers
    monkeypatch.setattr(figshare_source, "PAGE_SIZE", 2)  # three files: two pages
    fig.calls.clear()
    steinmetz = get_component("steinmetz-2")
    remote = list_figshare_assets(steinmetz, fig.api_url)
    local = list_local_assets(steinmetz, archive_root / "figshare")
    assert [(a.path, a.size) for a in remote] == [(a.path, a.size) for a in local]
    assert [a.path for a in remote] == ["Krebs/spksKrebs.mat", "Robbins/spksRobbins.mat", "Waksman/spksWaksman.mat"]
    assert fig.calls["files"] == 2
    with pytest.raises(FigshareListingError, match="figshare article 1234"):
        list_figshare_assets(dataclasses.replace(steinmetz, archive_id="1234"), fig.api_url)


def test_figshare_names_without_a_subject_stay_flat():
    assert figshare_asset_path("spksKrebs.mat") == "Krebs/spksKrebs.mat"
    assert figshare_asset_path("Robbins_probe3.mat") == "Robbins/Robbins_probe3.mat"
    assert figshare_asset_path("spks_all.mat") == "spks_all.mat"


def test_figshare_sessions_stream_to_the_same_rows_as_local_files(archive_servers, archive_root):
    files, _, fig = archive_servers
    steinmetz = get_component("steinmetz-2")
    assets = list_figshare_assets(steinmetz, fig.api_url)
    remote = group_sessions(steinmetz, assets)
    local = {s.key: s for s in list_sessions(steinmetz, data_dir=archive_root / "figshare")}
    assert [s.key for s in remote] == sorted(local)
    fig.calls.clear()
    for session in remote:
        assert_same_rows(session_to_rows(steinmetz, session), session_to_rows(steinmetz, local[session.key]))
    assert fig.calls["download"] == len(remote)  # each download link resolved once


# -- streaming ----------------------------------------------------------------------------


def test_streamed_sessions_give_the_same_rows_as_local_files(vcn_component, archive_servers, archive_root):
    _, dandi, _ = archive_servers
    pinned = _pinned(vcn_component)
    remote = {s.key: s for s in list_sessions(pinned, dandi_api_url=dandi.api_url)}
    local = {s.key: s for s in list_sessions(pinned, data_dir=archive_root / "dandi")}
    dandi.calls.clear()
    for key, session in remote.items():
        assert_same_rows(session_to_rows(pinned, session), session_to_rows(pinned, local[key]))
    # one redirect per asset opened, then range requests straight to the file server
    assert dandi.calls["download"] == len(remote)


def test_only_the_spike_data_is_fetched(vcn_component, archive_servers, archive_root, file_server):
    _, dandi, _ = archive_servers
    session = _remote_session(vcn_component, dandi, LFP_FILE)
    local_path = archive_root / "dandi" / DANDISET / LFP_FILE
    file_size = local_path.stat().st_size
    spike_bytes = sum(spike_data_bytes(local_path).values())
    stats = FetchStats()
    (asset,) = session.assets
    with open_remote(asset, stats=stats) as handle:
        from builders.readers.nwb_units import read_nwb_units

        trains = read_nwb_units(handle, asset)
    sent = file_server.bytes_sent[f"dandi/{DANDISET}/{LFP_FILE}"]
    assert trains.n_units == 60
    assert sent == stats.bytes_fetched  # what the client counted is what the server sent
    assert file_size > 15e6 and spike_bytes < 0.1 * file_size  # the file is mostly LFP
    assert sent <= 1.2 * spike_bytes + 2e6
    assert sent < 0.25 * file_size


def test_injected_server_errors_and_dropped_connections_are_survived(
    vcn_component, archive_servers, archive_root, file_server
):
    _, dandi, _ = archive_servers
    session = _remote_session(vcn_component, dandi, LFP_FILE)
    local = list_sessions(_pinned(vcn_component), data_dir=archive_root / "dandi")
    served = f"dandi/{DANDISET}/{LFP_FILE}"
    # four failures in a row (one short of NEURAL_PILE_HTTP_ATTEMPTS=5) on the first range
    file_server.fail(served, times=2, status=503)
    file_server.drop(served, times=1)
    file_server.fail(served, times=1, status=500)
    result = session_to_rows(vcn_component, session)
    assert file_server.requests[served] >= 4 + 3  # the failed attempts were really made
    # and a dropped connection in the middle of the read
    file_server.drop(served, times=1)
    again = session_to_rows(vcn_component, session)
    expected = session_to_rows(vcn_component, next(s for s in local if s.key == session.key))
    assert_same_rows(result, expected)
    assert_same_rows(again, expected)


def test_a_stalled_response_times_out_and_is_retried(vcn_component, archive_servers, file_server):
    _, dandi, _ = archive_servers
    (asset,) = _remote_session(vcn_component, dandi, LFP_FILE).assets
    file_server.stall(f"dandi/{DANDISET}/{LFP_FILE}", seconds=1.5, times=1)
    stats = FetchStats()
    policy = dataclasses.replace(FAST_RETRIES, read_timeout_s=0.3)
    with open_remote(asset, policy=policy, stats=stats) as handle:
        assert handle.read(8) == b"\x89HDF\r\n\x1a\n"
    assert stats.retries == 1


def test_a_permanently_broken_asset_raises_an_error_naming_it(vcn_component, archive_servers, file_server):
    _, dandi, _ = archive_servers
    session = _remote_session(vcn_component, dandi, LFP_FILE)
    (asset,) = session.assets
    served = f"dandi/{DANDISET}/{LFP_FILE}"
    file_server.break_path(served, status=500)
    with pytest.raises(RemoteReadError) as caught:
        session_to_rows(vcn_component, session)
    message = str(caught.value)
    assert LFP_FILE in message and file_server.url_for(served) in message and "5 times" in message
    assert file_server.requests[served] == 5  # NEURAL_PILE_HTTP_ATTEMPTS, then it gave up

    file_server.clear_faults()
    file_server.reset_counts()
    file_server.break_path(served, status=404)
    with pytest.raises(RemoteReadError, match="404") as caught:
        with open_remote(asset, policy=FAST_RETRIES) as handle:
            handle.read(100)
    assert LFP_FILE in str(caught.value)
    assert file_server.requests[served] == 1  # a 404 is not worth retrying


def test_a_missing_download_redirect_is_reported_with_the_asset(archive_servers):
    files, dandi, _ = archive_servers
    ghost = Asset(
        path="sub-X/sub-X_ses-1_ecephys.nwb", url=f"{dandi.api_url}/assets/nope/download/", size=10, asset_id="nope"
    )
    with pytest.raises(RemoteReadError, match=r"sub-X/sub-X_ses-1_ecephys\.nwb.*404"):
        with open_remote(ghost, policy=FAST_RETRIES):
            pass


def test_the_byte_cache_serves_a_rerun_without_refetching(vcn_component, archive_servers, file_server, tmp_path):
    _, dandi, _ = archive_servers
    session = _remote_session(vcn_component, dandi, LFP_FILE)
    served = f"dandi/{DANDISET}/{LFP_FILE}"
    first = session_to_rows(vcn_component, session, cache_dir=tmp_path)
    fetched_once = file_server.bytes_sent[served]
    assert fetched_once > 0
    second = session_to_rows(vcn_component, session, cache_dir=tmp_path)
    assert file_server.bytes_sent[served] == fetched_once  # nothing fetched again
    assert_same_rows(first, second)
    stored = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert stored and all(p.suffix == ".bin" for p in stored)  # no temporary files left
    assert sum(p.stat().st_size for p in stored) == fetched_once


# -- the file object and the cache on their own ---------------------------------------


def _counting_fetch(content: bytes):
    calls = []

    def fetch(start, stop):
        calls.append((start, stop))
        return content[start:stop]

    return fetch, calls


def test_range_file_reads_equal_the_bytes_at_any_offset():
    rng = np.random.default_rng(0)
    content = rng.integers(0, 256, 100_003, dtype=np.uint8).tobytes()
    fetch, calls = _counting_fetch(content)
    handle = RangeFile(fetch, len(content), block_size=1000, max_request_bytes=5000, memory_bytes=20_000)
    reference = io.BytesIO(content)
    for _ in range(300):
        offset = int(rng.integers(0, len(content) + 50))
        length = int(rng.integers(0, 12_000))
        handle.seek(offset)
        reference.seek(offset)
        assert handle.read(length) == reference.read(length)
    assert handle.seek(-3, os.SEEK_END) == len(content) - 3
    assert handle.read(10) == content[-3:]
    assert all(stop - start <= 5000 for start, stop in calls)
    assert all(start % 1000 == 0 for start, _ in calls)


def test_range_file_fetches_only_touched_blocks_and_reuses_them():
    content = bytes(range(256)) * 400  # 102400 bytes
    fetch, calls = _counting_fetch(content)
    handle = RangeFile(fetch, len(content), block_size=1024)
    handle.seek(5000)
    handle.read(100)  # block 4
    handle.seek(4100)
    handle.read(50)  # same block: no request
    handle.seek(9000)
    handle.read(3000)  # blocks 8..11
    assert calls == [(4096, 5120), (8192, 12288)]


def test_run_cache_round_trip_and_partial_cover(tmp_path):
    cache = RunCache(tmp_path, "asset-1", 1000)
    cache.write(100, b"x" * 200)
    assert cache.read(150, 250) == b"x" * 100
    assert cache.read(50, 150) is None
    reopened = RunCache(tmp_path, "asset-1", 1000)
    assert reopened.read(100, 300) == b"x" * 200
    assert RunCache(tmp_path, "asset-1", 999).read(100, 300) is None  # another size, another file


def test_retry_policy_reads_the_environment_and_names_bad_values(monkeypatch):
    policy = RetryPolicy.from_env()  # the autouse fixture set attempts=5, backoff 0.01 s
    assert (policy.attempts, policy.backoff_s) == (5, 0.01)
    assert 0.0075 <= policy.wait_before(2) <= 0.01 and 0.03 <= policy.wait_before(4) <= 0.04
    monkeypatch.setenv("NEURAL_PILE_HTTP_ATTEMPTS", "many")
    with pytest.raises(ValueError, match="NEURAL_PILE_HTTP_ATTEMPTS='many'"):
        RetryPolicy.from_env()


CRASH_SCRIPT = """
from pathlib import Path
from tests.support.loopback import FileServer
from builders.archives.sessions import Asset
from builders.archives.http import RemoteReadError, RetryPolicy, open_remote
from builders.readers.nwb_units import read_nwb_units
root = Path({root!r})
with FileServer(root) as files:
    asset = Asset(path={name!r}, url=files.url_for({name!r}), size=(root / {name!r}).stat().st_size)
    try:
        with open_remote(asset, policy=RetryPolicy(attempts=2, backoff_s=0.01)) as handle:
            files.break_path({name!r}, status=500)  # the stream dies before h5py reads the superblock
            read_nwb_units(handle, asset)
    except RemoteReadError as exc:
        print("reported:", exc)
"""


def test_a_stream_failing_while_hdf5_opens_it_is_reported_and_the_process_exits_cleanly(archive_root):
    import subprocess
    import sys

    script = CRASH_SCRIPT.format(root=str(archive_root / "dandi" / DANDISET), name=LFP_FILE)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-1500:]}"
    assert "reported:" in done.stdout and LFP_FILE in done.stdout
