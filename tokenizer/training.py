"""What a tokenizer was trained on: the summary saved under ``training`` in its ``config.json``.

:meth:`TrainingSummary.from_table` takes it from the motif table's metadata (the pile, its
sources and what was counted), :meth:`TrainingSummary.with_coverage` adds what the vocabulary
covers; the model card shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from builders.pile import Provenance


@dataclass(frozen=True)
class TrainingSummary:
    """The training table of a tokenizer and how much of it the vocabulary covers.

    Every field is ``None`` (and left out of :meth:`to_json`) when the table did not record it.

    Attributes:
        dataset: the pile the motifs were counted on, as given.
        configs: its configs counted; splits: its splits counted.
        rows: rows counted; total_patches: patches counted; unique_motifs: distinct motifs.
        pad: how edge patches were counted (``drop`` / ``zero``).
        sources: the provenance of each config counted.
        components: the ``source_dataset`` values counted.
        in_vocab_share: share of training patches whose motif is in the vocabulary (lossless).
        known_share: share of training patches whose motif has a precomputed nearest id.
        oov_motifs: distinct training motifs outside the vocabulary.
        known_motifs_kept: how many of those have a precomputed id.
    """

    dataset: str | None = None
    configs: list[str] | None = None
    splits: list[str] | None = None
    rows: int | None = None
    total_patches: int | None = None
    unique_motifs: int | None = None
    pad: str | None = None
    sources: list[Provenance] = field(default_factory=list)
    components: list[str] | None = None
    in_vocab_share: float | None = None
    known_share: float | None = None
    oov_motifs: int | None = None
    known_motifs_kept: int | None = None

    @classmethod
    def from_table(cls, metadata: dict) -> TrainingSummary:
        """The summary of a motif table, from its metadata (:func:`tokenizer.motif_table.table_metadata`)."""
        table_fields = ("dataset", "configs", "splits", "rows", "total_patches", "unique_motifs", "pad")
        return cls.from_json({k: metadata[k] for k in (*table_fields, "sources", "components") if k in metadata})

    def with_coverage(
        self, in_vocab_share: float, known_share: float, oov_motifs: int, known_motifs_kept: int
    ) -> TrainingSummary:
        return replace(
            self,
            in_vocab_share=in_vocab_share,
            known_share=known_share,
            oov_motifs=oov_motifs,
            known_motifs_kept=known_motifs_kept,
        )

    def to_json(self) -> dict:
        record = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "sources":
                if value:
                    record["sources"] = [source.to_json() for source in value]
            elif value is not None:
                record[f.name] = value
        return record

    @classmethod
    def from_json(cls, data: dict | None) -> TrainingSummary:
        """A summary from its record (``None`` or ``{}``: nothing recorded); unknown keys are ignored."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        record = {k: v for k, v in data.items() if k in known}
        record["sources"] = [Provenance.from_json(s) for s in record.get("sources") or []]
        return cls(**record)
