"""The builder class's prepare step, side by side in one run: the generator path against the
Arrow-table path it replaced, reported as tokens/s and a ratio (generator / Arrow tables).

Both read the same Parquet shards (written once, untimed, with the build's shard writer) and
write the same ``datasets`` Arrow cache; each timing is ``download_and_prepare()`` +
``as_dataset()`` into a fresh cache folder, in one process, best of ``--repeat``:

- generator path: :class:`neural_pile_rodent.NeuralPileRodent` as the package has it
  (``_generate_examples`` yields each row, counts as a uint8 array view), with its
  ``_split_generators`` handing over the prepared shards instead of running a build;
- Arrow-table path, restated: an ``ArrowBasedBuilder`` with the same features and splits whose
  ``_generate_tables`` yields each shard row group as an Arrow table cast to the row schema
  (what ``NeuralPileRodent`` did before it became a ``GeneratorBasedBuilder``).

A second table times the one step of that path that touches every count, converting a batch of
rows' ``spike_counts`` to Arrow: as ``datasets`` does it for the declared ``List(List(uint8))``
feature (the example encoder makes each 2-D array a list of its row views, pyarrow copies each
view) against its conversion of a column of whole 2-D arrays (``list_of_np_array_to_pyarrow_listarray``,
what it does when no features are declared), with the package's own ``counts_column`` beside them.

The inputs differ only in row shape, from a few long rows to many short ones, since the
generator path pays per row and the table path per row group. The two caches are checked equal.
Reading the shards' row groups alone is timed too: both paths start with it.

    python benchmarks/bench_builder.py [--out benchmarks/results/builder.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import datasets  # noqa: E402
import numpy as np
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from datasets.builder import Key  # noqa: E402

from builders.spec.features import FEATURES  # noqa: E402
from builders.spec.schema import ARROW_SCHEMA  # noqa: E402
from builders.storage.shards import write_rows_atomic  # noqa: E402
from neural_pile_rodent import NeuralPileRodent  # noqa: E402

#: (label, rows, neurons, bins, rows per shard) of each input at full size.
INPUTS = (
    ("long rows", 8, 1000, 10_000, 4),
    ("demo-like rows", 200, 150, 2_000, 8),
    ("short rows", 20_000, 20, 50, 500),
)


class ArrowTablePath(datasets.ArrowBasedBuilder):
    """The Arrow-table path restated: every shard row group handed to ``datasets`` as a table."""

    files: dict[str, list[str]] = {}

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(features=FEATURES)

    def _split_generators(self, dl_manager):
        return [datasets.SplitGenerator(name=s, gen_kwargs={"files": f}) for s, f in self.files.items()]

    def _generate_tables(self, files):
        for file_index, path in enumerate(files):
            parquet = pq.ParquetFile(path)
            for group in range(parquet.num_row_groups):
                table = parquet.read_row_group(group)
                if table.num_rows:
                    yield Key(file_index, group), table.cast(ARROW_SCHEMA)


class GeneratorPath(NeuralPileRodent):
    """The package's builder, handed the prepared shards instead of running a build."""

    files: dict[str, list[str]] = {}

    def _split_generators(self, dl_manager):
        return self._shard_generators(self.files)


def write_shards(folder: Path, n_rows: int, n_neurons: int, n_bins: int, per_shard: int) -> dict[str, list[str]]:
    """``n_rows`` rows of random counts (about 6% nonzero bins), ``per_shard`` rows per shard."""
    rng = np.random.default_rng(0)
    files = []
    for first in range(0, n_rows, per_shard):
        rows = []
        for index in range(first, min(n_rows, first + per_shard)):
            counts = (rng.random((n_neurons, n_bins)) < 0.06).astype(np.uint8) * rng.integers(1, 4, dtype=np.uint8)
            rows.append(
                {
                    "spike_counts": counts,
                    "subject_id": f"S{index % 7}",
                    "session_id": str(first),
                    "segment_id": f"segment_{index - first}",
                    "source_dataset": "demo",
                    "n_neurons": n_neurons,
                    "n_time_bins": n_bins,
                    "t_start": float(index - first) * n_bins * 0.02,
                    "unit_ids": np.arange(n_neurons, dtype=np.int64),
                    "unit_regions": ["CA1"] * n_neurons,
                }
            )
        path = folder / f"train-{first:06d}.parquet"
        write_rows_atomic(path, rows)
        files.append(str(path))
    return {"train": files}


def prepare(builder_class, cache: Path) -> tuple[float, datasets.Dataset]:
    """Seconds for ``download_and_prepare`` + ``as_dataset`` into the empty folder ``cache``."""
    start = time.perf_counter()
    if builder_class is ArrowTablePath:
        builder = builder_class(cache_dir=str(cache), dataset_name="arrow_table_path")
    else:
        builder = builder_class(config_name="demo", cache_dir=str(cache))
    builder.download_and_prepare()
    ds = builder.as_dataset(split="train")
    return time.perf_counter() - start, ds


def read_all(files: list[str]) -> float:
    """Seconds to read every row group of ``files`` (the Parquet decoding both paths start with)."""
    start = time.perf_counter()
    for path in files:
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            parquet.read_row_group(group)
    return time.perf_counter() - start


