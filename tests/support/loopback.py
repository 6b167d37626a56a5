"""Stand-ins for the archives, served on 127.0.0.1, for tests and benchmarks.

- :class:`FileServer`: serves a folder over HTTP with ``Range`` support (206), ``HEAD``, a
  count of body bytes sent per path, and injected failures (N x 500, dropped connections,
  stalls, permanently broken paths).
- :class:`DandiStandIn`: the DANDI API endpoints the real ``dandi`` client calls to list a
  version's assets (``/server-info``, ``/api/info/``, dandiset and version info, the paged
  assets listing, asset metadata with ``contentUrl``) and the ``/download/`` redirects to the
  file server.
- :class:`FigshareStandIn`: ``/v2/articles/{id}/files`` (paged) with ``download_url`` links
  that redirect to the file server.

All three are context managers; leaving the ``with`` block stops the server and its thread.

Wide-area mode: every stand-in (anything built on :class:`_Server` and :class:`_QuietHandler`)
takes ``latency_s`` (time to first byte added to every request, seconds) and
``bandwidth_bytes_per_s`` (cap on the bytes per second of each connection, ``None``: no cap),
as constructor arguments or as attributes changed at any time (:meth:`_Server.set_wan`).
Loopback hides round trips; these make a test or a benchmark pay them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_STAMP = "2024-01-01T00:00:00.000000Z"


class _LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # Connections the client (or an injected drop) cut short are expected here; anything
        # else is a bug in the stand-in and is printed as usual.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class _Server:
    """A threaded HTTP server on 127.0.0.1 (ephemeral port) running in a daemon thread.

    Args:
        handler_class: the request handler (a :class:`_QuietHandler` subclass).
        latency_s: seconds added before answering each request (time to first byte).
        bandwidth_bytes_per_s: bytes per second each connection may send (``None``: no cap).
    """

    def __init__(self, handler_class, *, latency_s: float = 0.0, bandwidth_bytes_per_s: float | None = None) -> None:
        owner = self
        self.latency_s = 0.0
        self.bandwidth_bytes_per_s: float | None = None
        self.set_wan(latency_s, bandwidth_bytes_per_s)

        class Handler(handler_class):
            server_owner = owner

        self._httpd = _LoopbackHTTPServer(("127.0.0.1", 0), Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def set_wan(self, latency_s: float = 0.0, bandwidth_bytes_per_s: float | None = None) -> None:
        """Answer every request ``latency_s`` late and send at most ``bandwidth_bytes_per_s``
        per connection (``0.0, None``: plain loopback again)."""
        if latency_s < 0 or (bandwidth_bytes_per_s is not None and bandwidth_bytes_per_s <= 0):
            raise ValueError(f"latency_s must be >= 0 and bandwidth positive, got {latency_s}, {bandwidth_bytes_per_s}")
        self.latency_s = float(latency_s)
        self.bandwidth_bytes_per_s = None if bandwidth_bytes_per_s is None else float(bandwidth_bytes_per_s)

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _ThrottledWriter:
    """A connection's output stream that sends at most ``handler``'s bandwidth, per response."""

    #: bytes written between two clock checks
    PIECE = 16 * 1024

    def __init__(self, raw, handler: _QuietHandler) -> None:
        self._raw = raw
        self._handler = handler

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        for at in range(0, len(view), self.PIECE):
            piece = view[at : at + self.PIECE]
            self._raw.write(piece)
            self._handler._pace(len(piece))
        return len(view)

    def __getattr__(self, name):
        return getattr(self._raw, name)


class _QuietHandler(BaseHTTPRequestHandler):
    """Base of every stand-in's handler: no logging, JSON and redirect helpers, and the
    wide-area mode of its server (latency before each answer, a bandwidth cap per connection)."""

    protocol_version = "HTTP/1.1"
    server_owner: _Server

    def setup(self) -> None:
        super().setup()
        self.wfile = _ThrottledWriter(self.wfile, self)
        self._response_start = time.perf_counter()
        self._response_bytes = 0

    def parse_request(self) -> bool:
        ok = super().parse_request()
        latency = self.server_owner.latency_s
        if latency > 0:
            time.sleep(latency)
        self._response_start = time.perf_counter()
        self._response_bytes = 0
        return ok

    def _pace(self, n_bytes: int) -> None:
        """Sleep until ``n_bytes`` more fit under the bandwidth cap since the answer started."""
        rate = self.server_owner.bandwidth_bytes_per_s
        self._response_bytes += n_bytes
        if rate:
            due = self._response_start + self._response_bytes / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)

    def log_message(self, format, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def _send_json(self, payload, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@dataclass
class _Fault:
    kind: str  # "status", "drop", "stall"
    remaining: int | None  # None = forever
    status: int = 500
    seconds: float = 0.0


class FileServer(_Server):
    """Serves the files under ``root`` at ``<url>/<relative path>`` (``**wan``: see :class:`_Server`).

    Attributes:
        bytes_sent: body bytes written per relative path (what the clients actually moved).
        requests: requests received per relative path.
    """

    def __init__(self, root: str | os.PathLike | None, *, handler_class=None, **wan) -> None:
        # ``root=None`` with a ``handler_class`` that maps request paths to files itself
        # (tests/hub_standin.py): the counters and faults below are shared with it.
        self.root = Path(root).resolve() if root is not None else None
        self.bytes_sent: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self._faults: dict[str, list[_Fault]] = defaultdict(list)
        self._lock = threading.Lock()
        super().__init__(handler_class or _FileHandler, **wan)

    def url_for(self, relative_path: str) -> str:
        return f"{self.url}/{quote(relative_path)}"

    # -- failure injection ------------------------------------------------------------
    def fail(self, relative_path: str, times: int = 1, status: int = 500) -> None:
        """Answer the next ``times`` range requests for the path with ``status``."""
        self._add_fault(relative_path, _Fault("status", times, status=status))

    def drop(self, relative_path: str, times: int = 1) -> None:
        """Send headers and half of the body, then close the connection, ``times`` times."""
        self._add_fault(relative_path, _Fault("drop", times))

    def stall(self, relative_path: str, seconds: float, times: int = 1) -> None:
        """Wait ``seconds`` before answering, ``times`` times (to trip client timeouts)."""
        self._add_fault(relative_path, _Fault("stall", times, seconds=seconds))

    def break_path(self, relative_path: str, status: int = 500) -> None:
        """Answer every request for the path with ``status`` from now on."""
        self._add_fault(relative_path, _Fault("status", None, status=status))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset_counts(self) -> None:
        with self._lock:
            self.bytes_sent.clear()
            self.requests.clear()

    def _add_fault(self, relative_path: str, fault: _Fault) -> None:
        with self._lock:
            self._faults[relative_path].append(fault)

    def _take_fault(self, relative_path: str, ranged: bool) -> _Fault | None:
        """The fault to apply to this request, if any (probes of byte 0 are spared drops)."""
        with self._lock:
            self.requests[relative_path] += 1
            faults = self._faults.get(relative_path, [])
            for fault in faults:
                if fault.kind == "drop" and not ranged:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        faults.remove(fault)
                return fault
        return None

    def _count(self, relative_path: str, n: int) -> None:
        with self._lock:
            self.bytes_sent[relative_path] += n


class _FileHandler(_QuietHandler):
    server_owner: FileServer

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
        self._serve(send_body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(send_body=True)

    def _serve(self, send_body: bool) -> None:
        owner = self.server_owner
        relative = unquote(urlsplit(self.path).path).lstrip("/")
        target = (owner.root / relative).resolve()
        if owner.root not in target.parents or not target.is_file():
            owner._take_fault(relative, ranged=False)
            self._send_json({"detail": "Not found."}, status=404)
            return
        self._serve_file(target, relative, send_body)

    def _serve_file(self, target: Path, relative: str, send_body: bool, headers: dict[str, str] | None = None) -> None:
        """Answer with ``target`` (whole, or the ``Range`` asked for) plus ``headers``; counts and
        faults are kept under ``relative``."""
        owner = self.server_owner
        size = target.stat().st_size
        byte_range = self._parse_range(self.headers.get("Range"), size)
        if byte_range == "invalid":
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        fault = owner._take_fault(relative, ranged=self._droppable(byte_range, send_body))
        if fault is not None and fault.kind == "stall":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "status":
            self._send_json({"detail": "injected failure"}, status=fault.status)
            return
        start, stop = byte_range if byte_range is not None else (0, size)
        self.send_response(206 if byte_range is not None else 200)
        if byte_range is not None:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(stop - start))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not send_body:
            return
        if fault is not None and fault.kind == "drop":
            stop = start + (stop - start) // 2
        self._send_file(target, relative, start, stop)
        if fault is not None and fault.kind == "drop":
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    def _send_file(self, target: Path, relative: str, start: int, stop: int) -> None:
        with open(target, "rb") as handle:
            handle.seek(start)
            remaining = stop - start
            while remaining > 0:
                piece = handle.read(min(remaining, 1 << 20))
                if not piece:
                    break
                try:
                    self.wfile.write(piece)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                    return
                self.server_owner._count(relative, len(piece))
                remaining -= len(piece)

    @staticmethod
    def _droppable(byte_range, send_body: bool) -> bool:
        """Whether an injected drop applies: ranged reads, not 1-byte probes or whole files."""
        return byte_range is not None and byte_range[1] - byte_range[0] > 1

    @staticmethod
    def _parse_range(header: str | None, size: int):
        if not header:
            return None
        match = _RANGE.match(header.strip())
        if not match or (not match.group(1) and not match.group(2)):
            return "invalid"
        if match.group(1):
            start = int(match.group(1))
            stop = int(match.group(2)) + 1 if match.group(2) else size
        else:  # suffix range: the last N bytes
            start, stop = max(0, size - int(match.group(2))), size
        stop = min(stop, size)
        if start >= size or stop <= start:
            return "invalid"
        return start, stop


def _walk_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


@dataclass
class _DandiAsset:
    asset_id: str
    path: str
    size: int
    file_path: str  # path on the file server (need not exist: a listing-only entry)
    extra_metadata: dict | None = None  # variableMeasured, wasGeneratedBy, ... as the archive records them


@dataclass(frozen=True)
class ListingEntry:
    """One asset of a listing-only dandiset (:meth:`DandiStandIn.add_listing`).

    ``file_path``: where the file server has its bytes (``None``: nowhere; any request for it is
    still counted by the file server under ``listing-only/<path>``). ``metadata``: what the
    archive's asset metadata adds (neurodata types, session and subject records)."""

    path: str
    size: int
    file_path: str | None = None
    metadata: dict | None = None


