"""The motif table on disk: a Parquet file of motifs and counts plus its metadata.

A motif table folder holds::

    motifs.parquet    motif (fixed_size_list<uint8>[p_n*p_t]), count (int64, patches),
                      probability (float64, count / total patches); most frequent first
    metadata.json     the same metadata as the Parquet schema metadata key ``neural_pile_motifs``
    top_motifs.png    figure of the most frequent motifs (written by the motifs command)

Metadata keys: ``patch_size`` [p_n, p_t], ``pad`` (edge policy), ``dataset``, ``configs``,
``splits``, ``rows`` (dataset rows read), ``total_patches``, ``unique_motifs``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from builders.errors import NeuralPileError
from builders.storage.atomic import atomic_path, write_text_atomic
from builders.storage.ownership import claim_output_folder, owned_output_folder
from tokenizer.patches import check_pad, check_patch_size


class MotifTableError(NeuralPileError, ValueError):
    """A motif table that is not one, or is not sorted and shaped as one (the message names the file)."""


class MotifTableMissing(NeuralPileError, FileNotFoundError):
    """No motif table at the path given (the message says how to write one)."""


TABLE_FILE = "motifs.parquet"
METADATA_FILE = "metadata.json"
FIGURE_FILE = "top_motifs.png"
METADATA_KEY = b"neural_pile_motifs"
ROW_GROUP = 1_000_000
#: What :func:`builders.storage.ownership.claim_output_folder` records for a motif table folder.
OUT_KIND = "motif table"


def claim_table_folder(out_dir) -> Path:
    """Create or reclaim a motif table folder; refuse a non-empty folder that is not one."""
    return claim_output_folder(out_dir, OUT_KIND, earlier=(TABLE_FILE,))


def owned_table_folder(out_dir):
    """:func:`claim_table_folder`, holding the folder's lock for the block (a job's whole run)."""
    return owned_output_folder(out_dir, OUT_KIND, earlier=(TABLE_FILE,))


@dataclass
class MotifTable:
    """Motifs, their counts (patches) and what was counted.

    Attributes:
        motifs: uint8 ``(M, p_n * p_t)``, most frequent first.
        counts: int64 ``(M,)`` patches.
        metadata: see the module docstring; ``patch_size`` and ``pad`` are always present.
    """

    motifs: np.ndarray
    counts: np.ndarray
    metadata: dict = field(default_factory=dict)

    @property
    def patch_size(self) -> tuple[int, int]:
        return tuple(self.metadata["patch_size"])

    @property
    def total_patches(self) -> int:
        return int(self.counts.sum())

    @property
    def probabilities(self) -> np.ndarray:
        total = self.total_patches
        return self.counts / total if total else np.zeros(len(self.counts))


def table_metadata(patch_size, pad: str, motifs: np.ndarray, counts: np.ndarray, **extra) -> dict:
    """The metadata dict of a freshly counted table (``extra``: dataset, configs, splits, rows)."""
    meta: dict[str, object] = {"patch_size": list(check_patch_size(patch_size)), "pad": check_pad(pad)}
    meta.update(extra)
    meta["total_patches"] = int(np.asarray(counts).sum())
    meta["unique_motifs"] = int(len(motifs))
    return meta


def write_motif_table(out_dir, table: MotifTable) -> Path:
    """Write ``motifs.parquet`` and ``metadata.json`` into ``out_dir``; return the Parquet path.

    Raises:
        builders.storage.ownership.OutputFolderError: ``out_dir`` is a non-empty folder that does
            not hold a motif table (nothing is written).
    """
    out = claim_table_folder(out_dir)
    width = int(np.prod(check_patch_size(table.metadata["patch_size"])))
    motifs = np.ascontiguousarray(table.motifs, dtype=np.uint8)
    counts = np.asarray(table.counts, dtype=np.int64)
    if motifs.ndim != 2 or motifs.shape[1] != width or len(motifs) != len(counts):
        raise MotifTableError(
            f"motifs {motifs.shape} / counts {counts.shape} do not fit patch size {table.metadata['patch_size']}"
        )
    if len(counts) > 1 and np.any(np.diff(counts) > 0):
        raise MotifTableError(
            "motif table must be sorted by count, most frequent first (see tokenizer.motifs.sort_motifs)"
        )
    meta_json = json.dumps(table.metadata, indent=2, sort_keys=True)
    schema = pa.schema(
        [("motif", pa.list_(pa.uint8(), width)), ("count", pa.int64()), ("probability", pa.float64())],
        metadata={METADATA_KEY: meta_json.encode()},
    )
    total = counts.sum()
    arrow = pa.Table.from_arrays(
        [
            pa.FixedSizeListArray.from_arrays(pa.array(motifs.ravel(), pa.uint8()), width),
            pa.array(counts),
            pa.array(counts / total if total else np.zeros(len(counts))),
        ],
        schema=schema,
    )
    path = out / TABLE_FILE
    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp, row_group_size=ROW_GROUP)
    write_text_atomic(out / METADATA_FILE, meta_json + "\n")
    return path


def read_motif_table(table_dir) -> MotifTable:
    """Read a folder written by :func:`write_motif_table` (or the Parquet file itself)."""
    path = Path(table_dir)
    if path.is_dir():
        path = path / TABLE_FILE
    if not path.is_file():
        raise MotifTableMissing(f"no motif table at {path} (run `neural-pile motifs ... --out DIR` first)")
    try:
        arrow = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise MotifTableError(f"{path}: not a readable Parquet motif table ({err})") from err
    raw = (arrow.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise MotifTableError(f"{path}: missing the {METADATA_KEY.decode()} schema metadata (not a motif table)")
    meta = json.loads(raw)
    width = int(np.prod(check_patch_size(meta.get("patch_size"))))
    field_type = arrow.schema.field("motif").type if "motif" in arrow.schema.names else None
    if field_type != pa.list_(pa.uint8(), width) or "count" not in arrow.schema.names:
        raise MotifTableError(
            f"{path}: expected columns motif fixed_size_list<uint8>[{width}] and count, got {arrow.schema}"
        )
    motif_col = arrow.column("motif").combine_chunks() if arrow.num_rows else None
    motifs = (
        motif_col.values.to_numpy(zero_copy_only=False).reshape(-1, width)
        if motif_col is not None
        else np.zeros((0, width), np.uint8)
    )
    counts = arrow.column("count").to_numpy().astype(np.int64, copy=False)
    return MotifTable(motifs=np.ascontiguousarray(motifs), counts=counts, metadata=meta)
