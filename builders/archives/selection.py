"""Which listed files a component's build reads, and why the others are skipped.

The reference build read every file of a dandiset after its author removed, by hand, the files
that hold no units. This module makes that choice from what a file holds, in the cheapest way
the archive allows, and says how it decided each file:

1. **Names** (no request): the registry's declarative rules (:meth:`Component.path_skip_reason`):
   suffix, the reference's own path or name list, and the name rules the public facts support
   (``_probe-<n>_ecephys`` LFP files, ``_image`` stimulus files of the Allen sets).
2. **Listing metadata** (no request): DANDI's asset metadata lists the neurodata types of each
   NWB file (``variableMeasured``); a units reader needs ``Units`` among them.
3. **HDF5 root** (a few range requests, counted): where the listing carries no metadata, the
   file's root is opened and the dataset the reader needs (``units/spike_times``,
   ``acquisition/firing_rates/data``) looked up.

Files skipped here are counted by reason in plans and build reports, never failed. Then the
session map names each selected file's session (:data:`SESSION_MAPS`), the registry's session
list keeps the reference's sessions, and :func:`builders.archives.sessions.group_sessions` groups them.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import h5py

from builders.archives.sessions import Asset, ListedFile, Session, group_sessions, session_of, subject_of
from builders.errors import NeuralPileError
from builders.spec.registry import Component, fact_text

#: How each file was decided (keys of :attr:`Selection.decided_by`).
BY_NAME, BY_METADATA, BY_ROOT, BY_READER = "listing names", "listing metadata", "HDF5 roots", "left to the reader"
#: The neurodata type in DANDI's ``variableMeasured`` a reader needs (``None``: metadata cannot tell).
METADATA_TYPE = {"nwb_units": "Units", "firing_rates": None, "mat_spks": None}
#: The HDF5 dataset a reader needs in a file (``None``: not an HDF5 file).
ROOT_DATASET = {"nwb_units": "units/spike_times", "firing_rates": "acquisition/firing_rates/data", "mat_spks": None}
#: Skip reasons decided from what a file holds.
NO_UNITS = "no units table (listing metadata)"
NO_UNITS_ROOT = "no units table (HDF5 root)"
NOT_IN_REFERENCE = "session not in the reference's set"


class SelectionError(NeuralPileError, ValueError):
    """A listing cannot be turned into the reference's selection; the message names the file or rule."""


@dataclass
class Selection:
    """What a component's build reads from one listing, and what it leaves out.

    Attributes:
        component: the component name.
        where: the listing's source (API URL and version, or folder), for messages.
        listed: files the listing holds.
        assets: the selected files.
        skipped: ``(path, reason)`` of every file left out.
        sessions: the selected sessions (grouped, mapped, filtered to the reference's set).
        decided_by: files per way of deciding (names, metadata, HDF5 roots).
        root_requests: HTTP requests made to open HDF5 roots (0 where the listing told).
        missing_sessions: the registry's sessions that no selected file maps to.
        version: the archive version listed (``None`` for a folder or figshare).
    """

    component: str
    where: str
    listed: int = 0
    assets: list[Asset] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    decided_by: Counter = field(default_factory=Counter)
    root_requests: int = 0
    missing_sessions: list[str] = field(default_factory=list)
    version: str | None = None

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(reason for _, reason in self.skipped).items(), key=lambda kv: -kv[1]))

    @property
    def selected_bytes(self) -> int:
        return sum(a.size or 0 for a in self.assets)

    @property
    def subjects(self) -> int:
        return len({s.subject_id for s in self.sessions})


def _metadata_verdict(component: Component, metadata: dict | None) -> bool | None:
    """Whether the listing's metadata says the file holds what the reader needs (``None``: it does not say)."""
    wanted = METADATA_TYPE[component.reader]
    if wanted is None or not metadata or not isinstance(metadata.get("variableMeasured"), list):
        return None
    measured = {str(v.get("value", "")).split()[0] for v in metadata["variableMeasured"] if isinstance(v, dict)}
    return wanted in measured


def root_holds(component: Component, asset: Asset) -> tuple[bool, int]:
    """Whether the file's HDF5 root holds the dataset the reader needs, and the HTTP requests it took.

    Local files are opened in place (0 requests); remote ones through a range reader with small
    blocks, so only the superblock and the groups on the way are fetched.
    """
    dataset = ROOT_DATASET[component.reader]
    if not asset.is_remote:
        return _holds(asset.url, dataset), 0
    # the HTTP layer (requests) is imported only when a remote root is checked
    from builders.archives.http import FetchStats, open_remote

    stats = FetchStats()
    with open_remote(asset, stats=stats, block_size=64 * 1024) as handle:
        found = _holds(handle, dataset)
    return found, stats.requests


