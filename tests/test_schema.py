"""The shard schema, declared in pyarrow alone, is the one ``datasets`` derives from the row's
features, metadata included, so shards written without ``datasets`` load with those features."""

from __future__ import annotations

from datasets import Features, List, Value

from builders.spec.features import FEATURES
from builders.spec.schema import ARROW_SCHEMA, COLUMNS

#: The row's features as the reference describes them, in ``datasets``' own terms.
DECLARED = Features(
    {
        "spike_counts": List(List(Value("uint8"))),
        "subject_id": Value("string"),
        "session_id": Value("string"),
        "segment_id": Value("string"),
        "source_dataset": Value("string"),
        "n_neurons": Value("int32"),
        "n_time_bins": Value("int32"),
        "t_start": Value("float64"),
        "unit_ids": List(Value("int64")),
        "unit_regions": List(Value("string")),
    }
)


def test_the_arrow_schema_is_what_datasets_writes_for_the_features():
    assert ARROW_SCHEMA.equals(DECLARED.arrow_schema, check_metadata=True)
    assert ARROW_SCHEMA.metadata == DECLARED.arrow_schema.metadata
    assert COLUMNS == tuple(DECLARED)


def test_the_features_read_back_from_the_schema_are_the_declared_ones():
    assert FEATURES == DECLARED
    assert Features.from_arrow_schema(ARROW_SCHEMA.remove_metadata()) == DECLARED
