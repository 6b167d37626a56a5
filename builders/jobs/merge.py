"""The merged pile: every component's rows shuffled together into the reference layout.

::

    <out>/README.md                                   card: one ``default`` config, seed, attribution
    <out>/data/train-00000-of-00047.parquet ...       ~``shard_bytes`` each, rows of all components
    <out>/data/test-00000-of-00001.parquet
    <out>/.merge/params.json                          what made the folder (reruns must match)

Training code that reads rows in order (as the reference trainer does) then sees the components
mixed. This package's split is kept (``train`` rows stay in ``train``), and so are its extra
columns (``n_neurons``, ``t_start``, ``unit_ids`` ...) and ``source_dataset`` on every row.

The shuffle is a two-pass external shuffle, so memory stays at about one input row group plus
one output row group (``ROW_GROUP_TOKENS``) whatever the pile's and the shards' sizes:

1. plan: the rows of a split are numbered in input order (file, row group, row); a permutation
   drawn from ``numpy.random.default_rng([seed, split number])`` gives each row its position in
   the output; output shard ``j`` of ``n`` holds positions ``[j N / n, (j + 1) N / n)``.
2. scatter: each input row group is read once and each of its rows appended, with its position,
   as a row group of its own to a bucket file of its output shard
   (``.merge/work/<split>/<shard>/part-<part>.parquet``); parts are independent, parallel tasks.
3. gather: each output shard reads its bucket's position column, then its rows one at a time in
   position order, and writes them atomically in row groups of at most ``ROW_GROUP_TOKENS``
   tokens; shards are independent tasks too.

``n = ceil(compressed input bytes of the split / shard_bytes)``. The same input and seed give the
same files.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from builders.errors import NeuralPileError
from builders.pile import Pile, PileError, RowGroup, open_pile
from builders.runtime.executor import Executor, SerialExecutor, Task
from builders.spec.registry import registry
from builders.spec.split import SPLITS
from builders.storage.atomic import atomic_path, write_json_atomic
from builders.storage.attribution import pile_license, sources_section
from builders.storage.card import license_section, read_front_matter, write_card
from builders.storage.layout import CARD, REPORT, ROW_GROUP_TOKENS
from builders.storage.ownership import OutputFolderError, owned_output_folder
from builders.storage.record import FolderRecord
from builders.storage.report import BuildReport

logger = logging.getLogger(__name__)

#: Target size of an output shard in bytes (the reference pile's shards are about 1 GB).
SHARD_BYTES = 1_000_000_000
DEFAULT_SEED = 0
MERGE_DIR = ".merge"
POSITION = "__merge_position"


#: What :func:`builders.storage.ownership.claim_output_folder` records for a merged pile.
OUT_KIND = "merged pile"


class MergeError(NeuralPileError, ValueError):
    """The merge cannot run (bad input, a foreign or mismatched output folder)."""


#: The parameters record of a merged pile, relative to its folder.
PARAMS_FILE = f"{MERGE_DIR}/params.json"


@dataclass(frozen=True)
class MergeParameters(FolderRecord):
    """What made a merged pile (``.merge/params.json``); a rerun into the folder must match.

    Attributes:
        input: the input pile's Hub repo id, or the ``--in`` as given.
        commit: the input's commit (a Hub pile), else ``None``.
        config: the input's card config merged.
        seed: seed of the shuffle.
        shard_bytes: target size of an output shard, in bytes of input.
    """

    input: str
    commit: str | None
    config: str | None
    seed: int
    shard_bytes: int

    FILE: ClassVar[str] = PARAMS_FILE

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> MergeParameters:
        """Raises ValueError for a record that is not a merge parameters record."""
        if not isinstance(data, dict) or set(data) != {f.name for f in fields(cls)}:
            raise ValueError(f"not a merge parameters record: {data!r}")
        return cls(**data)


@dataclass
class SplitPlan:
    """The shuffle of one split: input row groups, output shard count, and every row's position."""

    split: str
    sources: list[RowGroup]
    n_shards: int
    n_rows: int
    seed: int
    positions: np.ndarray = field(repr=False, default=None)

    def shard_of(self, positions: np.ndarray) -> np.ndarray:
        """Output shard of each output position."""
        return positions * self.n_shards // max(self.n_rows, 1)

    def shard_name(self, shard: int) -> str:
        return f"{self.split}-{shard:05d}-of-{self.n_shards:05d}.parquet"


# --- the input, through builders.pile ------------------------------------------------------------


