"""A component's assets from a figshare article's file list (``/v2/articles/{id}/files``).

Figshare has no folders: each file has a bare name. Files are laid out as
``<subject>/<name>`` where the name holds a capitalised subject name (``spksKrebs.mat`` ->
``Krebs/spksKrebs.mat``, ``Krebs_spks.mat`` -> ``Krebs/Krebs_spks.mat``), which is how the
``subject_folder`` grouping finds one session per subject (the same layout as a local copy);
other names stay as they are.
"""

from __future__ import annotations

import re

import requests

from builders.archives.deadline import Deadline, ListingTimeout, get_with_retries
from builders.archives.sessions import Asset, ListedFile
from builders.errors import NeuralPileError
from builders.spec.registry import Component

#: The public figshare API (``api_url`` defaults to it).
FIGSHARE_API_URL = "https://api.figshare.com/v2"
#: Files asked for per page (figshare allows up to 1000).
PAGE_SIZE = 100
#: Give up after this many pages (a runaway server must not loop forever).
MAX_PAGES = 1000

#: A subject name inside a file name: a capitalised word (Steinmetz-2 mice are named).
_SUBJECT_WORD = re.compile(r"[A-Z][a-z]+")


class FigshareListingError(NeuralPileError, RuntimeError):
    """Listing a figshare article failed; the message names the article and the URL."""


def figshare_asset_path(name: str) -> str:
    """``<subject>/<name>`` when the file stem holds a capitalised word, else ``name``."""
    if "/" in name:
        return name
    match = _SUBJECT_WORD.search(name.rsplit(".", 1)[0])
    return f"{match.group(0)}/{name}" if match else name


def list_figshare_assets(
    component: Component, api_url: str | None = None, *, timeout_s: float | None = None
) -> list[Asset]:
    """The files of ``component``'s figshare article that its name rules accept, sorted by path."""
    files = list_figshare_files(component, api_url, timeout_s=timeout_s)
    return [f.asset for f in files if component.accepts_path(f.asset.path)]


def list_figshare_files(
    component: Component, api_url: str | None = None, *, timeout_s: float | None = None
) -> list[ListedFile]:
    """Every file of ``component``'s figshare article (figshare has no per-file content metadata).

    Args:
        component: a registry entry with ``archive == "figshare"``.
        api_url: figshare API base URL (default :data:`FIGSHARE_API_URL`).
        timeout_s: give up when the API has not answered for this many seconds, failures
            retried meanwhile (default ``NEURAL_PILE_LISTING_TIMEOUT_S``, else
            :data:`~.deadline.LISTING_TIMEOUT_S`).

    Returns:
        Files sorted by path; ``url`` is the file's ``download_url`` (resolved when opened),
        ``size`` in bytes, ``asset_id`` the figshare file id.

    Raises:
        FigshareListingError: naming the article and URL, when the list cannot be fetched.
    """
    if component.archive != "figshare":
        raise ValueError(f"component {component.name!r} is on {component.archive}, not figshare")
    base = (api_url or FIGSHARE_API_URL).rstrip("/")
    url = f"{base}/articles/{component.archive_id}/files"
    entries: list[dict] = []
    deadline = Deadline(timeout_s)
    with requests.Session() as session:
        for page in range(1, MAX_PAGES + 1):
            try:
                response = get_with_retries(session, url, deadline, params={"page": page, "page_size": PAGE_SIZE})
                response.raise_for_status()
                batch = response.json()
            except (requests.RequestException, ValueError, ListingTimeout) as exc:
                raise FigshareListingError(
                    f"figshare article {component.archive_id} ({component.name}), page {page} of {url}: {exc}"
                ) from exc
            if not isinstance(batch, list):
                raise FigshareListingError(f"figshare article {component.archive_id}: {url} did not return a file list")
            entries.extend(batch)
            if len(batch) < PAGE_SIZE:
                break
        else:
            raise FigshareListingError(f"figshare article {component.archive_id}: more than {MAX_PAGES} pages at {url}")

    files = []
    for entry in entries:
        if entry.get("is_link_only"):
            continue
        path = figshare_asset_path(str(entry["name"]))
        asset = Asset(path=path, url=entry["download_url"], size=int(entry["size"]), asset_id=str(entry["id"]))
        files.append(ListedFile(asset))
    return sorted(files, key=lambda f: f.asset.path)
