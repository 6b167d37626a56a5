"""Where the rows of an opened pile come from: the record every output of a job names its input by.

:func:`~builders.pile.open.open_pile` makes it; jobs write :meth:`Provenance.to_json` into their
reports and metadata (``summary.json``, the stats JSON, the comparison, the motif table and, from
there, the tokenizer's training summary) and read it back with :meth:`Provenance.from_json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

#: Fields that say where the pile is, recorded only when known (a local folder has none of them).
_LOCATION = ("uri", "repo_id", "revision", "commit")
#: Fields that say what was read of it, always recorded.
_SELECTION = ("config", "card_config", "splits", "source_filter", "layout")


@dataclass(frozen=True)
class Provenance:
    """An opened pile's source and the part of it a job read.

    Attributes:
        dataset: the ``--dataset`` as given; for a local folder its own name, never its path
            (outputs are pushed and shared).
        uri: where the files are read from (remote piles): ``hf://datasets/<repo>@<commit>[/sub]``
            or the fsspec URL.
        repo_id, revision, commit: a Hub pile's repo, the revision asked for and the commit it
            resolved to (every file is read at that commit).
        config: the config asked for (the card's default when none was).
        card_config: the card config the files come from.
        splits: the splits read.
        source_filter: the component whose rows were kept, on a single-config pile (else ``None``).
        layout: ``"configs"`` (a config per component) or ``"single-config"`` (the reference layout).
    """

    dataset: str
    uri: str | None = None
    repo_id: str | None = None
    revision: str | None = None
    commit: str | None = None
    config: str | None = None
    card_config: str | None = None
    splits: list[str] = field(default_factory=list)
    source_filter: str | None = None
    layout: str | None = None

    def to_json(self) -> dict:
        """The record as outputs hold it: ``dataset``, the known location fields, the selection."""
        record = {"dataset": self.dataset}
        record.update({name: getattr(self, name) for name in _LOCATION if getattr(self, name) is not None})
        record.update({name: getattr(self, name) for name in _SELECTION})
        return record

    @classmethod
    def from_json(cls, data: dict) -> Provenance:
        """A provenance from its record (fields it lacks take their defaults)."""
        names = ("dataset", *_LOCATION, *_SELECTION)
        record = {name: data[name] for name in names if name in data}
        if "splits" in record:
            record["splits"] = list(record["splits"] or [])
        return cls(**record)

    def selected(
        self, config: str, card_config: str, splits: list[str], source_filter: str | None, layout: str
    ) -> Provenance:
        """This location with what was read of it."""
        return replace(
            self,
            config=config,
            card_config=card_config,
            splits=list(splits),
            source_filter=source_filter,
            layout=layout,
        )

    def label(self) -> str:
        """How every output names a pile: ``user/pile@<commit>`` (a Hub repo), the URL, or a local
        folder's own name."""
        label = self.repo_id or self.uri or self.dataset or "unknown"
        return f"{label}@{self.commit}" if self.commit else label