def open_input(dataset: str | Path, config: str | None) -> Pile:
    """The input pile's config, every split (a folder, a Hub repo or a URL; see :func:`open_pile`)."""
    try:
        pile = open_pile(dataset, config=config, splits=None)
    except PileError as exc:
        raise MergeError(str(exc), argument=exc.argument, label=exc.label) from None
    if pile.source_filter is not None:
        raise MergeError(
            f"config {config}: selects one component's rows of a merged pile; merge reads a whole "
            "config (choose one the card lists: " + ", ".join(pile.configs) + ")",
            argument="config",
        )
    unknown = sorted({f.split for f in pile.files} - set(SPLITS))
    if unknown:
        raise MergeError(
            f"pile {dataset}: split(s) {', '.join(unknown)} are not {' or '.join(SPLITS)}",
            argument="dataset",
            label="pile",
        )
    return pile


def plan_split(pile: Pile, split: str, seed: int, shard_bytes: int) -> SplitPlan:
    """Number the split's rows in input order and draw their output positions; the shard count
    follows the split's input bytes."""
    sources = [g for g in pile.row_groups() if g.split == split]
    n_rows = sum(g.num_rows for g in sources)
    input_bytes = sum(f.size for f in pile.files if f.split == split)
    n_shards = min(max(1, math.ceil(input_bytes / shard_bytes)), n_rows)
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    positions = rng.permutation(n_rows).astype(np.int64)
    return SplitPlan(split, sources, n_shards, n_rows, seed, positions)


def _bucket(work: Path, split: str, shard: int) -> Path:
    return work / split / f"{shard:05d}"


def scatter(pile: Pile, plan: SplitPlan, work: str | Path, part: int, source_indices: list[int]) -> int:
    """Read the given input row groups once each and append each row, with its output position,
    to the bucket of its output shard as a row group of its own. Returns the rows written."""
    work = Path(work)
    offsets = np.concatenate([[0], np.cumsum([r.num_rows for r in plan.sources])])
    writers: dict[int, tuple[pq.ParquetWriter, Path, Path]] = {}
    written = 0
    try:
        for i in source_indices:
            table = pile.read(plan.sources[i], columns=pile.schema().names)
            positions = plan.positions[offsets[i] : offsets[i + 1]]
            shards = plan.shard_of(positions)
            table = table.append_column(POSITION, pa.array(positions, pa.int64()))
            for row, shard in enumerate(shards.tolist()):
                if shard not in writers:
                    final = _bucket(work, plan.split, shard) / f"part-{part:05d}.parquet"
                    final.parent.mkdir(parents=True, exist_ok=True)
                    tmp = final.with_name(f".{final.name}.tmp")
                    writers[shard] = (pq.ParquetWriter(tmp, table.schema, compression="zstd"), tmp, final)
                writers[shard][0].write_table(table.slice(row, 1))  # one row group per row: gather reads rows
                written += 1
    except BaseException:
        for writer, tmp, _ in writers.values():
            writer.close()
            tmp.unlink(missing_ok=True)
        raise
    for writer, tmp, final in writers.values():
        writer.close()
        tmp.replace(final)  # a bucket part is complete or absent
    return written


def row_tokens(table: pa.Table) -> np.ndarray:
    """Tokens (neurons x bins) of each row, from the ``spike_counts`` list offsets."""
    counts = table.column("spike_counts").combine_chunks()
    outer = counts.offsets.to_numpy()
    inner = counts.values.offsets.to_numpy()
    return inner[outer[1:]] - inner[outer[:-1]]


def gather(plan: SplitPlan, work: str | Path, out: str | Path, shard: int) -> dict:
    """Write output shard ``shard`` from its bucket, rows in position order, streaming: rows are
    read one bucket row group (one row) at a time and written in row groups of at most
    ``ROW_GROUP_TOKENS`` tokens, so memory holds one output row group, never the shard."""
    parts = [pq.ParquetFile(p) for p in sorted(_bucket(Path(work), plan.split, shard).glob("part-*.parquet"))]
    order = []  # (position, part, row group) of every row of the shard
    for number, part in enumerate(parts):
        positions = part.read(columns=[POSITION]).column(0).to_numpy()
        order += [(int(pos), number, group) for group, pos in enumerate(positions)]
    order.sort()
    target = Path(out) / "data" / plan.shard_name(shard)
    components: dict[str, int] = {}
    with atomic_path(target) as tmp:
        writer = None
        batch, batch_tokens = [], 0
        try:
            for _, number, group in order:
                row = parts[number].read_row_group(group).drop_columns([POSITION])
                tokens = int(row_tokens(row)[0])
                if batch and batch_tokens + tokens > ROW_GROUP_TOKENS:
                    writer.write_table(pa.concat_tables(batch))
                    batch, batch_tokens = [], 0
                if writer is None:
                    writer = pq.ParquetWriter(tmp, row.schema, compression="zstd")
                name = row.column("source_dataset")[0].as_py()
                components[name] = components.get(name, 0) + 1
                batch.append(row)
                batch_tokens += tokens
            if batch:
                writer.write_table(pa.concat_tables(batch))
        finally:
            if writer is not None:
                writer.close()
    meta = pq.ParquetFile(target).metadata
    return {
        "file": target.name,
        "rows": meta.num_rows,
        "bytes": target.stat().st_size,
        "uncompressed_bytes": sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)),
        "components": dict(sorted(components.items())),
    }


