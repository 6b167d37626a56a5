"""Assets of a component from a local folder laid out as ``dandi download`` leaves it."""

from __future__ import annotations

import os
from pathlib import Path

from ..registry import Component
from ..sessions import Asset, ListedFile


def resolve_data_dir(component: Component, data_dir: str | os.PathLike, *, shared_root: bool = False) -> Path:
    """The folder holding ``component``'s files under ``data_dir``.

    ``data_dir`` may be the component's own folder (``~/dandi/000056``) or a parent holding
    one folder per component, named by archive id (``000056``) or by component name. With
    ``shared_root`` (several components built from one ``data_dir``) the per-component folder
    must exist, so one component never picks up another's files.
    """
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"--data-dir {root}: not a folder")
    for name in (component.archive_id, component.name):
        candidate = root / name
        if candidate.is_dir():
            return candidate
    if shared_root:
        raise FileNotFoundError(
            f"--data-dir {root}: no folder {component.archive_id}/ or {component.name}/ for component {component.name!r}"
        )
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
            if filename.startswith("."):
                continue
            full = Path(dirpath) / filename
            relative = full.relative_to(folder).as_posix()
            files.append(ListedFile(Asset(path=relative, url=str(full), size=full.stat().st_size)))
    return files


def list_local_assets(component: Component, data_dir: str | os.PathLike, *, shared_root: bool = False) -> list[Asset]:
    """The files under the component's folder that its name rules accept."""
    files = list_local_files(component, data_dir, shared_root=shared_root)
    return [f.asset for f in files if component.accepts_path(f.asset.path)]
