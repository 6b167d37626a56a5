"""The ``datasets`` builder class: a GeneratorBasedBuilder whose examples are the build's shard rows."""

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets.builder import Key

from builders.spec.features import FEATURES
from builders.spec.schema import ARROW_SCHEMA
from builders.storage.layout import ROW_GROUP_TOKENS
from neural_pile_rodent import NeuralPileRodent
from tests.support.constants import DEMO_TEST_MAX_TOKENS


def make_builder(demo_recordings_dir, cache, **kwargs):
    return NeuralPileRodent(
        config_name="demo",
        data_dir=str(demo_recordings_dir),
        cache_dir=str(cache),
        max_tokens=DEMO_TEST_MAX_TOKENS,
        **kwargs,
    )


@pytest.fixture(scope="module")
def prepared_builder(demo_recordings_dir, tmp_path_factory):
    builder = make_builder(demo_recordings_dir, tmp_path_factory.mktemp("builder_cache"))
    builder.download_and_prepare()
    return builder


@pytest.fixture(scope="module")
def split_files(prepared_builder):
    """The shards each split generator hands to ``_generate_examples`` (the build is done: it resumes)."""
    return {g.name: g.gen_kwargs["files"] for g in prepared_builder._split_generators(None)}


def shard_table(files) -> pa.Table:
    """The shards' rows as one table, read as the Arrow-table builder used to hand them over."""
    return pa.concat_tables([pq.read_table(f).cast(ARROW_SCHEMA) for f in files])


def test_the_class_is_a_generator_based_builder():
    assert issubclass(NeuralPileRodent, datasets.GeneratorBasedBuilder)
    assert not issubclass(NeuralPileRodent, datasets.ArrowBasedBuilder)


def test_examples_are_the_shard_rows_with_counts_as_uint8_arrays(prepared_builder, split_files):
    assert set(split_files) == {"train", "test"}
    for files in split_files.values():
        examples = list(prepared_builder._generate_examples(files))
        expected_keys = [Key(i, j) for i, f in enumerate(files) for j in range(pq.ParquetFile(f).metadata.num_rows)]
        assert [key for key, _ in examples] == expected_keys
        assert [key for key, _ in prepared_builder._generate_examples(files)] == expected_keys  # the same on a rerun
        expected = shard_table(files).to_pylist()
        assert len(examples) == len(expected) > 0
        for (_, example), row in zip(examples, expected, strict=True):
            counts = example["spike_counts"]
            assert isinstance(counts, np.ndarray) and counts.dtype == np.uint8
            assert counts.shape == (row["n_neurons"], row["n_time_bins"])
            np.testing.assert_array_equal(counts, np.array(row.pop("spike_counts"), dtype=np.uint8))
            assert {k: v for k, v in example.items() if k != "spike_counts"} == row


def test_as_dataset_holds_the_shard_tables(prepared_builder, split_files):
    built = prepared_builder.as_dataset()
    assert set(built) == set(split_files)
    for split, ds in built.items():
        assert ds.features == FEATURES
        assert ds.data.table.combine_chunks().equals(shard_table(split_files[split]).combine_chunks())


def test_num_proc_writes_the_same_tables(prepared_builder, demo_recordings_dir, tmp_path):
    builder = make_builder(demo_recordings_dir, tmp_path / "cache")
    builder.download_and_prepare(num_proc=2)
    one, two = prepared_builder.as_dataset(), builder.as_dataset()
    assert set(one) == set(two)
    for split in one:
        assert two[split].data.table.combine_chunks().equals(one[split].data.table.combine_chunks())


def test_arrow_writes_hold_at_most_a_row_group_of_the_largest_row(prepared_builder, demo_recordings_dir, tmp_path):
    """datasets writes ``writer_batch_size`` rows per Arrow record batch: the default is as many of the
    largest row as fit in ROW_GROUP_TOKENS (at most 1000); a value given by the caller is kept."""
    rows = [
        row for ds in prepared_builder.as_dataset().values() for row in ds.select_columns(["n_neurons", "n_time_bins"])
    ]
    largest = max(row["n_neurons"] * row["n_time_bins"] for row in rows)
    assert prepared_builder._writer_batch_size == min(1000, ROW_GROUP_TOKENS // largest)
    chosen = make_builder(demo_recordings_dir, tmp_path, writer_batch_size=4)
    chosen.download_and_prepare()
    batches = [len(b) for b in chosen.as_dataset(split="train").data.table.to_batches()]
    assert max(batches) == 4 and sum(batches) == len(prepared_builder.as_dataset(split="train"))
