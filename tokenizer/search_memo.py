"""Ids found by the cosine search while encoding, remembered in memory (never saved).

A saved tokenizer keeps only its most frequent out-of-vocabulary motifs; a rarer motif is mapped
by :func:`tokenizer.nearest.nearest_by_cosine` when it is first met. :class:`SearchMemo` keeps
those answers (motif keys -> ids; packed uint64 keys or fixed-size byte keys, see
:class:`tokenizer.patches.PatchKeys`) so a motif that recurs is searched once per process.

Layout: a large sorted array plus a small sorted *pending* array; new answers go to pending, which
is merged into the large one when it exceeds ``merge_at`` keys, so a lookup is two binary
searches and an insertion costs amortised ``O(size / merge_at)``. Memory is bounded by
``capacity`` keys; once full, new answers are not kept.
"""

from __future__ import annotations

import numpy as np

DEFAULT_CAPACITY = 1 << 21
DEFAULT_MERGE_AT = 1 << 15


class SearchMemo:
    """Sorted motif keys (one key dtype per memo) -> int32 vocabulary ids, grown by :meth:`add`."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, merge_at: int = DEFAULT_MERGE_AT):
        self.capacity, self.merge_at = int(capacity), int(merge_at)
        self._keys: np.ndarray | None = None  # typed by the first add
        self._pending_keys: np.ndarray | None = None
        self._ids = self._pending_ids = np.zeros(0, np.int32)

    def __len__(self) -> int:
        return len(self._ids) + len(self._pending_ids)

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(hit mask, ids)`` of ``keys``; ids are meaningful where hit."""
        hit = np.zeros(len(keys), bool)
        ids = np.zeros(len(keys), np.int32)
        if self._keys is None or self._pending_keys is None:  # nothing added yet
            return hit, ids
        for table_keys, table_ids in ((self._keys, self._ids), (self._pending_keys, self._pending_ids)):
            if not len(table_keys):
                continue
            pos = np.minimum(np.searchsorted(table_keys, keys), len(table_keys) - 1)
            found = table_keys[pos] == keys
            ids[found] = table_ids[pos[found]]
            hit |= found
        return hit, ids

    def add(self, keys: np.ndarray, ids: np.ndarray) -> None:
        """Remember ``keys -> ids`` (keys not already held, distinct), while capacity lasts."""
        room = self.capacity - len(self)
        if room <= 0 or not len(keys):
            return
        keys, ids = keys[:room], ids[:room]
        if self._keys is None:
            self._keys = self._pending_keys = keys[:0].copy()
        keys = np.concatenate([self._pending_keys, keys])
        ids = np.concatenate([self._pending_ids, np.asarray(ids, np.int32)])
        order = np.argsort(keys, kind="stable")
        self._pending_keys, self._pending_ids = keys[order], ids[order]
        if len(self._pending_keys) >= self.merge_at:
            keys = np.concatenate([self._keys, self._pending_keys])
            ids = np.concatenate([self._ids, self._pending_ids])
            order = np.argsort(keys, kind="stable")
            self._keys, self._ids = keys[order], ids[order]
            self._pending_keys, self._pending_ids = self._pending_keys[:0], self._pending_ids[:0]
