"""The dataset card of a built folder: its configs (:func:`builders.storage.card.card_front_matter`),
what it holds per component (from the build report), its provenance, license and sources."""

from __future__ import annotations

import json
from pathlib import Path

from builders.spec.split import SPLIT_RULE
from builders.storage.attribution import pile_license, sources_section
from builders.storage.card import card_front_matter, license_section, write_card
from builders.storage.layout import built_components
from builders.storage.report import BuildReport


def _markdown_table(report: BuildReport) -> str:
    header = (
        "| config | source | version | species | sessions | subjects | rows | tokens | split rule "
        "| sessions with test rows | test share of tokens |"
    )
    rule = "|:--|:--|:--|:--|--:|--:|--:|--:|:--|--:|--:|"
    body = []
    for name, comp in report.components.items():
        body.append(
            f"| {name} | {comp['source']} | {comp.get('version') or 'n/a'} | {comp['species']} | "
            f"{comp['sessions_built']:,} | {comp['subjects_built']:,} | {comp['rows']:,} | "
            f"{comp['tokens']:,} | {comp.get('split_rule', 'n/a')} | {comp['test_sessions']:,} "
            f"({100 * comp['test_session_share']:.1f}%) | {100 * comp['test_token_share']:.2f}% |"
        )
    return "\n".join([header, rule, *body])


def write_build_card(out: Path, report: BuildReport) -> Path:
    """(Re)write ``<out>/README.md`` for every component built in ``out``."""
    out = Path(out)
    components = built_components(out)
    params = report.parameters
    body = f"""
# Rodent neural pile

Spike counts of single units recorded in mice and rats, binned in {params.bin_size_s * 1000:g} ms bins and
stored as uint8 tokens (counts above 255 saturate). Each row is one segment of one recording session:
`spike_counts` is a `n_neurons x n_time_bins` array; long sessions are cut along time into segments of at
most ~{params.max_tokens:,} tokens.

```python
from datasets import load_dataset
ds = load_dataset("<this folder or repo>", "{components[0] if components else "demo"}", split="train")
from neural_pile_rodent import spike_counts_array      # zero-copy uint8 (n_neurons, n_time_bins)
counts = spike_counts_array(ds, 0)
```

## Contents

{_markdown_table(report)}

## Provenance

- built with neural-pile-rodent {report.package_version}
- bin size: {params.bin_size_s} s; bins start at each session's time 0 (edges `arange(0, t_last + b, b)`)
- chunk limit: {params.max_tokens:,} tokens per row
- split (test_fraction {params.test_fraction}): {SPLIT_RULE}
- archive versions: {json.dumps(report.versions())}

Columns: `spike_counts`, `subject_id`, `session_id`, `segment_id`, `source_dataset`, `n_neurons`,
`n_time_bins`, `t_start` (seconds), `unit_ids` (original unit ids), `unit_regions` (brain area per unit,
empty where unknown).

{license_section(pile_license(components), components)}
{sources_section(components, report.versions())}"""
    return write_card(out, card_front_matter(out, components), body)
