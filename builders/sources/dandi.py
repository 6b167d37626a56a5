"""A component's assets from the DANDI archive, listed with the ``dandi`` client.

The version listed is the component's pinned one (``component.version``), ``draft`` where the
registry says so, or, where the registry has none, the dandiset's most recent published
version; :func:`resolve_version` tells which, for the dataset card. Each asset's ``url`` is
its ``/assets/{id}/download/`` URL; :func:`builders.sources.http.open_remote` follows its
redirect once to the storage URL before reading, so the byte-range requests go straight there.

Every API call runs under a :class:`~.deadline.Deadline` (30 s without an answer by default,
``NEURAL_PILE_LISTING_TIMEOUT_S``): an unreachable or failing API fails the listing with one
line naming the API URL instead of the client's own minutes of retries.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from functools import lru_cache

import requests
from tqdm.auto import tqdm

from ..registry import Component
from ..sessions import Asset
from .deadline import Deadline, bound_session, get_with_retries

#: The public DANDI archive's API (what ``--dandi-api-url`` defaults to).
DANDI_API_URL = "https://api.dandiarchive.org/api"
DRAFT = "draft"


class DandiListingError(RuntimeError):
    """Listing a dandiset version failed; the message names the dandiset, version and API."""


def _client(api_url: str | None, deadline: Deadline):
    """A ``DandiAPIClient`` whose requests all run under ``deadline``.

    The API's ``/info/`` is asked first, with our own retries and timeouts: the client asks it
    too when it is made, without a timeout.
    """
    # The dandi client asks a web service whether it is outdated unless DANDI_NO_ET is set;
    # a build has no use for that check (and offline machines would wait on it).
    os.environ.setdefault("DANDI_NO_ET", "1")
    from dandi.dandiapi import DandiAPIClient

    url = (api_url or DANDI_API_URL).rstrip("/")
    with requests.Session() as probe:
        get_with_retries(probe, f"{url}/info/", deadline)
    client = DandiAPIClient(api_url=url)
    bound_session(client.session, deadline)
    return client


@contextmanager
def _quiet_client_logs():
    """The client logs each failed request with a traceback; our error says it in one line."""
    logger = logging.getLogger("dandi")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _where(component: Component, version: str | None, api_url: str | None) -> str:
    shown = version if version is not None else "most recent published version"
    return f"dandiset {component.archive_id} ({component.name}) version {shown} at {api_url or DANDI_API_URL}"


def _check_dandi(component: Component) -> None:
    if component.archive != "dandi":
        raise ValueError(f"component {component.name!r} is on {component.archive}, not DANDI")


@lru_cache(maxsize=256)
def _resolve_cached(archive_id: str, version: str | None, api_url: str, timeout_s: float | None) -> str:
    if version is not None:
        return version
    with _quiet_client_logs():
        dandiset = _client(api_url, Deadline(timeout_s)).get_dandiset(archive_id)
    return dandiset.version_id  # the most recent published version, else the draft


def resolve_version(component: Component, api_url: str | None = None, *, timeout_s: float | None = None) -> str:
    """The dandiset version a build of ``component`` lists: pinned, ``draft``, or newest published.

    Only the unpinned case asks the archive (once per process); the answer is what the
    dataset card should record. ``timeout_s``: see :func:`list_dandi_assets`.

    Raises:
        DandiListingError: naming the dandiset and API URL, when the archive cannot answer.
    """
    _check_dandi(component)
    try:
        return _resolve_cached(component.archive_id, component.version, api_url or DANDI_API_URL, timeout_s)
    except Exception as exc:
        raise DandiListingError(f"{_where(component, component.version, api_url)}: {exc}") from exc


def list_dandi_assets(
    component: Component, api_url: str | None = None, *, progress: bool | None = None, timeout_s: float | None = None
) -> list[Asset]:
    """The assets of ``component``'s dandiset version that its asset filter accepts.

    Args:
        component: a registry entry with ``archive == "dandi"``.
        api_url: DANDI API base URL (default: the public archive, :data:`DANDI_API_URL`).
        progress: show a progress bar over the listing (``None``: only on a terminal).
        timeout_s: give up when the API has not answered for this many seconds (default
            ``NEURAL_PILE_LISTING_TIMEOUT_S``, else :data:`~.deadline.LISTING_TIMEOUT_S`).

    Returns:
        Assets sorted by path; ``url`` is the asset's download URL, ``size`` in bytes,
        ``asset_id`` the DANDI asset id.

    Raises:
        DandiListingError: naming the dandiset, version and API URL, when the dandiset or
            version does not exist or the archive cannot be reached.
    """
    _check_dandi(component)
    version = resolve_version(component, api_url, timeout_s=timeout_s)
    where = _where(component, version, api_url)
    try:
        with _quiet_client_logs():
            client = _client(api_url, Deadline(timeout_s))
            dandiset = client.get_dandiset(component.archive_id, version)
            assets = []
            bar = tqdm(
                desc=f"listing {component.name} ({version})",
                unit=" assets",
                disable=None if progress is None else not progress,
            )
            try:
                for remote in dandiset.get_assets():
                    bar.update(1)
                    if component.accepts_path(remote.path):
                        assets.append(
                            Asset(
                                path=remote.path,
                                url=remote.base_download_url,
                                size=int(remote.size),
                                asset_id=remote.identifier,
                            )
                        )
            finally:
                bar.close()
    except Exception as exc:
        raise DandiListingError(f"{where}: {exc}") from exc
    return sorted(assets, key=lambda a: a.path)
