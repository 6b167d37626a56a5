"""The row schema of a shard and rows -> Arrow conversion (this module loads ``datasets``, for its
``Features``; the zero-copy ``spike_counts`` accessors, which do not, are :mod:`builders.spec.counts`).

A row is one segment of one session:

=================  ==========================  ==============================================
column             type                        meaning
=================  ==========================  ==============================================
spike_counts       list<list<uint8>>           n_neurons x n_time_bins spike counts (20 ms)
subject_id         string                      archive subject label
session_id         string                      archive session label
segment_id         string                      ``segment_0``, ``segment_1``, ... in time order
source_dataset     string                      component name (``vbn``)
n_neurons          int32                       rows of ``spike_counts``
n_time_bins        int32                       columns of ``spike_counts`` (bins)
t_start            float64                     seconds from the session's bin origin to bin 0
unit_ids           list<int64>                 original unit id of each neuron row
unit_regions       list<string>                brain area of each neuron row ("" if unknown)
=================  ==========================  ==============================================
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
from datasets import Features, List, Value

from builders.spec.counts import counts_column

FEATURES = Features(
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
#: Arrow schema of a shard (carries the ``datasets`` features in its metadata).
ARROW_SCHEMA: pa.Schema = FEATURES.arrow_schema
COLUMNS = tuple(FEATURES)


def rows_to_table(rows: Iterable[dict]) -> pa.Table:
    """Rows (``spike_counts`` as 2-D uint8 arrays) -> an Arrow table with :data:`ARROW_SCHEMA`."""
    rows = list(rows)
    columns = {
        "spike_counts": counts_column([r["spike_counts"] for r in rows]),
        "unit_ids": pa.array([np.asarray(r["unit_ids"], dtype=np.int64) for r in rows], pa.list_(pa.int64())),
    }
    for name in COLUMNS:
        if name not in columns:
            columns[name] = pa.array([r[name] for r in rows], ARROW_SCHEMA.field(name).type)
    return pa.Table.from_pydict({n: columns[n] for n in COLUMNS}, schema=ARROW_SCHEMA)
