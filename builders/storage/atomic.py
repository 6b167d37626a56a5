"""Atomic writes of any file: small JSON and text files, PNG figures, and the temporary-file scheme
every writer of the project uses (Parquet shards too: :mod:`builders.storage.shards`).

Everything is first written to a hidden temporary file next to its destination, flushed to
disk, then renamed into place (``os.replace`` is atomic on POSIX). A build interrupted at any
moment leaves either the previous file or the complete new one; never a half-written shard that
``load_dataset`` would pick up (temporary names start with ``.`` and do not match the
``<split>-*.parquet`` patterns of the dataset card). Every output gets the mode of a newly
created file (0644 under the usual umask 022), whatever mode its writer gave the temporary
(safetensors, for one, creates its files 0600). Imports no Arrow or ``datasets``: what only reads
and writes records (markers, reports, ``--help``) stays light.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from builders.storage.locks import writer_is_gone, writer_tag

#: Error numbers of a write the system refused (a full disk or quota, a read-only or forbidden place).
WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG, errno.EIO})


#: Marks a temporary file name: ``.<final name>.tmp-<host>-<pid>`` (its writer).
TEMP_MARK = ".tmp-"


def _read_umask() -> int:
    """This process's umask (read once: setting it to read it back is not thread-safe)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Mode of every finished output: read-write for the owner, readable by all, minus the umask.
OUTPUT_MODE = 0o666 & ~_read_umask()


def temporary_files(folder: str | os.PathLike) -> list[Path]:
    """Temporaries under ``folder`` (in flight, or left by writers killed before their rename)."""
    return sorted(Path(folder).rglob(f".*{TEMP_MARK}*"))


def temporary_writer(path: str | os.PathLike) -> str:
    """The ``<host>-<pid>`` tag of a temporary's writer."""
    return Path(path).name.rpartition(TEMP_MARK)[2]


def remove_dead_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporaries under ``folder`` whose writer is gone (a dead process of this host);
    returns them. A live writer's temporaries, and another host's, are left alone."""
    removed = [t for t in temporary_files(folder) if writer_is_gone(temporary_writer(t))]
    for temporary in removed:
        temporary.unlink(missing_ok=True)
    return removed


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to ``path``, on failure remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TEMP_MARK}{writer_tag()}")
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fchmod(handle.fileno(), OUTPUT_MODE)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # a failed write names the file meant (pyarrow's errors name none)
        if exc.errno not in WRITE_ERRORS or exc.filename == str(path):
            raise
        raise OSError(exc.errno, os.strerror(exc.errno), str(path)) from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json_atomic(path: str | os.PathLike, payload: dict) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_png_atomic(fig, path: str | os.PathLike, dpi: int) -> Path:
    """Save a matplotlib Figure as PNG at ``dpi`` dots per inch, atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return Path(path)
