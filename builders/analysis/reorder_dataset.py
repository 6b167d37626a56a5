"""Reorder the neurons of every row of a built dataset folder into a new dataset folder.

The output keeps the input's layout (``data/<component>/<split>-*.parquet``, one output shard
per input shard, same file names) and therefore every config and split. Each row gets its
neurons in :func:`~builders.analysis.reorder.reorder_neurons` order: ``spike_counts``,
``unit_ids`` and ``unit_regions`` are permuted together, and a ``neuron_order`` column
(``list<int32>``, ``reordered = original[neuron_order]``) records the permutation, so the
recording order comes back with ``original = reordered[argsort(neuron_order)]``.

Shards are written atomically (temporary file, then rename), so an output shard that exists
is complete; a rerun skips it (resume). A row that cannot be reordered (inconsistent shapes,
unreadable counts) makes its whole shard fail: the shard is not written, the failure is listed
in ``reorder_report.json`` with its row, session and reason, and the command exits non-zero.
No row ever passes through in its original order.

The unit of work, :func:`reorder_shard`, is the same for the local command and the Ray job.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from datasets import DatasetInfo, Features, List, Value

from ..output.card import card_yaml
from ..output.layout import CARD, DATA_DIR, built_components
from ..output.ownership import claim_output_folder
from ..output.shards import atomic_path, write_json_atomic, write_text_atomic
from ..schema import COLUMNS, FEATURES, rows_to_table, table_spike_counts
from ..split import SPLITS
from .reorder import reorder_neurons

#: Row features of a reordered dataset: the pile's, plus the permutation applied to each row.
REORDERED_FEATURES = Features({**FEATURES, "neuron_order": List(Value("int32"))})
REORDERED_SCHEMA: pa.Schema = REORDERED_FEATURES.arrow_schema
#: Report of the last reordering run, written at the top of the output folder.
REORDER_REPORT = "reorder_report.json"
#: What :func:`builders.output.ownership.claim_output_folder` records for a reordered folder.
OUT_KIND = "reordered dataset"


class RowReorderError(ValueError):
    """A row cannot be reordered; the message names the row, its session and the reason."""


@dataclass(frozen=True)
class ShardTask:
    """One input shard and where its reordered copy goes (plain strings: cheap to ship to Ray)."""

    source: str
    target: str
    component: str
    split: str


def plan_shards(in_dir: str | Path, out_dir: str | Path) -> list[ShardTask]:
    """Every shard of every built component of ``in_dir``, mapped to the same path under ``out_dir``."""
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if not (in_dir / DATA_DIR).is_dir():
        raise FileNotFoundError(f"--in {in_dir}: not a dataset folder (no {DATA_DIR}/ inside)")
    if in_dir.resolve() == out_dir.resolve():
        raise ValueError(f"--out {out_dir} is the input folder; write the reordered dataset elsewhere")
    components = built_components(in_dir)
    if not components:
        raise FileNotFoundError(f"--in {in_dir}: no {DATA_DIR}/<component>/*.parquet shards found")
    tasks = []
    for component in components:
        for source in sorted((in_dir / DATA_DIR / component).glob("*.parquet")):
            split = source.name.split("-", 1)[0]
            if split not in SPLITS:
                raise ValueError(f"{source}: file name does not start with a split ({', '.join(SPLITS)})")
            target = out_dir / DATA_DIR / component / source.name
            tasks.append(ShardTask(str(source), str(target), component, split))
    return tasks


def _check_row(index: int, meta: dict, counts: np.ndarray) -> None:
    """Raise :class:`RowReorderError` unless the row's columns agree on its number of neurons."""
    where = f"row {index} (session {meta.get('session_id')!r}, {meta.get('segment_id')!r})"
    n = counts.shape[0]
    lengths = {"n_neurons": meta["n_neurons"], "unit_ids": len(meta["unit_ids"]), "unit_regions": len(meta["unit_regions"])}
    bad = {k: v for k, v in lengths.items() if v != n}
    if bad:
        raise RowReorderError(f"{where}: spike_counts has {n} neurons but {bad}")
    if counts.shape[1] != meta["n_time_bins"]:
        raise RowReorderError(f"{where}: spike_counts has {counts.shape[1]} bins but n_time_bins={meta['n_time_bins']}")


