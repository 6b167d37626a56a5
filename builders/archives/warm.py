"""Bytes of remote assets fetched ahead ("warm"), waiting for :func:`builders.archives.open_asset`.

The session prefetcher (:mod:`builders.readers.prefetch`) fetches the bytes a reader will read
from an upcoming session's assets and keeps them here, by asset URL; when the build opens that
asset, :func:`take_warm` hands them over and the asset is read from memory. The store is shared
by the threads of one process and guarded by one lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from builders.archives.sessions import Asset


@dataclass
class WarmAsset:
    """An asset's bytes fetched ahead: its content URL and size (bytes), and ``(start, bytes)`` runs."""

    content_url: str
    size: int
    runs: list[tuple[int, bytes]]

    @property
    def nbytes(self) -> int:
        """Bytes held for this asset."""
        return sum(len(data) for _, data in self.runs)


_warm: dict[str, WarmAsset] = {}
_warm_lock = threading.Lock()


def take_warm(asset: Asset) -> WarmAsset | None:
    """The bytes fetched ahead for ``asset`` (removed from the store), else ``None``."""
    with _warm_lock:
        return _warm.pop(asset.url, None)


def warm_bytes() -> int:
    """Bytes held for assets not yet read."""
    with _warm_lock:
        return sum(w.nbytes for w in _warm.values())


def keep_warm(asset: Asset, warm: WarmAsset, *, max_bytes: int) -> None:
    """Hold ``warm`` for ``asset``, unless the store would then hold more than ``max_bytes``."""
    with _warm_lock:
        if warm.nbytes <= max_bytes - sum(w.nbytes for w in _warm.values()):
            _warm[asset.url] = warm


def drop_warm(urls: Iterable[str]) -> None:
    """Drop the bytes held for the assets at ``urls`` (those never read)."""
    with _warm_lock:
        for url in urls:
            _warm.pop(url, None)
