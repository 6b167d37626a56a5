"""Cutting spike-count rows into patches, and patches into sortable integer keys.

A *patch* (or motif) is a ``p_n x p_t`` block of a uint8 ``(n_neurons, n_time_bins)`` array:
``p_n`` neurons by ``p_t`` time bins. Patches tile a row from its origin (neuron 0, bin 0).
A patch is stored flat, row-major, as ``p_n * p_t`` uint8 values (its *width*).

Edge patches that would run past the last neuron or bin are handled by a padding policy:

``"drop"``  incomplete edge patches are left out (the default for counting: zero padding would
            add made-up silent patches and inflate the silent motif's count);
``"zero"``  the row is padded with zeros to whole patches (what the tokenizer does, so that
            every token of a row is encoded).

Keys: a patch of width <= 8 is packed into one little-endian ``uint64`` (the silent patch is
key 0); wider patches use a fixed-size ``void`` view of their bytes. Both sort, unique and
``np.searchsorted`` like integers, and the mapping is exact (no hashing).
"""

from __future__ import annotations

import numpy as np

PAD_POLICIES = ("drop", "zero")
#: Widest patch (in values) packed into one uint64 key.
PACKED_WIDTH = 8


def check_patch_size(patch_size) -> tuple[int, int]:
    """``(p_n, p_t)`` as two positive ints, or a ValueError naming the bad value."""
    try:
        p_n, p_t = (int(v) for v in patch_size)
    except (TypeError, ValueError):
        raise ValueError(f"patch_size must be two positive integers (neurons, time bins), got {patch_size!r}") from None
    if p_n < 1 or p_t < 1:
        raise ValueError(f"patch_size must be two positive integers (neurons, time bins), got {patch_size!r}")
    return p_n, p_t


def check_pad(pad: str) -> str:
    if pad not in PAD_POLICIES:
        raise ValueError(f"pad must be one of {PAD_POLICIES}, got {pad!r}")
    return pad


def as_counts(counts, name: str = "counts") -> np.ndarray:
    """A 2-D uint8 array (no copy when it already is one), else a ValueError naming ``name``."""
    arr = np.asarray(counts)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_neurons, n_time_bins) array, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.integer) or (arr.size and (arr.min() < 0 or arr.max() > 255)):
            raise ValueError(f"{name} must hold uint8 spike counts (0..255), got dtype {arr.dtype}")
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


def key_dtype(width: int) -> np.dtype:
    """The key type of patches of ``width`` values: uint64 if packed, else fixed-size void."""
    return np.dtype(np.uint64) if width <= PACKED_WIDTH else np.dtype((np.void, width))


def patch_keys(patches: np.ndarray) -> np.ndarray:
    """1-D keys of a uint8 ``(n, width)`` patch matrix (see module docstring)."""
    n, width = patches.shape
    if width <= PACKED_WIDTH:
        if width == PACKED_WIDTH and patches.flags.c_contiguous:
            return patches.view("<u8").reshape(n)
        packed = np.zeros((n, PACKED_WIDTH), dtype=np.uint8)
        packed[:, :width] = patches
        return packed.view("<u8").reshape(n)
    return np.ascontiguousarray(patches).view(key_dtype(width)).reshape(n)


def keys_to_patches(keys: np.ndarray, width: int) -> np.ndarray:
    """Inverse of :func:`patch_keys`: uint8 ``(n, width)`` patches (a new array)."""
    keys = np.ascontiguousarray(keys)
    if width <= PACKED_WIDTH:
        return keys.astype("<u8", copy=False).view(np.uint8).reshape(len(keys), PACKED_WIDTH)[:, :width].copy()
    return keys.view(np.uint8).reshape(len(keys), width).copy()


def nonzero_mask(keys: np.ndarray, patches: np.ndarray) -> np.ndarray:
    """True where a patch holds at least one spike (cheap on packed keys)."""
    if keys.dtype == np.uint64:
        return keys != 0
    return patches.any(axis=1)