class DandiStandIn(_Server):
    """The DANDI API endpoints used to list and download a dandiset version, on loopback.

    Args:
        files: the :class:`FileServer` the download redirects point at.
        page_size: assets per listing page when the client does not ask for a size
            (small, so a handful of files already spans several pages).

    Use :meth:`add_dandiset` to publish a folder (relative to the file server's root) as a
    dandiset with a published version and a draft; :attr:`api_url` is what the client takes.
    """

    def __init__(self, files: FileServer, *, page_size: int = 2, **wan) -> None:
        self.files = files
        self.page_size = page_size
        self.dandisets: dict[str, dict] = {}
        self.calls: Counter[str] = Counter()
        #: route name -> HTTP status every request of that route gets (see :meth:`break_route`)
        self.broken_routes: dict[str, int] = {}
        super().__init__(_DandiHandler, **wan)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def break_route(self, route: str, status: int = 503) -> None:
        """Answer every request of ``route`` (``assets``, ``dandiset``, ``server_info``, ...)
        with ``status`` from now on (``clear_broken_routes`` undoes it)."""
        self.broken_routes[route] = status

    def clear_broken_routes(self) -> None:
        self.broken_routes.clear()

    def add_dandiset(
        self, dandiset_id: str, folder: str, *, published: tuple[str, ...] = ("0.240101.1200",)
    ) -> dict[str, _DandiAsset]:
        """Publish every file under ``files.root / folder`` as assets of ``dandiset_id``.

        Asset paths are relative to ``folder``; asset ids are stable (derived from the
        dandiset and path). The same assets are listed for every published version and the
        draft. Returns the assets by path.
        """
        base = self.files.root / folder
        if not base.is_dir():
            raise FileNotFoundError(f"{base}: not a folder under the file server's root")
        assets = {}
        for _number, file in enumerate(_walk_files(base)):
            path = file.relative_to(base).as_posix()
            asset_id = hashlib.sha1(f"{dandiset_id}/{path}".encode()).hexdigest()[:32]
            assets[path] = _DandiAsset(
                asset_id, path, file.stat().st_size, file.relative_to(self.files.root).as_posix()
            )
        self.dandisets[dandiset_id] = {"assets": assets, "published": tuple(published), "listing_metadata": True}
        return assets

    def add_listing(
        self,
        dandiset_id: str,
        entries: list[ListingEntry],
        *,
        published: tuple[str, ...] = ("0.240101.1200",),
        listing_metadata: bool = True,
    ) -> dict[str, _DandiAsset]:
        """Publish ``entries`` as the assets of ``dandiset_id`` (files need not exist).

        ``listing_metadata=False``: the listing ignores ``?metadata=true`` (an archive that sends
        paths and sizes only), so a client must open files to learn what they hold."""
        assets = {}
        for entry in entries:
            asset_id = hashlib.sha1(f"{dandiset_id}/{entry.path}".encode()).hexdigest()[:32]
            file_path = entry.file_path or f"listing-only/{entry.path}"
            assets[entry.path] = _DandiAsset(asset_id, entry.path, entry.size, file_path, entry.metadata)
        self.dandisets[dandiset_id] = {
            "assets": assets,
            "published": tuple(published),
            "listing_metadata": listing_metadata,
        }
        return assets

    # -- payloads ---------------------------------------------------------------------
    def server_info(self) -> dict:
        return {
            "version": "0.0.0-loopback",
            "services": {"api": {"url": self.api_url}, "webui": {"url": self.url}},
            "cli-minimal-version": "0.0.0",
            "cli-bad-versions": [],
        }

    def version_payload(self, dandiset_id: str, version: str) -> dict:
        assets = self.dandisets[dandiset_id]["assets"].values()
        return {
            "version": version,
            "name": f"loopback dandiset {dandiset_id}",
            "asset_count": len(assets),
            "size": sum(a.size for a in assets),
            "created": _STAMP,
            "modified": _STAMP,
            "status": "Published" if version != "draft" else "Valid",
        }

    def dandiset_payload(self, dandiset_id: str) -> dict:
        published = self.dandisets[dandiset_id]["published"]
        return {
            "identifier": dandiset_id,
            "created": _STAMP,
            "modified": _STAMP,
            "contact_person": "Loopback, Test",
            "embargo_status": "OPEN",
            "most_recent_published_version": self.version_payload(dandiset_id, published[-1]) if published else None,
            "draft_version": self.version_payload(dandiset_id, "draft"),
        }

    def asset_payload(self, asset: _DandiAsset) -> dict:
        return {
            "asset_id": asset.asset_id,
            "blob": f"blob-{asset.asset_id}",
            "zarr": None,
            "path": asset.path,
            "size": asset.size,
            "created": _STAMP,
            "modified": _STAMP,
        }

    def asset_metadata(self, asset: _DandiAsset) -> dict:
        return {
            "identifier": asset.asset_id,
            "path": asset.path,
            "contentSize": asset.size,
            "contentUrl": [f"{self.api_url}/assets/{asset.asset_id}/download/", self.files.url_for(asset.file_path)],
            **(asset.extra_metadata or {}),
        }

    def find_asset(self, asset_id: str) -> _DandiAsset | None:
        for dandiset in self.dandisets.values():
            for asset in dandiset["assets"].values():
                if asset.asset_id == asset_id:
                    return asset
        return None


