"""The row schema as ``datasets`` ``Features`` (this module loads ``datasets``; writing and reading
shards needs only the Arrow schema of :mod:`builders.spec.schema`, which carries these features in
its metadata)."""

from __future__ import annotations

from datasets import Features

from builders.spec.schema import ARROW_SCHEMA

#: The features of a row: ``spike_counts`` is ``List(List(Value("uint8")))`` (neurons x bins).
FEATURES: Features = Features.from_arrow_schema(ARROW_SCHEMA)
