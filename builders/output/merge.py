"""The merged pile: every component's rows shuffled together into the reference layout.

::

    <out>/README.md                                   card: one ``default`` config, seed, attribution
    <out>/data/train-00000-of-00047.parquet ...       ~``shard_bytes`` each, rows of all components
    <out>/data/test-00000-of-00001.parquet
    <out>/.merge/params.json                          what made the folder (reruns must match)

Training code that reads rows in order (as the reference trainer does) then sees the components
mixed. This package's split is kept (``train`` rows stay in ``train``), and so are its extra
columns (``n_neurons``, ``t_start``, ``unit_ids`` ...) and ``source_dataset`` on every row.

The shuffle is a two-pass external shuffle, so memory stays at about two output shards plus one
input row group whatever the pile's size:

1. plan: the rows of a split are numbered in input order (file, row group, row); a permutation
   drawn from ``numpy.random.default_rng([seed, split number])`` gives each row its position in
   the output; output shard ``j`` of ``n`` holds positions ``[j N / n, (j + 1) N / n)``.
2. scatter: each input row group is read once and its rows appended, with their position, to a
   bucket file per output shard (``.merge/<split>/<shard>/part-<part>.parquet``); parts are
   independent, so they run as parallel tasks.
3. gather: each output shard reads only its bucket, sorts it by position and writes the shard
   atomically, one row group per ``ROW_GROUP_TOKENS``; shards are independent tasks too.

``n = ceil(compressed input bytes of the split / shard_bytes)``. The same input and seed give the
same files.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from ..split import SPLITS
from .attribution import pile_license, sources_section
from .layout import ALL, CARD, REPORT, built_components, config_components, shard_files
from .shards import ROW_GROUP_TOKENS, atomic_path, write_json_atomic, write_text_atomic

logger = logging.getLogger(__name__)

#: Target size of an output shard in bytes (the reference pile's shards are about 1 GB).
SHARD_BYTES = 1_000_000_000
DEFAULT_SEED = 0
MERGE_DIR = ".merge"
POSITION = "__merge_position"


class MergeError(ValueError):
    """The merge cannot run (bad input, a foreign or mismatched output folder)."""


@dataclass(frozen=True)
class RowGroupRef:
    """One input row group: where it is, which split, how many rows, and its compressed bytes."""

    path: str
    split: str
    index: int
    num_rows: int
    compressed_bytes: int


@dataclass
class SplitPlan:
    """The shuffle of one split: input row groups, output shard count, and every row's position."""

    split: str
    sources: list[RowGroupRef]
    n_shards: int
    n_rows: int
    seed: int
    positions: np.ndarray = field(repr=False, default=None)

    def shard_of(self, positions: np.ndarray) -> np.ndarray:
        """Output shard of each output position."""
        return positions * self.n_shards // max(self.n_rows, 1)

    def shard_name(self, shard: int) -> str:
        return f"{self.split}-{shard:05d}-of-{self.n_shards:05d}.parquet"


# --- the input: the one place that knows how a pile is opened -------------------------------------

def default_config(folder: Path) -> str:
    """The config ``load_dataset(folder)`` reads: ``all`` when real components are built, else the
    first built component."""
    components = built_components(folder)
    if not components:
        raise MergeError(f"--in {folder}: no built component (data/<component>/*.parquet) found")
    return ALL if config_components(folder, ALL) else components[0]


def _compressed_bytes(row_group) -> int:
    return sum(row_group.column(j).total_compressed_size for j in range(row_group.num_columns))


def input_row_groups(dataset: str | Path, config: str | None, splits: Iterable[str]) -> list[RowGroupRef]:
    """Every row group of the input's ``config`` in the given splits, in a fixed order."""
    folder = Path(dataset)
    if not folder.is_dir():
        raise MergeError(f"--in {dataset}: no such folder")
    config = config or default_config(folder)
    try:
        components = config_components(folder, config)
    except KeyError as exc:
        raise MergeError(f"--config {config}: {exc.args[0]}") from None
    refs = []
    for split in splits:
        for component in components:
            for path in shard_files(folder, component, (split,)):
                meta = pq.ParquetFile(path).metadata
                refs += [RowGroupRef(str(path), split, i, meta.row_group(i).num_rows, _compressed_bytes(meta.row_group(i)))
                         for i in range(meta.num_row_groups)]
    return refs


def read_row_group(ref: RowGroupRef) -> pa.Table:
    """All columns of one input row group."""
    return pq.ParquetFile(ref.path).read_row_group(ref.index)


# --- plan, scatter, gather -------------------------------------------------------------------------

def plan_split(refs: list[RowGroupRef], split: str, seed: int, shard_bytes: int) -> SplitPlan:
    """Number the split's rows in input order and draw their output positions."""
    sources = [r for r in refs if r.split == split]
    n_rows = sum(r.num_rows for r in sources)
    n_shards = max(1, math.ceil(sum(r.compressed_bytes for r in sources) / shard_bytes)) if n_rows else 0
    n_shards = min(n_shards, n_rows) if n_rows else 0
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    positions = rng.permutation(n_rows).astype(np.int64)
    return SplitPlan(split, sources, n_shards, n_rows, seed, positions)


