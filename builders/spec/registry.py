"""The components of the rodent neural pile, one declarative entry each.

Published figures (subjects, sessions, tokens, archive bytes) come from the reference table
shipped in ``builders/spec/facts/components.tsv``; what this package needs to know on top of that
(which reader, which assets, how files group into sessions) is declared in ``_READING`` below.
Adding a dandiset means adding one row to the TSV and, only if it is not a plain NWB units
table, one line to ``_READING``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from builders.errors import NeuralPileError

#: Reader kinds understood by :mod:`builders.readers` (its dispatch table has exactly these keys).
READER_KINDS = ("nwb_units", "firing_rates", "mat_spks")
#: How the assets of a component form sessions (:data:`builders.archives.sessions.SESSION_LABEL` has these keys).
GROUPINGS = ("file", "probe_merge", "subject_folder")
#: Archives a component can come from (:func:`builders.archives.list_sessions` lists each).
ARCHIVES = ("dandi", "figshare", "synthetic")
#: How a session's label is found (:data:`builders.archives.selection.SESSION_MAPS` has these keys):
#: ``path`` (the file's ``ses-`` label), ``allen_ecephys`` (VBN: the Allen ecephys session id).
SESSION_MAPS = ("path", "allen_ecephys")
#: What a reader does with a file of a session that fails to read: fail the session, or skip the
#: file (named in the report) and keep the session's other files (the reference's Le Merre rule).
FILE_ERROR_RULES = ("fail_session", "skip_file")
#: What the published session count counts: sessions as this build groups them, or files.
SESSION_FIGURES = ("sessions", "files")

#: Name rules the public facts support for the Allen and OpenScope sets (``archive_layouts.md``):
#: a per-probe LFP file and an ``_image`` stimulus/behaviour file hold no units table.
ALLEN_NAME_RULES = (
    (r"_probe-[^_/]+_ecephys\.nwb$", "LFP/probe file (no units)"),
    (r"_image\.nwb$", "stimulus/behaviour-only file (no units)"),
)

DEMO = "demo"


@dataclass(frozen=True)
class Component:
    """One source recording collection of the pile.

    Attributes:
        name: config name used everywhere (``vbn``, ``steinmetz-2``, ...).
        display_name: name as printed in the reference table.
        archive: ``dandi``, ``figshare`` or ``synthetic``.
        archive_id: dandiset id (``000713``) or figshare article id.
        version: pinned dandiset version; ``draft`` where the reference used the draft;
            ``None`` where unknown (the newest published version is used, and recorded).
        species: ``mouse`` or ``rat``.
        subjects, sessions, tokens: published figures of the reference build.
        archive_bytes: size of the whole dandiset (what a full download costs), if known.
        reader: one of :data:`READER_KINDS`.
        grouping: one of :data:`GROUPINGS`.
        include_paths: if set, only these archive-relative asset paths are read.
        include_sessions: if set, only sessions whose id (after ``session_map``) is listed are read;
            the others are skipped as "not in the reference's set".
        suffixes: file name endings that are assets of this component.
        include_names: if set, only files whose name (last path part) matches one of these
            regular expressions are read (Steinmetz-2: the ``spks`` files); others are skipped.
        skip_names: ``(regex, reason)`` pairs: a file whose path matches is skipped with that
            reason, decided from the listing alone (no request to the file).
        session_map: one of :data:`SESSION_MAPS`.
        file_error: one of :data:`FILE_ERROR_RULES`.
        session_figure: one of :data:`SESSION_FIGURES` (what the published ``sessions`` counts).
        session_tolerance, subject_tolerance: how far a plan's sessions / subjects may be from the
            published figures (absolute) before the plan's verdict fails.
        reader_options: ``(name, value)`` pairs passed to the reader (e.g. Steinmetz-2's
            ``dense_cluster_ids``, Gonzalez's ``timing``).
        notes: free text from the reference table.
    """

    name: str
    display_name: str
    archive: str
    archive_id: str
    version: str | None
    species: str
    subjects: int
    sessions: int
    tokens: int
    archive_bytes: int | None = None
    reader: str = "nwb_units"
    grouping: str = "file"
    include_paths: frozenset[str] | None = None
    include_sessions: frozenset[str] | None = None
    suffixes: tuple[str, ...] = (".nwb",)
    include_names: tuple[str, ...] | None = None
    skip_names: tuple[tuple[str, str], ...] = ()
    session_map: str = "path"
    file_error: str = "fail_session"
    session_figure: str = "sessions"
    session_tolerance: int = 0
    subject_tolerance: int = 0
    reader_options: tuple[tuple[str, object], ...] = ()
    notes: str = field(default="", compare=False)

    @property
    def in_all(self) -> bool:
        """Whether the component belongs to the ``all`` config (the demo never does)."""
        return self.archive != "synthetic"

    @property
    def source_label(self) -> str:
        """``dandi:000713`` style label for tables and cards."""
        return f"{self.archive}:{self.archive_id}"

    def __post_init__(self) -> None:
        """Refuse an entry the readers, groupings or listings cannot serve (a misspelt kind fails here,
        when the registry loads, not as a silently different build)."""
        for attribute, allowed in (
            ("reader", READER_KINDS),
            ("grouping", GROUPINGS),
            ("archive", ARCHIVES),
            ("session_map", SESSION_MAPS),
            ("file_error", FILE_ERROR_RULES),
            ("session_figure", SESSION_FIGURES),
        ):
            value = getattr(self, attribute)
            if value not in allowed:
                raise ValueError(f"component {self.name!r}: {attribute} {value!r} is not one of {', '.join(allowed)}")

    def path_skip_reason(self, path: str) -> str | None:
        """Why the listing alone rules out an archive-relative path, or ``None`` when it may be
        read (whether it holds units is decided later, by :mod:`builders.archives.selection`)."""
        name = path.rsplit("/", 1)[-1]
        if not path.endswith(self.suffixes):
            return f"not a {'/'.join(self.suffixes)} file"
        if self.include_paths is not None and path not in self.include_paths:
            return "not in the reference's set"
        if self.include_names is not None and not any(re.search(p, name) for p in self.include_names):
            return "not a file the reference read"
        for pattern, reason in self.skip_names:
            if re.search(pattern, path):
                return reason
        return None

    def accepts_path(self, path: str) -> bool:
        """Whether an archive-relative asset path may belong to this component's build."""
        return self.path_skip_reason(path) is None

    def reader_option(self, name: str, default=None):
        """One of :attr:`reader_options` by name."""
        return dict(self.reader_options).get(name, default)


def fact_text(name: str) -> str:
    """The text of one file of ``builders/spec/facts/`` (the published figures the registry is made of)."""
    return resources.files("builders.spec").joinpath("facts", name).read_text(encoding="utf-8")


def _fact_lines(name: str) -> frozenset[str]:
    return frozenset(line.strip() for line in fact_text(name).splitlines() if line.strip())


def _vbn_session_ids() -> frozenset[str]:
    rows = csv.DictReader(fact_text("vbn_sessions.tsv").splitlines(), delimiter="\t")
    return frozenset(r["ecephys_session_id"].strip() for r in rows)


# What the reference table does not say: how each component is read and grouped.
# Everything not listed here is a plain NWB units table, one file per session.
def _reading_overrides() -> dict[str, dict]:
    return {
        "vbn": dict(
            include_sessions=_vbn_session_ids(),
            skip_names=ALLEN_NAME_RULES,
            session_map="allen_ecephys",
        ),
        "ibl": dict(include_paths=_fact_lines("ibl_processed_paths.txt")),
        **{name: dict(skip_names=ALLEN_NAME_RULES) for name in ALLEN_SETS},
        "gonzalez": dict(reader="firing_rates", reader_options=(("timing", "stored_samples"),)),
        "lemerre": dict(grouping="probe_merge", file_error="skip_file", session_figure="files"),
        "steinmetz-2": dict(
            reader="mat_spks",
            grouping="subject_folder",
            suffixes=(".mat",),
            include_names=(r"spks",),
            reader_options=(("dense_cluster_ids", True),),
        ),
        # hand-pruned by the reference's author (files/sessions in archive_layouts.md): which files
        # were removed is not public, so the counts may differ from the published ones by this much
        **{name: dict(session_tolerance=tol, subject_tolerance=max(1, tol // 4)) for name, tol in PRUNED.items()},
    }


#: Allen Visual Coding and the OpenScope sets: one main file per session plus per-probe LFP files.
ALLEN_SETS = ("vcn", "vcn-2", "shield", "oddball", "illusion", "v2h")
#: Components whose published sessions the reference's author pruned by hand, with the session
#: tolerance a plan allows (about 5% of the published sessions, at least 1): which files went is
#: not public, so a plan of these flags differences but only fails beyond this.
PRUNED = {"giocomo": 17, "li": 5, "fujisawa": 1, "jaramillo": 1, "huszar": 3, "petersen": 1}


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if text else None


@lru_cache(maxsize=1)
def registry() -> dict[str, Component]:
    """All components by name, in the reference table's order, plus the synthetic ``demo``."""
    overrides = _reading_overrides()
    out: dict[str, Component] = {}
    for row in csv.DictReader(fact_text("components.tsv").splitlines(), delimiter="\t"):
        name = row["name"].strip()
        out[name] = Component(
            name=name,
            display_name=row["display_name"].strip(),
            archive=row["archive"].strip(),
            archive_id=row["archive_id"].strip(),
            version=row["version"].strip() or None,
            species=row["species"].strip(),
            subjects=int(row["subjects"]),
            sessions=int(row["sessions"]),
            tokens=int(row["tokens"]),
            archive_bytes=_int_or_none(row["archive_bytes"]),
            notes=row["notes"].strip(),
            **overrides.get(name, {}),
        )
    out[DEMO] = Component(
        name=DEMO,
        display_name="Demo (synthetic)",
        archive="synthetic",
        archive_id="demo",
        version=None,
        species="mouse",
        subjects=0,
        sessions=0,
        tokens=0,
        notes="synthetic NWB recordings written by builders.synthetic.recordings; never part of 'all'",
    )
    return out


class UnknownComponent(NeuralPileError, KeyError):
    """No component of the registry has this name (the message lists the valid ones)."""

    def __str__(self) -> str:  # the message as written, not quoted as a KeyError's key is
        return str(self.args[0])


def get_component(name: str) -> Component:
    """Look up a component by config name; :class:`UnknownComponent` lists the valid names."""
    reg = registry()
    if name not in reg:
        raise UnknownComponent(f"unknown component {name!r}; choose one of: {', '.join(reg)}")
    return reg[name]


def pile_components() -> list[Component]:
    """The 25 real components (everything in ``all``), in the reference table's order."""
    return [c for c in registry().values() if c.in_all]
