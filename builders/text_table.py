"""Plain-text tables for terminal reports: first column left-aligned, the others right-aligned."""

from __future__ import annotations

from collections.abc import Sequence


def render_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """The lines of a table: header, a rule of dashes, then one line per row."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def render(row) -> str:
        cells = zip(row, widths, strict=True)
        return "  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(cells))

    return [render(header), render(["-" * w for w in widths]), *map(render, rows)]
