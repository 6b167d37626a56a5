"""Motif statistics and the MotifTokenizer.

Public API (imported on first use, so ``import tokenizer`` stays cheap for the CLI):

* :func:`count_motifs`, :func:`merge_motif_counts`, :class:`MotifCounter`: exact motif counts,
* :class:`MotifTable`, :func:`write_motif_table`, :func:`read_motif_table`: the Parquet table,
* :func:`plot_top_motifs`: the top-motif figure,
* :class:`MotifTokenizer`: encode / decode / save_pretrained / from_pretrained / push_to_hub.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "MotifCounter": "tokenizer.motifs",
    "count_motifs": "tokenizer.motifs",
    "merge_motif_counts": "tokenizer.motifs",
    "MotifTable": "tokenizer.motif_table",
    "read_motif_table": "tokenizer.motif_table",
    "write_motif_table": "tokenizer.motif_table",
    "plot_top_motifs": "tokenizer.motif_figure",
    "MotifTokenizer": "tokenizer.motif_tokenizer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tokenizer' has no attribute {name!r}")
