"""Streaming a remote asset over HTTP(S): only the byte ranges the reader asks for.

:func:`open_remote` resolves the asset's content URL (one redirect of DANDI's ``/download/``
or figshare's download link, followed once, so later range requests go straight to the
storage), then hands ``h5py`` a :class:`~.rangefile.RangeFile` whose blocks are fetched with
HTTP ``Range`` requests through :class:`HttpRanges` (thread-safe: the readers prefetch the spike
datasets several ranges at once).

Transient failures (HTTP 408/425/429/5xx, refused or dropped connections, timeouts, short
bodies) are retried with exponential backoff, a bounded number of times (:class:`RetryPolicy`);
anything else, or a failure that outlives the retries, raises :class:`RemoteReadError` naming
the asset path and URL.

Why not ``remfile.File`` directly? Measured side by side (benchmarks/bench_streaming.py on
loopback, benchmarks/bench_wan.py over a 30 ms, 50 MB/s stand-in), given the file size it moves
about as many bytes as this module, but over a wide-area link it is slower on every spike
layout: it learns what to read only from h5py's reads (its growing read-ahead helps on
sequential data, not on a chunk index walk), and it fetches one range at a time. Opened with
its defaults it first sends an un-ranged GET to learn the size (1-3 MB extra on loopback). And
for a long unattended build its requests have no timeout (a stalled connection hangs the
worker), its retries are fixed (8, about 25 s), its final error names neither the file nor the
URL (h5py hides it behind "Can't read data"), and its disk cache writes chunks in place, so a
killed process can leave a truncated chunk that a rerun would read as data. The small file
object here (:class:`~.rangefile.RangeFile`) fixes those, fetches the spike datasets' chunks
up front, several ranges at once (:mod:`.hdf5plan`), and counts every byte it moves.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from urllib.parse import urljoin

import requests

from builders.archives.bytecache import RunCache, cache_key
from builders.archives.rangefile import DEFAULT_BLOCK_SIZE, RangeFile
from builders.archives.sessions import Asset
from builders.errors import NeuralPileError, SettingError

#: HTTP statuses worth retrying: timeouts, throttling, server-side errors.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Redirect hops followed when resolving a content URL (DANDI and figshare need one).
MAX_REDIRECTS = 3
USER_AGENT = "neural-pile-rodent (+https://github.com/; streaming spike data)"


class RemoteReadError(NeuralPileError, OSError):
    """A remote asset could not be read; the message names the asset path and the URL."""


class _TransientError(Exception):
    """A failure worth retrying (server error, dropped connection, short body)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up on a request.

    Attributes:
        attempts: requests made at most per byte range (first try included).
        backoff_s: wait before the second attempt, seconds; doubled after each failure.
        max_backoff_s: cap on one wait, seconds.
        connect_timeout_s: seconds to wait for a connection.
        read_timeout_s: seconds to wait for the next bytes of a response.
    """

    attempts: int = 6
    backoff_s: float = 0.5
    max_backoff_s: float = 16.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0

    #: environment variables that override the defaults (they reach Ray workers too)
    ENV = {
        "attempts": "NEURAL_PILE_HTTP_ATTEMPTS",
        "backoff_s": "NEURAL_PILE_HTTP_BACKOFF_S",
        "read_timeout_s": "NEURAL_PILE_HTTP_TIMEOUT_S",
    }

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """The default policy, with any ``NEURAL_PILE_HTTP_*`` environment overrides."""
        values = {}
        types = {f.name: f.type for f in fields(cls)}
        for name, variable in cls.ENV.items():
            text = os.environ.get(variable)
            if text:
                try:
                    values[name] = int(text) if types[name] in (int, "int") else float(text)
                except ValueError:
                    raise SettingError(f"{variable}={text!r} is not a number") from None
        policy = cls(**values)
        if policy.attempts < 1:
            raise SettingError(f"{cls.ENV['attempts']} must be at least 1, got {policy.attempts}")
        return policy

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout_s, self.read_timeout_s)

    def wait_before(self, attempt: int) -> float:
        """Seconds to sleep before attempt number ``attempt`` (2, 3, ...), with jitter."""
        delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 2))
        return delay * random.uniform(0.75, 1.0)


class FetchStats:
    """Requests and bytes moved over the network (thread-safe counters).

    Attributes:
        requests: HTTP requests sent (retries included).
        retries: requests that repeated a failed one.
        bytes_fetched: response body bytes received for byte ranges.
        bytes_from_cache: bytes served by the local byte cache instead.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0
        self.bytes_fetched = 0
        self.bytes_from_cache = 0

    def add(self, *, requests: int = 0, retries: int = 0, bytes_fetched: int = 0, bytes_from_cache: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.bytes_fetched += bytes_fetched
            self.bytes_from_cache += bytes_from_cache

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "bytes_fetched": self.bytes_fetched,
                "bytes_from_cache": self.bytes_from_cache,
            }


