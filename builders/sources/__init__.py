"""Where assets come from: listing a component's assets, and opening one for reading.

- :mod:`.local`: a folder laid out as ``dandi download`` leaves it (``sub-*/...nwb``).
- :mod:`.dandi`: the DANDI API, through the ``dandi`` client (pinned version, paged listing).
- :mod:`.figshare`: a figshare article's file list.
- :mod:`.http`: streaming an asset over HTTP(S) (range requests, retries, timeouts),
  optionally through a local byte cache (:mod:`.bytecache`), with :mod:`.rangefile` as the
  file object h5py reads.
- :mod:`.hdf5plan`: where the spike datasets' bytes lie, to fetch them before h5py asks.
- :mod:`.prefetch`: the next sessions' bytes fetched while the current one is built.
- :mod:`.deadline`: the time limit on archive API calls.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from ..sessions import Asset


@contextmanager
def open_asset(asset: Asset, *, cache_dir: str | os.PathLike | None = None) -> Iterator[object]:
    """Yield something ``h5py.File`` / ``scipy.io.loadmat`` can open: a path or a file object.

    Local assets yield their path; remote ones a seekable file object that fetches only the
    byte ranges the reader asks for (see :func:`builders.sources.http.open_remote`), starting
    from the bytes a :class:`~.prefetch.SessionPrefetcher` fetched ahead, if any.

    Raises:
        FileNotFoundError: naming the asset, when a local file is missing.
    """
    if asset.is_remote:
        from .http import open_remote
        from .prefetch import take_warm

        warm = take_warm(asset)
        content = (warm.content_url, warm.size) if warm is not None else None
        with open_remote(asset, cache_dir=cache_dir, content=content, preloaded=warm.runs if warm else ()) as handle:
            yield handle
        return
    if not os.path.isfile(asset.url):
        raise FileNotFoundError(f"{asset.path}: file not found at {asset.url}")
    yield asset.url


def list_assets(component, *, data_dir=None, dandi_api_url=None, shared_root=False) -> list[Asset]:
    """A component's assets from a local folder if ``data_dir`` is given, else from its archive.

    ``shared_root``: ``data_dir`` holds several components, so each must have its own folder.
    """
    if data_dir is not None:
        from .local import list_local_assets

        return list_local_assets(component, data_dir, shared_root=shared_root)
    if component.archive == "dandi":
        from .dandi import list_dandi_assets

        return list_dandi_assets(component, api_url=dandi_api_url)
    if component.archive == "figshare":
        from .figshare import list_figshare_assets

        return list_figshare_assets(component)
    raise ValueError(f"component {component.name!r} has no archive to stream from: pass --data-dir")


def list_sessions(component, *, data_dir=None, dandi_api_url=None, shared_root=False) -> list:
    """A component's sessions (grouped and filtered per the registry), sorted by key."""
    from ..sessions import filter_sessions, group_sessions

    assets = list_assets(component, data_dir=data_dir, dandi_api_url=dandi_api_url, shared_root=shared_root)
    return filter_sessions(component, group_sessions(component, assets))
