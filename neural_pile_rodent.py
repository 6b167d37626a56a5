"""The rodent neural pile as a Hugging Face ``datasets`` builder, and the package's public names.

Loading a built folder or Hub repo (Parquet + dataset card, what ``neural-pile build`` writes)::

    from datasets import load_dataset
    ds = load_dataset("neural_pile_rodent", "vbn", split="train")

Building straight from recordings with the builder class (``load_dataset`` no longer runs
loading scripts since datasets 4, so the class is used directly)::

    from neural_pile_rodent import NeuralPileRodent
    builder = NeuralPileRodent(config_name="peyrache", data_dir="~/dandi/000056")
    builder.download_and_prepare(num_proc=2)
    ds = builder.as_dataset(split="train")

:class:`NeuralPileRodent` is a ``datasets.GeneratorBasedBuilder`` with one config per component,
``all`` (default: every real component) and ``demo`` (synthetic). It runs the same build as
``neural-pile build`` (:func:`builders.build.pipeline.build`) into a folder of its cache, then yields
that folder's shard rows as examples: the split needs every session's tokens, known only once
the sessions are read (:mod:`builders.spec.split`), so it is decided there exactly as for the CLI and
the Ray jobs. A split with no rows (a component too small, or one whose sessions all went
to ``train``) is not produced: ``as_dataset()`` returns the splits that hold rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import datasets

from builders import __version__
from builders.spec.binning import BIN_SIZE, MAX_TOKENS, bin_spikes, split_segments
from builders.spec.counts import iter_spike_counts, spike_counts_array, table_spike_counts
from builders.spec.features import FEATURES
from builders.spec.registry import pile_components, registry
from builders.spec.schema import ARROW_SCHEMA
from builders.spec.split import SPLITS, TEST_FRACTION
from builders.storage.layout import ALL, ROW_GROUP_TOKENS, shard_files, split_has_rows
from builders.streams import PUBLIC as STREAM_NAMES

logger = logging.getLogger(__name__)

__all__ = [
    "NeuralPileRodent",
    "NeuralPileRodentConfig",
    "MotifTokenizer",
    *STREAM_NAMES,
    "bin_spikes",
    "split_segments",
    "spike_counts_array",
    "iter_spike_counts",
    "table_spike_counts",
    "FEATURES",
]


class NeuralPileRodentConfig(datasets.BuilderConfig):
    """A config: which components, and the binning/chunking/split parameters.

    Args:
        components: component names read by this config.
        bin_size: bin width in seconds.
        max_tokens: longest row in tokens before a session is cut along time.
        test_fraction: share of each component's tokens in the test split.
        dandi_api_url: DANDI instance to stream from when ``data_dir`` is not given.
        cache_dir_bytes: optional local byte cache for streamed files.
    """

    def __init__(
        self,
        *,
        components: tuple[str, ...] = (),
        bin_size: float = BIN_SIZE,
        max_tokens: int = MAX_TOKENS,
        test_fraction: float = TEST_FRACTION,
        dandi_api_url: str | None = None,
        cache_dir_bytes: str | None = None,
        **kwargs,
    ):
        kwargs.setdefault("version", datasets.Version(__version__))
        super().__init__(**kwargs)
        self.components = tuple(components)
        self.bin_size = bin_size
        self.max_tokens = max_tokens
        self.test_fraction = test_fraction
        self.dandi_api_url = dandi_api_url
        self.cache_dir_bytes = cache_dir_bytes


def _builder_configs() -> list[NeuralPileRodentConfig]:
    configs = [
        NeuralPileRodentConfig(
            name=ALL,
            components=tuple(c.name for c in pile_components()),
            description="every component of the rodent neural pile",
        )
    ]
    for comp in registry().values():
        configs.append(
            NeuralPileRodentConfig(
                name=comp.name,
                components=(comp.name,),
                description=f"{comp.display_name} ({comp.source_label}, {comp.species})",
            )
        )
    return configs


def _source_digest() -> str:
    """Digest of the code that makes rows, so a changed reader or binning rebuilds the cache."""
    root = Path(__file__).resolve().parent / "builders"
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*.py")) + sorted(root.glob("spec/facts/*")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _input_digest(data_dir: str | None) -> str:
    """Digest of a local data folder's file names, sizes and modification times."""
    digest = hashlib.sha256()
    if data_dir:
        for dirpath, dirnames, filenames in os.walk(os.path.expanduser(data_dir)):
            dirnames.sort()
            for name in sorted(filenames):
                stat = os.stat(os.path.join(dirpath, name))
                digest.update(f"{os.path.join(dirpath, name)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


class NeuralPileRodent(datasets.GeneratorBasedBuilder):
    """Builds rows of 20 ms uint8 spike counts from the rodent recordings (see module doc).

    A ``datasets.GeneratorBasedBuilder``: :meth:`_split_generators` runs the sessions through
    :func:`builders.build.pipeline.build` (rows made by :func:`builders.build.rows.session_to_rows`, the CLI's
    path) into a folder of the cache, and :meth:`_generate_examples` yields the rows of that
    folder's Parquet shards one by one, ``spike_counts`` as a uint8 ``(n_neurons, n_time_bins)``
    array viewing the shard's Arrow memory (never a Python list of counts).

    ``datasets`` encodes such an array for the ``List(List(Value("uint8")))`` feature by making a
    list of its ``n_neurons`` 1-D row views, each copied into Arrow by pyarrow's numpy path: no
    Python object per count. (``Sequence(Sequence(Value("uint8")))`` is the same feature since
    datasets 4.) It converts whole 2-D arrays only when no features are declared, and that is no
    faster (``benchmarks/bench_builder.py``), so :data:`builders.spec.features.FEATURES` stay declared.

    ``download_and_prepare(num_proc=N)`` builds the sessions in ``N`` processes that start the way
    ``datasets`` starts its own ``num_proc`` workers (``multiprocess``'s start method: ``fork`` on
    Linux up to Python 3.13), so a script calling it needs no ``if __name__ == "__main__":`` guard
    there; where it is ``spawn`` or ``forkserver`` (macOS, Windows, CPython 3.14's default), an
    unguarded script is stopped with a one-line error.
    """

    BUILDER_CONFIG_CLASS = NeuralPileRodentConfig
    BUILDER_CONFIGS = _builder_configs()
    DEFAULT_CONFIG_NAME = ALL

    def __init__(self, *args, **kwargs):
        if kwargs.get("hash") is None:
            # The cache key covers the package code, the config and its inputs: without it a
            # changed builder would silently reuse its old cache.
            described = {k: v for k, v in kwargs.items() if k not in ("cache_dir", "hash")}
            described["args"] = args
            payload = json.dumps(described, sort_keys=True, default=str)
            kwargs["hash"] = hashlib.sha256(
                (_source_digest() + payload + _input_digest(kwargs.get("data_dir"))).encode()
            ).hexdigest()[:16]
        super().__init__(*args, **kwargs)
        self._chosen_writer_batch_size = kwargs.get("writer_batch_size")

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="Spike counts (neurons x 20 ms bins, uint8) from public rodent recordings.",
            features=FEATURES,
            homepage="https://dandiarchive.org",
        )

    def download_and_prepare(self, *args, num_proc: int | None = None, **kwargs):
        if num_proc and num_proc > 1 and _importing_main_in_a_worker():
            raise RuntimeError(
                "NeuralPileRodent.download_and_prepare(num_proc>1) ran again in a worker process that was importing "
                'your script: put the call under `if __name__ == "__main__":`'
            )
        # the sessions are read by the build in _split_generators: it uses the same processes
        self._build_num_proc = num_proc or 1
        try:
            return super().download_and_prepare(*args, num_proc=num_proc, **kwargs)
        except EOFError:  # a worker of datasets' own pool died while starting (the build had nothing to do)
            if self._build_num_proc > 1 and _datasets_start_method() != "fork":
                raise RuntimeError(_broken_pool_message(self.config.name)) from None
            raise

    def _build_folder(self) -> Path:
        """The build folder of this config and inputs (reruns resume it)."""
        return Path(self._cache_dir_root) / "neural_pile_rodent_builds" / f"{self.config.name}-{self.hash}"

    def _split_generators(self, dl_manager):
        # the build layer is loaded only when a build runs: `load_dataset` of a built folder and
        # `import neural_pile_rodent` for its public names never need it
        from concurrent.futures.process import BrokenProcessPool

        from builders.build.pipeline import BuildOptions, build, failures
        from builders.runtime.executor import make_executor

        config = self.config
        if not config.components:
            raise ValueError(f"config {config.name!r} names no component")
        options = BuildOptions(
            out=str(self._build_folder()),
            data_dir=config.data_dir,
            dandi_api_url=config.dandi_api_url,
            cache_dir=config.cache_dir_bytes,
            bin_size=config.bin_size,
            max_tokens=config.max_tokens,
            test_fraction=config.test_fraction,
        )
        num_proc = getattr(self, "_build_num_proc", 1)
        executor = make_executor(None, num_proc, start_method=_datasets_start_method())
        try:
            report, _ = build(list(config.components), options, progress=False, executor=executor)
        except BrokenProcessPool:
            raise RuntimeError(_broken_pool_message(config.name)) from None
        for problem in failures(report, list(config.components)):
            logger.warning("not built: %s", problem)
        out = Path(options.out)
        files = {
            split: [str(p) for c in config.components for p in shard_files(out, c, (split,))]
            for split in SPLITS
            if split == "train" or any(split_has_rows(out, c, split) for c in config.components)
        }
        return self._shard_generators(files)

    def _shard_generators(self, files: dict[str, list[str]]) -> list[datasets.SplitGenerator]:
        """One split generator per split over its shards; the Arrow writes follow their largest row."""
        if not self._chosen_writer_batch_size:
            self._writer_batch_size = _rows_per_write([f for split_files in files.values() for f in split_files])
        # a list-valued gen_kwarg lets download_and_prepare(num_proc=N) share the shards out
        return [datasets.SplitGenerator(name=split, gen_kwargs={"files": f}) for split, f in files.items()]

    def _generate_examples(self, files):
        """Every row of ``files`` (Parquet shards), in file and row order.

        Keys are ``Key(i, j)``: ``i`` the shard's place in ``files`` (the shards this process
        writes), ``j`` the row's number in that shard, so a rebuild yields the same keys.
        ``spike_counts`` is a read-only uint8 ``(n_neurons, n_time_bins)`` view of the shard's
        memory; the other columns are Python values.
        """
        import pyarrow.parquet as pq
        from datasets.builder import Key

        columns = ARROW_SCHEMA.names
        others = [name for name in columns if name != "spike_counts"]
        for file_index, path in enumerate(files):
            parquet = pq.ParquetFile(path)
            row = 0
            for group in range(parquet.num_row_groups):
                table = parquet.read_row_group(group, columns=columns)
                for counts, values in zip(table_spike_counts(table), table.select(others).to_pylist(), strict=True):
                    values["spike_counts"] = counts
                    yield Key(file_index, row), values
                    row += 1


