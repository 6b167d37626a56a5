"""The one way to open a pile: a local folder, a Hub repo or a URL, in this package's layout or
the reference project's published one.

    from builders.pile import open_pile
    pile = open_pile("user/neural-pile-rodent@v1.0", config="vbn", splits=("train",))
    for group, table in pile.iter_tables(columns=["spike_counts"]):
        counts = table_spike_counts(table)   # uint8 (n_neurons, n_time_bins) views, one per row

Every dataset-wide job (stats, figures, motifs, reorder, merge, training streams) reads through
:func:`open_pile`; none assumes a folder layout.
"""

from builders.pile.open import ALL, DEFAULT, open_pile
from builders.pile.provenance import Provenance
from builders.pile.read import Pile, PileFile, RowGroup
from builders.pile.reference import PileError, PileReference, parse_reference

__all__ = [
    "ALL",
    "DEFAULT",
    "Pile",
    "PileError",
    "PileFile",
    "PileReference",
    "Provenance",
    "RowGroup",
    "open_pile",
    "parse_reference",
]
