"""``neural-pile push`` against the loopback Hub stand-in, with the real ``HfApi``: a push that
stops half way is resumed by running it again, and sends only what the Hub lacks.

Endpoints the installed ``huggingface_hub`` calls for a push (read in its ``hf_api.py``,
``_commit_api.py``, ``lfs.py`` and ``_upload_pipeline.py``), all served by ``tests/hub_standin.py``:

- ``POST /api/repos/create`` (``create_repo``; 409 on the rerun, taken as "exists");
- ``POST /api/validate-yaml`` (the card's header, checked before any upload);
- ``POST /api/datasets/NS/NAME/preupload/main`` (upload mode and remote oid of each file, 256 a call);
- ``POST /datasets/NS/NAME.git/info/lfs/objects/batch`` and ``PUT <href>`` (git-LFS basic transfer:
  the legacy path, taken when ``hf_xet`` is disabled; an object already stored gets no upload action);
- ``POST /api/datasets/NS/NAME/commit/main`` (NDJSON; the streamed uploader sends one per batch).

With ``hf_xet`` enabled (the default), every file preupload answers ``lfs`` for would go through the
Xet CAS protocol, which the stand-in does not serve. So the LFS test sets ``HF_HUB_DISABLE_XET``
(:func:`hub_standin.hub_clients` does) and exercises the fallback; the streamed-uploader test keeps
``hf_xet`` enabled and has the stand-in answer ``regular`` for every file (``lfs_suffixes=()``), so the
library's own multi-commit pipeline runs offline, with file contents inside the commits.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from builders.cli import push as push_command
from builders.hub.publish import _PROGRESS_LOGGER as PROGRESS_LOGGER
from builders.hub.publish import PushError, plan_upload, push_folder
from tests.support.hub_standin import HubStandIn, hub_clients
from tests.support.pile_folder import write_pile_folder

REPO = "loopback/neural-pile-pushed"
TWIN = "loopback/neural-pile-pushed-at-once"


@pytest.fixture()
def dataset_folder(tmp_path):
    """A built pile folder plus everything a push must leave behind."""
    folder = tmp_path / "neural_pile_rodent"
    write_pile_folder(folder, {"demo": (3, 1), "v2h": (2, 0), "vbn": (2, 1)}, seed=3)
    (folder / "build_report.json").write_text('{"rows": 1}')
    (folder / ".build" / "vbn").mkdir(parents=True)
    (folder / ".build" / "vbn" / "sess.json").write_text("{}")
    (folder / ".cache" / "huggingface" / "upload" / "data").mkdir(parents=True)
    (folder / ".cache" / "huggingface" / "upload" / "data" / "x.parquet.metadata").write_text("old record")
    (folder / ".cache" / "huggingface" / "upload" / "state.json").write_text("{}")
    (folder / "data" / "vbn" / ".train-x.parquet.tmp-1").write_text("half")
    (folder / "data" / "vbn" / ".train-partial.parquet").write_bytes(b"PAR1 half a shard")
    (folder / "notes.txt").write_text("local notes")
    return folder


def _expected(folder: Path) -> dict[str, bytes]:
    """What a push must leave in the repo: the rule restated (card, Parquet shards, top-level JSON)."""
    wanted = {}
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).as_posix()
        hidden = any(part.startswith(".") for part in rel.split("/"))
        top_json = "/" not in rel and rel.endswith(".json")
        if path.is_file() and not hidden and (rel == "README.md" or top_json or rel.endswith(".parquet")):
            wanted[rel] = path.read_bytes()
    return wanted


def _push(folder, repo):
    """``neural-pile push FOLDER --repo REPO`` as the command runs it (token from ``HF_TOKEN``)."""
    from builders.cli.main import make_parser

    return push_command.run(make_parser().parse_args(["push", str(folder), "--repo", repo]))


@pytest.fixture()
def start_hub_standin(tmp_path, monkeypatch):
    def start(**options):
        server = HubStandIn(upload_dir=tmp_path / "hub_store", **options)
        server.start()
        started.append(server)
        clients = hub_clients(server.url, tmp_path / "hf_home")
        clients.__enter__()
        entered.append(clients)
        monkeypatch.setenv("HF_TOKEN", server.token)
        return server

    started, entered = [], []
    yield start
    for clients in entered:
        clients.__exit__(None, None, None)
    for server in started:
        server.stop()


def test_lfs_push_stopped_after_n_uploads_resumes_with_the_rest(start_hub_standin, dataset_folder, capsys):
    hub = start_hub_standin()
    expected = _expected(dataset_folder)
    lfs = {p for p in expected if p.endswith(".parquet")}
    assert len(lfs) >= 6 and "build_report.json" in expected and "notes.txt" not in expected

    hub.fail_after("lfs_upload", 3)  # the link goes away after three objects
    assert _push(dataset_folder, REPO) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()  # the plan, the library's progress bars, one error line
    assert lines[0].startswith(f"pushing {len(expected)} file(s)") and f"Upload {len(lfs)} LFS files" in err
    assert lines[-1].startswith("error: ") and "507" in lines[-1] and "run the same command again" in lines[-1]
    assert hub.token not in err
    assert len([u for u in hub.uploads if u[0] == "lfs"]) == 3
    assert hub.repo_files(REPO) == {}  # the fallback path commits once, at the end: nothing yet
    first_sent = {oid for kind, oid in hub.uploads}

    hub.clear_faults()
    hub.reset_counts()
    assert _push(dataset_folder, REPO) == 0
    sent = [oid for kind, oid in hub.uploads if kind == "lfs"]
    sha = {hashlib.sha256(expected[p]).hexdigest() for p in lfs}
    assert len(sent) == len(lfs) - 3 and set(sent) == sha - first_sent  # only what was missing
    assert hub.calls["lfs_upload"] == len(lfs) - 3
    assert hub.repo_files(REPO) == expected

    # one uninterrupted push of the same folder ends with the same tree (same commit hash)
    assert _push(dataset_folder, TWIN) == 0
    assert hub.repos[TWIN].revisions["main"].commit == hub.repos[REPO].revisions["main"].commit
    assert hub.unknown == []


def test_streamed_push_stopped_after_one_commit_resumes_with_the_rest(start_hub_standin, tmp_path, monkeypatch):
    """The library's multi-commit uploader (hf_xet enabled, every file ``regular``): 260 shards make
    two batches; the second commit is refused; the rerun commits only the files not yet on ``main``."""
    import huggingface_hub.constants as hub_constants
    from huggingface_hub.utils._runtime import is_xet_available

    hub = start_hub_standin(lfs_suffixes=())
    monkeypatch.setattr(hub_constants, "HF_HUB_DISABLE_XET", False)
    if not is_xet_available():
        pytest.skip("hf_xet is not installed: upload_folder takes the single-commit path")
    folder = tmp_path / "many_shards"
    write_pile_folder(folder, {"vbn": (1, 0)}, seed=4)
    source = next((folder / "data").rglob("train-*.parquet"))
    for i in range(260):
        (folder / "data" / "vbn" / f"train-extra-{i:03d}.parquet").write_bytes(source.read_bytes() + bytes([i % 256]))
    expected = _expected(folder)
    files = plan_upload(folder).files
    assert sorted(expected) == files and len(files) > 256

    hub.fail_after("commit", 1)
    with pytest.raises(PushError, match="HTTP Error 507|507"):
        push_folder(folder, REPO, token=hub.token)
    first = set(hub.repo_files(REPO))
    assert 0 < len(first) < len(files) and len(hub.commits[REPO]) == 1  # one batch landed, not the whole

    hub.clear_faults()
    hub.reset_counts()
    records = []  # progress without a terminal: the uploader's INFO summaries, which push turns on
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger(PROGRESS_LOGGER).addHandler(handler)
    try:
        push_folder(folder, REPO, token=hub.token)
    finally:
        logging.getLogger(PROGRESS_LOGGER).removeHandler(handler)
    assert any(f"Found {len(files)} files to upload" in r.getMessage() for r in records)
    resent = {key.split("/", 2)[2] for kind, key in hub.uploads if kind == "regular"}
    assert resent == set(files) - first
    assert hub.repo_files(REPO) == expected and len(hub.commits[REPO]) == 2
    assert hub.unknown == []


def test_tokenizer_push_is_one_commit_or_nothing(start_hub_standin, tmp_path):
    hub = start_hub_standin()
    folder = tmp_path / "tok_1x10_32k"
    folder.mkdir()
    (folder / "config.json").write_text('{"patch_size": [1, 10]}')
    (folder / "motif_tokenizer.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    (folder / "README.md").write_text("# tokenizer\n")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "x.json").write_text("{}")
    expected = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}

    hub.fail_after("commit", 0)
    with pytest.raises(PushError, match="507"):
        push_folder(folder, "loopback/tok", token=hub.token)
    assert hub.repo_files("loopback/tok") == {}  # the weights were uploaded, but no file is on main

    hub.clear_faults()
    push_folder(folder, "loopback/tok", token=hub.token)
    assert hub.repos["loopback/tok"].repo_type == "model"
    assert hub.repo_files("loopback/tok") == expected and len(hub.commits["loopback/tok"]) == 1


def test_killed_push_process_resumes_with_the_rest(start_hub_standin, dataset_folder):
    """``neural-pile push`` in its own process, killed (SIGKILL) while it waits on its fourth
    upload; the same command run again sends only the objects the Hub does not hold."""
    import os
    import subprocess
    import sys
    import time

    hub = start_hub_standin()
    expected = _expected(dataset_folder)
    lfs = sorted(p for p in expected if p.endswith(".parquet"))
    command = [sys.executable, "-m", "builders.cli", "push", str(dataset_folder), "--repo", REPO]
    env = dict(os.environ)  # hub_clients set the stand-in's endpoint and HF_HUB_DISABLE_XET=1

    hub.hold_after("lfs_upload", 3)
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(hub.uploads) < 3 or hub.calls["lfs_upload"] < 4:  # three stored, a fourth held
        assert first.poll() is None and time.monotonic() < deadline, "the push ended before it was killed"
        time.sleep(0.05)
    first.kill()
    assert first.wait(timeout=30) != 0
    stored = {oid for _, oid in hub.uploads}
    assert len(stored) == 3

    hub.clear_faults()  # the held requests are answered (to a dead client) and the link is back
    assert hub.repo_files(REPO) == {}  # killed before its one commit: nothing on main
    hub.reset_counts()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    sent = [oid for kind, oid in hub.uploads if kind == "lfs"]
    all_oids = {hashlib.sha256(expected[p]).hexdigest() for p in lfs}
    assert len(sent) == len(lfs) - 3 and set(sent) == all_oids - stored
    assert hub.repo_files(REPO) == expected
