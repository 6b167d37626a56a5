"""A small pile in the reference project's published layout, written with ``datasets``.

The layout ``Dataset.push_to_hub`` leaves: one ``default`` config, the rows of every component
shuffled together in ``data/train-XXXXX-of-XXXXX.parquet`` and ``data/test-...``, only the five
reference columns (``spike_counts`` ``list<list<uint8>>``, ``subject_id``, ``session_id``,
``segment_id``, ``source_dataset``), and a card whose YAML holds ``dataset_info`` (features,
per-split ``num_bytes``/``num_examples``, sizes) and ``configs: [default: data/{split}-*]``.

Rows come from :func:`pile_folder.make_row` (the analysis tests' generator). What was written
is returned as :class:`ReferencePile`, the ground truth for tests (rows per component, token
value counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetInfo, Features
from datasets.arrow_writer import get_writer_batch_size_from_data_size, get_writer_batch_size_from_features
from datasets.info import DatasetInfosDict
from datasets.splits import SplitDict, SplitInfo
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from builders.spec.features import FEATURES
from tests.support.pile_folder import DEFAULT_COMPONENTS, grouped_counts, make_row

REFERENCE_COLUMNS = ("spike_counts", "subject_id", "session_id", "segment_id", "source_dataset")
REFERENCE_FEATURES = Features({name: FEATURES[name] for name in REFERENCE_COLUMNS})  # the published five
SPLITS = ("train", "test")


@dataclass
class ReferencePile:
    """What :func:`write_reference_pile` wrote.

    Attributes:
        folder: the pile folder (serve it with ``HubStandIn.add_repo``).
        rows: ``{split: [row, ...]}`` in file order; a row holds the five columns, ``spike_counts``
            as a uint8 ``(n_neurons, n_time_bins)`` array.
        files: ``{split: [path relative to folder, ...]}``.
    """

    folder: Path
    rows: dict[str, list[dict]]
    files: dict[str, list[str]]

    @property
    def components(self) -> list[str]:
        return sorted({r["source_dataset"] for rows in self.rows.values() for r in rows})

    def select(self, component: str | None = None, splits=SPLITS) -> list[dict]:
        """Rows of ``splits`` (in file order) whose ``source_dataset`` is ``component`` (None: all)."""
        return [
            r for s in splits for r in self.rows.get(s, []) if component is None or r["source_dataset"] == component
        ]

    def n_rows(self, component: str | None = None, splits=SPLITS) -> int:
        return len(self.select(component, splits))

    def n_tokens(self, component: str | None = None, splits=SPLITS) -> int:
        return sum(r["spike_counts"].size for r in self.select(component, splits))

    def value_counts(self, component: str | None = None, splits=SPLITS) -> np.ndarray:
        """int64 ``(256,)``: how many tokens hold each count value 0..255."""
        total = np.zeros(256, np.int64)
        for row in self.select(component, splits):
            total += np.bincount(row["spike_counts"].ravel(), minlength=256)
        return total


def reference_rows(
    components: dict[str, tuple[int, int]] = DEFAULT_COMPONENTS,
    seed: int = 0,
    counts_fn=grouped_counts,
    shape_scale: float = 1.0,
) -> dict[str, list[dict]]:
    """``{split: rows}``: 1-3 segments per session from :func:`pile_folder.make_row`, five columns.

    ``components`` maps a name to (train sessions, test sessions); ``shape_scale`` multiplies
    the neuron and bin counts (benchmarks use it to make bigger rows).
    """
    rng = np.random.default_rng(seed)
    rows: dict[str, list[dict]] = {split: [] for split in SPLITS}
    for component, sessions in components.items():
        for split, n_sessions in zip(SPLITS, sessions, strict=True):
            for s in range(n_sessions):
                n_segments = int(rng.integers(1, 4))
                for k in range(n_segments):
                    n_neurons = max(1, int(rng.integers(5, 40) * shape_scale))
                    n_bins = max(1, int(rng.integers(50, 400) * shape_scale))
                    row = make_row(
                        rng, component, f"sub-{s}", f"{component}-{split}-{s}", k, n_neurons, n_bins, counts_fn
                    )
                    rows[split].append({c: row[c] for c in REFERENCE_COLUMNS})
    return rows


def write_reference_pile(
    out: Path,
    components: dict[str, tuple[int, int]] = DEFAULT_COMPONENTS,
    seed: int = 0,
    *,
    num_shards: dict[str, int] | None = None,
    row_group_rows: int | None = None,
    shuffle: bool = True,
    counts_fn=grouped_counts,
    shape_scale: float = 1.0,
    rows: dict[str, list[dict]] | None = None,
) -> ReferencePile:
    """Write the pile into ``out`` (a new or empty folder) and return what was written.

    Args:
        num_shards: Parquet files per split (default 2 train, 1 test; never more than rows).
        row_group_rows: rows per Parquet row group (default: what ``push_to_hub`` picks,
            row groups of ~100 MB).
        shuffle: shuffle each split's rows across components (the reference layout); False keeps
            them grouped by component, so row-group statistics can rule components out.
        rows: ``{split: [row, ...]}`` to write instead of generated ones (e.g. the rows of
            :func:`pile_folder.write_pile_folder`; columns beyond the five are dropped).
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: not empty")
    rng = np.random.default_rng(seed + 1)
    num_shards = {"train": 2, "test": 1, **(num_shards or {})}
    if rows is None:
        split_rows = reference_rows(components, seed, counts_fn, shape_scale)
    else:
        split_rows = {s: [{c: r[c] for c in REFERENCE_COLUMNS} for r in rows.get(s, [])] for s in SPLITS}
    written: dict[str, list[dict]] = {}
    files: dict[str, list[str]] = {}
    info = DatasetInfo(
        config_name="default", features=REFERENCE_FEATURES, splits=SplitDict(), download_size=0, dataset_size=0
    )
    for split in SPLITS:
        rows = split_rows[split]
        if not rows:
            continue
        if shuffle:
            rows = [rows[i] for i in rng.permutation(len(rows))]
        dataset = _as_dataset(rows)
        batch = (
            row_group_rows
            or get_writer_batch_size_from_features(REFERENCE_FEATURES)
            or get_writer_batch_size_from_data_size(len(dataset), dataset.data.nbytes)
        )
        n_files = min(num_shards[split], len(rows))
        files[split] = []
        for index in range(n_files):
            relative = f"data/{split}-{index:05d}-of-{n_files:05d}.parquet"
            (out / "data").mkdir(parents=True, exist_ok=True)
            shard = dataset.shard(num_shards=n_files, index=index, contiguous=True)
            shard.to_parquet(str(out / relative), batch_size=batch)
            info.download_size += (out / relative).stat().st_size
            files[split].append(relative)
        info.splits.add(SplitInfo(name=split, num_bytes=dataset.data.nbytes, num_examples=len(rows)))
        info.dataset_size += dataset.data.nbytes
        written[split] = rows
    info.size_in_bytes = info.download_size + info.dataset_size
    card_data = DatasetCardData()
    DatasetInfosDict({"default": info}).to_dataset_card_data(card_data)
    MetadataConfigs(
        {"default": {"data_files": [{"split": s, "path": f"data/{s}-*"} for s in files]}}
    ).to_dataset_card_data(card_data)
    DatasetCard(f"---\n{card_data}\n---\n").save(out / "README.md")
    return ReferencePile(out, written, files)


def _as_dataset(rows: list[dict]) -> Dataset:
    """The rows as a ``datasets.Dataset`` (``datasets`` itself converts the 2-D arrays)."""
    return Dataset.from_dict({c: [r[c] for r in rows] for c in REFERENCE_COLUMNS}, features=REFERENCE_FEATURES)
