"""Reorder the neurons of every row of a pile into a new local dataset folder.

The input is any pile :func:`builders.pile.open_pile` opens (a local folder, a Hub repo, a
URL; this package's layout or the reference one). The output keeps the input's layout: one
output shard per input file at the same relative path, and the input card's ``configs:``, so
every config and split loads as before. Each row gets its
neurons in :func:`~builders.jobs.reorder.reorder_neurons` order: ``spike_counts``,
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

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import DatasetInfo, Features, List, Value

from builders.errors import NeuralPileError
from builders.jobs.reorder import reorder_neurons
from builders.pile import Pile, RowGroup, open_pile
from builders.runtime.executor import Executor, SerialExecutor, Task
from builders.spec.counts import counts_column, table_spike_counts
from builders.spec.features import FEATURES
from builders.storage.atomic import atomic_path, write_json_atomic
from builders.storage.card import write_card
from builders.storage.ownership import OutputFolderError, owned_output_folder

#: Row features of a reordered dataset: the pile's, plus the permutation applied to each row.
REORDERED_FEATURES = Features({**FEATURES, "neuron_order": List(Value("int32"))})
REORDERED_SCHEMA: pa.Schema = REORDERED_FEATURES.arrow_schema
NEURON_ORDER = pa.field("neuron_order", pa.list_(pa.int32()))
#: Per-neuron columns permuted with ``spike_counts`` when a pile has them.
NEURON_COLUMNS = ("unit_ids", "unit_regions")
#: Report of the last reordering run, written at the top of the output folder.
REORDER_REPORT = "reorder_report.json"
#: What :func:`builders.storage.ownership.claim_output_folder` records for a reordered folder.
OUT_KIND = "reordered dataset"


class RowReorderError(NeuralPileError, ValueError):
    """A row cannot be reordered; the message names the row, its session and the reason."""


@dataclass(frozen=True)
class ShardTask:
    """One input file (a path on the pile's filesystem) and where its reordered copy goes (local)."""

    source: str
    target: str
    split: str


def open_every_config(dataset: str) -> list[Pile]:
    """The pile once per config of its card, every split (a file shared by configs is reordered once)."""
    first = open_pile(dataset, None, None)
    piles = [first]
    for config in first.configs:
        if config != first.source.card_config:
            piles.append(open_pile(dataset, config, None))
    return piles


def plan_shards(piles: list[Pile], out_dir: str | Path) -> list[ShardTask]:
    """Every file of every config, mapped to the same relative path under ``out_dir``."""
    out_dir = Path(out_dir)
    source_root = piles[0].local_folder
    if source_root is not None and source_root.resolve() == out_dir.resolve():
        raise OutputFolderError(
            f"output folder {out_dir} is the input folder; write the reordered dataset elsewhere",
            argument="out_dir",
            label="output folder",
        )
    tasks: dict[str, ShardTask] = {}
    for pile in piles:
        for file in pile.files:
            tasks.setdefault(file.path, ShardTask(file.path, str(out_dir / pile.relative_path(file.path)), file.split))
    return list(tasks.values())


def _check_row(index: int, meta: dict, counts: np.ndarray) -> None:
    """Raise :class:`RowReorderError` unless the row's columns agree on its number of neurons."""
    where = f"row {index} (session {meta.get('session_id')!r}, {meta.get('segment_id')!r})"
    n = counts.shape[0]
    lengths = {name: len(meta[name]) for name in NEURON_COLUMNS if name in meta}
    if "n_neurons" in meta:
        lengths["n_neurons"] = meta["n_neurons"]
    bad = {k: v for k, v in lengths.items() if v != n}
    if bad:
        raise RowReorderError(f"{where}: spike_counts has {n} neurons but {bad}")
    if "n_time_bins" in meta and counts.shape[1] != meta["n_time_bins"]:
        raise RowReorderError(f"{where}: spike_counts has {counts.shape[1]} bins but n_time_bins={meta['n_time_bins']}")


def reordered_schema(schema: pa.Schema) -> pa.Schema:
    """A pile schema plus ``neuron_order`` (its ``datasets`` features metadata updated to match)."""
    base = schema.remove_metadata()
    if "neuron_order" in base.names:
        raise RowReorderError("not a pile shard: it is already reordered (has neuron_order)")
    if "spike_counts" not in base.names:
        raise RowReorderError(f"not a pile shard: no spike_counts column (columns: {', '.join(base.names)})")
    features = Features.from_arrow_schema(base.append(NEURON_ORDER))
    return features.arrow_schema


def reorder_table(table: pa.Table, first_row: int = 0) -> pa.Table:
    """Reorder every row of a table (pile columns) -> the same columns permuted, plus ``neuron_order``.

    ``first_row`` is the index of the table's first row in its file (for error messages).
    """
    try:
        counts = table_spike_counts(table)
    except ValueError as exc:
        raise RowReorderError(f"rows {first_row}..{first_row + table.num_rows - 1}: {exc}") from exc
    metas = table.drop_columns(["spike_counts"]).to_pylist()
    reordered, orders = [], []
    columns = {name: [] for name in NEURON_COLUMNS if name in table.column_names}
    for offset, (meta, row_counts) in enumerate(zip(metas, counts)):
        _check_row(first_row + offset, meta, row_counts)
        row_reordered, order = reorder_neurons(row_counts)
        reordered.append(row_reordered)
        orders.append(order.astype(np.int32))
        for name, values in columns.items():
            values.append([meta[name][j] for j in order])
    schema = reordered_schema(table.schema)
    arrays = []
    for field_ in schema:
        if field_.name == "spike_counts":
            arrays.append(counts_column(reordered).cast(field_.type))
        elif field_.name == "neuron_order":
            arrays.append(pa.array(orders, field_.type))
        elif field_.name in columns:
            arrays.append(pa.array(columns[field_.name], field_.type))
        else:
            arrays.append(table.column(field_.name))
    return pa.Table.from_arrays(arrays, schema=schema)


def is_complete(task: ShardTask, source_rows: int) -> bool:
    """Whether ``task.target`` already holds the reordered file (same row count, new column).

    Targets are only ever renamed into place once fully written, so this metadata check is enough.
    """
    target = Path(task.target)
    if not target.exists():
        return False
    try:
        done = pq.ParquetFile(target)
    except (OSError, pa.ArrowInvalid):
        return False
    return "neuron_order" in done.schema_arrow.names and done.metadata.num_rows == source_rows


class ReorderTask(Task):
    """Reorder one input file, row group by row group (memory: one row group); never raises.

    Returns a record: ``status`` is ``done``, ``skipped`` (complete output exists) or ``failed``
    (with ``error``; nothing is written), plus ``rows`` and ``tokens``. No timing: the same input
    gives the same report.
    """

    def __init__(self, pile: Pile):
        self.pile = pile

    def run(self, task: ShardTask) -> dict:
        record = {**asdict(task), "status": "done", "rows": 0, "tokens": 0}
        try:
            source = self.pile.parquet_file(task.source)
            if is_complete(task, source.metadata.num_rows):
                return {**record, "status": "skipped", "rows": source.metadata.num_rows}
            schema = reordered_schema(source.schema_arrow)
            with atomic_path(task.target) as tmp:
                with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                    for index in range(source.metadata.num_row_groups):
                        group = RowGroup(task.source, task.split, index, source.metadata.row_group(index).num_rows)
                        table = self.pile.read(group, source.schema_arrow.names)
                        out = reorder_table(table, first_row=record["rows"])
                        if out.num_rows == 0:
                            continue  # a 0-row row group makes datasets' Parquet reader fail (batch size 0)
                        writer.write_table(out, row_group_size=out.num_rows)
                        record["rows"] += out.num_rows
                        record["tokens"] += sum(int(c.size) for c in table_spike_counts(out))
        except Exception as exc:  # reported per file; the command exits non-zero
            record.update(status="failed", error=f"{task.source}: {type(exc).__name__}: {exc}")
        return record


def output_configs(pile: Pile, tasks: list[ShardTask], out_dir: Path) -> list[dict]:
    """The input card's ``configs:`` (its paths are relative, so they hold in the copy); without a
    card, one ``default`` config listing the files of each split."""
    if pile.card_configs:
        return [
            {"config_name": name, **{k: v for k, v in params.items() if k != "features"}}
            for name, params in pile.card_configs.items()
        ]
    by_split: dict[str, list[str]] = {}
    for task in tasks:
        by_split.setdefault(task.split, []).append(Path(task.target).relative_to(out_dir).as_posix())
    return [{"config_name": "default", "data_files": [{"split": s, "path": p} for s, p in by_split.items()]}]


def write_reordered_card(pile: Pile, tasks: list[ShardTask], out_dir: Path) -> Path:
    """Dataset card of a reordered folder: the input's configs, with the features of the reordered rows."""
    configs = output_configs(pile, tasks, out_dir)
    first = next((t.target for t in tasks if Path(t.target).exists()), None)
    schema = pq.read_schema(first) if first else REORDERED_SCHEMA
    features = DatasetInfo(features=Features.from_arrow_schema(schema))._to_yaml_dict()["features"]
    front = {
        "configs": configs,
        "dataset_info": [{"config_name": c["config_name"], "features": features} for c in configs],
    }
    names = [c["config_name"] for c in configs]
    source = pile.source
    origin = source.repo_id or source.dataset
    if source.commit:
        origin += f" at commit {source.commit}"
    body = f"""
# Rodent neural pile, neurons reordered

The rodent neural pile (20 ms spike counts, uint8 tokens) with the neurons of every row put in a
standard order: neurons with similar activity sit next to each other. Every config and split of the
source ({origin}) is kept, with one file per source file at the same path.

Order of a row: active neurons first, in the optimal leaf order (least summed cosine distance between
neighbours) of a Ward tree over their L2-normalised 20 ms count profiles; silent neurons (no spike in
the row) last, in recording order. `spike_counts` and the per-neuron columns (`unit_ids`,
`unit_regions`, where the source has them) are permuted together.

`neuron_order` (list of int32) is the permutation: `reordered = original[neuron_order]`. The recording
order comes back with

```python
import numpy as np
original = reordered[np.argsort(neuron_order)]
```

Configs: {", ".join(names)}.
"""
    return write_card(out_dir, front, body)


def finalize(pile: Pile, tasks: list[ShardTask], out_dir: str | Path, records: list[dict]) -> dict:
    """Write the card and the JSON report (each record's ``target`` relative to ``out_dir``: the
    same input gives the same report wherever it is written)."""
    out_dir = Path(out_dir)
    records = [{**r, "target": Path(r["target"]).relative_to(out_dir).as_posix()} for r in records]
    if any(r["status"] != "failed" for r in records):
        write_reordered_card(pile, tasks, out_dir)
    failed = [r for r in records if r["status"] == "failed"]
    report = {
        "source": pile.source.to_json(),
        "shards": len(records),
        "done": sum(r["status"] == "done" for r in records),
        "skipped": sum(r["status"] == "skipped" for r in records),
        "failed": len(failed),
        "rows": sum(r["rows"] for r in records if r["status"] != "failed"),
        "configs": pile.configs,
        "failures": [{"shard": r["source"], "error": r["error"]} for r in failed],
        "records": records,
    }
    write_json_atomic(out_dir / REORDER_REPORT, report)
    return report


def reorder_dataset(
    dataset: str | Path, out_dir: str | Path, *, executor: Executor | None = None, progress: bool = True
) -> dict:
    """Reorder every file of every config of the pile ``dataset`` into ``out_dir``; returns the report.

    Reruns skip files already written. ``executor`` runs one file per item (default: this process).

    Raises:
        PileError, ValueError: the pile cannot be opened, or ``out_dir`` is a non-empty folder
            that holds no earlier reordered dataset (nothing is written then).
    """
    piles = open_every_config(str(dataset))
    tasks = plan_shards(piles, out_dir)
    with owned_output_folder(out_dir, OUT_KIND, earlier=(REORDER_REPORT,)):
        outcomes = (executor or SerialExecutor()).map(
            ReorderTask(piles[0]), tasks, desc="reorder files", progress=progress
        )
        return finalize(piles[0], tasks, out_dir, [_record(o) for o in outcomes])


def _record(outcome) -> dict:
    """A file's record: the task's own, or a failure record for a task whose code raised."""
    if outcome.ok:
        return outcome.result
    return {
        **asdict(outcome.item),
        "status": "failed",
        "rows": 0,
        "tokens": 0,
        "error": f"{outcome.item.source}: {outcome.error}",
    }


def format_reorder_report(report: dict) -> str:
    """A few human-readable lines summarising a report."""
    lines = [
        f"files: {report['shards']} ({report['done']} reordered, {report['skipped']} already done, "
        f"{report['failed']} failed); rows: {report['rows']:,}; configs: {', '.join(report['configs'])}"
    ]
    lines += [f"FAILED {f['error']}" for f in report["failures"]]
    return "\n".join(lines)
