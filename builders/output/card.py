"""The dataset card (``README.md``) whose YAML ``configs:`` make ``load_dataset`` work.

``load_dataset(folder, "vbn")`` reads ``data/vbn/<split>-*.parquet``; ``load_dataset(folder)``
reads the default config, ``all`` (every built component except the synthetic demo). The card
also records provenance: archive versions, bin size, chunk limit, split rule, package version.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..registry import get_component
from ..split import SPLIT_RULE, SPLITS
from .layout import ALL, CARD, DATA_DIR, built_components, split_has_rows
from .shards import write_text_atomic


def _config_yaml(out: Path, name: str, components: list[str], default: bool) -> list[str]:
    """One ``configs:`` entry. A split none of whose components has a session is left out:
    ``datasets`` refuses to load a split of zero examples (the schema-only shards stay on disk,
    so every pattern that is listed matches a file)."""
    lines = [f"- config_name: {name}"]
    if default:
        lines.append("  default: true")
    lines.append("  data_files:")
    filled = [split for split in SPLITS if any(split_has_rows(out, c, split) for c in components)]
    for split in filled or ["train"]:
        lines.append(f"  - split: {split}")
        lines.append("    path:")
        lines.extend(f"    - {DATA_DIR}/{c}/{split}-*.parquet" for c in components)
    return lines


def card_yaml(out: Path, components: list[str]) -> str:
    """The YAML front matter: one config per built component, plus ``all`` when it is non-empty."""
    real = [c for c in components if get_component(c).in_all]
    lines = ["---", "license: other", "task_categories:", "- time-series-forecasting", "tags:",
             "- neuroscience", "- spike-counts", "- electrophysiology", "configs:"]
    if real:
        lines += _config_yaml(out, ALL, real, default=True)
    for i, name in enumerate(components):
        lines += _config_yaml(out, name, [name], default=not real and i == 0)
    lines.append("---")
    return "\n".join(lines) + "\n"


def _markdown_table(report: dict) -> str:
    header = "| config | source | version | species | sessions | subjects | rows | tokens | test sessions |"
    rule = "|:--|:--|:--|:--|--:|--:|--:|--:|--:|"
    body = []
    for name, comp in report["components"].items():
        body.append(
            f"| {name} | {comp['source']} | {comp.get('version') or 'n/a'} | {comp['species']} | "
            f"{comp['sessions_built']:,} | {comp['subjects_built']:,} | {comp['rows']:,} | "
            f"{comp['tokens']:,} | {comp['test_sessions']:,} |"
        )
    return "\n".join([header, rule, *body])


def write_card(out: Path, report: dict) -> Path:
    """(Re)write ``<out>/README.md`` for every component built in ``out``."""
    out = Path(out)
    components = built_components(out)
    params = report["parameters"]
    text = card_yaml(out, components) + f"""
# Rodent neural pile

Spike counts of single units recorded in mice and rats, binned in {params['bin_size_s'] * 1000:g} ms bins and
stored as uint8 tokens (counts above 255 saturate). Each row is one segment of one recording session:
`spike_counts` is a `n_neurons x n_time_bins` array; long sessions are cut along time into segments of at
most ~{params['max_tokens']:,} tokens.

```python
from datasets import load_dataset
ds = load_dataset("<this folder or repo>", "{components[0] if components else 'demo'}", split="train")
from neural_pile_rodent import spike_counts_array      # zero-copy uint8 (n_neurons, n_time_bins)
counts = spike_counts_array(ds, 0)
```

## Contents

{_markdown_table(report)}

## Provenance

- built with neural-pile-rodent {report['package_version']}
- bin size: {params['bin_size_s']} s; bins start at each session's time 0 (edges `arange(0, t_last + b, b)`)
- chunk limit: {params['max_tokens']:,} tokens per row
- split: {SPLIT_RULE}
- archive versions: {json.dumps({n: c.get('version') for n, c in report['components'].items()})}

Columns: `spike_counts`, `subject_id`, `session_id`, `segment_id`, `source_dataset`, `n_neurons`,
`n_time_bins`, `t_start` (seconds), `unit_ids` (original unit ids), `unit_regions` (brain area per unit,
empty where unknown). The licenses of the source recordings apply (see each archive's page).
"""
    path = out / CARD
    write_text_atomic(path, text)
    return path
