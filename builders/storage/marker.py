"""What a build records in its state folder, each record read and written here only.

::

    <out>/.build/params.json                     BuildParameters: what every session was built with
    <out>/.build/<component>/<slug>.json         SessionMarker, status done or skipped
    <out>/.build/<component>/<slug>.failed.json  SessionMarker, status failed

A folder is resumed or extended only with the same :class:`BuildParameters`. A session with a
``done`` or ``skipped`` marker is complete (its shards were renamed into place before the marker
was written); a failure marker keeps the error for the report until the session is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import ClassVar

from builders.storage.atomic import write_json_atomic
from builders.storage.layout import STATE_DIR
from builders.storage.record import FolderRecord

#: The parameters record of a built folder, relative to the folder.
PARAMS_FILE = f"{STATE_DIR}/params.json"
#: Name ending of a session's failure marker (beside its completion marker ``<slug>.json``).
FAILED_SUFFIX = ".failed.json"


@dataclass(frozen=True)
class BuildParameters(FolderRecord):
    """The parameters that must match for a folder to be resumed or extended.

    Attributes:
        bin_size_s: bin width in seconds.
        max_tokens: longest row in tokens.
        test_fraction: share of each component's tokens in the test split.
        split_rule_version: version of the split rule (:data:`builders.spec.split.SPLIT_RULE_VERSION`).

    A record written by an older build may lack a field: it reads as ``None`` (and so never
    matches the parameters of a new build) and is left out of :meth:`to_json`.
    """

    bin_size_s: float
    max_tokens: int | None = None
    test_fraction: float | None = None
    split_rule_version: int | None = None

    FILE: ClassVar[str] = PARAMS_FILE

    def to_json(self) -> dict:
        """The record as ``params.json`` holds it (and the build report's ``parameters``)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_json(cls, data: dict) -> BuildParameters:
        """Raises ValueError for a record that is not a parameters record."""
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or "bin_size_s" not in data or not set(data) <= names:
            raise ValueError(f"not a build parameters record: {data!r}")
        return cls(**data)


#: Fields of a marker by status, in the order the record lists them after the session's fields.
_STATUS_FIELDS = {
    "done": (
        "split",
        "split_rule",
        "n_neurons",
        "n_time_bins",
        "tokens",
        "test_tokens",
        "rows",
        "stats",
        "notes",
        "shards",
        "version",
        "seconds",
    ),
    "skipped": ("reason",),
    "failed": ("error", "traceback"),
}
_SESSION_FIELDS = ("key", "component", "subject_id", "session_id", "assets", "status")


@dataclass(frozen=True)
class SessionMarker:
    """A session's completion (``done`` / ``skipped``) or failure (``failed``) marker.

    Attributes:
        key: the session's key (``<component>/<subject>/<session>``).
        component, subject_id, session_id: the session.
        assets: the archive paths of its files.
        status: ``done``, ``skipped`` (nothing to tokenize) or ``failed``.
        split: ``train``, ``test``, ``train+test`` (a time tail), or ``None`` until finalize
            decides a ``sessions``-rule session's split.
        split_rule: the component's split rule (:func:`builders.spec.split.rule_of`).
        n_neurons, n_time_bins: the session's units and bins (sum over segments).
        tokens: neurons x bins of the session; test_tokens: those in the test split.
        rows: rows written (segments, both splits).
        stats: what binning dropped or saturated (:meth:`builders.spec.binning.BinStats.to_dict`).
        notes: what the registry's reading rules decided, rule name -> lines.
        shards: the session's shard paths, relative to the folder.
        version: the archive version the session was listed from.
        seconds: wall time the session took.
        reason: why a skipped session holds nothing to tokenize.
        error: one line, ``<exception type>: <message>``, of a failed session;
        traceback: its last frames (``None`` for a failure to write, as a full disk).
    """

    key: str
    component: str
    subject_id: str
    session_id: str
    assets: list[str]
    status: str
    split: str | None = None
    split_rule: str | None = None
    n_neurons: int = 0
    n_time_bins: int = 0
    tokens: int = 0
    test_tokens: int = 0
    rows: int = 0
    stats: dict = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    shards: list[str] = field(default_factory=list)
    version: str | None = None
    seconds: float | None = None
    reason: str | None = None
    error: str | None = None
    traceback: str | None = None

    def __post_init__(self):
        if self.status not in _STATUS_FIELDS:
            raise ValueError(f"marker status must be one of {', '.join(_STATUS_FIELDS)}, got {self.status!r}")

    def to_json(self) -> dict:
        """The record as the marker file holds it: the session, then the fields of its status
        (a failure's ``traceback`` only when there is one)."""
        names = _SESSION_FIELDS + _STATUS_FIELDS[self.status]
        record = {name: getattr(self, name) for name in names}
        if self.status == "failed" and self.traceback is None:
            del record["traceback"]
        return record

    @classmethod
    def from_json(cls, data: dict) -> SessionMarker:
        """A marker from its record (a field an older build did not record takes its default)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def read(cls, path: Path) -> SessionMarker:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    def write(self, path: Path) -> Path:
        write_json_atomic(Path(path), self.to_json())
        return Path(path)

    def with_split(self, split: str, shard: str) -> SessionMarker:
        """The marker once finalize has put the session whole in ``split`` (its one shard ``shard``)."""
        return replace(self, split=split, test_tokens=self.tokens if split == "test" else 0, shards=[shard])


def read_markers(out: Path, component: str) -> list[SessionMarker]:
    """Completion (``done`` / ``skipped``) and failure markers of one component, by key."""
    folder = Path(out) / STATE_DIR / component
    if not folder.is_dir():
        return []
    return [SessionMarker.read(p) for p in sorted(folder.glob("*.json"))]
