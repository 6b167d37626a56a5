"""Fetching the next sessions' spike bytes while the current session is binned and written.

A streamed session spends most of its time waiting on the network and the rest binning and
writing Parquet (CPU). :class:`SessionPrefetcher` overlaps the two: while session ``i`` is
built, one background thread opens the remote assets of sessions ``i+1 .. i+ahead``, reads
their HDF5 metadata and fetches the bytes their reader will read (the same plan the reader
uses, :attr:`builders.readers.base.Reader.prefetch`), and leaves them as "warm" bytes
(:mod:`builders.archives.warm`). When the build reaches that session,
:func:`builders.archives.open_asset` hands them to :func:`~builders.archives.http.open_remote`,
which then reads from memory: no request, not even the redirect.

Memory is bounded: at most ``max_bytes`` of fetched bytes are held for sessions ahead
(an asset whose planned bytes do not fit is left to be read when its turn comes), and at most
``ahead`` sessions ahead are fetched. Defaults: :data:`PREFETCH_SESSIONS`,
:data:`PREFETCH_BYTES`, overridden by ``NEURAL_PILE_PREFETCH_SESSIONS`` and
``NEURAL_PILE_PREFETCH_BYTES`` (0 turns prefetching off).

A failure in the background is only logged: the session is then read as usual when its turn
comes, and any error is reported there, naming the asset.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from builders.archives.rangefile import HoldLimitExceeded
from builders.archives.sessions import Asset, Session
from builders.archives.warm import WarmAsset, drop_warm, keep_warm, warm_bytes
from builders.errors import SettingError
from builders.readers import READERS
from builders.spec.registry import get_component

log = logging.getLogger(__name__)

#: Sessions fetched ahead of the one being built.
PREFETCH_SESSIONS = 2
#: Bytes held at most for sessions ahead (fetched, not yet read).
PREFETCH_BYTES = 512 * 1024 * 1024
#: Sessions per unit of work of a process pool (each worker fetches ahead within its batch).
BATCH_SESSIONS = 8
SESSIONS_ENV = "NEURAL_PILE_PREFETCH_SESSIONS"
BYTES_ENV = "NEURAL_PILE_PREFETCH_BYTES"


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = int(float(text))
    except ValueError:
        raise SettingError(f"{name}={text!r} is not a number") from None
    if value < 0:
        raise SettingError(f"{name} must be >= 0, got {value}")
    return value


class SessionPrefetcher:
    """Fetch the remote assets of upcoming sessions in a background thread.

    Args:
        sessions: ``(component, session)`` in the order they will be built.
        ahead: sessions fetched ahead of the current one (default ``NEURAL_PILE_PREFETCH_SESSIONS``
            or :data:`PREFETCH_SESSIONS`; 0: off).
        max_bytes: fetched bytes held at most (default ``NEURAL_PILE_PREFETCH_BYTES`` or
            :data:`PREFETCH_BYTES`).
        cache_dir: the build's byte cache, if any (bytes fetched ahead are stored there too).

    Call :meth:`reached` with a session's position when its build starts; use as a context
    manager (leaving it waits for the background thread and drops what was not read).
    """

    def __init__(
        self,
        sessions: Iterable[tuple[object, Session]],
        *,
        ahead: int | None = None,
        max_bytes: int | None = None,
        cache_dir=None,
    ) -> None:
        self.sessions = list(sessions)
        self.ahead = _env_int(SESSIONS_ENV, PREFETCH_SESSIONS) if ahead is None else ahead
        self.max_bytes = _env_int(BYTES_ENV, PREFETCH_BYTES) if max_bytes is None else max_bytes
        self.cache_dir = cache_dir
        self._pool = (
            ThreadPoolExecutor(1, thread_name_prefix="session-prefetch") if self.ahead and self.max_bytes else None
        )
        self._submitted = 0
        self._futures: list[Future] = []
        self._urls: set[str] = set()
        self._closed = threading.Event()

    def reached(self, position: int) -> None:
        """Session ``position`` is being built: fetch up to ``ahead`` sessions after it."""
        if self._pool is None:
            return
        self._submitted = max(self._submitted, position + 1)
        while self._submitted <= min(position + self.ahead, len(self.sessions) - 1):
            component, session = self.sessions[self._submitted]
            for asset in session.assets:
                if asset.is_remote and asset.url not in self._urls:
                    self._urls.add(asset.url)
                    self._futures.append(self._pool.submit(self._warm_asset, component, asset))
            self._submitted += 1

    def _warm_asset(self, component, asset: Asset) -> None:
        if self._closed.is_set():
            return
        # the HTTP layer (requests) is imported when a remote asset is fetched: a local build never needs it
        from builders.archives.http import open_remote

        limit = self.max_bytes - warm_bytes()
        try:
            with open_remote(asset, cache_dir=self.cache_dir) as handle:
                handle.hold_limit = limit
                READERS[component.reader].prefetch(handle, asset)
                warm = WarmAsset(handle.content_url, handle.size, handle.held_runs())
        except HoldLimitExceeded as exc:
            log.debug("%s: not fetched ahead: %s", asset.path, exc)
            return
        except Exception as exc:  # the session's own read reports any real problem
            log.debug(
                "%s: fetching ahead failed (%s: %s); read when its turn comes", asset.path, type(exc).__name__, exc
            )
            return
        if not self._closed.is_set():
            keep_warm(asset, warm, max_bytes=self.max_bytes)

    def wait(self) -> None:
        """Block until every fetch started so far has ended (stored or given up)."""
        for future in list(self._futures):
            if not future.cancelled():
                future.exception()

    def close(self) -> None:
        """Stop fetching ahead and drop the bytes of assets that were never read."""
        self._closed.set()
        if self._pool is not None:
            for future in self._futures:
                future.cancel()
            self._pool.shutdown(wait=True)
        drop_warm(self._urls)

    def __enter__(self) -> SessionPrefetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


Job = TypeVar("Job")
Result = TypeVar("Result")


def prefetch_batches(jobs: list[Job], workers: int, *, size: int = BATCH_SESSIONS) -> list[list[Job]]:
    """``jobs`` cut into batches for ``workers`` processes: an equal share each, at most ``size``
    (so that the batches of a long build still balance over the workers). Jobs whose sessions
    are all local go one per batch (nothing to fetch ahead)."""
    remote = [j for j in jobs if any(a.is_remote for a in j.session.assets)]
    local = [[j] for j in jobs if not any(a.is_remote for a in j.session.assets)]
    per_batch = max(1, min(size, -(-len(remote) // max(1, workers))))
    return [remote[i : i + per_batch] for i in range(0, len(remote), per_batch)] + local


def run_prefetched(process: Callable[[Job], Result], jobs: list[Job], *, cache_dir=None) -> Iterator[Result]:
    """``process(job)`` for each build job in order, the next jobs' sessions fetched meanwhile.

    ``jobs`` are :class:`builders.build.pipeline.SessionJob`-like: ``job.session`` is the session;
    its component comes from the registry.
    """
    sessions = [(get_component(job.session.component), job.session) for job in jobs]
    with SessionPrefetcher(sessions, cache_dir=cache_dir) as ahead:
        for position, job in enumerate(jobs):
            ahead.reached(position)
            yield process(job)


def run_prefetched_batch(process: Callable[[Job], Result], jobs: list[Job]) -> list[Result]:
    """:func:`run_prefetched` as a list (a unit of work for a process pool)."""
    cache_dir = jobs[0].options.cache_dir if jobs else None
    return list(run_prefetched(process, jobs, cache_dir=cache_dir))
