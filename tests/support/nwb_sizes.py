"""How many bytes of an NWB file are the data the pile reads (for byte-budget checks)."""

from __future__ import annotations

import h5py

#: Datasets the units reader reads when present (relative to the file root).
SPIKE_DATASETS = (
    "units/id",
    "units/spike_times",
    "units/spike_times_index",
    "units/electrodes",
    "units/electrodes_index",
    "units/location",
    "units/brain_area",
    "general/extracellular_ephys/electrodes/location",
)


def spike_data_bytes(path) -> dict[str, int]:
    """Stored size in bytes of each of :data:`SPIKE_DATASETS` present in the file at ``path``."""
    sizes = {}
    with h5py.File(path, "r") as f:
        for name in SPIKE_DATASETS:
            dataset = f.get(name)
            if isinstance(dataset, h5py.Dataset):
                sizes[name] = int(dataset.id.get_storage_size())
    return sizes