#: Everything this process has streamed (every :func:`open_remote` adds to it).
TOTALS = FetchStats()


class HttpRanges:
    """Byte ranges of one URL, fetched with retries; callable as ``fetch(start, stop)``.

    Args:
        url: the content URL (already resolved).
        label: what errors call the file (asset path).
        session: the ``requests.Session`` to use.
        policy: retry and timeout settings.
        stats: counters to add to (besides :data:`TOTALS`).

    Thread-safe: the thread that made it uses ``session``; any other thread (parallel
    prefetch) gets its own session, closed by :meth:`close`.
    """

    def __init__(
        self, url: str, *, label: str, session: requests.Session, policy: RetryPolicy, stats: FetchStats
    ) -> None:
        self.url = url
        self.label = label
        self.session = session
        self.policy = policy
        self.stats = stats
        #: the error that ended the last failed fetch (h5py may hide it; see open_remote)
        self.failure: RemoteReadError | None = None
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._extra_sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        if threading.get_ident() == self._owner:
            return self.session
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._extra_sessions.append(session)
        return session

    def close(self) -> None:
        """Close the sessions opened for other threads."""
        with self._lock:
            sessions, self._extra_sessions = self._extra_sessions, []
        for session in sessions:
            session.close()

    def __call__(self, start: int, stop: int) -> bytes:
        what = f"bytes {start}-{stop - 1}"
        try:
            return _with_retries(lambda: self._get(start, stop), self.policy, self.stats, self.label, self.url, what)
        except RemoteReadError as exc:
            self.failure = exc
            raise

    def _get(self, start: int, stop: int) -> bytes:
        headers = {"Range": f"bytes={start}-{stop - 1}", "User-Agent": USER_AGENT}
        with self._session().get(self.url, headers=headers, stream=True, timeout=self.policy.timeout) as response:
            _raise_for_status(response)
            if response.status_code == 200 and start > 0:
                raise RemoteReadError(
                    f"{self.label}: server ignores Range requests (answered 200 for bytes {start}-{stop - 1}) at {self.url}"
                )
            body = response.content
        if len(body) < stop - start:
            raise _TransientError(f"short body: {len(body)} of {stop - start} bytes")
        body = body[: stop - start]
        _count(self.stats, bytes_fetched=len(body))
        return body


def _count(stats: FetchStats, **amounts: int) -> None:
    stats.add(**amounts)
    if stats is not TOTALS:
        TOTALS.add(**amounts)


def _raise_for_status(response: requests.Response) -> None:
    if response.status_code in TRANSIENT_STATUSES:
        raise _TransientError(f"HTTP {response.status_code} {response.reason}")
    if response.status_code >= 400:
        raise RemoteReadError(f"HTTP {response.status_code} {response.reason}")


