"""Locks of a dataset folder, and which temporaries are stale.

Two builds may write into one folder at once when they build different components:

- a *component lock* (``.build/<component>.lock``, ``fcntl.flock``, non-blocking) is held by a
  build from listing to finalize; a second build of the same component is refused with the
  first one's process id and host;
- the *folder lock* (``.build/folder.lock``, blocking) is held while the folder is created or
  checked and while finalize assigns splits and writes the report and card, so two finalizes
  never interleave.

Every other job that writes a folder (merge, motifs, train-tokenizer, reorder) holds the
folder's *output lock* for its whole run (:func:`held_lock` through
:func:`builders.storage.ownership.owned_output_folder`): a second job into the same folder is
refused in one line naming the first.

``flock`` is released by the kernel when its process dies, so a killed build never leaves a
lock behind. On network file systems without ``flock`` support the locks are advisory at best:
run one build per component there.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from builders.errors import NeuralPileError
from builders.storage.layout import STATE_DIR

HOST = socket.gethostname()


class FolderBusy(NeuralPileError, RuntimeError):
    """Another live build holds a component of this folder."""


class LockHeld(NeuralPileError, RuntimeError):
    """Another live process holds a lock; ``holder`` says which (``pid N on HOST``)."""

    def __init__(self, path: Path, holder: str):
        super().__init__(f"{path}: held by {holder}")
        self.path, self.holder = path, holder


def writer_tag() -> str:
    """``<host>-<pid>`` of this process: names the writer of a temporary file."""
    return f"{HOST}-{os.getpid()}"


def process_alive(pid: int) -> bool:
    """Whether a process of this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def writer_is_gone(tag: str) -> bool:
    """Whether the writer named by a ``<host>-<pid>`` tag is known to be dead.

    Writers on another host cannot be checked from here and count as alive."""
    host, _, pid = tag.rpartition("-")
    if host != HOST or not pid.isdigit():
        return False
    return not process_alive(int(pid))


def _lock_path(out: Path, name: str) -> Path:
    return Path(out) / STATE_DIR / f"{name}.lock"


@contextmanager
def folder_lock(out: str | os.PathLike) -> Iterator[None]:
    """Hold the folder lock (waits for another build's finalize to end)."""
    path = _lock_path(Path(out), "folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def held_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold the exclusive lock of the file ``path`` (created if missing) without waiting, or raise
    :class:`LockHeld` naming the process that holds it. The file records ``pid N on HOST``."""
    path = Path(path)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            handle.seek(0)
            raise LockHeld(path, handle.read().strip() or "an unknown process") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {HOST}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def component_locks(out: str | os.PathLike, components: list[str]) -> Iterator[None]:
    """Hold every component's lock for the duration of a build, or raise :class:`FolderBusy`
    naming the build (process id and host) that holds one."""
    with ExitStack() as stack:
        for name in components:
            path = _lock_path(Path(out), f"component-{name}")
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                stack.enter_context(held_lock(path))
            except LockHeld as exc:
                raise FolderBusy(
                    f"{out}: component {name!r} is being built by another process ({exc.holder}); "
                    "wait for it to end, or build another component"
                ) from None
        yield
