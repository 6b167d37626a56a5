"""A component's assets from the DANDI archive, listed with the ``dandi`` client.

The version listed is the component's pinned one (``component.version``), ``draft`` where the
registry says so, or, where the registry has none, the dandiset's most recent published
version; :func:`resolve_version` tells which, for the dataset card. Each asset's ``url`` is
its ``/assets/{id}/download/`` URL; :func:`builders.archives.http.open_remote` follows its
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

from builders.archives.deadline import Deadline, bound_session, get_with_retries
from builders.archives.sessions import Asset, ListedFile
from builders.errors import NeuralPileError
from builders.spec.registry import Component

#: The public DANDI archive's API (what ``--dandi-api-url`` defaults to).
DANDI_API_URL = "https://api.dandiarchive.org/api"
DRAFT = "draft"
#: Assets per listing page asked for: the archive's largest page (its default is 25), so the
#: 4,293 VBN files come in 5 requests, not 172.
LISTING_PAGE_SIZE = 1000


class DandiListingError(NeuralPileError, RuntimeError):
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


def list_dandi_files(
    component: Component, api_url: str | None = None, *, progress: bool | None = None, timeout_s: float | None = None
) -> tuple[str, list[ListedFile]]:
    """Every file of ``component``'s dandiset version, with the archive's metadata of each.

    One paged listing (``GET .../versions/{v}/assets/?metadata=true``): the archive sends each
    asset's metadata (neurodata types in ``variableMeasured``, session and subject records) with
    the listing, so no file is asked about one by one.

    Args:
        component: a registry entry with ``archive == "dandi"``.
        api_url: DANDI API base URL (default: the public archive, :data:`DANDI_API_URL`).
        progress: show a progress bar over the listing (``None``: only on a terminal).
        timeout_s: give up when the API has not answered for this many seconds (default
            ``NEURAL_PILE_LISTING_TIMEOUT_S``, else :data:`~.deadline.LISTING_TIMEOUT_S`).

    Returns:
        ``(version listed, files sorted by path)``; each asset's ``url`` is its download URL,
        ``size`` in bytes, ``asset_id`` the DANDI asset id; ``metadata`` is ``None`` where the
        archive sent none.

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
            files = []
            bar = tqdm(
                desc=f"listing {component.name} ({version})",
                unit=" files",
                disable=None if progress is None else not progress,
            )
            try:
                pages = client.paginate(
                    f"{dandiset.version_api_path}assets/",
                    page_size=LISTING_PAGE_SIZE,
                    params={"metadata": "true"},
                )
                for item in pages:
                    bar.update(1)
                    asset_id = item["asset_id"]
                    metadata = item.get("metadata")
                    files.append(
                        ListedFile(
                            Asset(
                                path=item["path"],
                                url=client.get_url(f"/assets/{asset_id}/download/"),
                                size=int(item["size"]),
                                asset_id=asset_id,
                            ),
                            metadata if isinstance(metadata, dict) else None,
                        )
                    )
            finally:
                bar.close()
    except Exception as exc:
        raise DandiListingError(f"{where}: {exc}") from exc
    return version, sorted(files, key=lambda f: f.asset.path)


def list_dandi_assets(
    component: Component, api_url: str | None = None, *, progress: bool | None = None, timeout_s: float | None = None
) -> list[Asset]:
    """The assets of ``component``'s dandiset version that its name rules accept (no metadata
    test: :func:`builders.archives.select_component` makes the full selection), sorted by path."""
    _, files = list_dandi_files(component, api_url, progress=progress, timeout_s=timeout_s)
    return [f.asset for f in files if component.accepts_path(f.asset.path)]