# --- the whole merge -------------------------------------------------------------------------------


@dataclass
class ScatterTask(Task):
    """Items: ``(part, [source row-group indices])``; result: rows written."""

    pile: Pile
    plan: SplitPlan
    work: str

    def run(self, item: tuple[int, list[int]]) -> int:
        return scatter(self.pile, self.plan, self.work, *item)


@dataclass
class GatherTask(Task):
    """Items: output shard numbers; result: the shard's summary."""

    plan: SplitPlan
    work: str
    out: str

    def run(self, item: int) -> dict:
        return gather(self.plan, self.work, self.out, item)


def _mapped(executor: Executor, task: Task, items: list, what: str, progress: bool) -> list:
    outcomes = executor.map(task, items, desc=what, progress=progress)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise MergeError(f"{what}: {len(failed)} task(s) failed; first: {failed[0].error}")
    return [o.result for o in outcomes]


def _check_params(out: Path, params: MergeParameters) -> None:
    """Refuse an output folder merged with other parameters; record the parameters."""
    try:
        previous = MergeParameters.read(out)
    except ValueError as exc:
        raise MergeError(
            f"output folder {out}/{PARAMS_FILE}: {exc}; use another folder", argument="out", label="output folder"
        ) from None
    if previous is not None and previous != params:
        raise MergeError(
            f"output folder {out}: was merged with {previous.to_json()}, not {params.to_json()}; use another folder",
            argument="out",
            label="output folder",
        )
    params.write(out)


def _read_text(pile: Pile, name: str) -> str | None:
    """A file at the input pile's root (its card, its build report), or ``None``."""
    path = f"{pile.root}/{name}"
    try:
        if not pile.fs.exists(path):
            return None
        with pile.fs.open(path, "rb") as handle:
            return handle.read().decode("utf-8")
    except OSError:
        return None


def _sources_text(pile: Pile, components: list[str]) -> str:
    """The input card's "Sources and citation" section, or one made for the components found."""
    card = _read_text(pile, CARD)
    if card:
        match = re.search(r"^## Sources and citation\n.*?(?=^## |\Z)", card, re.MULTILINE | re.DOTALL)
        if match:
            return match.group(0).rstrip() + "\n"
    report = _read_text(pile, REPORT)
    versions = {}
    if report:
        versions = BuildReport.from_json(json.loads(report)).versions()
    return sources_section([c for c in components if _known(c)], versions)


def _known(component: str) -> bool:
    return component in registry()


def _input_license(pile: Pile, components: list[str]) -> str:
    card = _read_text(pile, CARD)
    license_ = read_front_matter(card).get("license") if card else None
    if license_:
        return license_
    return pile_license([c for c in components if _known(c)])


def write_merged_card(out: Path, pile: Pile, params: MergeParameters, shards: dict[str, list[dict]]) -> None:
    """The card of the merged pile: one ``default`` config, Hub-style ``dataset_info``, the seed,
    rows per component, and the input's attribution."""
    filled = [s for s in SPLITS if shards.get(s)]
    components: dict[str, int] = {}
    for items in shards.values():
        for item in items:
            for name, n in item["components"].items():
                components[name] = components.get(name, 0) + n
    schema = pq.ParquetFile(out / "data" / shards[filled[0]][0]["file"]).schema_arrow
    # datasets is loaded here, where a card is written, not with the module (`neural-pile --help`)
    from datasets import Features

    from builders.spec.features import FEATURES

    try:
        features = Features.from_arrow_schema(schema)
    except Exception:
        features = FEATURES
    front = {
        "license": _input_license(pile, sorted(components)),
        "tags": ["neuroscience", "spike-counts", "electrophysiology"],
        "configs": [
            {
                "config_name": "default",
                "default": True,
                "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in filled],
            }
        ],
        "dataset_info": [
            {
                "config_name": "default",
                "features": features._to_yaml_list(),
                "splits": [
                    {
                        "name": s,
                        "num_bytes": sum(i["uncompressed_bytes"] for i in shards[s]),
                        "num_examples": sum(i["rows"] for i in shards[s]),
                    }
                    for s in filled
                ],
                "download_size": sum(i["bytes"] for s in filled for i in shards[s]),
                "dataset_size": sum(i["uncompressed_bytes"] for s in filled for i in shards[s]),
            }
        ],
    }
    table = "\n".join(
        ["| component (`source_dataset`) | rows |", "|:--|--:|"]
        + [f"| {name} | {n:,} |" for name, n in sorted(components.items())]
    )
    files = ", ".join(f"{s}: {len(shards[s])} shard(s), {sum(i['rows'] for i in shards[s]):,} rows" for s in filled)
    body = f"""
# Rodent neural pile, merged and shuffled

The rows of every component of `{pile.source.label()}` (config `{params.config}`) in one `default`
config, shuffled together: {files}. Each row keeps its `source_dataset` (select a component with
`ds.filter(lambda r: r["source_dataset"] == "vbn")`), its split and every column of the input.

```python
from datasets import load_dataset
ds = load_dataset("<this folder or repo>", split="train")
```

Shuffle: a permutation drawn with `numpy.random.default_rng([{params.seed}, split number])` (split
numbers: {", ".join(f"{s}={i}" for i, s in enumerate(SPLITS))}) over the rows numbered in input order;
output shard `j` of `n` holds the permuted positions `[j N / n, (j + 1) N / n)`, about
{params.shard_bytes:,} bytes each. The same input and seed give the same files.

{table}

{license_section(front["license"], sorted(components))}
{_sources_text(pile, sorted(components))}"""
    write_card(out, front, body)