def _rows_per_write(files: list[str]) -> int:
    """Rows ``datasets`` buffers before each Arrow write: as many of the shards' largest row as
    fit in one shard row group (:data:`~builders.storage.layout.ROW_GROUP_TOKENS` tokens), at most
    its default of 1000. Per-write costs dominate short rows; memory, long ones."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    largest = 1
    for path in files:
        sizes = pq.read_table(path, columns=["n_neurons", "n_time_bins"])
        if sizes.num_rows:
            tokens = pc.multiply(sizes["n_neurons"].cast(pa.int64()), sizes["n_time_bins"].cast(pa.int64()))
            largest = max(largest, pc.max(tokens).as_py())
    return max(1, min(datasets.config.DEFAULT_MAX_BATCH_SIZE, ROW_GROUP_TOKENS // largest))


def _datasets_start_method() -> str:
    """How ``datasets`` starts its ``num_proc`` workers (``multiprocess``'s start method)."""
    import multiprocess

    return multiprocess.get_start_method(allow_none=False)


def _broken_pool_message(config_name: str) -> str:
    """One line on why a worker process started with ``spawn`` died, and what to do."""
    import sys

    main_file = getattr(sys.modules["__main__"], "__file__", None)
    if main_file and not os.path.exists(main_file):  # e.g. "<stdin>": a spawned process cannot import it
        return (
            f"NeuralPileRodent({config_name!r}): processes started with {_datasets_start_method()!r} cannot import a "
            f'program read from {main_file}; save it to a file with `if __name__ == "__main__":`, or use num_proc=1'
        )
    return (
        f"NeuralPileRodent({config_name!r}): a worker process died while starting; a script that calls "
        'download_and_prepare(num_proc>1) needs `if __name__ == "__main__":` around the call'
    )


def _importing_main_in_a_worker() -> bool:
    """Whether this process is a spawned worker still importing the parent's main module.

    Both ``multiprocessing`` and ``multiprocess`` (the one ``datasets`` uses) mark a spawned
    process as ``_inheriting`` until its parent's ``__main__`` is imported and its task read.
    """
    import multiprocessing
    import sys

    modules = [multiprocessing] + ([sys.modules["multiprocess"]] if "multiprocess" in sys.modules else [])
    return any(getattr(m.current_process(), "_inheriting", False) for m in modules)


def __getattr__(name: str):
    # MotifTokenizer is re-exported lazily so importing the builder stays light.
    if name == "MotifTokenizer":
        from tokenizer import MotifTokenizer

        return MotifTokenizer
    if name in STREAM_NAMES:  # the training streams (builders.streams), also lazy
        import builders.streams

        return getattr(builders.streams, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