def _holds(handle, dataset: str) -> bool:
    try:
        with h5py.File(handle, "r") as f:
            return isinstance(f.get(dataset), h5py.Dataset)
    except OSError:
        return True  # not readable as HDF5: the reader will say why, as a real failure


#: HDF5 roots opened at once over the network (each costs a round trip or two).
ROOT_PROBES_IN_FLIGHT = 8


def choose_files(
    component: Component,
    files: Iterable[ListedFile],
    *,
    where: str = "",
    probe: Callable[[Component, Asset], tuple[bool, int]] = root_holds,
) -> Selection:
    """Decide every listed file of ``component`` (see the module docstring), without sessions.

    Files left to their HDF5 root are opened :data:`ROOT_PROBES_IN_FLIGHT` at a time (the
    requests are round trips, not bandwidth); the result does not depend on their order."""
    selection = Selection(component.name, where)
    decided: list[tuple[Asset, str | None]] = []  # (asset, skip reason), in path order
    to_probe: list[int] = []
    for listed in sorted(files, key=lambda f: f.asset.path):
        selection.listed += 1
        reason = component.path_skip_reason(listed.asset.path)
        if reason is not None:
            selection.decided_by[BY_NAME] += 1
        else:
            verdict = _metadata_verdict(component, listed.metadata)
            if verdict is not None:
                selection.decided_by[BY_METADATA] += 1
                reason = None if verdict else NO_UNITS
            elif ROOT_DATASET[component.reader] is not None:
                selection.decided_by[BY_ROOT] += 1
                to_probe.append(len(decided))
            else:
                selection.decided_by[BY_READER] += 1
        decided.append((listed.asset, reason))
    if to_probe:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=ROOT_PROBES_IN_FLIGHT) as pool:
            answers = list(pool.map(lambda i: probe(component, decided[i][0]), to_probe))
        for i, (holds, requests) in zip(to_probe, answers, strict=True):
            selection.root_requests += requests
            if not holds:
                decided[i] = (decided[i][0], NO_UNITS_ROOT)
    for asset, reason in decided:
        if reason is None:
            selection.assets.append(asset)
        else:
            selection.skipped.append((asset.path, reason))
    return selection


def select(
    component: Component,
    files: Iterable[ListedFile],
    *,
    where: str = "",
    probe: Callable[[Component, Asset], tuple[bool, int]] = root_holds,
) -> Selection:
    """The reference's selection of ``component`` from a listing: files, then sessions.

    Raises:
        SelectionError: a file maps to no session of the registry's list (VBN), naming the file.
    """
    files = list(files)
    selection = choose_files(component, files, where=where, probe=probe)
    metadata = {f.asset.path: f.metadata for f in files}
    labels = SESSION_MAPS[component.session_map](component, selection.assets, metadata)
    sessions = group_sessions(component, selection.assets, labels)
    if component.include_sessions is not None:
        kept = [s for s in sessions if s.session_id in component.include_sessions]
        for session in sessions:
            if session.session_id not in component.include_sessions:
                selection.skipped.extend((a.path, NOT_IN_REFERENCE) for a in session.assets)
        selection.assets = [a for s in kept for a in s.assets]
        found = {s.session_id for s in kept}
        selection.missing_sessions = sorted(component.include_sessions - found)
        sessions = kept
    selection.sessions = sessions
    return selection


# -- session maps ---------------------------------------------------------------------------------


def _path_labels(component: Component, assets: list[Asset], metadata: dict) -> None:
    """The file's own ``sub-`` / ``ses-`` labels (the grouping reads them from the path)."""
    return None


#: The Allen table's acquisition times are the rig's wall clock (Pacific) although written with
#: ``+00:00``: session 1043752325, acquired "15:21:49" by the table, is ``ses-20200817T222149``
#: on DANDI, 7 h later (PDT is UTC-7). Matching allows this much either way, which absorbs a
#: daylight-saving hour; sessions of one mouse are at least 22 h apart in the table.
ALLEN_CLOCK = ZoneInfo("America/Los_Angeles")
ALLEN_MATCH_WINDOW = timedelta(minutes=90)
_LABEL_TIME = re.compile(r"^(\d{8}T\d{6})$")


@dataclass(frozen=True)
class AllenSession:
    """One row of ``vbn_sessions.tsv``: ecephys session id, mouse id, acquisition instant (UTC)."""

    session_id: str
    mouse_id: str
    acquired: datetime


@lru_cache(maxsize=1)
def allen_sessions() -> tuple[AllenSession, ...]:
    """The 153 VBN sessions of the reference build, acquisition times read on the Allen clock."""
    rows = csv.DictReader(fact_text("vbn_sessions.tsv").splitlines(), delimiter="\t")
    out = []
    for row in rows:
        wall = datetime.fromisoformat(row["date_of_acquisition"].strip()).replace(tzinfo=None)
        out.append(
            AllenSession(
                session_id=row["ecephys_session_id"].strip(),
                mouse_id=row["mouse_id"].strip(),
                acquired=wall.replace(tzinfo=ALLEN_CLOCK).astimezone(UTC),
            )
        )
    return tuple(out)