class _DandiHandler(_QuietHandler):
    server_owner: DandiStandIn

    _ROUTES = [
        ("server_info", re.compile(r"^/(server-info|api/info)/?$")),
        ("dandiset", re.compile(r"^/api/dandisets/(?P<d>[^/]+)/$")),
        ("version_info", re.compile(r"^/api/dandisets/(?P<d>[^/]+)/versions/(?P<v>[^/]+)/info/$")),
        ("assets", re.compile(r"^/api/dandisets/(?P<d>[^/]+)/versions/(?P<v>[^/]+)/assets/$")),
        ("asset", re.compile(r"^/api/dandisets/(?P<d>[^/]+)/versions/(?P<v>[^/]+)/assets/(?P<a>[^/]+)/$")),
        ("download", re.compile(r"^/api/(dandisets/[^/]+/versions/[^/]+/)?assets/(?P<a>[^/]+)/download/$")),
        ("base_asset", re.compile(r"^/api/assets/(?P<a>[^/]+)/$")),
    ]

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        owner = self.server_owner
        parts = urlsplit(self.path)
        for name, pattern in self._ROUTES:
            match = pattern.match(parts.path)
            if match:
                owner.calls[name] += 1
                if name in owner.broken_routes:
                    self._send_json({"detail": "injected failure"}, status=owner.broken_routes[name])
                    return
                getattr(self, f"_route_{name}")(match.groupdict(), parse_qs(parts.query))
                return
        owner.calls["unknown"] += 1
        self._send_json({"detail": f"no route for {parts.path}"}, status=404)

    def _dandiset(self, groups) -> dict | None:
        dandiset = self.server_owner.dandisets.get(groups["d"])
        if dandiset is None:
            self._send_json({"detail": "Not found."}, status=404)
        return dandiset

    def _version_ok(self, groups) -> bool:
        dandiset = self._dandiset(groups)
        if dandiset is None:
            return False
        if groups["v"] != "draft" and groups["v"] not in dandiset["published"]:
            self._send_json({"detail": "Not found."}, status=404)
            return False
        return True

    def _route_server_info(self, groups, query) -> None:
        self._send_json(self.server_owner.server_info())

    def _route_dandiset(self, groups, query) -> None:
        if self._dandiset(groups) is not None:
            self._send_json(self.server_owner.dandiset_payload(groups["d"]))

    def _route_version_info(self, groups, query) -> None:
        if self._version_ok(groups):
            payload = self.server_owner.version_payload(groups["d"], groups["v"])
            payload.update(asset_validation_errors=[], version_validation_errors=[])
            self._send_json(payload)

    def _route_assets(self, groups, query) -> None:
        if not self._version_ok(groups):
            return
        owner = self.server_owner
        assets = sorted(owner.dandisets[groups["d"]]["assets"].values(), key=lambda a: a.path)
        page = int(query.get("page", ["1"])[0])
        page_size = int(query.get("page_size", [str(owner.page_size)])[0])
        chunk = assets[(page - 1) * page_size : page * page_size]

        def page_url(number: int) -> str:
            params = {k: v[0] for k, v in query.items()}
            params["page"] = str(number)
            return f"{owner.url}{urlsplit(self.path).path}?{urlencode(params)}"

        more = page * page_size < len(assets)
        # the archive's ``metadata`` query parameter adds each asset's metadata to the listing
        with_metadata = query.get("metadata", ["false"])[0].lower() in ("true", "1")
        with_metadata = with_metadata and owner.dandisets[groups["d"]]["listing_metadata"]
        results = [
            {**owner.asset_payload(a), **({"metadata": owner.asset_metadata(a)} if with_metadata else {})}
            for a in chunk
        ]
        self._send_json(
            {
                "count": len(assets),
                "next": page_url(page + 1) if more else None,
                "previous": page_url(page - 1) if page > 1 else None,
                "results": results,
            }
        )

    def _route_asset(self, groups, query) -> None:
        if not self._version_ok(groups):
            return
        asset = self.server_owner.find_asset(groups["a"])
        if asset is None:
            self._send_json({"detail": "Not found."}, status=404)
            return
        self._send_json(self.server_owner.asset_metadata(asset))

    def _route_base_asset(self, groups, query) -> None:
        asset = self.server_owner.find_asset(groups["a"])
        if asset is None:
            self._send_json({"detail": "Not found."}, status=404)
            return
        self._send_json(self.server_owner.asset_metadata(asset))

    def _route_download(self, groups, query) -> None:
        asset = self.server_owner.find_asset(groups["a"])
        if asset is None:
            self._send_json({"detail": "Not found."}, status=404)
            return
        self._redirect(self.server_owner.files.url_for(asset.file_path))


