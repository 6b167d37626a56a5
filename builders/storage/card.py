"""Dataset cards (``README.md``): YAML front matter whose ``configs:`` make ``load_dataset`` work, then text.

:func:`write_card` is the one writer of cards (atomic); each job gives its front matter and body.
For a built folder, :func:`card_front_matter` gives the configs: ``load_dataset(folder, "vbn")``
reads ``data/vbn/<split>-*.parquet``; ``load_dataset(folder)`` reads the default config, ``all``
(every built component except the synthetic demo); the Hub-style ``dataset_info`` of each config
changes with any shard, so a changed folder gets a new ``datasets`` cache. :func:`license_section`
says what a card's license means for its rows (:mod:`.attribution` has the sources and citations).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import yaml

from builders.spec.registry import get_component, registry
from builders.spec.split import SPLITS
from builders.storage.atomic import write_text_atomic
from builders.storage.attribution import pile_license
from builders.storage.layout import ALL, CARD, DATA_DIR, split_has_rows


def _split_size(out: Path, component: str, split: str) -> dict:
    """Rows, uncompressed bytes (what the Hub records as ``num_bytes``) and file bytes of one
    component's shards of one split, from the Parquet footers."""
    size = {"num_examples": 0, "num_bytes": 0, "file_bytes": 0}
    for path in sorted((Path(out) / DATA_DIR / component).glob(f"{split}-*.parquet")):
        meta = pq.ParquetFile(path).metadata
        size["num_examples"] += meta.num_rows
        size["num_bytes"] += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        size["file_bytes"] += path.stat().st_size
    return size


def _config_entries(
    out: Path, name: str, components: list[str], default: bool, sizes: dict[tuple[str, str], dict]
) -> tuple[dict, dict]:
    """One ``configs:`` entry and its ``dataset_info`` entry. A split none of whose components has
    a session is left out: ``datasets`` refuses to load a split of zero examples (the schema-only
    shards stay on disk, so every pattern that is listed matches a file). The info's per-split
    sizes change with any shard, so ``load_dataset`` gets a new cache when the folder changes."""
    filled = [split for split in SPLITS if any(split_has_rows(out, c, split) for c in components)] or ["train"]
    config = {"config_name": name}
    if default:
        config["default"] = True
    config["data_files"] = [
        {"split": split, "path": [f"{DATA_DIR}/{c}/{split}-*.parquet" for c in components]} for split in filled
    ]
    splits, download = [], 0
    for split in filled:
        for c in components:
            if (c, split) not in sizes:
                sizes[c, split] = _split_size(out, c, split)
        parts = [sizes[c, split] for c in components]
        splits.append(
            {
                "name": split,
                "num_bytes": sum(p["num_bytes"] for p in parts),
                "num_examples": sum(p["num_examples"] for p in parts),
            }
        )
        download += sum(p["file_bytes"] for p in parts)
    # datasets is loaded here, where a card is written, not with the module (`neural-pile --help`)
    from builders.spec.features import FEATURES

    info = {
        "config_name": name,
        "features": FEATURES._to_yaml_list(),
        "splits": splits,
        "download_size": download,
        "dataset_size": sum(s["num_bytes"] for s in splits),
    }
    return config, info


def card_front_matter(out: Path, components: list[str]) -> dict:
    """The card's YAML as a dict: license, one config per built component plus ``all`` when it is
    non-empty, and the Hub-style ``dataset_info`` of each config."""
    real = [c for c in components if get_component(c).in_all]
    entries = [(ALL, real, True)] if real else []
    entries += [(name, [name], not real and i == 0) for i, name in enumerate(components)]
    sizes: dict[tuple[str, str], dict] = {}
    configs, infos = (
        zip(*[_config_entries(Path(out), *entry, sizes) for entry in entries], strict=True) if entries else ((), ())
    )
    return {
        "license": pile_license(components),
        "task_categories": ["time-series-forecasting"],
        "tags": ["neuroscience", "spike-counts", "electrophysiology"],
        "configs": list(configs),
        "dataset_info": list(infos),
    }


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated blocks in full (no ``&id001`` anchors), as dataset cards usually are."""

    def ignore_aliases(self, data) -> bool:
        return True


#: libyaml's parser where PyYAML was built with it (same results, several times faster on a card
#: of 25 configs), else PyYAML's own.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_front_matter(text: str) -> dict:
    """The YAML front matter of a card's text as a dict; ``{}`` when the text has none.

    Raises ``yaml.YAMLError`` when the front matter is not YAML."""
    if not text.startswith("---"):
        return {}
    front, _, _ = text[3:].partition("\n---")
    data = yaml.load(front, Loader=_YAML_LOADER)
    return data if isinstance(data, dict) else {}


def card_text(front: dict, body: str) -> str:
    """A card: ``front`` as YAML front matter (between ``---`` lines, keys in their order), then ``body``."""
    return "---\n" + yaml.dump(front, Dumper=_PlainDumper, sort_keys=False) + "---\n" + body


def write_card(out: Path, front: dict, body: str) -> Path:
    """Write the card :func:`card_text` makes to ``<out>/README.md`` atomically; returns its path.

    The one writer of cards: a built folder's (:mod:`builders.build.card`), a merged pile's, a
    reordered folder's and a tokenizer's go through it, each with its own front matter and body."""
    path = Path(out) / CARD
    write_text_atomic(path, card_text(front, body))
    return path


def card_yaml(out: Path, components: list[str]) -> str:
    """The YAML front matter block (between ``---`` lines) of a built folder's card."""
    return card_text(card_front_matter(out, components), "")


def license_section(license_: str, components: list[str]) -> str:
    """The card's "License" paragraph: what its YAML ``license`` means for the rows it holds.

    Args:
        license_: the YAML ``license`` value of the card.
        components: the ``source_dataset`` values of its rows (names outside the registry count
            as recorded data of unknown license).
    """
    known = registry()
    synthetic = [c for c in components if c in known and known[c].archive == "synthetic"]
    recorded = [c for c in components if c not in synthetic]
    own = (
        "synthetic, drawn by this package's generator from a seeded random model of spiking units: no "
        "animal was recorded and no third-party data is in them, so they carry the package's own "
        "license, MIT"
    )
    if not recorded:
        text = f"`license: {license_}`: the rows are {own}."
    elif license_ == "cc-by-4.0":
        text = f"`license: {license_}`: every recording here is CC-BY-4.0; credit its authors as below."
    else:
        text = (
            f"`license: {license_}`: the recordings here come under different or unrecorded licenses, "
            "listed per component below; check each before reuse."
        )
    if recorded and synthetic:
        text += f" The {', '.join(f'`{c}`' for c in synthetic)} rows are {own}."
    return f"## License\n\n{text}\n"
