"""Licenses and citations of the source recordings (``builders/spec/facts/attribution.tsv``).

Almost every component is CC-BY-4.0, which requires attribution in anything built from it: the
dataset card and the tokenizer card name the components they were made from with
:func:`sources_section`, and the card's YAML ``license`` comes from :func:`pile_license`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from builders.spec.registry import fact_text, get_component

UNKNOWN = "unknown, see the archive page"
CC_BY = "CC-BY-4.0"


@dataclass(frozen=True)
class Attribution:
    """What a user of one component must know: where it is, under which license, how to cite it.

    Empty ``license``/``citation`` mean the archive states none that was recorded here."""

    component: str
    archive_id: str
    version: str
    license: str
    doi: str
    citation: str

    @property
    def page(self) -> str:
        """The component's archive page."""
        comp = get_component(self.component)
        if comp.archive == "dandi":
            return f"https://dandiarchive.org/dandiset/{self.archive_id}" + (f"/{self.version}" if self.version else "")
        if comp.archive == "figshare":
            return f"https://figshare.com/articles/dataset/{self.archive_id}"
        return ""


@lru_cache(maxsize=1)
def attributions() -> dict[str, Attribution]:
    """Every component's attribution by name (archive id and version from the registry where the
    table leaves them empty)."""
    text = fact_text("attribution.tsv")
    out = {}
    for row in csv.DictReader(text.splitlines(), delimiter="\t"):
        name = row["name"].strip()
        comp = get_component(name)
        out[name] = Attribution(
            component=name,
            archive_id=row["archive_id"].strip() or comp.archive_id,
            version=row["version"].strip() or (comp.version or ""),
            license=row["license"].strip(),
            doi=row["doi"].strip(),
            citation=row["citation"].strip(),
        )
    return out


def _sourced(components: list[str]) -> list[str]:
    """Components that come from an archive (the synthetic demo has no source to attribute)."""
    return [c for c in components if get_component(c).archive != "synthetic"]


def pile_license(components: list[str]) -> str:
    """The card's YAML ``license``: ``cc-by-4.0`` when every sourced component is CC-BY-4.0,
    ``mit`` for synthetic data only (this package's license), else ``other``."""
    sourced = _sourced(components)
    if not sourced:
        return "mit"
    table = attributions()
    return (
        "cc-by-4.0"
        if all(table[c].license == CC_BY for c in sourced if c in table) and all(c in table for c in sourced)
        else "other"
    )


def sources_section(
    components: list[str], versions: dict[str, str | None] | None = None, pile: str | None = None
) -> str:
    """A Markdown "Sources and citation" section for ``components``.

    Args:
        components: component names (the synthetic demo is left out).
        versions: archive versions actually read, by component (default: the table's).
        pile: if given, the section names it as the data the artefact was made from (the tokenizer
            card passes the pile's folder or Hub id).
    """
    sourced = _sourced(components)
    table = attributions()
    license_ = pile_license(components)
    lines = ["## Sources and citation", ""]
    if pile:
        lines += [f"Made from the rodent neural pile `{pile}`, built from the recordings below.", ""]
    if not sourced:
        return "\n".join(lines + ["Synthetic recordings only (written by this package): no source to cite.", ""])
    if license_ == "cc-by-4.0":
        lines += [
            "Every recording below is licensed CC-BY-4.0: anything built from it must credit its authors "
            "(cite them as below).",
            "",
        ]
    else:
        lines += [
            "The recordings below come under different or unrecorded licenses: check each before reuse, "
            "and credit the authors (cite them as below).",
            "",
        ]
    lines += ["| component | archive id | version | license | citation |", "|:--|:--|:--|:--|:--|"]
    for name in sourced:
        item = table.get(name)
        if item is None:
            comp = get_component(name)
            item = Attribution(name, comp.archive_id, comp.version or "", "", "", "")
        version = (versions or {}).get(name) or item.version or "n/a"
        unknown = f"{UNKNOWN} ({item.page})" if item.page else UNKNOWN
        citation = item.citation.replace("|", "\\|") or unknown
        lines.append(
            f"| {name} | {get_component(name).archive}:{item.archive_id} | {version} | "
            f"{item.license or unknown} | {citation} |"
        )
    return "\n".join(lines) + "\n"