_TRANSIENT_EXCEPTIONS = (
    _TransientError,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


def _with_retries(call, policy: RetryPolicy, stats: FetchStats, label: str, url: str, what: str):
    """Run ``call`` until it succeeds, retrying transient failures per ``policy``."""
    last: Exception | None = None
    for attempt in range(1, policy.attempts + 1):
        if attempt > 1:
            time.sleep(policy.wait_before(attempt))
            _count(stats, retries=1)
        _count(stats, requests=1)
        try:
            return call()
        except _TRANSIENT_EXCEPTIONS as exc:
            last = exc
        except RemoteReadError as exc:
            if str(exc).startswith(label):
                raise
            raise RemoteReadError(f"{label}: {what} from {url}: {exc}") from exc
    raise RemoteReadError(f"{label}: {what} from {url} failed {policy.attempts} times; last error: {last}") from last


def resolve_content_url(
    url: str,
    *,
    label: str,
    session: requests.Session,
    policy: RetryPolicy,
    stats: FetchStats,
    need_size: bool = True,
) -> tuple[str, int | None]:
    """Follow the download URL's redirects (at most :data:`MAX_REDIRECTS`) to the content URL.

    Each hop is one ``GET`` of byte 0 without following redirects: a redirect answers with the
    next URL, the content itself answers 206 with the file size in ``Content-Range``.
    When ``need_size`` is false, the hop after the last redirect is not requested (the
    asset's listed size is used), so a DANDI asset costs one request to resolve.

    Returns:
        ``(content_url, size)``; ``size`` is ``None`` when it was not requested or not given.
    """
    current = url
    for hop in range(MAX_REDIRECTS + 1):

        def probe(target=current):
            headers = {"Range": "bytes=0-0", "User-Agent": USER_AGENT}
            with session.get(
                target, headers=headers, stream=True, allow_redirects=False, timeout=policy.timeout
            ) as response:
                if response.status_code in _REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise RemoteReadError(f"HTTP {response.status_code} without a Location header")
                    return urljoin(target, location), None
                _raise_for_status(response)
                return None, _size_from(response)

        next_url, size = _with_retries(probe, policy, stats, label, current, "content URL")
        if next_url is None:
            return current, size
        current = next_url
        if not need_size and hop == 0:
            return current, None
    raise RemoteReadError(f"{label}: more than {MAX_REDIRECTS} redirects starting from {url}")


def _size_from(response: requests.Response) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range and not content_range.endswith("/*"):
        return int(content_range.rsplit("/", 1)[1])
    if response.status_code == 200 and "Content-Length" in response.headers:
        return int(response.headers["Content-Length"])
    return None


@contextmanager
def open_remote(
    asset: Asset,
    cache_dir: str | os.PathLike | None = None,
    *,
    policy: RetryPolicy | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    stats: FetchStats | None = None,
    content: tuple[str, int] | None = None,
    preloaded: Iterable[tuple[int, bytes]] = (),
) -> Iterator[RangeFile]:
    """Open a remote asset as a seekable file object for ``h5py`` / ``scipy.io.loadmat``.

    Args:
        asset: the asset; ``asset.url`` is its download or content URL, ``asset.size`` its
            size in bytes when known (saves a request).
        cache_dir: optional folder for a local byte cache (runs already fetched are read
            from there; new ones are added).
        policy: retries and timeouts (default: :meth:`RetryPolicy.from_env`).
        block_size: bytes per block of the file object.
        stats: counters to add this asset's requests and bytes to (besides :data:`TOTALS`).
        content: ``(content_url, size)`` already resolved (skips the redirect request).
        preloaded: ``(start, bytes)`` runs of the file already fetched (by
            :mod:`.prefetch`), served without a request.

    Raises:
        RemoteReadError: naming the asset path and URL, when the asset cannot be resolved or
            a byte range cannot be fetched.
    """
    policy = policy or RetryPolicy.from_env()
    stats = stats or FetchStats()
    with requests.Session() as session:
        if content is not None:
            content_url, size = content
        else:
            content_url, size = resolve_content_url(
                asset.url,
                label=asset.path,
                session=session,
                policy=policy,
                stats=stats,
                need_size=asset.size is None,
            )
        if size is None:
            size = asset.size
        if size is None:
            raise RemoteReadError(f"{asset.path}: size unknown (no Content-Range from {content_url})")
        disk = RunCache(cache_dir, cache_key(asset.asset_id, asset.url), size) if cache_dir is not None else None
        fetch = HttpRanges(content_url, label=asset.path, session=session, policy=policy, stats=stats)
        handle = RangeFile(fetch, size, name=asset.path, block_size=block_size, disk=disk, preloaded=preloaded)
        handle.content_url = content_url
        try:
            yield handle
        except Exception as exc:
            # h5py turns an exception raised inside a read into a bare "Can't read data"
            # (and a reader may wrap that again): if the network failed, say so, naming the
            # asset and the URL.
            if fetch.failure is not None and exc is not fetch.failure:
                raise RemoteReadError(str(fetch.failure)) from exc
            raise
        finally:
            _count(stats, bytes_from_cache=handle.bytes_from_disk)
            handle.close()
            fetch.close()