def _bucket(work: Path, split: str, shard: int) -> Path:
    return work / split / f"{shard:05d}"


def scatter(plan: SplitPlan, work: str | Path, part: int, source_indices: list[int]) -> int:
    """Read the given input row groups once each and append their rows, with their output
    position, to the bucket of their output shard. Returns the rows written."""
    work = Path(work)
    offsets = np.concatenate([[0], np.cumsum([r.num_rows for r in plan.sources])])
    writers: dict[int, tuple[pq.ParquetWriter, Path, Path]] = {}
    written = 0
    try:
        for i in source_indices:
            table = read_row_group(plan.sources[i])
            positions = plan.positions[offsets[i]:offsets[i + 1]]
            shards = plan.shard_of(positions)
            table = table.append_column(POSITION, pa.array(positions, pa.int64()))
            for shard in np.unique(shards):
                rows = np.flatnonzero(shards == shard)
                if int(shard) not in writers:
                    final = _bucket(work, plan.split, int(shard)) / f"part-{part:05d}.parquet"
                    final.parent.mkdir(parents=True, exist_ok=True)
                    tmp = final.with_name(f".{final.name}.tmp")
                    writers[int(shard)] = (pq.ParquetWriter(tmp, table.schema, compression="zstd"), tmp, final)
                writers[int(shard)][0].write_table(table.take(pa.array(rows)))
                written += len(rows)
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
    """Write output shard ``shard`` from its bucket, rows in position order."""
    parts = sorted(_bucket(Path(work), plan.split, shard).glob("part-*.parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in parts])
    table = table.take(pc.sort_indices(table.column(POSITION))).drop_columns([POSITION])
    target = Path(out) / "data" / plan.shard_name(shard)
    tokens = row_tokens(table)
    with atomic_path(target) as tmp:
        with pq.ParquetWriter(tmp, table.schema, compression="zstd") as writer:
            start = 0
            while start < table.num_rows:
                stop = start + 1
                total = tokens[start]
                while stop < table.num_rows and total + tokens[stop] <= ROW_GROUP_TOKENS:
                    total += tokens[stop]
                    stop += 1
                writer.write_table(table.slice(start, stop - start), row_group_size=stop - start)
                start = stop
    names, counts = np.unique(table.column("source_dataset").to_numpy(zero_copy_only=False), return_counts=True)
    meta = pq.ParquetFile(target).metadata
    return {"file": target.name, "rows": table.num_rows, "bytes": target.stat().st_size,
            "uncompressed_bytes": sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)),
            "components": {str(k): int(v) for k, v in zip(names, counts)}}


# --- the whole merge -------------------------------------------------------------------------------

#: Runs ``fn`` over argument tuples and returns the results in order (local: a loop; Ray: tasks).
MapFn = Callable[[Callable, list[tuple]], list]


def run_in_process(fn: Callable, arguments: list[tuple]) -> list:
    return [fn(*args) for args in arguments]


def _prepare_out(out: Path, params: dict) -> None:
    """Refuse a non-empty folder this command did not write, or one merged with other parameters."""
    marker = out / MERGE_DIR / "params.json"
    if out.exists() and not out.is_dir():
        raise MergeError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not marker.exists():
            raise MergeError(f"--out {out}: folder is not empty and was not written by neural-pile merge; "
                             "choose an empty or new folder")
        previous = json.loads(marker.read_text(encoding="utf-8"))
        if previous != params:
            raise MergeError(f"--out {out}: was merged with {previous}, not {params}; use another folder")
    write_json_atomic(marker, params)


def _sources_text(dataset: Path, components: list[str]) -> str:
    """The input card's "Sources and citation" section, or one made for the components found."""
    card = dataset / CARD
    if card.exists():
        match = re.search(r"^## Sources and citation\n.*?(?=^## |\Z)", card.read_text(encoding="utf-8"),
                          re.MULTILINE | re.DOTALL)
        if match:
            return match.group(0).rstrip() + "\n"
    versions = {}
    if (dataset / REPORT).exists():
        report = json.loads((dataset / REPORT).read_text(encoding="utf-8"))
        versions = {n: c.get("version") for n, c in report.get("components", {}).items()}
    return sources_section(components, versions)


def _input_license(dataset: Path, components: list[str]) -> str:
    card = dataset / CARD
    if card.exists():
        parts = card.read_text(encoding="utf-8").split("---", 2)
        if len(parts) == 3:
            license_ = (yaml.safe_load(parts[1]) or {}).get("license")
            if license_:
                return license_
    return pile_license(components)


