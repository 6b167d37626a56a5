"""Where assets come from: listing a component's assets, and opening one for reading.

- :mod:`.local`: a folder laid out as ``dandi download`` leaves it (``sub-*/...nwb``).
- :mod:`.dandi`: the DANDI API, through the ``dandi`` client (pinned version, paged listing).
- :mod:`.figshare`: a figshare article's file list.
- :mod:`.http`: streaming an asset over HTTP(S) (range requests, retries, timeouts),
  optionally through a local byte cache (:mod:`.bytecache`), with :mod:`.rangefile` as the
  file object h5py reads.
- :mod:`.warm`: bytes fetched ahead for an asset (by :mod:`builders.readers.prefetch`), handed to
  :func:`open_asset`.
- :mod:`.deadline`: the time limit on archive API calls.

Each source's module is imported here when it is used (a local folder, DANDI, figshare, an asset
opened over HTTP, the selection): listing a local folder never imports the HTTP client
(requests), and importing this package never imports h5py (which the selection reads with).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from builders.archives.sessions import Asset, ListedFile
from builders.archives.warm import take_warm


@contextmanager
def open_asset(asset: Asset, *, cache_dir: str | os.PathLike | None = None) -> Iterator[object]:
    """Yield something ``h5py.File`` / ``scipy.io.loadmat`` can open: a path or a file object.

    Local assets yield their path; remote ones a seekable file object that fetches only the
    byte ranges the reader asks for (see :func:`builders.archives.http.open_remote`), starting
    from the bytes fetched ahead for it (:func:`.warm.take_warm`), if any.

    Raises:
        FileNotFoundError: naming the asset, when a local file is missing.
    """
    if asset.is_remote:
        # each source's module is imported when used (see the module docstring)
        from builders.archives.http import open_remote

        warm = take_warm(asset)
        content = (warm.content_url, warm.size) if warm is not None else None
        with open_remote(asset, cache_dir=cache_dir, content=content, preloaded=warm.runs if warm else ()) as handle:
            yield handle
        return
    if not os.path.isfile(asset.url):
        raise FileNotFoundError(f"{asset.path}: file not found at {asset.url}")
    yield asset.url


@dataclass
class Listing:
    """Every file of one component's listing.

    Attributes:
        files: the files, sorted by path, with the archive's metadata where it sends any.
        where: what was listed (dandiset, version and API URL; figshare article; folder).
        version: the archive version listed (``None`` for a folder or figshare).
    """

    files: list[ListedFile]
    where: str
    version: str | None = None


def list_files(
    component, *, data_dir=None, dandi_api_url=None, figshare_api_url=None, shared_root=False, progress=None
) -> Listing:
    """Every file of a component: from a local folder if ``data_dir`` is given, else its archive.

    ``shared_root``: ``data_dir`` holds several components, so each must have its own folder.
    """
    if data_dir is not None:
        from builders.archives.local import list_local_files, resolve_data_dir

        folder = resolve_data_dir(component, data_dir, shared_root=shared_root)
        return Listing(list_local_files(component, data_dir, shared_root=shared_root), f"folder {folder}")
    if component.archive == "dandi":
        from builders.archives.dandi import DANDI_API_URL, list_dandi_files

        version, files = list_dandi_files(component, api_url=dandi_api_url, progress=progress)
        api = (dandi_api_url or DANDI_API_URL).rstrip("/")
        where = f"{api}/dandisets/{component.archive_id}/versions/{version}/assets/"
        return Listing(files, where, version)
    if component.archive == "figshare":
        from builders.archives.figshare import FIGSHARE_API_URL, list_figshare_files

        api = (figshare_api_url or FIGSHARE_API_URL).rstrip("/")
        files = list_figshare_files(component, api_url=figshare_api_url)
        return Listing(files, f"{api}/articles/{component.archive_id}/files")
    from builders.archives.selection import SelectionError

    raise SelectionError(f"component {component.name!r} has no archive to stream from: pass --data-dir")


def select_component(component, **listing_options):
    """The reference's selection of a component (:func:`builders.archives.selection.select`) from its listing.

    Raises:
        SelectionError: the listing holds no file, or the rules select none of its files (the
            message names what was listed and how many files each rule left out), or a file
            maps to no listed session.
    """
    from builders.archives.selection import SelectionError, select

    listing = list_files(component, **listing_options)
    selection = select(component, listing.files, where=listing.where)
    if not selection.listed:
        raise SelectionError(f"{component.name}: {listing.where} lists no file")
    if not selection.sessions:
        reasons = "; ".join(f"{n} {reason}" for reason, n in selection.skipped_by_reason().items())
        raise SelectionError(
            f"{component.name}: no file of the {selection.listed} at {listing.where} is selected ({reasons})"
        )
    selection.version = listing.version
    return selection


def list_assets(component, *, data_dir=None, dandi_api_url=None, shared_root=False) -> list[Asset]:
    """A component's selected assets (see :func:`select_component`)."""
    return select_component(component, data_dir=data_dir, dandi_api_url=dandi_api_url, shared_root=shared_root).assets


def list_sessions(component, *, data_dir=None, dandi_api_url=None, figshare_api_url=None, shared_root=False) -> list:
    """A component's sessions (selected, mapped and grouped per the registry), sorted by key."""
    return select_component(
        component,
        data_dir=data_dir,
        dandi_api_url=dandi_api_url,
        figshare_api_url=figshare_api_url,
        shared_root=shared_root,
    ).sessions
