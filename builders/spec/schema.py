"""The row schema of a shard and rows -> Arrow conversion, in pyarrow alone (the ``datasets``
``Features`` of the same schema are :mod:`builders.spec.features`; the zero-copy ``spike_counts``
accessors are :mod:`builders.spec.counts`).

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

import json
from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from builders.spec.counts import counts_column

#: Arrow type of each column, in column order.
COLUMN_TYPES: dict[str, pa.DataType] = {
    "spike_counts": pa.list_(pa.list_(pa.uint8())),
    "subject_id": pa.string(),
    "session_id": pa.string(),
    "segment_id": pa.string(),
    "source_dataset": pa.string(),
    "n_neurons": pa.int32(),
    "n_time_bins": pa.int32(),
    "t_start": pa.float64(),
    "unit_ids": pa.list_(pa.int64()),
    "unit_regions": pa.list_(pa.string()),
}
COLUMNS = tuple(COLUMN_TYPES)

#: ``datasets``' name of each primitive Arrow type used above (its ``Value`` dtype).
_VALUE_DTYPES = {
    pa.uint8(): "uint8",
    pa.int32(): "int32",
    pa.int64(): "int64",
    pa.float64(): "float64",
    pa.string(): "string",
}


def _feature_json(arrow_type: pa.DataType) -> dict:
    """The ``datasets`` feature of one column as it is stored in a shard's schema metadata
    (``List`` of ... of ``Value``)."""
    if pa.types.is_list(arrow_type):
        return {"feature": _feature_json(arrow_type.value_type), "_type": "List"}
    return {"dtype": _VALUE_DTYPES[arrow_type], "_type": "Value"}


_FEATURES_METADATA = json.dumps({"info": {"features": {name: _feature_json(t) for name, t in COLUMN_TYPES.items()}}})
#: Arrow schema of a shard; its ``huggingface`` metadata holds the ``datasets`` features, as
#: ``datasets`` writes them (``Features.arrow_schema``; checked equal in tests/test_schema.py), so
#: ``load_dataset`` reads the columns back with those features.
ARROW_SCHEMA: pa.Schema = pa.schema(list(COLUMN_TYPES.items()), metadata={"huggingface": _FEATURES_METADATA})


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
