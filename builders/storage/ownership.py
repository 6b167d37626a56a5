"""Which job made an output folder, so that no job overwrites what a user (or another job) made.

Every job that writes a folder (a dataset build, a motif table, a tokenizer, a reordered dataset)
claims it with :func:`claim_output_folder` before it writes anything:

- a folder that does not exist, or is empty, is created and claimed: a small hidden marker file
  (:data:`MARKER`, ``{"kind": ...}``) records the job;
- a folder holding the marker of the same kind is the job's own earlier output: rewriting it
  (a rerun, a resume) is allowed;
- anything else (a user's folder, another job's output) is refused with one line naming the folder.

``earlier`` names files that only this kind of job writes, so that an output written before
markers existed is still recognised as the job's own (it gets the marker then). The marker is a
hidden file: ``neural-pile push`` never uploads hidden files.

A job holds the folder for its whole run with :func:`owned_output_folder`: the claim, then the
folder's lock (:data:`LOCK`, released by the kernel when the job dies), so a second job into
the same folder is refused in one line while the first runs; under the lock the temporaries of
writers that are gone (a killed earlier run) are removed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from builders.errors import NeuralPileError
from builders.storage.atomic import TEMP_MARK, remove_dead_temporaries, write_json_atomic
from builders.storage.locks import LockHeld, held_lock

#: Marker file recording which kind of job wrote a folder.
MARKER = ".neural-pile-output.json"
#: Lock file a job holds on its output folder for its whole run.
LOCK = ".neural-pile-output.lock"


class OutputFolderError(NeuralPileError, ValueError):
    """The output folder holds something this job did not write (the message names the folder)."""


class OutputFolderBusy(OutputFolderError):
    """Another live job is writing the output folder (the message names the folder and the job)."""


def folder_kind(path: str | Path) -> str | None:
    """The kind recorded in a folder's marker, or ``None`` without a readable marker."""
    try:
        recorded = json.loads((Path(path) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return recorded.get("kind") if isinstance(recorded, dict) else None


def check_output_folder(path: str | Path, kind: str, *, earlier: tuple[str, ...] = ()) -> bool:
    """Whether a ``kind`` job may write into ``path`` (nothing is written).

    Returns ``True`` when ``path`` holds this kind's earlier output, ``False`` when it is missing
    or empty. Arguments as :func:`claim_output_folder`.

    Raises:
        OutputFolderError: ``path`` is a file, or a non-empty folder another job or a user made.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"{out}: exists and is not a folder; choose a new folder for the {kind}")
    recorded = folder_kind(out)
    if recorded == kind:
        return True
    if recorded is not None:
        raise OutputFolderError(f"{out}: holds a {recorded}, not a {kind}; choose an empty or new folder")
    contents = (
        sorted(p.name for p in out.iterdir() if TEMP_MARK not in p.name and p.name != LOCK) if out.is_dir() else []
    )
    if not contents:
        return False
    if any((out / name).exists() for name in earlier):
        return True
    shown = ", ".join(contents[:4]) + (f" and {len(contents) - 4} more" if len(contents) > 4 else "")
    raise OutputFolderError(
        f"{out}: folder is not empty ({shown}) and does not hold an earlier {kind}; "
        "choose an empty or new folder (nothing was written)"
    )


def claim_output_folder(path: str | Path, kind: str, *, earlier: tuple[str, ...] = ()) -> Path:
    """Create or reclaim ``path`` as the output folder of a ``kind`` job; refuse a foreign folder.

    Call it before writing anything into ``path``.

    Args:
        path: the output folder.
        kind: what the job writes, in words (e.g. ``"motif table"``); stored in the marker.
        earlier: paths relative to ``path`` that only a ``kind`` job writes (outputs made before
            markers existed).

    Returns:
        ``path`` as a Path, existing and marked.

    Raises:
        OutputFolderError: ``path`` is a file, or a non-empty folder another job or a user made.
    """
    out = Path(path)
    check_output_folder(out, kind, earlier=earlier)
    if folder_kind(out) != kind:
        write_json_atomic(out / MARKER, {"kind": kind})
    return out


@contextmanager
def owned_output_folder(path: str | Path, kind: str, *, earlier: tuple[str, ...] = ()) -> Iterator[Path]:
    """Claim ``path`` as :func:`claim_output_folder` does and hold its lock until the block ends.

    A foreign folder is refused before anything is written into it. Under the lock, the claim is
    checked again (another job may have claimed the folder meanwhile) and the temporaries of
    writers that are gone are removed.

    Raises:
        OutputFolderBusy: another live job holds the folder (names its process id and host).
        OutputFolderError: as :func:`claim_output_folder`.
    """
    out = Path(path)
    check_output_folder(out, kind, earlier=earlier)
    out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        try:
            stack.enter_context(held_lock(out / LOCK))
        except LockHeld as exc:
            raise OutputFolderBusy(
                f"{out}: another job ({exc.holder}) is writing this {kind}; wait for it to end or choose "
                "another folder (nothing was written)"
            ) from None
        claim_output_folder(out, kind, earlier=earlier)
        remove_dead_temporaries(out)
        yield out