def write_merged_card(out: Path, dataset: Path, params: dict, shards: dict[str, list[dict]]) -> None:
    """The card of the merged pile: one ``default`` config, Hub-style ``dataset_info``, the seed,
    rows per component, and the input's attribution."""
    from ..schema import FEATURES

    filled = [s for s in SPLITS if shards.get(s)]
    components: dict[str, int] = {}
    for items in shards.values():
        for item in items:
            for name, n in item["components"].items():
                components[name] = components.get(name, 0) + n
    schema = pq.ParquetFile(out / "data" / shards[filled[0]][0]["file"]).schema_arrow
    try:
        from datasets import Features

        features = Features.from_arrow_schema(schema)
    except Exception:
        features = FEATURES
    front = {
        "license": _input_license(dataset, sorted(components)),
        "tags": ["neuroscience", "spike-counts", "electrophysiology"],
        "configs": [{"config_name": "default", "default": True,
                     "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in filled]}],
        "dataset_info": [{
            "config_name": "default", "features": features._to_yaml_list(),
            "splits": [{"name": s, "num_bytes": sum(i["uncompressed_bytes"] for i in shards[s]),
                        "num_examples": sum(i["rows"] for i in shards[s])} for s in filled],
            "download_size": sum(i["bytes"] for s in filled for i in shards[s]),
            "dataset_size": sum(i["uncompressed_bytes"] for s in filled for i in shards[s]),
        }],
    }
    table = "\n".join(["| component (`source_dataset`) | rows |", "|:--|--:|"]
                      + [f"| {name} | {n:,} |" for name, n in sorted(components.items())])
    files = ", ".join(f"{s}: {len(shards[s])} shard(s), {sum(i['rows'] for i in shards[s]):,} rows" for s in filled)
    text = "---\n" + yaml.safe_dump(front, sort_keys=False) + f"""---

# Rodent neural pile, merged and shuffled

The rows of every component of `{params['input']}` (config `{params['config']}`) in one `default`
config, shuffled together: {files}. Each row keeps its `source_dataset` (select a component with
`ds.filter(lambda r: r["source_dataset"] == "vbn")`), its split and every column of the input.

```python
from datasets import load_dataset
ds = load_dataset("<this folder or repo>", split="train")
```

Shuffle: a permutation drawn with `numpy.random.default_rng([{params['seed']}, split number])` (split
numbers: {", ".join(f"{s}={i}" for i, s in enumerate(SPLITS))}) over the rows numbered in input order;
output shard `j` of `n` holds the permuted positions `[j N / n, (j + 1) N / n)`, about
{params['shard_bytes']:,} bytes each. The same input and seed give the same files.

{table}

{_sources_text(dataset, sorted(components))}"""
    write_text_atomic(out / CARD, text)


def merge_pile(dataset: str | Path, out: str | Path, *, config: str | None = None, seed: int = DEFAULT_SEED,
               shard_bytes: int = SHARD_BYTES, parts: int = 1, map_fn: MapFn = run_in_process) -> dict:
    """Merge ``dataset`` into ``out`` (see the module doc); returns a summary per split.

    Args:
        dataset: the input pile (a folder built by this package).
        out: the merged pile's folder (new, empty, or an earlier merge with the same parameters).
        config: the input config to merge (default: the one ``load_dataset(dataset)`` reads).
        seed: seed of the shuffle (recorded in the card).
        shard_bytes: target compressed size of an output shard.
        parts: scatter tasks per split (each reads a contiguous share of the input row groups).
        map_fn: runs the scatter and gather tasks (default: in this process).

    Raises:
        MergeError: the input or the output folder cannot be used (message names it).
    """
    dataset, out = Path(dataset), Path(out)
    if shard_bytes <= 0:
        raise MergeError(f"--shard-bytes must be positive, got {shard_bytes}")
    refs = input_row_groups(dataset, config, SPLITS)
    params = {"input": str(dataset), "config": config or default_config(dataset), "seed": seed,
              "shard_bytes": shard_bytes}
    _prepare_out(out, params)
    work = out / MERGE_DIR / "work"
    if work.exists():
        shutil.rmtree(work)  # buckets of an interrupted run: cheaper to redo than to check
    summary = {}
    for split in SPLITS:
        plan = plan_split(refs, split, seed, shard_bytes)
        for stale in (out / "data").glob(f"{split}-*.parquet"):
            if not stale.name.endswith(f"-of-{plan.n_shards:05d}.parquet"):
                stale.unlink()  # an earlier merge of another input size
        if not plan.n_rows:
            summary[split] = []
            continue
        chunks = [c.tolist() for c in np.array_split(np.arange(len(plan.sources)), max(1, min(parts, len(plan.sources))))]
        map_fn(scatter, [(plan, str(work), i, chunk) for i, chunk in enumerate(chunks) if chunk])
        summary[split] = map_fn(gather, [(plan, str(work), str(out), shard) for shard in range(plan.n_shards)])
        logger.info("merged %s: %d rows into %d shards", split, plan.n_rows, plan.n_shards)
    shutil.rmtree(work, ignore_errors=True)
    if not any(summary.values()):
        raise MergeError(f"--in {dataset}: the config {params['config']} holds no rows")
    write_merged_card(out, dataset, params, summary)
    write_json_atomic(out / MERGE_DIR / "summary.json", {"params": params, "splits": summary})
    return summary
