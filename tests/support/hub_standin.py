"""A Hugging Face Hub stand-in on 127.0.0.1: local folders served as dataset repos.

With ``HF_ENDPOINT`` pointed at :attr:`HubStandIn.url` (see :func:`hub_clients`), the real
``huggingface_hub.HfApi``, ``HfFileSystem`` and ``datasets.load_dataset(repo[, streaming=True])``
work against it. Endpoints (the ones those clients call):

- ``GET /api/datasets/NS/NAME`` and ``.../revision/REV``: repo info (``sha``, ``siblings``,
  ``cardData``; ``?blobs=true`` adds sizes, ``?expand=...`` keeps only the named fields);
- ``GET /api/datasets/NS/NAME/tree/REV[/PATH]``: entries ``{type, path, size, oid}``
  (``?recursive=true``, ``?expand=true`` adds ``lastCommit``), paged with a ``Link: rel="next"``
  header like the Hub (1000 entries per page, 50 with ``expand``, unless ``page_size`` is given);
- ``POST /api/datasets/NS/NAME/paths-info/REV`` (form or JSON ``paths``): the entries that exist;
- ``GET /api/datasets/NS/NAME/refs`` (``main`` is the branch, every other revision a tag) and
  ``.../commits/REV`` (one commit per revision);
- ``GET|HEAD /datasets/NS/NAME/resolve/REV/PATH``: the file, with ``Range`` (206), ``ETag``,
  ``X-Repo-Commit`` and ``Content-Length``.

Writes (what ``HfApi.create_repo``, ``upload_folder`` and ``create_commit`` call; model repos too):

- ``POST /api/repos/create``: a new empty repo (409 if it exists);
- ``POST /api/validate-yaml``: the card's YAML header is checked before anything is sent;
- ``POST /api/{datasets|models}/NS/NAME/preupload/REV``: per file, ``uploadMode`` (``lfs`` for a
  file whose name ends in one of :attr:`HubStandIn.lfs_suffixes` or of 10 MiB and more, like the
  Hub's default ``.gitattributes``; else ``regular``) and the ``oid`` of the file already committed
  at that path (its sha256 for an LFS file, its git blob hash for a regular one): the client drops
  unchanged files from a commit by this oid;
- ``POST /[datasets/]NS/NAME.git/info/lfs/objects/batch``: the git-LFS batch API, basic transfer;
  an object the store already holds comes back without ``actions`` (the client skips its upload);
- ``PUT /lfs-upload/OID``: the object's bytes (sha256 and size checked against the oid), plain or
  chunked;
- ``POST /api/{datasets|models}/NS/NAME/commit/REV``: an NDJSON commit (``header``, ``file`` base64,
  ``lfsFile`` by oid, ``deletedFile``, ``deletedFolder``); the repo's folder under
  :attr:`HubStandIn.upload_dir` is rewritten and ``main`` moves to the new tree.

The Xet protocol (the ``xet-write-token`` route and the CAS server) is not served: a client with
``hf_xet`` enabled uploads through it every file preupload answers ``lfs`` for, so tests either
disable it (``HF_HUB_DISABLE_XET``, as :func:`hub_clients` does) or set ``lfs_suffixes=()`` and keep
files small, so every file is ``regular``. ``fail_after(endpoint, n)`` lets the next ``n`` requests of
a write endpoint through and refuses every later one (a link that went away mid-push);
``hold_after(endpoint, n)`` holds the later ones unanswered instead (a push to kill half way).

Errors carry the ``X-Error-Code`` header the client turns into its typed errors: an unknown repo is
404 ``RepoNotFound`` (``RepositoryNotFoundError``), an unknown revision 404 ``RevisionNotFound``
(``RevisionNotFoundError``), a missing file or folder 404 ``EntryNotFound``. A private repo answers
401 (``RepoNotFound``, as the Hub does) without a token and 403 with a token that is not
:attr:`HubStandIn.token`.

A revision is a branch or tag name, or the 40-hex commit of one; each maps to a folder, listed once
when it is added (files are read from disk on every request). File oids are git blob hashes, a
commit is the hash of its tree, so the same folder gives the same commit.

Body bytes and requests are counted per ``"NS/NAME/PATH"`` (``bytes_sent``, ``requests``; read
them through ``file_bytes`` / ``repo_bytes``, which wait for the last answer to be counted), and
the file server's fault injection works with the same keys (``drop``: headers and half of the body,
then the connection is closed; ``fail``; ``stall``; ``break_path``). The stand-in is a
:class:`loopback.FileServer`, so it shares that server's Range handling and settings.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from tests.support.loopback import _STAMP, FileServer, _FileHandler

#: The token that opens every private repo of a stand-in (unless another is given).
DEFAULT_TOKEN = "hf_loopbackStandInToken0000000000000"
_REPO = r"(?P<ns>[^/]+)/(?P<name>[^/]+)"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class RepoEntry:
    """One file or folder of a served revision: ``path`` in the repo, ``size`` in bytes, git ``oid``."""

    path: str
    kind: str  # "file" or "directory"
    size: int
    oid: str
    local: Path | None  # the file on disk (None for folders)

    def payload(self, commit: str | None = None) -> dict:
        out = {"type": self.kind, "oid": self.oid, "size": self.size, "path": self.path}
        if commit is not None:  # what ``expand=true`` adds
            out["lastCommit"] = {"id": commit, "title": "Upload folder", "date": _STAMP}
        return out


@dataclass
class Snapshot:
    """A folder as one commit: entries by path (files and folders, root excluded)."""

    commit: str
    folder: Path
    entries: dict[str, RepoEntry]

    def children(self, path: str) -> list[RepoEntry]:
        prefix = f"{path}/" if path else ""
        found = [e for p, e in self.entries.items() if p.startswith(prefix) and "/" not in p[len(prefix) :]]
        return sorted(found, key=lambda e: (e.kind != "directory", e.path))

    def descendants(self, path: str) -> list[RepoEntry]:
        prefix = f"{path}/" if path else ""
        return sorted((e for p, e in self.entries.items() if p.startswith(prefix)), key=lambda e: e.path)


@dataclass
class Repo:
    repo_id: str
    private: bool
    revisions: dict[str, Snapshot] = field(default_factory=dict)  # branch or tag -> snapshot
    repo_type: str = "dataset"
    folder: Path | None = None  # where pushed files live (repos made by ``create_repo``)

    def snapshot(self, revision: str | None) -> Snapshot | None:
        revision = revision or "main"
        if revision in self.revisions:
            return self.revisions[revision]
        if _COMMIT.match(revision):
            for snap in self.revisions.values():
                if snap.commit == revision:
                    return snap
        return None


def _blob_oid(path: Path) -> str:
    """git's blob hash of a file (what the Hub reports as a file's ``oid``)."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def snapshot_folder(folder: str | os.PathLike) -> Snapshot:
    """List ``folder`` (hidden files and folders skipped) as one commit."""
    root = Path(folder).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    entries: dict[str, RepoEntry] = {}
    for file in files:
        path = file.relative_to(root).as_posix()
        entries[path] = RepoEntry(path, "file", file.stat().st_size, _blob_oid(file), file)
    folders = sorted({parent for path in entries for parent in _parents(path)}, key=lambda p: -p.count("/"))
    for path in folders:  # deepest first, so a folder's children are known when it is hashed
        listing = "\n".join(
            f"{e.kind} {e.oid} {e.path}"
            for e in entries.values()
            if e.path.startswith(f"{path}/") and "/" not in e.path[len(path) + 1 :]
        )
        entries[path] = RepoEntry(path, "directory", 0, hashlib.sha1(listing.encode()).hexdigest(), None)
    top = "\n".join(f"{e.kind} {e.oid} {e.path}" for e in entries.values() if "/" not in e.path)
    commit = hashlib.sha1(f"commit {top}".encode()).hexdigest()
    return Snapshot(commit, root, dict(sorted(entries.items())))


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


