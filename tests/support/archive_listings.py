"""Listings shaped like today's archives, from the public facts (``builders/facts``), for the
DANDI and figshare stand-ins: the real naming patterns, the real file counts, the archive's
per-file metadata.

- VBN (000713): 4,293 files of 81 mice: per session of ``vbn_sessions.tsv`` a main file
  ``sub-<mouse>_ses-<UTC date-time>.nwb`` (units), one ``sub-<mouse>_ses-None_probe-<id>_ecephys.nwb``
  LFP file per probe (no units), and the rest behaviour-only ``..._image.nwb`` files (no units).
- Visual Coding (000021): 32 sessions, 214 files: main files plus 182 per-probe LFP files.
- IBL (000409): the 347 processed-only paths of the reference plus a raw ephys file beside each.
- Steinmetz-2 (figshare 7739750): three ``spks`` files next to ``probeLocations.mat``, a face
  file and a zip.

The expected numbers in the tests are counted from the facts files and these patterns, not
from the code under test.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import h5py
import numpy as np

from tests.support.loopback import ListingEntry

#: Files of DANDI 000713 [third-party count in the facts].
VBN_FILES = 4293
GB = 10**9


def _measured(*types: str) -> list[dict]:
    return [{"schemaKey": "PropertyValue", "value": t} for t in types]


def _session_record(identifier: str | None, start: datetime | None) -> list[dict]:
    record = {"schemaKey": "Session", "name": identifier or "Acquisition session"}
    if identifier:
        record["identifier"] = identifier
    if start:
        record["startDate"] = start.isoformat()
    return [record]


@dataclass(frozen=True)
class VbnRow:
    session_id: str
    mouse_id: str
    probes: int
    acquired_utc: datetime  # the table's wall clock read as Pacific time, in UTC


def vbn_rows() -> list[VbnRow]:
    text = resources.files("builders.spec").joinpath("facts", "vbn_sessions.tsv").read_text(encoding="utf-8")
    pacific = ZoneInfo("America/Los_Angeles")
    rows = []
    for r in csv.DictReader(text.splitlines(), delimiter="\t"):
        wall = datetime.fromisoformat(r["date_of_acquisition"]).replace(tzinfo=None)
        rows.append(
            VbnRow(
                r["ecephys_session_id"],
                r["mouse_id"],
                int(float(r["probe_count"])),
                wall.replace(tzinfo=pacific).astimezone(UTC),
            )
        )
    return rows


def vbn_main_path(row: VbnRow) -> str:
    label = row.acquired_utc.strftime("%Y%m%dT%H%M%S")
    return f"sub-{row.mouse_id}/sub-{row.mouse_id}_ses-{label}.nwb"


def vbn_entries(
    *,
    identifier_every: int = 10,
    drop_sessions: tuple[str, ...] = (),
    main_file: str | None = None,
    main_size: int = int(2.6 * GB),
) -> list[ListingEntry]:
    """The 4,293 files of VBN on DANDI.

    Args:
        identifier_every: every n-th main file's record carries its ecephys session id (the
            others only a start date), so both mapping rules are exercised.
        drop_sessions: ecephys ids whose main file is left out of the listing.
        main_file: file-server path every main file's bytes come from (``None``: listing only).
        main_size: the size the listing gives each main file, bytes (the served file's own size
            where its bytes are read).
    """
    rows = vbn_rows()
    entries = []
    for number, row in enumerate(rows):
        for probe in range(row.probes):
            probe_id = 1_100_000_000 + number * 10 + probe
            entries.append(
                ListingEntry(
                    f"sub-{row.mouse_id}/sub-{row.mouse_id}_ses-None_probe-{probe_id}_ecephys.nwb",
                    int(1.8 * GB),
                    metadata={"variableMeasured": _measured("ElectricalSeries", "ElectrodeGroup", "LFP")},
                )
            )
        if row.session_id in drop_sessions:
            continue
        identifier = row.session_id if number % identifier_every == 0 else None
        entries.append(
            ListingEntry(
                vbn_main_path(row),
                main_size,
                file_path=main_file,
                metadata={
                    "variableMeasured": _measured("ElectrodeGroup", "ProcessingModule", "Units"),
                    "wasGeneratedBy": _session_record(identifier, row.acquired_utc),
                    "wasAttributedTo": [{"schemaKey": "Participant", "identifier": row.mouse_id}],
                },
            )
        )
    mice = sorted({r.mouse_id for r in rows})
    image_files = VBN_FILES - len(entries) - len(drop_sessions)
    for number in range(image_files):
        mouse = mice[number % len(mice)]
        start = datetime(2019, 1, 1, 9, tzinfo=UTC) + timedelta(days=number // len(mice), minutes=number % 50)
        entries.append(
            ListingEntry(
                f"sub-{mouse}/sub-{mouse}_ses-{start.strftime('%Y%m%dT%H%M%S')}_image.nwb",
                int(0.4 * GB),
                metadata={
                    "variableMeasured": _measured("BehavioralTimeSeries", "ImageSeries", "ProcessingModule"),
                    "wasGeneratedBy": _session_record(None, start),
                },
            )
        )
    return entries


def visual_coding_entries() -> list[ListingEntry]:
    """Allen Visual Coding (000021): 32 sessions, 214 files (182 per-probe LFP files)."""
    entries = []
    for number in range(32):
        subject, session = f"{699733573 + number * 7}", f"{715093703 + number * 11}"
        probes = 6 if number < 22 else 5
        entries.append(
            ListingEntry(
                f"sub-{subject}/sub-{subject}_ses-{session}.nwb",
                int(2.2 * GB),
                metadata={"variableMeasured": _measured("ElectrodeGroup", "Units")},
            )
        )
        for probe in range(probes):
            entries.append(
                ListingEntry(
                    f"sub-{subject}/sub-{subject}_ses-{session}_probe-{810755797 + probe}_ecephys.nwb",
                    int(2.0 * GB),
                    metadata={"variableMeasured": _measured("ElectricalSeries", "LFP")},
                )
            )
    return entries


def ibl_entries() -> list[ListingEntry]:
    """IBL (000409): the reference's 347 processed-only files and a raw ephys file beside each."""
    text = resources.files("builders.spec").joinpath("facts", "ibl_processed_paths.txt").read_text(encoding="utf-8")
    entries = []
    for path in (line.strip() for line in text.splitlines() if line.strip()):
        entries.append(ListingEntry(path, int(0.3 * GB), metadata={"variableMeasured": _measured("Units")}))
        entries.append(
            ListingEntry(
                path.replace("processed-only_behavior", "raw-only_ecephys"),
                int(90 * GB),
                metadata={"variableMeasured": _measured("ElectricalSeries")},
            )
        )
    return entries


#: Steinmetz-2's article: the spks files the reference read, and what lies beside them.
STEINMETZ2_SPKS = ("spksKrebs.mat", "spksWaksman.mat", "spksRobbins.mat")
STEINMETZ2_OTHERS = ("probeLocations.mat", "Krebs_face_proc.mat", "Waksman.zip")


def write_units_root(path) -> None:
    """A small HDF5 file with ``units/spike_times`` (what a root probe looks for)."""
    with h5py.File(path, "w") as f:
        f.create_dataset("units/spike_times", data=np.linspace(0.0, 10.0, 100))
        f.create_dataset("units/id", data=np.arange(3))


def write_no_units_root(path) -> None:
    """A small HDF5 file shaped like an LFP or behaviour file: acquisition data, no units table."""
    with h5py.File(path, "w") as f:
        f.create_dataset("acquisition/ElectricalSeries/data", data=np.zeros((64, 4), dtype=np.int16))