def merge_pile(
    dataset: str | Path,
    out: str | Path,
    *,
    config: str | None = None,
    seed: int = DEFAULT_SEED,
    shard_bytes: int = SHARD_BYTES,
    parts: int = 1,
    executor: Executor | None = None,
    progress: bool = False,
) -> dict:
    """Merge ``dataset`` into ``out`` (see the module doc); returns a summary per split.

    Args:
        dataset: the input pile: a folder, a Hub repo id or a URL (read through :func:`open_pile`).
        out: the merged pile's local folder (new, empty, or an earlier merge with the same parameters).
        config: the input config to merge (default: the card's default config).
        seed: seed of the shuffle (recorded in the card).
        shard_bytes: target size of an output shard in bytes (input bytes per output shard).
        parts: scatter tasks per split (each reads a contiguous share of the input row groups).
        executor: runs the scatter and gather tasks (default: this process).
        progress: progress bars.

    Raises:
        MergeError: the input or the output folder cannot be used, or a task failed (one line).
    """
    out = Path(out)
    if shard_bytes <= 0:
        raise MergeError(f"shard_bytes must be positive, got {shard_bytes}", argument="shard_bytes")
    if parts < 1:
        raise MergeError(f"parts must be at least 1, got {parts}", argument="parts")
    pile = open_input(dataset, config)
    executor = executor or SerialExecutor()
    source = pile.source
    params = MergeParameters(
        input=source.repo_id or str(dataset),
        commit=source.commit,
        config=source.card_config,
        seed=seed,
        shard_bytes=shard_bytes,
    )
    with ExitStack() as stack:
        try:  # the output folder is this merge's alone until it ends
            stack.enter_context(owned_output_folder(out, OUT_KIND, earlier=(PARAMS_FILE,)))
        except OutputFolderError as exc:
            raise MergeError(str(exc)) from None
        _check_params(out, params)
        return _merge_into(out, pile, params, executor, parts, progress)


def _merge_into(out: Path, pile: Pile, params: MergeParameters, executor: Executor, parts: int, progress: bool) -> dict:
    """The scatter and gather of every split into ``out`` (claimed and locked), then the card."""
    seed, shard_bytes = params.seed, params.shard_bytes
    work = out / MERGE_DIR / "work"
    if work.exists():
        shutil.rmtree(work)  # buckets of an interrupted run: cheaper to redo than to check
    summary = {}
    for split in SPLITS:
        plan = plan_split(pile, split, seed, shard_bytes)
        for stale in (out / "data").glob(f"{split}-*.parquet"):
            if not stale.name.endswith(f"-of-{plan.n_shards:05d}.parquet"):
                stale.unlink()  # an earlier merge of another input size
        if not plan.n_rows:
            summary[split] = []
            continue
        chunks = [c.tolist() for c in np.array_split(np.arange(len(plan.sources)), min(parts, len(plan.sources)))]
        _mapped(executor, ScatterTask(pile, plan, str(work)), list(enumerate(chunks)), f"scatter {split}", progress)
        summary[split] = _mapped(
            executor, GatherTask(plan, str(work), str(out)), list(range(plan.n_shards)), f"gather {split}", progress
        )
        logger.info("merged %s: %d rows into %d shards", split, plan.n_rows, plan.n_shards)
    shutil.rmtree(work, ignore_errors=True)
    if not any(summary.values()):
        raise MergeError(
            f"pile {params.input}: the config {params.config} holds no rows", argument="dataset", label="pile"
        )
    write_merged_card(out, pile, params, summary)
    summary_record = {"params": params.to_json(), "source": pile.source.to_json(), "splits": summary}
    write_json_atomic(out / MERGE_DIR / "summary.json", summary_record)
    return summary