class FigshareStandIn(_Server):
    """``GET /v2/articles/{id}/files`` (paged with ``page`` / ``page_size``) on loopback.

    Use :meth:`add_article` to publish the files under a folder as one article, each under
    its bare file name (figshare has no folders); ``download_url`` redirects to the file
    server, like figshare's ``ndownloader`` links.
    """

    def __init__(self, files: FileServer, **wan) -> None:
        self.files = files
        self.articles: dict[str, list[dict]] = {}
        self.calls: Counter[str] = Counter()
        super().__init__(_FigshareHandler, **wan)

    @property
    def api_url(self) -> str:
        return f"{self.url}/v2"

    def add_article(self, article_id: str, folder: str) -> list[dict]:
        base = self.files.root / folder
        entries = []
        for number, file in enumerate(_walk_files(base)):
            file_id = 9000000 + number
            entries.append(
                {
                    "id": file_id,
                    "name": file.name,
                    "size": file.stat().st_size,
                    "is_link_only": False,
                    "download_url": f"{self.url}/ndownloader/files/{file_id}",
                    "computed_md5": "",
                    "_file_path": file.relative_to(self.files.root).as_posix(),
                }
            )
        self.articles[str(article_id)] = entries
        return entries


class _FigshareHandler(_QuietHandler):
    server_owner: FigshareStandIn

    _FILES = re.compile(r"^/v2/articles/(?P<a>[^/]+)/files/?$")
    _DOWNLOAD = re.compile(r"^/ndownloader/files/(?P<f>\d+)$")

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        owner = self.server_owner
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        match = self._FILES.match(parts.path)
        if match:
            owner.calls["files"] += 1
            entries = owner.articles.get(match.group("a"))
            if entries is None:
                self._send_json({"message": "Entity not found: article", "code": "EntityNotFound"}, status=404)
                return
            page = int(query.get("page", ["1"])[0])
            page_size = int(query.get("page_size", ["10"])[0])
            chunk = entries[(page - 1) * page_size : page * page_size]
            self._send_json([{k: v for k, v in e.items() if not k.startswith("_")} for e in chunk])
            return
        match = self._DOWNLOAD.match(parts.path)
        if match:
            owner.calls["download"] += 1
            for entries in owner.articles.values():
                for entry in entries:
                    if entry["id"] == int(match.group("f")):
                        self._redirect(owner.files.url_for(entry["_file_path"]))
                        return
        self._send_json({"message": "not found"}, status=404)