def reorder_table(table: pa.Table, first_row: int = 0) -> pa.Table:
    """Reorder every row of a shard table (pile schema) -> table with :data:`REORDERED_SCHEMA`.

    ``first_row`` is the index of the table's first row in its shard (for error messages).
    """
    try:
        counts = table_spike_counts(table)
    except ValueError as exc:
        raise RowReorderError(f"rows {first_row}..{first_row + table.num_rows - 1}: {exc}") from exc
    metas = table.drop_columns(["spike_counts"]).to_pylist()
    rows, orders = [], []
    for offset, (meta, row_counts) in enumerate(zip(metas, counts)):
        _check_row(first_row + offset, meta, row_counts)
        reordered, order = reorder_neurons(row_counts)
        meta["spike_counts"] = reordered
        meta["unit_ids"] = np.asarray(meta["unit_ids"], dtype=np.int64)[order]
        meta["unit_regions"] = [meta["unit_regions"][j] for j in order]
        rows.append(meta)
        orders.append(order.astype(np.int32))
    base = rows_to_table(rows)
    neuron_order = pa.array(orders, type=pa.list_(pa.int32())) if orders else pa.array([], pa.list_(pa.int32()))
    return pa.Table.from_arrays([*base.columns, neuron_order], schema=REORDERED_SCHEMA)


def is_complete(task: ShardTask) -> bool:
    """Whether ``task.target`` already holds the reordered shard (same row count, new column).

    Targets are only ever renamed into place once fully written, so this metadata check is enough.
    """
    target = Path(task.target)
    if not target.exists():
        return False
    try:
        done = pq.ParquetFile(target)
    except (OSError, pa.ArrowInvalid):
        return False
    return "neuron_order" in done.schema_arrow.names and done.metadata.num_rows == pq.ParquetFile(task.source).metadata.num_rows


def reorder_shard(task: ShardTask) -> dict:
    """Reorder one shard (row group by row group, so memory stays bounded); never raises.

    Returns a record: ``status`` is ``done``, ``skipped`` (complete output exists) or
    ``failed`` (with ``error``; nothing is written), plus ``rows``, ``tokens`` and ``seconds``.
    """
    record = {**asdict(task), "status": "done", "rows": 0, "tokens": 0, "seconds": 0.0}
    started = time.perf_counter()
    try:
        if is_complete(task):
            meta = pq.ParquetFile(task.target).metadata
            return {**record, "status": "skipped", "rows": meta.num_rows}
        source = pq.ParquetFile(task.source)
        missing = [c for c in COLUMNS if c not in source.schema_arrow.names]
        if missing or "neuron_order" in source.schema_arrow.names:
            why = f"missing columns {missing}" if missing else "it is already reordered (has neuron_order)"
            raise RowReorderError(f"not a pile shard: {why}")
        with atomic_path(task.target) as tmp:
            with pq.ParquetWriter(tmp, REORDERED_SCHEMA, compression="zstd") as writer:
                for group in range(source.num_row_groups):
                    table = source.read_row_group(group, columns=list(COLUMNS))
                    out = reorder_table(table, first_row=record["rows"])
                    if out.num_rows == 0:
                        continue  # a 0-row row group makes datasets' Parquet reader fail (batch size 0)
                    writer.write_table(out, row_group_size=out.num_rows)
                    record["rows"] += out.num_rows
                    sizes = out.column("n_neurons").to_numpy().astype(np.int64) * out.column("n_time_bins").to_numpy()
                    record["tokens"] += int(sizes.sum())
    except Exception as exc:  # reported per shard; the driver exits non-zero
        record.update(status="failed", error=f"{task.source}: {type(exc).__name__}: {exc}")
    record["seconds"] = round(time.perf_counter() - started, 3)
    return record


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated blocks in full (no ``&id001`` anchors), as dataset cards usually are."""

    def ignore_aliases(self, data) -> bool:
        return True


def card_text(out_dir: str | Path, components: list[str]) -> str:
    """Dataset card of a reordered folder: a config per component + ``all``, with their features."""
    front = yaml.safe_load(card_yaml(Path(out_dir), components).strip().strip("-"))  # splits with rows only
    configs = front["configs"]
    features = DatasetInfo(features=REORDERED_FEATURES)._to_yaml_dict()["features"]
    front = {
        **front,
        "dataset_info": [{"config_name": c["config_name"], "features": features} for c in configs],
    }
    names = [c["config_name"] for c in configs]
    return "---\n" + yaml.dump(front, Dumper=_PlainDumper, sort_keys=False) + f"""---

