"""Assets of a component from a local folder laid out as ``dandi download`` leaves it."""

from __future__ import annotations

import os
from pathlib import Path

from ..registry import Component
from ..sessions import Asset


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


def list_local_assets(component: Component, data_dir: str | os.PathLike, *, shared_root: bool = False) -> list[Asset]:
    """Every file under the component's folder that the registry's asset filter accepts.

    Paths are reported relative to the folder, with ``/`` separators, exactly as DANDI
    names assets, so filters written for the archive apply unchanged.
    """
    folder = resolve_data_dir(component, data_dir, shared_root=shared_root)
    assets = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            full = Path(dirpath) / filename
            relative = full.relative_to(folder).as_posix()
            if component.accepts_path(relative):
                assets.append(Asset(path=relative, url=str(full), size=full.stat().st_size))
    return assets
