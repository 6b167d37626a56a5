"""Cutting spike-count rows into patches, and patches into sortable integer keys.

A *patch* (or motif) is a ``p_n x p_t`` block of a uint8 ``(n_neurons, n_time_bins)`` array:
``p_n`` neurons by ``p_t`` time bins. Patches tile a row from its origin (neuron 0, bin 0).
A patch is stored flat, row-major, as ``p_n * p_t`` uint8 values (its *width*).

Edge patches that would run past the last neuron or bin are handled by a padding policy:

``"drop"``  incomplete edge patches are left out (the default for counting: zero padding would
            add made-up silent patches and inflate the silent motif's count);
``"zero"``  the row is padded with zeros to whole patches (what the tokenizer does, so that
            every token of a row is encoded).

Keys (:class:`PatchKeys`): a patch is packed into one ``uint64`` when its values fit the bits
available per value, else its bytes are viewed as one fixed-size ``void`` value. Both sort,
unique and ``np.searchsorted`` exactly (no hashing).
"""

from __future__ import annotations

import numpy as np

from builders.errors import NeuralPileError


class PatchError(NeuralPileError, ValueError):
    """A patch size, pad policy or counts array patches cannot be cut from (the message names it)."""


PAD_POLICIES = ("drop", "zero")


#: Most tokens (neurons x time bins) in one patch: a motif is a row of this many bytes (64 KiB).
MAX_PATCH_TOKENS = 65_536


def check_patch_size(patch_size) -> tuple[int, int]:
    """``(p_n, p_t)`` as two positive ints of at most :data:`MAX_PATCH_TOKENS` tokens in all, or a
    :class:`PatchError` naming the bad value."""
    try:
        p_n, p_t = (int(v) for v in patch_size)
    except (TypeError, ValueError):
        raise PatchError(f"patch_size must be two positive integers (neurons, time bins), got {patch_size!r}") from None
    if p_n < 1 or p_t < 1:
        raise PatchError(f"patch_size must be two positive integers (neurons, time bins), got {patch_size!r}")
    if p_n * p_t > MAX_PATCH_TOKENS:
        raise PatchError(f"patch_size {p_n}x{p_t} holds {p_n * p_t:,} tokens; at most {MAX_PATCH_TOKENS:,} are allowed")
    return p_n, p_t


def check_pad(pad: str) -> str:
    if pad not in PAD_POLICIES:
        raise PatchError(f"pad must be one of {PAD_POLICIES}, got {pad!r}")
    return pad


def as_counts(counts, name: str = "counts") -> np.ndarray:
    """A 2-D uint8 array (no copy when it already is one), else a :class:`PatchError` naming ``name``."""
    arr = np.asarray(counts)
    if arr.ndim != 2:
        raise PatchError(f"{name} must be a 2-D (n_neurons, n_time_bins) array, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.integer) or (arr.size and (arr.min() < 0 or arr.max() > 255)):
            raise PatchError(f"{name} must hold uint8 spike counts (0..255), got dtype {arr.dtype}")
        arr = arr.astype(np.uint8)
    return arr


def grid_shape(shape: tuple[int, int], patch_size, pad: str) -> tuple[int, int]:
    """Patch rows and patch columns that tile an array of ``shape`` under ``pad``."""
    p_n, p_t = check_patch_size(patch_size)
    n, t = shape
    if check_pad(pad) == "drop":
        return n // p_n, t // p_t
    return -(-n // p_n), -(-t // p_t)


def patch_matrix(counts: np.ndarray, patch_size, pad: str = "drop") -> np.ndarray:
    """Every patch of ``counts`` as one row of a uint8 ``(n_patches, p_n * p_t)`` array.

    Patches come in grid order: patch row by patch row, each left to right in time.
    """
    p_n, p_t = check_patch_size(patch_size)
    counts = as_counts(counts)
    g_n, g_t = grid_shape(counts.shape, (p_n, p_t), pad)
    n_used, t_used = g_n * p_n, g_t * p_t
    if (n_used, t_used) == counts.shape:
        block = counts
    elif pad == "drop":
        block = counts[:n_used, :t_used]
    else:
        block = np.zeros((n_used, t_used), dtype=np.uint8)
        block[: counts.shape[0], : counts.shape[1]] = counts
    if p_n == 1:
        return np.ascontiguousarray(block).reshape(g_n * g_t, p_t)
    return block.reshape(g_n, p_n, g_t, p_t).transpose(0, 2, 1, 3).reshape(g_n * g_t, p_n * p_t)


class PatchKeys:
    """Exact sortable keys of patches of one width (``p_n * p_t`` values).

    *Packed* keys are uint64: each value takes ``bits`` bits (8 for widths up to 8, else
    ``64 // width``), so the silent patch is key 0. A patch matrix can be packed when its
    largest value is below ``2**bits`` (``packable``); spike counts in 20 ms bins almost always
    are (e.g. < 64 for 1x10 patches). Otherwise *byte* keys view each patch's bytes as one
    fixed-size ``void`` value. Both kinds sort, ``np.unique`` and ``np.searchsorted`` exactly.
    Patches wider than 64 values have no packed form (``bits == 0``): every patch is keyed
    bytewise, so any patch size is counted exactly.
    """

    def __init__(self, width: int):
        self.width = int(width)
        self.bits = 8 if self.width <= 8 else 64 // self.width
        self.limit = 1 << self.bits if self.bits else 0

    def packable(self, patches: np.ndarray) -> bool:
        return self.bits > 0 and (patches.size == 0 or int(patches.max()) < self.limit)

    def packed(self, patches: np.ndarray) -> np.ndarray:
        """uint64 keys of a packable uint8 ``(n, width)`` patch matrix."""
        n = len(patches)
        if n and not self.bits:
            raise PatchError(f"patches of {self.width} values have no packed key; use bytewise keys")
        if self.bits == 8:
            if self.width == 8 and patches.flags.c_contiguous:
                return patches.view("<u8").reshape(n)
            buf = np.zeros((n, 8), dtype=np.uint8)
            buf[:, : self.width] = patches
            return buf.view("<u8").reshape(n)
        keys = patches[:, 0].astype(np.uint64)
        for j in range(1, self.width):
            keys |= patches[:, j].astype(np.uint64) << np.uint64(self.bits * j)
        return keys

    def unpacked(self, keys: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`packed`: uint8 ``(n, width)`` patches."""
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        if not len(keys):
            return np.zeros((0, self.width), dtype=np.uint8)
        if self.bits == 8:
            return keys.view(np.uint8).reshape(len(keys), 8)[:, : self.width].copy()
        mask = np.uint64(self.limit - 1)
        out = np.empty((len(keys), self.width), dtype=np.uint8)
        for j in range(self.width):
            out[:, j] = (keys >> np.uint64(self.bits * j)) & mask
        return out

    def bytewise(self, patches: np.ndarray) -> np.ndarray:
        """Fixed-size void keys (any values)."""
        return np.ascontiguousarray(patches, dtype=np.uint8).view(np.dtype((np.void, self.width))).reshape(len(patches))

    def from_bytewise(self, keys: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(keys).view(np.uint8).reshape(len(keys), self.width).copy()
