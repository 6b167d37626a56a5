"""Opening an NWB (HDF5) asset with h5py and turning every low-level failure into ReaderError.

Only h5py is used here: it reads exactly the datasets a reader asks for, which is what keeps a
streamed file cheap (pynwb's ``NWBHDF5IO.read`` builds the whole object tree first).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import h5py
import numpy as np

from builders.readers.base import ReaderError

#: Region labels that mean "not known" in archive files; reported as "".
_UNKNOWN_REGIONS = frozenset({"", "unknown", "none", "nan", "n/a", "na", "null", "undefined"})


@contextmanager
def open_nwb(handle, asset) -> Iterator[h5py.File]:
    """Open ``handle`` (a path or a seekable binary file object) as an NWB file for reading.

    Raises:
        ReaderError: naming ``asset.path`` when the bytes are not HDF5, are truncated, are
            HDF5 but not NWB, or an HDF5 read fails inside the ``with`` block.
    """
    if hasattr(handle, "read"):
        # Fetch the superblock before h5py sees the object: a read that fails while h5py is
        # opening a Python file object leaves HDF5 state behind that crashes the interpreter
        # at exit. Failing here raises the stream's own error (naming the asset) instead.
        handle.seek(0)
        handle.read(512)
        handle.seek(0)
    try:
        f = h5py.File(handle, "r")
    except (OSError, ValueError) as exc:
        raise ReaderError(f"{asset.path}: not a readable HDF5/NWB file (not HDF5, or truncated): {exc}") from exc
    try:
        if "nwb_version" not in f.attrs and _text(f.attrs.get("neurodata_type", "")) != "NWBFile":
            raise ReaderError(f"{asset.path}: HDF5 file without the NWB root attributes (nwb_version / neurodata_type)")
        yield f
    except (OSError, KeyError) as exc:
        raise ReaderError(f"{asset.path}: failed reading the file (truncated or damaged?): {exc}") from exc
    finally:
        f.close()


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        return _text(value.item())
    return str(value)


def read_strings(dataset: h5py.Dataset) -> list[str]:
    """A 1-D string dataset (variable or fixed length) as Python strings."""
    values = dataset[()]
    return [_text(v) for v in np.asarray(values).ravel()]


def normalize_region(label: str) -> str:
    """A region label stripped, with placeholders such as ``unknown`` or ``nan`` mapped to ""."""
    label = label.strip()
    return "" if label.lower() in _UNKNOWN_REGIONS else label
