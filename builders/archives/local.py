"""Assets of a component from a local folder laid out as ``dandi download`` leaves it.

A ``dandi download`` folder carries its dandiset's ``dandiset.yaml`` (``identifier: DANDI:000056``);
the synthetic recordings of ``neural-pile demo`` carry one naming them (:data:`SYNTHETIC_IDENTIFIER`).
A folder whose identifier is not the component's is refused, so synthetic or other recordings are
never labelled with a real dandiset's id, citation and licence.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from builders.archives.sessions import Asset, ListedFile
from builders.errors import NeuralPileError
from builders.spec.registry import Component
from builders.storage.atomic import write_text_atomic

#: The file naming what a folder holds (``dandi download`` writes it at the dandiset's root).
IDENTITY_FILE = "dandiset.yaml"
#: The identifier of the synthetic recordings ``neural-pile demo`` writes.
SYNTHETIC_IDENTIFIER = "neural-pile:synthetic-demo"


class DataDirMismatch(NeuralPileError, ValueError):
    """A local folder holds another collection's recordings than the component built from it."""


class DataDirMissing(NeuralPileError, FileNotFoundError):
    """The data folder (the ``data_dir`` argument) is not a folder, or lacks a component's folder."""


def write_synthetic_identity(folder: str | os.PathLike) -> None:
    """Mark ``folder`` as holding the synthetic demo recordings (written atomically)."""
    text = yaml.safe_dump({"identifier": SYNTHETIC_IDENTIFIER, "name": "synthetic recordings (neural-pile demo)"})
    write_text_atomic(Path(folder) / IDENTITY_FILE, text)


def folder_identifier(folder: Path) -> str | None:
    """The identifier a folder's ``dandiset.yaml`` records, or ``None`` where it has none."""
    try:
        record = yaml.safe_load((folder / IDENTITY_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    identifier = record.get("identifier") if isinstance(record, dict) else None
    return str(identifier) if identifier else None


def expected_identifier(component: Component) -> str:
    """What a folder of ``component``'s recordings records: ``DANDI:<id>`` or the synthetic one."""
    return (
        SYNTHETIC_IDENTIFIER
        if component.archive == "synthetic"
        else f"{component.archive.upper()}:{component.archive_id}"
    )


def check_folder_identity(component: Component, folder: Path) -> None:
    """Refuse a folder whose ``dandiset.yaml`` names another collection than ``component``'s.

    Raises:
        DataDirMismatch: naming the folder, what it holds and the component.
    """
    found = folder_identifier(folder)
    if found is None:
        return
    expected = expected_identifier(component)
    if found.split("/")[0].upper() != expected.upper():
        holds = "the synthetic demo recordings" if found == SYNTHETIC_IDENTIFIER else f"{found}"
        raise DataDirMismatch(
            f"{folder} holds {holds}, not {component.name} ({expected}); pass the folder of "
            f"{component.name}'s recordings"
        )


def resolve_data_dir(component: Component, data_dir: str | os.PathLike, *, shared_root: bool = False) -> Path:
    """The folder holding ``component``'s files under ``data_dir``.

    ``data_dir`` may be the component's own folder (``~/dandi/000056``) or a parent holding
    one folder per component, named by archive id (``000056``) or by component name. With
    ``shared_root`` (several components built from one ``data_dir``) the per-component folder
    must exist, so one component never picks up another's files.
    """
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise DataDirMissing(f"data folder {root}: not a folder", argument="data_dir", label="data folder")
    for name in (component.archive_id, component.name):
        candidate = root / name
        if candidate.is_dir():
            check_folder_identity(component, candidate)
            return candidate
    if shared_root:
        raise DataDirMissing(
            f"data folder {root}: no folder {component.archive_id}/ or {component.name}/ for component {component.name!r}",
            argument="data_dir",
            label="data folder",
        )
    check_folder_identity(component, root)
    return root


def list_local_files(
    component: Component, data_dir: str | os.PathLike, *, shared_root: bool = False
) -> list[ListedFile]:
    """Every file under the component's folder (hidden ones aside), with no archive metadata.

    Paths are reported relative to the folder, with ``/`` separators, exactly as DANDI
    names assets, so rules written for the archive apply unchanged.
    """
    folder = resolve_data_dir(component, data_dir, shared_root=shared_root)
    files = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if filename.startswith(".") or (Path(dirpath) == folder and filename == IDENTITY_FILE):
                continue
            full = Path(dirpath) / filename
            relative = full.relative_to(folder).as_posix()
            files.append(ListedFile(Asset(path=relative, url=str(full), size=full.stat().st_size)))
    return files


def list_local_assets(component: Component, data_dir: str | os.PathLike, *, shared_root: bool = False) -> list[Asset]:
    """The files under the component's folder that its name rules accept."""
    files = list_local_files(component, data_dir, shared_root=shared_root)
    return [f.asset for f in files if component.accepts_path(f.asset.path)]
