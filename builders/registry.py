"""The components of the rodent neural pile, one declarative entry each.

Published figures (subjects, sessions, tokens, archive bytes) come from the reference table
shipped in ``builders/facts/components.tsv``; what this package needs to know on top of that
(which reader, which assets, how files group into sessions) is declared in ``_READING`` below.
Adding a dandiset means adding one row to the TSV and, only if it is not a plain NWB units
table, one line to ``_READING``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

#: Reader kinds understood by :mod:`builders.readers` (its dispatch table has exactly these keys).
READER_KINDS = ("nwb_units", "firing_rates", "mat_spks")
#: How the assets of a component form sessions (:data:`builders.sessions.SESSION_LABEL` has these keys).
GROUPINGS = ("file", "probe_merge", "subject_folder")
#: Archives a component can come from (:func:`builders.sources.list_sessions` lists each).
ARCHIVES = ("dandi", "figshare", "synthetic")

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
        include_sessions: if set, only assets whose session id is listed are read.
        suffixes: file name endings that are assets of this component.
        exclude_substrings: assets whose path contains one of these are skipped
            (e.g. separate LFP-only files).
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
    exclude_substrings: tuple[str, ...] = ()
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
        for attribute, allowed in (("reader", READER_KINDS), ("grouping", GROUPINGS), ("archive", ARCHIVES)):
            value = getattr(self, attribute)
            if value not in allowed:
                raise ValueError(f"component {self.name!r}: {attribute} {value!r} is not one of {', '.join(allowed)}")

    def accepts_path(self, path: str) -> bool:
        """Whether an archive-relative asset path belongs to this component's build."""
        if not path.endswith(self.suffixes):
            return False
        if any(s in path for s in self.exclude_substrings):
            return False
        if self.include_paths is not None and path not in self.include_paths:
            return False
        return True


def _fact_text(name: str) -> str:
    return resources.files("builders").joinpath("facts", name).read_text(encoding="utf-8")


def _fact_lines(name: str) -> frozenset[str]:
    return frozenset(line.strip() for line in _fact_text(name).splitlines() if line.strip())


def _vbn_session_ids() -> frozenset[str]:
    rows = csv.DictReader(_fact_text("vbn_sessions.tsv").splitlines(), delimiter="\t")
    return frozenset(r["ecephys_session_id"].strip() for r in rows)


# What the reference table does not say: how each component is read and grouped.
# Everything not listed here is a plain NWB units table, one file per session.
def _reading_overrides() -> dict[str, dict]:
    return {
        "vbn": dict(include_sessions=_vbn_session_ids(), exclude_substrings=("_probe-",)),
        "ibl": dict(include_paths=_fact_lines("ibl_processed_paths.txt")),
        "gonzalez": dict(reader="firing_rates"),
        "lemerre": dict(grouping="probe_merge"),
        "steinmetz-2": dict(reader="mat_spks", grouping="subject_folder", suffixes=(".mat",)),
    }


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if text else None


@lru_cache(maxsize=1)
def registry() -> dict[str, Component]:
    """All components by name, in the reference table's order, plus the synthetic ``demo``."""
    overrides = _reading_overrides()
    out: dict[str, Component] = {}
    for row in csv.DictReader(_fact_text("components.tsv").splitlines(), delimiter="\t"):
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
        notes="synthetic NWB recordings written by builders.synthetic; never part of 'all'",
    )
    return out


def get_component(name: str) -> Component:
    """Look up a component by config name; the error lists the valid names."""
    reg = registry()
    if name not in reg:
        raise KeyError(f"unknown component {name!r}; choose one of: {', '.join(reg)}")
    return reg[name]


def pile_components() -> list[Component]:
    """The 25 real components (everything in ``all``), in the reference table's order."""
    return [c for c in registry().values() if c.in_all]
