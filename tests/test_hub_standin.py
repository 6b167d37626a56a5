"""The Hub stand-in itself: the real ``huggingface_hub`` and ``datasets`` clients work against it.

Expectations come from the folders on disk (file bytes, listings) and from the rows the pile
writers returned, never from the stand-in's own bookkeeping.
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.support.constants import HUB_PILE_COMPONENTS, REFERENCE_REPO
from tests.support.hub_standin import HubStandIn, hf_url, hub_clients
from tests.support.reference_pile import write_reference_pile


def _local_files(folder):
    return {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}


def test_hffs_lists_and_reads_ranges(reference_layout_repo):
    from huggingface_hub import HfFileSystem

    repo, pile = reference_layout_repo
    fs = HfFileSystem()
    local = _local_files(pile.folder)
    listed = fs.ls(f"datasets/{repo}/data", detail=True)
    assert {e["name"].split("/data/", 1)[1]: e["size"] for e in listed} == {
        p[len("data/") :]: f.stat().st_size for p, f in local.items() if p.startswith("data/")
    }
    assert sorted(fs.ls(f"datasets/{repo}", detail=False)) == [f"datasets/{repo}/README.md", f"datasets/{repo}/data"]
    found = fs.find(hf_url(repo))
    assert sorted(name.split(f"{repo}/", 1)[1] for name in found) == sorted(local)
    assert fs.info(f"datasets/{repo}/{pile.files['train'][0]}")["size"] == local[pile.files["train"][0]].stat().st_size

    path = pile.files["train"][1]
    data = local[path].read_bytes()
    with fs.open(f"datasets/{repo}/{path}", "rb") as handle:
        handle.seek(len(data) - 8)
        assert handle.read(8) == data[-8:]  # the Parquet footer length and magic
        handle.seek(100)
        assert handle.read(1000) == data[100:1100]
    assert fs.cat_file(f"datasets/{repo}/{path}", start=5, end=50) == data[5:50]
    assert fs.cat_file(f"datasets/{repo}/README.md") == local["README.md"].read_bytes()


def test_paths_info_answers_the_paths_that_exist(reference_layout_repo):
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile, RepoFolder

    repo, pile = reference_layout_repo
    path = pile.files["test"][0]
    infos = HfApi().get_paths_info(repo, ["data", path, "data/missing.parquet"], repo_type="dataset")
    assert [(type(i), i.path) for i in infos] == [(RepoFolder, "data"), (RepoFile, path)]
    assert infos[1].size == (pile.folder / path).stat().st_size
    expanded = HfApi().get_paths_info(repo, [path], repo_type="dataset", expand=True)
    assert expanded[0].last_commit.oid == HfApi().dataset_info(repo).sha


def test_tree_listing_follows_pages(tmp_path, reference_pile):
    """A page size of 2 makes the listing span many pages; the client follows every one."""
    from huggingface_hub import HfApi, HfFileSystem

    with HubStandIn(page_size=2) as standin, hub_clients(standin.url, tmp_path / "home"):
        standin.add_repo(REFERENCE_REPO, reference_pile.folder)
        tree = list(HfApi().list_repo_tree(REFERENCE_REPO, repo_type="dataset", recursive=True))
        local = _local_files(reference_pile.folder)
        assert sorted(e.path for e in tree) == sorted([*local, "data"])
        assert {e.path: e.size for e in tree if e.path in local} == {p: f.stat().st_size for p, f in local.items()}
        assert standin.calls["tree"] >= (len(local) + 1) // 2
        assert sorted(HfFileSystem().glob(f"datasets/{REFERENCE_REPO}/data/train-*")) == sorted(
            f"datasets/{REFERENCE_REPO}/{p}" for p in reference_pile.files["train"]
        )


def _assert_rows_equal(got: list[dict], expected: list[dict]) -> None:
    assert len(got) == len(expected)
    for row, want in zip(got, expected, strict=True):
        assert [row[c] for c in ("subject_id", "session_id", "segment_id", "source_dataset")] == [
            want[c] for c in ("subject_id", "session_id", "segment_id", "source_dataset")
        ]
        np.testing.assert_array_equal(np.array(row["spike_counts"], dtype=np.uint8), want["spike_counts"])


def test_streaming_load_dataset_yields_the_rows(reference_layout_repo):
    from datasets import load_dataset

    repo, pile = reference_layout_repo
    streamed = load_dataset(repo, "default", streaming=True)
    assert set(streamed) == {"train", "test"}
    for split in ("train", "test"):
        _assert_rows_equal(list(streamed[split]), pile.rows[split])
    assert pile.rows["test"] and {r["source_dataset"] for r in pile.rows["test"]} == {"demo", "vbn"}


def test_load_dataset_caches_under_tmp_path(reference_layout_repo, tmp_path):
    from datasets import load_dataset

    repo, pile = reference_layout_repo
    loaded = load_dataset(repo)
    home = tmp_path / "hf_home"
    for split in ("train", "test"):
        assert loaded[split].num_rows == pile.n_rows(splits=(split,))
        assert all(f["filename"].startswith(str(home)) for f in loaded[split].cache_files)
    # the reference way of counting values: a numpy array per row, then bincount
    counts = np.zeros(256, np.int64)
    for row in loaded["train"]:
        counts += np.bincount(np.array(row["spike_counts"]).ravel(), minlength=256)
    np.testing.assert_array_equal(counts, pile.value_counts(splits=("train",)))
    assert list((home / "hub").glob("datasets--loopback--neural-pile-rodent/snapshots/*/data/*.parquet"))


def test_revision_pinning(hub, reference_pile, tmp_path):
    from datasets import load_dataset
    from huggingface_hub import HfApi, HfFileSystem

    older = write_reference_pile(tmp_path / "older", {"vbn": (2, 1)}, seed=11, num_shards={"train": 1})
    commits = hub.add_repo(REFERENCE_REPO, reference_pile.folder, revisions={"v1.0": older.folder})
    assert commits["main"] != commits["v1.0"]
    api = HfApi()
    assert api.dataset_info(REFERENCE_REPO).sha == commits["main"]
    assert api.dataset_info(REFERENCE_REPO, revision="v1.0").sha == commits["v1.0"]
    assert api.dataset_info(REFERENCE_REPO, revision=commits["v1.0"]).sha == commits["v1.0"]
    refs = api.list_repo_refs(REFERENCE_REPO, repo_type="dataset")
    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", commits["main"])]
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1.0", commits["v1.0"])]
    assert [c.commit_id for c in api.list_repo_commits(REFERENCE_REPO, repo_type="dataset", revision="v1.0")] == [
        commits["v1.0"]
    ]
    fs = HfFileSystem()
    assert sorted(fs.ls(f"datasets/{REFERENCE_REPO}@v1.0/data", detail=False)) == [
        f"datasets/{REFERENCE_REPO}@v1.0/{p}" for p in sorted(older.files["train"] + older.files["test"])
    ]
    for revision in ("v1.0", commits["v1.0"]):
        pinned = load_dataset(REFERENCE_REPO, revision=revision, streaming=True)
        _assert_rows_equal(list(pinned["train"]), older.rows["train"])
    assert load_dataset(REFERENCE_REPO)["train"].num_rows == reference_pile.n_rows(splits=("train",))


def test_private_repo_needs_the_token(hub, reference_pile, monkeypatch):
    from datasets import load_dataset
    from huggingface_hub import HfApi, HfFileSystem, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    hub.add_repo(REFERENCE_REPO, reference_pile.folder, private=True)
    with pytest.raises(RepositoryNotFoundError) as missing:
        HfApi().dataset_info(REFERENCE_REPO)
    assert missing.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(REFERENCE_REPO, "README.md", repo_type="dataset")
    with pytest.raises(FileNotFoundError, match="repository not found"):
        HfFileSystem().ls(f"datasets/{REFERENCE_REPO}")
    with pytest.raises(HfHubHTTPError) as wrong:
        HfApi(token="hf_notTheRightToken").dataset_info(REFERENCE_REPO)
    assert wrong.value.response.status_code == 403

    assert HfApi(token=hub.token).dataset_info(REFERENCE_REPO).private is True
    assert HfFileSystem(token=hub.token).ls(f"datasets/{REFERENCE_REPO}/data", detail=False)
    monkeypatch.setenv("HF_TOKEN", hub.token)  # the usual way a token reaches every client
    loaded = load_dataset(REFERENCE_REPO, streaming=True)
    _assert_rows_equal(list(loaded["test"]), reference_pile.rows["test"])


def test_unknown_repo_revision_and_file_raise_the_client_errors(reference_layout_repo):
    from datasets import load_dataset
    from datasets.exceptions import DatasetNotFoundError
    from huggingface_hub import HfApi, HfFileSystem, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    repo, _ = reference_layout_repo
    api = HfApi()
    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info("loopback/no-such-pile")
    with pytest.raises(RevisionNotFoundError):
        api.dataset_info(repo, revision="v9.9")
    with pytest.raises(RevisionNotFoundError):
        list(api.list_repo_tree(repo, repo_type="dataset", revision="v9.9"))
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo, "data/no-such-file.parquet", repo_type="dataset")
    with pytest.raises(FileNotFoundError, match="revision not found"):
        HfFileSystem().ls(f"datasets/{repo}@v9.9/data")
    with pytest.raises(FileNotFoundError):
        HfFileSystem().info(f"datasets/{repo}/data/no-such-file.parquet")
    with pytest.raises(DatasetNotFoundError):
        load_dataset("loopback/no-such-pile")


def test_byte_counters_match_what_the_client_received(reference_layout_repo, hub, monkeypatch):
    """Bytes the client got back from its range reads equal the stand-in's per-file counter."""
    from huggingface_hub import HfFileSystem, hf_hub_download
    from huggingface_hub.hf_file_system import HfFileSystemFile

    repo, pile = reference_layout_repo
    received = []
    fetch = HfFileSystemFile._fetch_range
    monkeypatch.setattr(
        HfFileSystemFile,
        "_fetch_range",
        lambda self, start, end: received.append(fetch(self, start, end)) or received[-1],
    )
    path = pile.files["train"][0]
    local = (pile.folder / path).read_bytes()
    fs = HfFileSystem()
    with fs.open(f"datasets/{repo}/{path}", "rb", cache_type="none") as handle:
        handle.seek(10)
        assert handle.read(300) == local[10:310]
        handle.seek(len(local) - 8)
        assert handle.read(8) == local[-8:]
    assert hub.file_bytes(repo, path) == 308 == sum(len(b) for b in received)
    assert hub.file_requests(repo, path) == 2

    hub.reset_counts()
    received.clear()
    with fs.open(f"datasets/{repo}/{path}", "rb") as handle:
        parquet = pq.ParquetFile(handle)
        table = parquet.read_row_group(1, columns=["spike_counts"])
    assert table.equals(pq.ParquetFile(pile.folder / path).read_row_group(1, columns=["spike_counts"]))
    assert hub.file_bytes(repo, path) == sum(len(b) for b in received) <= len(local)
    assert hub.file_requests(repo, path) == len(received)

    hub.reset_counts()
    downloaded = hf_hub_download(repo, path, repo_type="dataset")
    assert open(downloaded, "rb").read() == local
    assert hub.file_bytes(repo, path) == len(local)
    assert hub.repo_bytes(repo) == len(local)