class HubStandIn(FileServer):
    """Dataset repos on loopback; a context manager like the other stand-ins.

    Args:
        token: the bearer token private repos accept.
        page_size: tree entries per page (default: the Hub's 1000, 50 with ``expand``).
        **server_options: passed on to :class:`loopback.FileServer`.

    Attributes:
        repos: served repos by id.
        calls: requests per endpoint (``info``, ``tree``, ``paths_info``, ``refs``, ``commits``,
            ``resolve``, ``unknown``).
        unknown: ``"METHOD path"`` of every request no route matched (a client calling an
            endpoint the stand-in lacks shows up here).
        bytes_sent, requests: per ``"NS/NAME/PATH"`` (from :class:`loopback.FileServer`).
    """

    #: Names the Hub's default ``.gitattributes`` stores in LFS (the ones this project pushes).
    LFS_SUFFIXES = (".parquet", ".safetensors", ".arrow", ".bin", ".npy", ".png")
    #: Files of this size (bytes) and more go to LFS whatever their name.
    LFS_MIN_BYTES = 10 * 1024 * 1024

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        page_size: int | None = None,
        upload_dir: str | os.PathLike | None = None,
        lfs_suffixes: tuple[str, ...] = LFS_SUFFIXES,
        **server_options,
    ) -> None:
        self.token = token
        self.page_size = page_size
        self.lfs_suffixes = tuple(lfs_suffixes)
        self._own_upload_dir = upload_dir is None
        self.upload_dir = Path(upload_dir) if upload_dir is not None else Path(tempfile.mkdtemp(prefix="hub-standin-"))
        self.repos: dict[str, Repo] = {}
        self.calls: Counter[str] = Counter()
        self.unknown: list[str] = []
        #: every upload accepted, in order: ``("lfs", oid)`` per LFS PUT, ``("regular", "NS/NAME/PATH")``
        #: per base64 file of a commit
        self.uploads: list[tuple[str, str]] = []
        #: commit messages accepted, per repo id, in order
        self.commits: dict[str, list[str]] = {}
        self._write_budget: dict[str, tuple[int, int | None]] = {}  # endpoint -> (requests left, status after)
        self._released = threading.Event()  # wakes requests held by hold_after
        self._in_flight = 0
        super().__init__(None, handler_class=_HubHandler, **server_options)

    def stop(self) -> None:
        self._released.set()
        super().stop()
        if self._own_upload_dir:
            shutil.rmtree(self.upload_dir, ignore_errors=True)

    # -- pushed repos -------------------------------------------------------------------
    def create_repo(self, repo_id: str, repo_type: str = "dataset", private: bool = False) -> Repo:
        """An empty repo that accepts commits (what ``POST /api/repos/create`` makes)."""
        folder = self.upload_dir / "repos" / repo_type / repo_id
        folder.mkdir(parents=True, exist_ok=False)
        repo = Repo(repo_id, private, repo_type=repo_type, folder=folder)
        repo.revisions["main"] = snapshot_folder(folder)
        with self._lock:
            self.repos[repo_id] = repo
            self.commits[repo_id] = []
        return repo

    def repo_files(self, repo_id: str) -> dict[str, bytes]:
        """``{path: bytes}`` of every file on ``main`` of a served repo."""
        self.wait_idle()
        snap = self.repos[repo_id].revisions["main"]
        return {p: e.local.read_bytes() for p, e in snap.entries.items() if e.kind == "file"}

    def lfs_path(self, oid: str) -> Path:
        """Where the stand-in keeps the LFS object ``oid`` (sha256 hex)."""
        return self.upload_dir / "lfs" / oid

    def upload_mode(self, path: str, size: int) -> str:
        """``lfs`` or ``regular``, as the Hub's default ``.gitattributes`` decides (name, then size)."""
        lfs = path.endswith(self.lfs_suffixes) or size >= self.LFS_MIN_BYTES
        return "lfs" if lfs and size > 0 else "regular"

    def fail_after(self, endpoint: str, n: int, status: int = 507) -> None:
        """Let the next ``n`` requests of ``endpoint`` (``lfs_upload``, ``commit``, ``preupload``, ...)
        through, then answer ``status`` to every later one until :meth:`clear_faults`. The default
        507 is one the client does not retry, so the push stops at once."""
        with self._lock:
            self._write_budget[endpoint] = (n, status)

    def hold_after(self, endpoint: str, n: int) -> None:
        """Let the next ``n`` requests of ``endpoint`` through, then hold every later one unanswered
        until :meth:`clear_faults` (then it gets a 503): a push that hangs there, for a test to kill."""
        with self._lock:
            self._released.clear()
            self._write_budget[endpoint] = (n, None)

    def clear_faults(self) -> None:
        super().clear_faults()
        with self._lock:
            self._write_budget.clear()
        self._released.set()

    def _spend(self, endpoint: str) -> None:
        """Raise the refusal once ``endpoint``'s budget (:meth:`fail_after`) is spent."""
        with self._lock:
            if endpoint not in self._write_budget:
                return
            left, status = self._write_budget[endpoint]
            if left > 0:
                self._write_budget[endpoint] = (left - 1, status)
                return
        if status is None:  # hold_after: wait, unanswered, until released
            self._released.wait()
            raise _HubError(503, None, f"the stand-in held this {endpoint} request (hold_after)")
        raise _HubError(status, None, f"the stand-in refuses {endpoint} requests now (fail_after)")

    def add_repo(
        self,
        repo_id: str,
        folder: str | os.PathLike,
        *,
        private: bool = False,
        revisions: dict[str, str | os.PathLike | None] | None = None,
    ) -> dict[str, str]:
        """Serve ``folder`` as dataset repo ``repo_id`` on branch ``main``.

        ``revisions`` adds more branches or tags, each a folder (``None``: ``folder`` itself).
        Adding a repo again replaces it. Returns ``{revision: commit sha}``.
        """
        if repo_id.count("/") != 1:
            raise ValueError(f"{repo_id!r}: a repo id is NAMESPACE/NAME")
        repo = Repo(repo_id, private)
        repo.revisions["main"] = snapshot_folder(folder)
        for name, other in (revisions or {}).items():
            repo.revisions[name] = snapshot_folder(other) if other is not None else repo.revisions["main"]
        with self._lock:
            self.repos[repo_id] = repo
        return {name: snap.commit for name, snap in repo.revisions.items()}

    def add_revision(self, repo_id: str, revision: str, folder: str | os.PathLike | None = None) -> str:
        """Add branch or tag ``revision`` to a served repo (``folder=None``: main's folder); returns its commit."""
        repo = self.repos[repo_id]
        snap = snapshot_folder(folder) if folder is not None else repo.revisions["main"]
        with self._lock:
            repo.revisions[revision] = snap
        return snap.commit

    def key(self, repo_id: str, path: str) -> str:
        """The counter and fault key of a file: ``"NS/NAME/PATH"``."""
        return f"{repo_id}/{path}"

    def wait_idle(self, timeout_s: float = 5.0) -> None:
        """Wait until no request is being answered. A client can hold a whole response a moment
        before the server thread has counted its last bytes: call this before reading
        ``bytes_sent`` / ``requests`` directly (the methods below do)."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                if self._in_flight == 0:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Hub stand-in is still answering a request after {timeout_s} s")
            time.sleep(0.002)

    def file_bytes(self, repo_id: str, path: str) -> int:
        """Body bytes sent from one file of ``repo_id`` so far."""
        self.wait_idle()
        with self._lock:
            return self.bytes_sent[self.key(repo_id, path)]

    def file_requests(self, repo_id: str, path: str) -> int:
        """``resolve`` requests (GET and HEAD) for one file of ``repo_id`` so far."""
        self.wait_idle()
        with self._lock:
            return self.requests[self.key(repo_id, path)]

    def repo_bytes(self, repo_id: str) -> int:
        """Body bytes sent from every file of ``repo_id`` so far."""
        self.wait_idle()
        prefix = f"{repo_id}/"
        with self._lock:
            return sum(n for k, n in self.bytes_sent.items() if k.startswith(prefix))

    def repo_requests(self, repo_id: str) -> int:
        """``resolve`` requests for every file of ``repo_id`` so far."""
        self.wait_idle()
        prefix = f"{repo_id}/"
        with self._lock:
            return sum(n for k, n in self.requests.items() if k.startswith(prefix))

    def reset_counts(self) -> None:
        super().reset_counts()
        with self._lock:
            self.calls.clear()
            self.unknown.clear()
            self.uploads.clear()

    # -- payloads ---------------------------------------------------------------------
    def info_payload(self, repo: Repo, snap: Snapshot, query: dict[str, list[str]]) -> dict:
        files = [e for e in snap.entries.values() if e.kind == "file"]
        blobs = _flag(query, "blobs")
        payload = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": snap.commit,
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "createdAt": _STAMP,
            "lastModified": _STAMP,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "cardData": _card_data(snap),
            "usedStorage": sum(e.size for e in files),
            "siblings": [{"rfilename": e.path, **({"size": e.size, "blobId": e.oid} if blobs else {})} for e in files],
        }
        expand = query.get("expand") or query.get("expand[]")
        if expand:
            payload = {k: v for k, v in payload.items() if k in ("_id", "id") or k in expand}
        return payload


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["false"])[-1].lower() in ("1", "true", "yes")


def _card_data(snap: Snapshot) -> dict | None:
    """The YAML header of the repo's README.md, as the Hub's ``cardData``."""
    readme = snap.entries.get("README.md")
    if readme is None:
        return None
    import yaml

    text = readme.local.read_text(encoding="utf-8")
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, flags=re.S)
    data = yaml.safe_load(match.group(1)) if match else None
    return data if isinstance(data, dict) else None


class _HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class _HubHandler(_FileHandler):
    server_owner: HubStandIn

    _ROUTES = [
        ("info", "GET", re.compile(rf"^/api/(?P<type>datasets|models)/{_REPO}$")),
        ("info", "GET", re.compile(rf"^/api/(?P<type>datasets|models)/{_REPO}/revision/(?P<rest>.+)$")),
        ("tree", "GET", re.compile(rf"^/api/datasets/{_REPO}/tree/(?P<rest>.+)$")),
        ("paths_info", "POST", re.compile(rf"^/api/datasets/{_REPO}/paths-info/(?P<rest>.+)$")),
        ("refs", "GET", re.compile(rf"^/api/datasets/{_REPO}/refs$")),
        ("commits", "GET", re.compile(rf"^/api/datasets/{_REPO}/commits/(?P<rest>.+)$")),
        ("resolve", "GET", re.compile(rf"^/datasets/{_REPO}/resolve/(?P<rest>.+)$")),
        # writes
        ("create_repo", "POST", re.compile(r"^/api/repos/create$")),
        ("validate_yaml", "POST", re.compile(r"^/api/validate-yaml$")),
        ("preupload", "POST", re.compile(rf"^/api/(?P<type>datasets|models)/{_REPO}/preupload/(?P<rest>.+)$")),
        ("lfs_batch", "POST", re.compile(rf"^/(?:(?P<type>datasets)/)?{_REPO}\.git/info/lfs/objects/batch$")),
        ("lfs_upload", "PUT", re.compile(r"^/lfs-upload/(?P<oid>[0-9a-f]{64})$")),
        ("commit", "POST", re.compile(rf"^/api/(?P<type>datasets|models)/{_REPO}/commit/(?P<rest>.+)$")),
    ]

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def _read_body(self) -> bytes:
        """The request body, sent with a ``Content-Length`` or chunked."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            pieces = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(pieces)
                pieces.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    @staticmethod
    def _droppable(byte_range, send_body: bool) -> bool:
        # Whole-file GETs (hf_hub_download) are dropped too; HEADs and 1-byte probes are not.
        return send_body and (byte_range is None or byte_range[1] - byte_range[0] > 1)

    def _dispatch(self, method: str) -> None:
        owner = self.server_owner
        with owner._lock:
            owner._in_flight += 1
        try:
            self._route(method)
        finally:
            with owner._lock:
                owner._in_flight -= 1

    def _route(self, method: str) -> None:
        owner = self.server_owner
        parts = urlsplit(self.path)
        body = self._read_body() if method in ("POST", "PUT") else b""
        for name, route_method, pattern in self._ROUTES:
            match = pattern.match(parts.path)
            if match and (method == route_method or (method == "HEAD" and route_method == "GET")):
                with owner._lock:
                    owner.calls[name] += 1
                try:
                    getattr(self, f"_route_{name}")(match.groupdict(), parse_qs(parts.query), body, method)
                except _HubError as error:
                    self._send_error(error)
                return
        with owner._lock:
            owner.calls["unknown"] += 1
            owner.unknown.append(f"{method} {self.path}")
        self._send_error(_HubError(404, None, f"Sorry, we can't find the page you are looking for: {parts.path}"))

    # -- helpers ----------------------------------------------------------------------
    def _send_error(self, error: _HubError) -> None:
        body = json.dumps({"error": error.message}).encode()
        self.send_response(error.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if error.code is not None:
            self.send_header("X-Error-Code", error.code)
        self.send_header("X-Error-Message", error.message)
        for name, value in error.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _repo(self, groups, *, write: bool = False) -> Repo:
        """The repo named in the URL, once the caller may see it (``write``: and change it)."""
        owner = self.server_owner
        repo_id = f"{unquote(groups['ns'])}/{unquote(groups['name'])}"
        repo = owner.repos.get(repo_id)
        repo_type = (groups.get("type") or "datasets")[:-1]
        if repo is None or repo.repo_type != repo_type:
            raise _HubError(404, "RepoNotFound", "Repository not found")
        if write and repo.folder is None:
            raise _HubError(403, None, f"{repo_id} is served read-only (add_repo); push to a repo made by create_repo")
        if repo.private or write:
            header = self.headers.get("Authorization") or ""
            if not header.lower().startswith("bearer "):
                raise _HubError(401, "RepoNotFound", "Invalid username or password.")
            if header[len("bearer ") :].strip() != owner.token:
                raise _HubError(403, None, f"Your token does not grant access to {repo_id}")
        return repo

    @staticmethod
    def _split_revision(rest: str) -> tuple[str, str]:
        """``REV[/PATH]`` of a URL tail -> (revision, path); ``refs/pr/N`` may come unquoted."""
        segments = rest.split("/")
        take = 3 if segments[0] == "refs" and len(segments) >= 3 else 1
        revision = unquote("/".join(segments[:take]))
        path = unquote("/".join(segments[take:])).strip("/")
        return revision, path

    def _snapshot(self, repo: Repo, revision: str) -> Snapshot:
        snap = repo.snapshot(revision)
        if snap is None:
            raise _HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return snap

    def _send_page(self, entries: list[dict], query: dict[str, list[str]], page_size: int) -> None:
        start = int(query.get("cursor", ["0"])[0])
        page = entries[start : start + page_size]
        body = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if start + page_size < len(entries):
            params = {k: v[-1] for k, v in query.items()}
            params["cursor"] = str(start + page_size)
            next_url = f"{self.server_owner.url}{urlsplit(self.path).path}?{urlencode(params)}"
            self.send_header("Link", f'<{next_url}>; rel="next"')
        self.end_headers()
        self.wfile.write(body)

    # -- routes -----------------------------------------------------------------------
    def _route_info(self, groups, query, body, method) -> None:
        repo = self._repo(groups)
        revision = self._split_revision(groups["rest"])[0] if groups.get("rest") else "main"
        snap = self._snapshot(repo, revision)
        self._send_json(self.server_owner.info_payload(repo, snap, query))

    def _route_tree(self, groups, query, body, method) -> None:
        repo = self._repo(groups)
        revision, path = self._split_revision(groups["rest"])
        snap = self._snapshot(repo, revision)
        entry = snap.entries.get(path) if path else None
        if path and (entry is None or entry.kind != "directory"):
            raise _HubError(
                404, "EntryNotFound", f'{path} does not exist on "{revision}"', {"X-Repo-Commit": snap.commit}
            )
        expand = _flag(query, "expand")
        listed = snap.descendants(path) if _flag(query, "recursive") else snap.children(path)
        entries = [e.payload(snap.commit if expand else None) for e in listed]
        page_size = self.server_owner.page_size or (50 if expand else 1000)
        self._send_page(entries, query, page_size)

    def _route_paths_info(self, groups, query, body, method) -> None:
        repo = self._repo(groups)
        revision, _ = self._split_revision(groups["rest"])
        snap = self._snapshot(repo, revision)
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            form = json.loads(body or b"{}")
            paths = form.get("paths", [])
            expand = bool(form.get("expand", False))
        else:
            form = parse_qs(body.decode())
            paths = form.get("paths", [])
            expand = _flag(form, "expand")
        paths = [paths] if isinstance(paths, str) else paths
        found = [snap.entries[p.strip("/")] for p in paths if p.strip("/") in snap.entries]
        self._send_json([e.payload(snap.commit if expand else None) for e in found])

    def _route_refs(self, groups, query, body, method) -> None:
        repo = self._repo(groups)

        def ref(name: str, kind: str) -> dict:
            return {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": repo.revisions[name].commit}

        payload = {
            "branches": [ref("main", "heads")],
            "converts": [],
            "tags": [ref(name, "tags") for name in repo.revisions if name != "main"],
        }
        if query.get("include_prs"):
            payload["pullRequests"] = []
        self._send_json(payload)

    def _route_commits(self, groups, query, body, method) -> None:
        repo = self._repo(groups)
        snap = self._snapshot(repo, self._split_revision(groups["rest"])[0])
        commit = {
            "id": snap.commit,
            "title": "Upload folder",
            "message": "",
            "date": _STAMP,
            "authors": [{"user": repo.repo_id.split("/")[0]}],
        }
        self._send_page([commit], query, 1)

    def _route_resolve(self, groups, query, body, method) -> None:
        repo = self._repo(groups)
        revision, path = self._split_revision(groups["rest"])
        snap = self._snapshot(repo, revision)
        entry = snap.entries.get(path)
        key = self.server_owner.key(repo.repo_id, path)
        if entry is None or entry.kind != "file":
            self.server_owner._take_fault(key, ranged=False)  # counted as a request
            raise _HubError(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": snap.commit})
        headers = {"ETag": f'"{entry.oid}"', "X-Repo-Commit": snap.commit, "Vary": "Origin, Range"}
        self._serve_file(entry.local, key, send_body=method != "HEAD", headers=headers)

    # -- write routes -------------------------------------------------------------------
    def _json_body(self, body: bytes) -> dict:
        try:
            return json.loads(body or b"{}")
        except ValueError:
            raise _HubError(400, None, "the body is not JSON") from None

    def _bearer(self) -> None:
        header = self.headers.get("Authorization") or ""
        if not header.lower().startswith("bearer "):
            raise _HubError(401, None, "Invalid username or password.")
        if header[len("bearer ") :].strip() != self.server_owner.token:
            raise _HubError(403, None, "Your token does not grant write access")

    def _route_create_repo(self, groups, query, body, method) -> None:
        self._bearer()
        form = self._json_body(body)
        repo_id = f"{form.get('organization')}/{form.get('name')}"
        repo_type = form.get("type") or "model"
        owner = self.server_owner
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"{owner.url}/{prefix}{repo_id}"
        if repo_id in owner.repos:  # the Hub's 409 carries the url too (the client reads it with exist_ok)
            self._send_json({"error": "You already created this repo", "url": url}, status=409)
            return
        owner.create_repo(repo_id, repo_type, private=form.get("private") or form.get("visibility") == "private")
        self._send_json({"url": url, "name": repo_id})

    def _route_validate_yaml(self, groups, query, body, method) -> None:
        import yaml

        text = self._json_body(body).get("content") or ""
        match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, flags=re.S)
        try:
            front = yaml.safe_load(match.group(1)) if match else {}
        except yaml.YAMLError as exc:
            self._send_json({"errors": [{"message": f"invalid YAML: {exc}"}], "warnings": []}, status=400)
            return
        if front is not None and not isinstance(front, dict):
            self._send_json({"errors": [{"message": "the YAML header is not a mapping"}], "warnings": []}, status=400)
            return
        self._send_json({"errors": [], "warnings": []})

    def _route_preupload(self, groups, query, body, method) -> None:
        owner = self.server_owner
        repo = self._repo(groups, write=True)
        owner._spend("preupload")
        snap = self._snapshot(repo, self._split_revision(groups["rest"])[0])
        answers = []
        for item in self._json_body(body).get("files", []):
            path, size = item["path"], int(item["size"])
            mode = owner.upload_mode(path, size)
            entry = snap.entries.get(path)
            oid = None
            if entry is not None and entry.kind == "file":
                oid = _sha256(entry.local) if owner.upload_mode(path, entry.size) == "lfs" else entry.oid
            answers.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        self._send_json({"files": answers, "commitOid": snap.commit})

    def _route_lfs_batch(self, groups, query, body, method) -> None:
        owner = self.server_owner
        self._repo({**groups, "type": groups.get("type") or "models"}, write=True)  # no prefix: a model repo
        owner._spend("lfs_batch")
        objects = []
        for item in self._json_body(body).get("objects", []):
            oid, size = str(item["oid"]), int(item["size"])
            answer = {"oid": oid, "size": size, "authenticated": True}
            if not owner.lfs_path(oid).is_file():
                answer["actions"] = {"upload": {"href": f"{owner.url}/lfs-upload/{oid}", "header": {}}}
            objects.append(answer)
        self._send_json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"})

    def _route_lfs_upload(self, groups, query, body, method) -> None:
        owner = self.server_owner
        owner._spend("lfs_upload")
        oid = groups["oid"]
        if hashlib.sha256(body).hexdigest() != oid:
            raise _HubError(400, None, f"the uploaded bytes do not hash to {oid}")
        target = owner.lfs_path(oid)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{oid}.{os.getpid()}.{id(self)}.part")
        partial.write_bytes(body)
        os.replace(partial, target)
        with owner._lock:
            owner.uploads.append(("lfs", oid))
        self._send_json({})

    def _route_commit(self, groups, query, body, method) -> None:
        owner = self.server_owner
        repo = self._repo(groups, write=True)
        owner._spend("commit")
        revision = self._split_revision(groups["rest"])[0]
        if revision != "main":
            raise _HubError(400, None, f"the stand-in commits to main only, not {revision!r}")
        try:
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        except ValueError:
            raise _HubError(400, None, "the commit body is not NDJSON") from None
        if not lines or lines[0].get("key") != "header":
            raise _HubError(400, None, "a commit starts with its header line")
        writes: dict[str, bytes | Path] = {}
        deletes: list[tuple[str, bool]] = []
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value") or {}
            path = str(value.get("path", "")).strip("/")
            if not path or any(part in ("", ".", "..") for part in path.split("/")):
                raise _HubError(400, None, f"bad path in commit: {path!r}")
            if key == "file":
                writes[path] = base64.b64decode(value["content"])
            elif key == "lfsFile":
                stored = owner.lfs_path(str(value.get("oid")))
                if not stored.is_file():
                    raise _HubError(400, None, f"{path}: LFS object {value.get('oid')} was never uploaded")
                writes[path] = stored
            elif key in ("deletedFile", "deletedFolder"):
                deletes.append((path, key == "deletedFolder"))
            else:
                raise _HubError(400, None, f"unknown commit operation {key!r}")
        with owner._lock:  # one commit at a time per stand-in: the folder and main move together
            for path, is_folder in deletes:
                target = repo.folder / path
                if is_folder:
                    shutil.rmtree(target, ignore_errors=True)
                else:
                    target.unlink(missing_ok=True)
            for path, content in writes.items():
                target = repo.folder / path
                target.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, Path):
                    shutil.copyfile(content, target)
                else:
                    target.write_bytes(content)
                    owner.uploads.append(("regular", owner.key(repo.repo_id, path)))
            snap = snapshot_folder(repo.folder)
            repo.revisions["main"] = snap
            owner.commits[repo.repo_id].append(lines[0].get("value", {}).get("summary", ""))
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        self._send_json(
            {
                "commitUrl": f"{owner.url}/{prefix}{repo.repo_id}/commit/{snap.commit}",
                "commitOid": snap.commit,
                "pullRequestUrl": None,
            }
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


# -- pointing the clients at a stand-in ---------------------------------------------------


def client_environment(url: str, home: str | os.PathLike, *, etag_timeout_s: int = 5) -> dict[str, str]:
    """Environment variables that point ``huggingface_hub`` and ``datasets`` (in a new process) at
    ``url``, with every cache under ``home`` and nothing sent anywhere else."""
    home = Path(home)
    return {
        "HF_ENDPOINT": url,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_XET_CACHE": str(home / "xet"),
        "HF_DATASETS_CACHE": str(home / "datasets"),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_ETAG_TIMEOUT": str(etag_timeout_s),
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    }


@contextmanager
def hub_clients(url: str, home: str | os.PathLike, *, etag_timeout_s: int = 5):
    """Point this process's ``huggingface_hub`` and ``datasets`` at ``url`` until the block ends.

    Both libraries read their settings into module constants at import, so the environment
    (:func:`client_environment`, also set for child processes) is not enough: the constants are set
    too, and everything is restored afterwards. ``datasets`` is also kept from calling the dataset
    viewer (``datasets-server.<host>``) and from pinging S3 to count downloads.
    """
    import datasets.config as ds_config
    import huggingface_hub.constants as hub_constants
    from huggingface_hub import HfFileSystem

    env = client_environment(url, home, etag_timeout_s=etag_timeout_s)
    home = Path(home)
    hub_values = {
        "ENDPOINT": url,
        "HUGGINGFACE_CO_URL_TEMPLATE": url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_URL_HOSTS": hub_constants.HF_URL_HOSTS | {urlsplit(url).hostname},
        "HF_HOME": str(home),
        "HF_HUB_CACHE": env["HF_HUB_CACHE"],
        "HUGGINGFACE_HUB_CACHE": env["HF_HUB_CACHE"],
        "HF_ASSETS_CACHE": str(home / "assets"),
        "HF_XET_CACHE": env["HF_XET_CACHE"],
        "HF_TOKEN_PATH": env["HF_TOKEN_PATH"],
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "HF_HUB_DISABLE_TELEMETRY": True,
        "HF_HUB_DISABLE_XET": True,
        "HF_HUB_OFFLINE": False,
        "HF_HUB_ETAG_TIMEOUT": etag_timeout_s,
    }
    ds_values = {
        "HF_ENDPOINT": url,
        "HUB_DATASETS_URL": url + "/datasets/{repo_id}/resolve/{revision}/{path}",
        "HF_CACHE_HOME": str(home),
        "HF_DATASETS_CACHE": Path(env["HF_DATASETS_CACHE"]),
        "HF_MODULES_CACHE": home / "modules",
        "DOWNLOADED_DATASETS_PATH": Path(env["HF_DATASETS_CACHE"]) / "downloads",
        "EXTRACTED_DATASETS_PATH": Path(env["HF_DATASETS_CACHE"]) / "downloads" / "extracted",
        "USE_PARQUET_EXPORT": False,
        "HF_UPDATE_DOWNLOAD_COUNTS": False,
        "HF_HUB_OFFLINE": False,
    }
    saved_env = {name: os.environ.get(name) for name in [*env, "HF_TOKEN"]}
    saved_hub = {name: getattr(hub_constants, name) for name in hub_values}
    saved_ds = {name: getattr(ds_config, name) for name in ds_values}
    os.environ.update(env)
    os.environ.pop("HF_TOKEN", None)  # a token from the caller's shell must not leak into tests
    for name, value in hub_values.items():
        setattr(hub_constants, name, value)
    for name, value in ds_values.items():
        setattr(ds_config, name, value)
    HfFileSystem.clear_instance_cache()
    try:
        yield env
    finally:
        HfFileSystem.clear_instance_cache()
        for name, value in saved_hub.items():
            setattr(hub_constants, name, value)
        for name, value in saved_ds.items():
            setattr(ds_config, name, value)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def hf_url(repo_id: str, path: str = "", revision: str | None = None) -> str:
    """``hf://datasets/NS/NAME[@REV]/PATH`` (the revision quoted as ``HfFileSystem`` expects)."""
    at = f"@{quote(revision, safe='')}" if revision else ""
    return f"hf://datasets/{repo_id}{at}/{path}".rstrip("/")