def bench_input(tmp: Path, label: str, n_rows: int, n_neurons: int, n_bins: int, per_shard: int, repeat: int) -> dict:
    files = write_shards(tmp / "shards", n_rows, n_neurons, n_bins, per_shard)
    ArrowTablePath.files = GeneratorPath.files = files
    seconds = {"generator": [], "arrow_tables": [], "read": []}
    tables = {}
    paths = [("generator", GeneratorPath), ("arrow_tables", ArrowTablePath)]
    for attempt in range(repeat):
        seconds["read"].append(read_all(files["train"]))
        for name, builder_class in paths if attempt % 2 == 0 else paths[::-1]:
            cache = tmp / f"cache-{name}-{attempt}"
            elapsed, ds = prepare(builder_class, cache)
            seconds[name].append(elapsed)
            if attempt == 0:
                tables[name] = ds.data.table.combine_chunks()
            del ds
            shutil.rmtree(cache)
    assert tables["generator"].equals(tables["arrow_tables"]), f"{label}: the two paths wrote different rows"
    shutil.rmtree(tmp / "shards")
    tokens = n_rows * n_neurons * n_bins
    best = {name: min(values) for name, values in seconds.items()}
    return {
        "input": label,
        "rows": n_rows,
        "neurons": n_neurons,
        "bins": n_bins,
        "rows_per_shard": per_shard,
        "tokens": tokens,
        "generator_s": best["generator"],
        "arrow_tables_s": best["arrow_tables"],
        "parquet_read_s": best["read"],
        "generator_tokens_per_s": tokens / best["generator"],
        "arrow_tables_tokens_per_s": tokens / best["arrow_tables"],
        "ratio": best["arrow_tables"] / best["generator"],
    }


def bench_counts_encoding(n_rows: int, n_neurons: int, n_bins: int, repeat: int) -> dict:
    """ns per token to make one Arrow ``list<list<uint8>>`` column from ``n_rows`` 2-D uint8 arrays."""
    from datasets.arrow_writer import OptimizedTypedSequence
    from datasets.features.features import list_of_np_array_to_pyarrow_listarray

    from builders.spec.counts import counts_column

    rng = np.random.default_rng(1)
    arrays = [(rng.random((n_neurons, n_bins)) < 0.06).astype(np.uint8) for _ in range(n_rows)]
    feature = FEATURES["spike_counts"]
    ways = {
        "row_views": lambda: pa.array(
            OptimizedTypedSequence(
                [FEATURES.encode_example({"spike_counts": a})["spike_counts"] for a in arrays], type=feature
            )
        ),
        "whole_arrays": lambda: list_of_np_array_to_pyarrow_listarray(arrays),
        "counts_column": lambda: counts_column(arrays),
    }
    expected = ways["counts_column"]()
    result = {"rows": n_rows, "neurons": n_neurons, "bins": n_bins}
    for name, way in ways.items():
        assert way().equals(expected), f"{name} made another column"
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            way()
            times.append(time.perf_counter() - start)
        result[f"{name}_ns_per_token"] = min(times) / (n_rows * n_neurons * n_bins) * 1e9
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results/builder.json", help="JSON file for the results")
    parser.add_argument("--repeat", type=int, default=5, help="timings per path and input (the best is kept)")
    parser.add_argument(
        "--quick", action="store_true", help="a tenth of the rows (a smoke run, not the reported figures)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    results = {"cpu_count": os.cpu_count(), "datasets": datasets.__version__, "inputs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for label, n_rows, n_neurons, n_bins, per_shard in INPUTS:
            if args.quick:
                n_rows = max(2, n_rows // 10)
            r = bench_input(Path(tmp), label, n_rows, n_neurons, n_bins, per_shard, args.repeat)
            results["inputs"].append(r)
            print(
                f"{label:15s} {n_rows:6d} x {n_neurons} x {n_bins}: generator {r['generator_tokens_per_s'] / 1e6:6.1f}M tok/s, "
                f"Arrow tables {r['arrow_tables_tokens_per_s'] / 1e6:6.1f}M tok/s -> {r['ratio']:.2f}x "
                f"(s: {r['generator_s']:.2f} vs {r['arrow_tables_s']:.2f}, Parquet read alone {r['parquet_read_s']:.2f})"
            )
    results["counts_encoding"] = []
    for label, n_rows, n_neurons, n_bins, _ in INPUTS:
        n_rows = max(2, min(n_rows, 60_000_000 // (n_neurons * n_bins)) // (10 if args.quick else 1))
        r = bench_counts_encoding(n_rows, n_neurons, n_bins, args.repeat)
        results["counts_encoding"].append({"input": label, **r})
        print(
            f"{label:15s} {n_rows:6d} x {n_neurons} x {n_bins} to Arrow: row views {r['row_views_ns_per_token']:.2f} ns/token, "
            f"whole 2-D arrays {r['whole_arrays_ns_per_token']:.2f}, counts_column {r['counts_column_ns_per_token']:.2f}"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
