"""Assets, sessions, and how a component's asset list groups into sessions.

An :class:`Asset` is one file of an archive (a path inside the dandiset plus where its bytes
are: a local path or an http(s) URL). A :class:`Session` is what becomes rows: one subject's
recording, made of one asset, or of several (one per probe) merged on shared time bins.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from builders.spec.registry import Component


@dataclass(frozen=True)
class Asset:
    """One file of a component.

    Attributes:
        path: archive-relative path (``sub-X/sub-X_ses-Y_ecephys.nwb``); names the file in
            every message and report.
        url: where the bytes are: a local filesystem path, or an http(s) URL (for DANDI, the
            resolved content URL, or the asset's download URL to be resolved when opened).
        size: size in bytes, if known.
        asset_id: archive asset identifier, if any.
    """

    path: str
    url: str
    size: int | None = None
    asset_id: str | None = None

    @property
    def is_remote(self) -> bool:
        return self.url.startswith(("http://", "https://"))


@dataclass(frozen=True)
class ListedFile:
    """One file as an archive listing gives it: the asset, and the archive's own metadata of it
    where the listing carries that (DANDI asset metadata: ``variableMeasured``,
    ``wasGeneratedBy``, ...), else ``None``."""

    asset: Asset
    metadata: dict | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Session:
    """One recording session: the unit of work, of resumption, and of the train/test split."""

    component: str
    subject_id: str
    session_id: str
    assets: tuple[Asset, ...] = field(default=())

    @property
    def key(self) -> str:
        """``component/subject/session``: unique in the pile, hashed for the split."""
        return f"{self.component}/{self.subject_id}/{self.session_id}"

    @property
    def slug(self) -> str:
        """File-name-safe unique name: readable part plus a short hash of :attr:`key`."""
        readable = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{self.subject_id}_{self.session_id}")[:80]
        digest = hashlib.sha1(self.key.encode()).hexdigest()[:8]
        return f"{readable}-{digest}"

    def describe(self) -> str:
        return f"session {self.key} ({', '.join(a.path for a in self.assets)})"


_SUBJECT = re.compile(r"sub-([^_/]+)")
_SESSION = re.compile(r"_ses-([^_/.]+)")
_PROBE_SUFFIX = re.compile(r"[-_]probe-?\d+", re.IGNORECASE)


def subject_of(path: str) -> str:
    """Subject label from a BIDS/DANDI style path (``sub-<label>``), else the top folder."""
    m = _SUBJECT.search(PurePosixPath(path).name) or _SUBJECT.search(path)
    if m:
        return m.group(1)
    parts = PurePosixPath(path).parts
    return parts[0] if len(parts) > 1 else PurePosixPath(path).stem


def session_of(path: str) -> str:
    """Session label from ``_ses-<label>`` in the file name, else the file stem."""
    name = PurePosixPath(path).name
    m = _SESSION.search(name)
    return m.group(1) if m else PurePosixPath(path).stem


def _probe_merged_session(path: str) -> str:
    return _PROBE_SUFFIX.sub("", session_of(path))


#: The session label each grouping gives an asset path (keys: :data:`builders.spec.registry.GROUPINGS`).
SESSION_LABEL = {
    "file": session_of,
    "probe_merge": _probe_merged_session,
    "subject_folder": subject_of,
}


def group_sessions(
    component: Component, assets: list[Asset], labels: dict[str, tuple[str, str]] | None = None
) -> list[Session]:
    """Group a component's (already selected) assets into sessions, sorted by key.

    ``labels``: ``{path: (subject_id, session_id)}`` where a session map named them (VBN: the
    Allen ids); other paths are labelled by the grouping below.

    Groupings:
        ``file``: one asset = one session; two files with the same subject and session
            label keep distinct ids by falling back to their file stems.
        ``probe_merge``: files whose session label matches once a ``-probeN`` / ``_probeN``
            suffix is removed form one session (one file per probe).
        ``subject_folder``: every asset under one subject folder is one session
            (Steinmetz-2: one ``.mat`` set per subject).
    """
    label = SESSION_LABEL[component.grouping]
    groups: dict[tuple[str, str], list[Asset]] = {}
    labels = labels or {}
    for asset in sorted(assets, key=lambda a: a.path):
        key = labels.get(asset.path) or (subject_of(asset.path), label(asset.path))
        groups.setdefault(key, []).append(asset)

    sessions = []
    for (subject, session), members in groups.items():
        if component.grouping == "file" and len(members) > 1:
            for asset in members:
                sessions.append(Session(component.name, subject, PurePosixPath(asset.path).stem, (asset,)))
        else:
            sessions.append(Session(component.name, subject, session, tuple(members)))
    return sorted(sessions, key=lambda s: s.key)
