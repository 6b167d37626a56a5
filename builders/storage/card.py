"""The dataset card (``README.md``) whose YAML ``configs:`` make ``load_dataset`` work.

``load_dataset(folder, "vbn")`` reads ``data/vbn/<split>-*.parquet``; ``load_dataset(folder)``
reads the default config, ``all`` (every built component except the synthetic demo). The card
also records provenance: archive versions, bin size, chunk limit, split rule, package version, the
Hub-style ``dataset_info`` of each config (so a changed folder gets a new ``datasets`` cache), the
license of the components built and how to cite them (:mod:`.attribution`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from builders.spec.registry import get_component, registry
from builders.spec.schema import FEATURES
from builders.spec.split import SPLIT_RULE, SPLITS
from builders.storage.attribution import pile_license, sources_section
from builders.storage.layout import ALL, CARD, DATA_DIR, built_components, split_has_rows
from builders.storage.shards import write_text_atomic


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


def card_yaml(out: Path, components: list[str]) -> str:
    """The YAML front matter block (between ``---`` lines) of the card."""
    return "---\n" + yaml.safe_dump(card_front_matter(out, components), sort_keys=False) + "---\n"


def _markdown_table(report: dict) -> str:
    header = (
        "| config | source | version | species | sessions | subjects | rows | tokens | split rule "
        "| sessions with test rows | test share of tokens |"
    )
    rule = "|:--|:--|:--|:--|--:|--:|--:|--:|:--|--:|--:|"
    body = []
    for name, comp in report["components"].items():
        body.append(
            f"| {name} | {comp['source']} | {comp.get('version') or 'n/a'} | {comp['species']} | "
            f"{comp['sessions_built']:,} | {comp['subjects_built']:,} | {comp['rows']:,} | "
            f"{comp['tokens']:,} | {comp.get('split_rule', 'n/a')} | {comp['test_sessions']:,} "
            f"({100 * comp['test_session_share']:.1f}%) | {100 * comp['test_token_share']:.2f}% |"
        )
    return "\n".join([header, rule, *body])


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


def write_card(out: Path, report: dict) -> Path:
    """(Re)write ``<out>/README.md`` for every component built in ``out``."""
    out = Path(out)
    components = built_components(out)
    params = report["parameters"]
    text = (
        card_yaml(out, components)
        + f"""
# Rodent neural pile

Spike counts of single units recorded in mice and rats, binned in {params["bin_size_s"] * 1000:g} ms bins and
stored as uint8 tokens (counts above 255 saturate). Each row is one segment of one recording session:
`spike_counts` is a `n_neurons x n_time_bins` array; long sessions are cut along time into segments of at
most ~{params["max_tokens"]:,} tokens.

```python
from datasets import load_dataset
ds = load_dataset("<this folder or repo>", "{components[0] if components else "demo"}", split="train")
from neural_pile_rodent import spike_counts_array      # zero-copy uint8 (n_neurons, n_time_bins)
counts = spike_counts_array(ds, 0)
```

## Contents

{_markdown_table(report)}

## Provenance

- built with neural-pile-rodent {report["package_version"]}
- bin size: {params["bin_size_s"]} s; bins start at each session's time 0 (edges `arange(0, t_last + b, b)`)
- chunk limit: {params["max_tokens"]:,} tokens per row
- split (test_fraction {params["test_fraction"]}): {SPLIT_RULE}
- archive versions: {json.dumps({n: c.get("version") for n, c in report["components"].items()})}

Columns: `spike_counts`, `subject_id`, `session_id`, `segment_id`, `source_dataset`, `n_neurons`,
`n_time_bins`, `t_start` (seconds), `unit_ids` (original unit ids), `unit_regions` (brain area per unit,
empty where unknown).

{license_section(pile_license(components), components)}
{sources_section(components, {n: c.get("version") for n, c in report["components"].items()})}"""
    )
    path = out / CARD
    write_text_atomic(path, text)
    return path
