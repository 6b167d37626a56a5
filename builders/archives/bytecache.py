"""A local byte cache for remote files: the runs of bytes already fetched, kept on disk.

One folder per remote file, ``<cache_dir>/<key>-<size>/``, holding one file per fetched run,
named ``<start>-<stop>.bin`` (byte offsets, stop exclusive). A rerun of the build reads the
runs it needs from here and fetches only what is missing. Runs are written to a temporary
name and renamed into place, so a run file is either complete or absent, even if the process
is killed mid-write, and several processes may share the folder.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import re
import tempfile
from pathlib import Path

from builders.errors import NeuralPileError

_RUN_NAME = re.compile(r"^(\d+)-(\d+)\.bin$")


def cache_key(asset_id: str | None, url: str) -> str:
    """A folder-name-safe key for a remote file: its archive asset id, else a hash of its URL."""
    if asset_id:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", asset_id)
        if safe == asset_id:
            return safe
    return hashlib.sha1((asset_id or url).encode()).hexdigest()[:24]


class CacheFolderError(NeuralPileError, OSError):
    """The cache folder cannot be created or written (the message names it and what the system said)."""


class RunCache:
    """Fetched byte runs of one remote file of ``size`` bytes, stored under ``cache_dir``.

    Args:
        cache_dir: root folder of the cache (created if missing).
        key: names the remote file (see :func:`cache_key`).
        size: the file's size in bytes; part of the folder name, so a changed file never
            serves stale bytes.
    """

    def __init__(self, cache_dir: str | os.PathLike, key: str, size: int) -> None:
        self.folder = Path(cache_dir).expanduser() / f"{key}-{int(size)}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheFolderError(
                f"cache folder {cache_dir}: cannot create {self.folder}: {exc}",
                argument="cache_dir",
                label="cache folder",
            ) from exc
        self._starts: list[int] = []
        self._runs: list[tuple[int, int]] = []
        for entry in os.listdir(self.folder):
            match = _RUN_NAME.match(entry)
            if match:
                self._add(int(match.group(1)), int(match.group(2)))

    def _add(self, start: int, stop: int) -> None:
        at = bisect.bisect_right(self._starts, start)
        self._starts.insert(at, start)
        self._runs.insert(at, (start, stop))

    def _path(self, start: int, stop: int) -> Path:
        return self.folder / f"{start}-{stop}.bin"

    def read(self, start: int, stop: int) -> bytes | None:
        """Bytes ``[start, stop)`` if one stored run covers them all, else ``None``."""
        at = bisect.bisect_right(self._starts, start)
        for run_start, run_stop in reversed(self._runs[:at]):
            if run_stop >= stop:
                try:
                    with open(self._path(run_start, run_stop), "rb") as handle:
                        handle.seek(start - run_start)
                        data = handle.read(stop - start)
                except FileNotFoundError:  # removed by someone cleaning the cache
                    continue
                if len(data) == stop - start:
                    return data
        return None

    def write(self, start: int, data: bytes) -> None:
        """Store the run ``data`` found at byte ``start`` (atomically)."""
        stop = start + len(data)
        if not data or self.read(start, stop) is not None:
            return
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".run-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, self._path(start, stop))
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        self._add(start, stop)
