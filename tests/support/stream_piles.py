"""Small piles the stream tests build by hand: reference-layout folders of given rows.

* :func:`write_reference_folder`: rows in the reference layout (five columns, no ``configs:`` in
  the card), cut into files and row groups of a chosen size;
* :func:`coded_row`: a row whose every count names its own time bin (``t % 251``) and neuron, so a
  window or a token tells where it was cut from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from builders.spec.schema import rows_to_table

FIVE = ["spike_counts", "subject_id", "session_id", "segment_id", "source_dataset"]


def write_reference_folder(folder: Path, rows: list[dict], *, splits=("train",), files: int = 1, row_group: int = 3):
    """Write ``rows`` (dicts of :func:`pile_folder.make_row`'s keys) as every split of ``splits``,
    in ``files`` Parquet files per split of ``row_group``-row row groups; returns ``folder``."""
    folder = Path(folder)
    table = rows_to_table(rows).select(FIVE)
    per_file = -(-table.num_rows // files)
    for split in splits:
        for k in range(files):
            path = folder / "data" / f"{split}-{k:05d}-of-{files:05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table.slice(k * per_file, per_file), path, row_group_size=row_group)
    (folder / "README.md").write_text("# a pile in the reference layout\n")
    return folder


def coded_row(component: str, subject: str, session: str, segment: int, n_neurons: int, n_bins: int) -> dict:
    """A row with ``counts[i, t] = (t + 7 * i) % 251``: every window of it has its own content."""
    counts = ((np.arange(n_bins)[None, :] + 7 * np.arange(n_neurons)[:, None]) % 251).astype(np.uint8)
    return {
        "spike_counts": counts,
        "subject_id": subject,
        "session_id": session,
        "segment_id": f"segment_{segment}",
        "source_dataset": component,
        "n_neurons": n_neurons,
        "n_time_bins": n_bins,
        "t_start": 0.0,
        "unit_ids": np.arange(n_neurons, dtype=np.int64),
        "unit_regions": [""] * n_neurons,
    }