def _file_start(path: str, metadata: dict | None) -> datetime | None:
    """The session start of a file: the listing's ``wasGeneratedBy`` start date, else the
    ``ses-`` label read as a UTC date-time (``20200817T222149``)."""
    for activity in (metadata or {}).get("wasGeneratedBy") or []:
        start = activity.get("startDate") if isinstance(activity, dict) else None
        if start:
            parsed = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    match = _LABEL_TIME.match(session_of(path))
    if match:
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return None


def _file_session_ids(metadata: dict | None) -> list[str]:
    """Session identifiers the file's own NWB record gives, as the archive's metadata relays them."""
    ids = []
    for activity in (metadata or {}).get("wasGeneratedBy") or []:
        if isinstance(activity, dict) and activity.get("identifier"):
            ids.append(str(activity["identifier"]))
    return ids


def map_allen_session(path: str, metadata: dict | None) -> AllenSession | None:
    """The VBN session a main file records, by the documented rule (README, "VBN sessions"):

    1. the file's own session identifier (NWB ``session_id``, relayed by the listing's
       ``wasGeneratedBy``) when it is an ecephys session id of the table;
    2. else the subject (``sub-`` label) and the session start (listing ``startDate``, else the
       ``ses-`` date-time) within :data:`ALLEN_MATCH_WINDOW` of one of that mouse's table rows.
    """
    table = allen_sessions()
    by_id = {s.session_id: s for s in table}
    for identifier in _file_session_ids(metadata):
        if identifier in by_id:
            return by_id[identifier]
    start = _file_start(path, metadata)
    if start is None:
        return None
    subject = subject_of(path)
    candidates = [s for s in table if s.mouse_id == subject and abs(s.acquired - start) <= ALLEN_MATCH_WINDOW]
    return min(candidates, key=lambda s: abs(s.acquired - start)) if candidates else None


def _allen_labels(component: Component, assets: list[Asset], metadata: dict) -> dict[str, tuple[str, str]]:
    labels = {}
    for asset in assets:
        session = map_allen_session(asset.path, metadata.get(asset.path))
        if session is None:
            start = _file_start(asset.path, metadata.get(asset.path))
            raise SelectionError(
                f"{asset.path}: maps to no session of the {component.name} list (subject {subject_of(asset.path)}, "
                f"start {start.isoformat() if start else 'unknown'}, no listed ecephys session id in its record)"
            )
        labels[asset.path] = (session.mouse_id, session.session_id)
    return labels


#: Session map name (:data:`builders.spec.registry.SESSION_MAPS`) -> ``(component, assets, metadata by
#: path) -> {path: (subject_id, session_id)}`` or ``None`` (the labels in the path).
SESSION_MAPS = {"path": _path_labels, "allen_ecephys": _allen_labels}


# -- verdicts against the published figures -------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """How a selection compares with the component's published figures.

    Attributes:
        ok: within the registry's tolerance (or no published figure to compare with).
        sessions, subjects: what this selection would build (sessions counted as the published
            figure counts them: sessions, or files for ``session_figure == "files"``).
        reasons: one line per difference (empty when everything matches exactly).
    """

    ok: bool
    sessions: int
    subjects: int
    reasons: tuple[str, ...] = ()


def verdict(component: Component, selection: Selection) -> Verdict:
    """Compare ``selection`` with the published sessions and subjects of ``component``."""
    sessions = len(selection.assets) if component.session_figure == "files" else len(selection.sessions)
    subjects = selection.subjects
    if not component.sessions:  # the synthetic demo has no published figure
        return Verdict(True, sessions, subjects)
    reasons, ok = [], True
    if selection.missing_sessions:
        shown = ", ".join(selection.missing_sessions[:10]) + (" ..." if len(selection.missing_sessions) > 10 else "")
        reasons.append(
            f"{len(selection.missing_sessions)} of {len(component.include_sessions)} {component.display_name} "
            f"sessions not found: {shown}"
        )
    for what, ours, published, tolerance in (
        (
            "sessions" if component.session_figure == "sessions" else "files",
            sessions,
            component.sessions,
            component.session_tolerance,
        ),
        ("subjects", subjects, component.subjects, component.subject_tolerance),
    ):
        if ours != published:
            within = abs(ours - published) <= tolerance
            ok = ok and within
            reasons.append(
                f"{what} {ours:,} against {published:,} published ({ours - published:+,}; "
                f"tolerance {tolerance}: {'within' if within else 'beyond'})"
            )
    if selection.missing_sessions and not component.session_tolerance:
        ok = False
    return Verdict(ok, sessions, subjects, tuple(reasons))