def test_dropped_connection_is_retried(reference_layout_repo, hub):
    from huggingface_hub import HfFileSystem, hf_hub_download

    repo, pile = reference_layout_repo
    path = pile.files["train"][1]
    key = hub.key(repo, path)
    local = (pile.folder / path).read_bytes()
    hub.drop(key, times=1)
    assert open(hf_hub_download(repo, path, repo_type="dataset"), "rb").read() == local
    assert hub.file_requests(repo, path) == 3  # HEAD, the GET cut short, the resumed GET
    # half the file before the drop, then the rest (or, depending on the client, all of it again)
    assert len(local) <= hub.file_bytes(repo, path) <= len(local) // 2 + len(local)

    hub.reset_counts()
    hub.drop(key, times=1)
    with HfFileSystem().open(f"datasets/{repo}/{path}", "rb", cache_type="none") as handle:
        handle.seek(64)
        assert handle.read(4096) == local[64:4160]
    assert hub.file_requests(repo, path) == 2
    assert hub.file_bytes(repo, path) == 2048 + 4096


def test_package_layout_repo_loads_per_config(package_layout_repo):
    from datasets import load_dataset

    repo, written = package_layout_repo
    for component in HUB_PILE_COMPONENTS:
        loaded = load_dataset(repo, component, streaming=True)
        rows = list(loaded["train"])
        assert len(rows) == len(written[component]["train"])
        assert {r["session_id"] for r in rows} == {r["session_id"] for r in written[component]["train"]}