# Rodent neural pile, neurons reordered

The rodent neural pile (20 ms spike counts, uint8 tokens) with the neurons of every row put in a
standard order: neurons with similar activity sit next to each other. Every config and split of the
source folder is kept, with one shard per source shard.

Order of a row: active neurons first, in the optimal leaf order (least summed cosine distance between
neighbours) of a Ward tree over their L2-normalised 20 ms count profiles; silent neurons (no spike in
the row) last, in recording order. `spike_counts`, `unit_ids` and `unit_regions` are permuted together.

`neuron_order` (list of int32) is the permutation: `reordered = original[neuron_order]`. The recording
order comes back with

```python
import numpy as np
original = reordered[np.argsort(neuron_order)]
```

Configs: {", ".join(names)}. A split with no row is left out of its config.
"""


def finalize(in_dir: str | Path, out_dir: str | Path, records: list[dict]) -> dict:
    """Write the card (for every component now present in ``out_dir``) and the JSON report."""
    out_dir = Path(out_dir)
    components = built_components(out_dir)
    if components:
        write_text_atomic(out_dir / CARD, card_text(out_dir, components))
    failed = [r for r in records if r["status"] == "failed"]
    report = {
        "source": str(in_dir),
        "shards": len(records),
        "done": sum(r["status"] == "done" for r in records),
        "skipped": sum(r["status"] == "skipped" for r in records),
        "failed": len(failed),
        "rows": sum(r["rows"] for r in records if r["status"] != "failed"),
        "components": components,
        "failures": [{"shard": r["source"], "error": r["error"]} for r in failed],
        "records": records,
    }
    write_json_atomic(out_dir / REORDER_REPORT, report)
    return report


def run_serial(tasks: list[ShardTask], progress: bool = True) -> list[dict]:
    """Reorder shards one after the other in this process, with a progress bar."""
    from tqdm import tqdm

    return [reorder_shard(t) for t in tqdm(tasks, desc="reorder shards", unit="shard", disable=not progress)]


def reorder_dataset(in_dir: str | Path, out_dir: str | Path, *,
                    execute: Callable[[list[ShardTask]], list[dict]] | None = None, progress: bool = True) -> dict:
    """Reorder a whole dataset folder into ``out_dir``; returns the report (also saved as JSON).

    ``execute`` runs the shard tasks (default: :func:`run_serial`; the Ray job passes its own).

    Raises:
        FileNotFoundError, ValueError: ``in_dir`` is not a dataset folder, or ``out_dir`` is a
            non-empty folder that holds no earlier reordered dataset (nothing is written then).
    """
    tasks = plan_shards(in_dir, out_dir)
    claim_output_folder(out_dir, OUT_KIND, earlier=(REORDER_REPORT,))
    records = execute(tasks) if execute is not None else run_serial(tasks, progress)
    return finalize(in_dir, out_dir, records)


def format_reorder_report(report: dict) -> str:
    """A few human-readable lines summarising a report."""
    lines = [
        f"shards: {report['shards']} ({report['done']} reordered, {report['skipped']} already done, "
        f"{report['failed']} failed); rows: {report['rows']:,}; configs: {', '.join(report['components'])}"
    ]
    lines += [f"FAILED {f['error']}" for f in report["failures"]]
    return "\n".join(lines)
