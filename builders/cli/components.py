"""``neural-pile components``: the registry as a table (the README's component table)."""

from __future__ import annotations

import argparse

from builders.cli.common import one_line_errors
from builders.spec.registry import pile_components


def component_table() -> str:
    """Markdown table of the 25 components with their published figures, plus the total."""
    lines = [
        "| config | name | archive id | version | species | subjects | sessions | published tokens |",
        "|:--|:--|:--|:--|:--|--:|--:|--:|",
    ]
    comps = pile_components()
    for c in comps:
        lines.append(
            f"| `{c.name}` | {c.display_name} | {c.source_label} | {c.version or 'latest'} | {c.species} | "
            f"{c.subjects} | {c.sessions} | {c.tokens:,} |"
        )
    lines.append(
        f"| **all** | | | | | {sum(c.subjects for c in comps)} | {sum(c.sessions for c in comps):,} | "
        f"**{sum(c.tokens for c in comps):,}** |"
    )
    return "\n".join(lines)


@one_line_errors
def run(args: argparse.Namespace) -> int:
    print(component_table())
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "components",
        help="list the pile's components (markdown table)",
        description="Print every component of the registry with its archive, pinned version, species and the "
        "published subjects / sessions / tokens of the reference build.",
    )
    parser.set_defaults(func=run)