def test_clients_call_only_served_endpoints(reference_layout_repo, hub):
    from datasets import load_dataset

    repo, _ = reference_layout_repo
    load_dataset(repo, streaming=True)
    load_dataset(repo)
    assert hub.unknown == []
    assert hub.calls["resolve"] > 0 and hub.calls["info"] > 0


def test_child_processes_inherit_the_settings(reference_layout_repo, hub, tmp_path):
    """A command run in a new process reaches the stand-in through the environment alone."""
    import os
    import subprocess
    import sys

    repo, pile = reference_layout_repo
    script = (
        "import sys; from huggingface_hub import HfApi, HfFileSystem, constants; "
        "print(constants.ENDPOINT, HfApi().dataset_info(sys.argv[1]).sha, "
        "len(HfFileSystem().cat_file(f'datasets/{sys.argv[1]}/README.md')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, repo], capture_output=True, text=True, env=dict(os.environ), timeout=120
    )
    assert done.returncode == 0, done.stderr
    endpoint, sha, size = done.stdout.split()
    assert endpoint == hub.url
    assert sha == hub.repos[repo].revisions["main"].commit
    assert int(size) == (pile.folder / "README.md").stat().st_size
    assert hub.file_bytes(repo, "README.md") == int(size)


def test_write_endpoints_round_trip_through_the_real_client(hub, tmp_path):
    """What ``HfApi`` writes, the stand-in serves back byte for byte; it refuses what the Hub would."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=hub.token)
    repo = "loopback/written"
    url = api.create_repo(repo, repo_type="dataset")
    assert url.repo_id == repo and api.create_repo(repo, repo_type="dataset", exist_ok=True).repo_id == repo
    card = b"---\nlicense: cc-by-4.0\n---\n# written\n"
    shard = bytes(range(256)) * 40  # an LFS file by its name
    api.create_commit(
        repo,
        repo_type="dataset",
        operations=[
            CommitOperationAdd("README.md", card),
            CommitOperationAdd("data/a.parquet", shard),
            CommitOperationAdd("notes/old.txt", b"gone soon"),
        ],
        commit_message="first",
    )
    assert [kind for kind, _ in hub.uploads] == ["lfs", "regular", "regular"]
    assert hub.calls["lfs_upload"] == 1 and hub.calls["commit"] == 1
    api.create_commit(repo, repo_type="dataset", operations=[CommitOperationDelete("notes/")], commit_message="second")
    assert hub.repo_files(repo) == {"README.md": card, "data/a.parquet": shard}
    assert hub.commits[repo] == ["first", "second"]
    assert open(hf_hub_download(repo, "data/a.parquet", repo_type="dataset"), "rb").read() == shard
    assert HfApi().dataset_info(repo).sha == hub.repos[repo].revisions["main"].commit

    with pytest.raises(ValueError, match="Invalid metadata in README.md"):  # validate-yaml
        api.create_commit(
            repo,
            repo_type="dataset",
            operations=[CommitOperationAdd("README.md", b"---\n[a\n---\n")],
            commit_message="bad",
        )
    with pytest.raises(HfHubHTTPError) as refused:  # a write needs the token
        HfApi(token="hf_notTheRightToken").create_commit(
            repo, repo_type="dataset", operations=[CommitOperationAdd("x.txt", b"x")], commit_message="x"
        )
    assert refused.value.response.status_code == 403
    assert hub.repo_files(repo) == {"README.md": card, "data/a.parquet": shard} and hub.unknown == []
