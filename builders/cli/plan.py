"""``neural-pile plan``: what a build would read, from the archives' listings, before any spike byte.

For each component: files listed, files selected, files skipped by reason, sessions and subjects
against the published figures, the bytes of the selected files (an upper bound of what the build
fetches: it reads the units tables only), how each file was decided (names, listing metadata, HDF5
roots and the requests those took) and a verdict. Exit 0 when every component is within its
registry tolerance, 1 when one is not, 2 on bad input. Nothing is written but ``--json``.
"""

from __future__ import annotations

import argparse
import sys

from builders.cli.build import resolve_components
from builders.cli.common import CommandError, error_line, one_line_errors
from builders.errors import NeuralPileError
from builders.spec.registry import get_component
from builders.storage.atomic import write_json_atomic
from builders.text_table import render_table


def _bytes(n: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def plan_record(component, selection, verdict) -> dict:
    """The JSON record of one component's plan (every skipped file listed with its reason)."""
    return {
        "component": component.name,
        "listing": selection.where,
        "version": selection.version or component.version,
        "listed_files": selection.listed,
        "selected_files": len(selection.assets),
        "skipped_files": selection.skipped_by_reason(),
        "skipped": [{"path": path, "reason": reason} for path, reason in selection.skipped],
        "decided_by": dict(selection.decided_by),
        "root_requests": selection.root_requests,
        "sessions": verdict.sessions,
        "subjects": verdict.subjects,
        "published_sessions": component.sessions,
        "published_subjects": component.subjects,
        "session_figure": component.session_figure,
        "selected_bytes": selection.selected_bytes,
        "missing_sessions": list(selection.missing_sessions),
        "verdict": "ok" if verdict.ok else "differs",
        "reasons": list(verdict.reasons),
    }


def format_plan(records: list[dict]) -> str:
    """The plan as a table, then each component's skipped files by reason and its differences."""
    header = ("component", "listed", "selected", "skipped", "sessions (plan / pub)", "subjects", "fetch <=", "verdict")
    rows = [
        (
            r["component"],
            f"{r['listed_files']:,}",
            f"{r['selected_files']:,}",
            f"{sum(r['skipped_files'].values()):,}",
            f"{r['sessions']:,} / {r['published_sessions']:,}",
            f"{r['subjects']:,} / {r['published_subjects']:,}",
            _bytes(r["selected_bytes"]),
            "ok" if r["verdict"] == "ok" else "DIFFERS",
        )
        for r in records
    ]
    lines = render_table(header, rows)
    for r in records:
        decided = ", ".join(f"{n:,} by {how}" for how, n in r["decided_by"].items())
        lines.append(f"\n{r['component']}: {r['listing']}")
        lines.append(f"  decided {decided}; {r['root_requests']:,} requests to HDF5 roots")
        for reason, n in r["skipped_files"].items():
            lines.append(f"  skipped {n:,}: {reason}")
        lines += [f"  {'differs' if r['verdict'] != 'ok' else 'note'}: {reason}" for reason in r["reasons"]]
    lines.append(
        "\n'fetch <=' is the selected files' total size, an upper bound: a build reads only the units "
        "tables (spike times, ids, regions) of each file."
    )
    return "\n".join(lines)


@one_line_errors
def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for --help (see builders.cli)
    from builders.archives import select_component
    from builders.archives.selection import verdict

    names = resolve_components(args.components)
    records = []
    for name in names:
        component = get_component(name)
        try:
            selection = select_component(
                component,
                data_dir=args.data_dir,
                dandi_api_url=args.dandi_api_url,
                figshare_api_url=args.figshare_api_url,
                shared_root=len(names) > 1,
                progress=False if args.no_progress else None,
            )
        except NeuralPileError as exc:  # listing and selection errors name the URL or the file
            raise CommandError(f"{name}: {_one_line(error_line(exc, args))}") from None
        records.append(plan_record(component, selection, verdict(component, selection)))
    print(format_plan(records))
    if args.json:
        try:
            write_json_atomic(args.json, {"components": records})
        except OSError as exc:
            raise CommandError(f"--json {args.json}: {exc.strerror or exc}") from None
        print(f"wrote {args.json}")
    differing = [r["component"] for r in records if r["verdict"] != "ok"]
    if differing:
        print(f"exit 1: {', '.join(differing)} differ from the published figures beyond tolerance", file=sys.stderr)
        return 1
    return 0


def _one_line(text: str) -> str:
    """The first line of an error's text (a listing error may quote a server's several lines)."""
    lines = text.strip().splitlines()
    return lines[0] if lines else "failed"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="show what a build would read from the archives (no spike data read)",
        description="List each component's archive (or --data-dir), select the files a build reads by what they "
        "hold (name rules, the listing's metadata, else the file's HDF5 root), and compare sessions and subjects "
        "with the published figures. Exit 1 when a component differs beyond its tolerance, 2 on bad input.",
    )
    parser.add_argument("components", nargs="+", metavar="COMPONENT", help="components to plan ('all' = the 25)")
    parser.add_argument("--data-dir", default=None, help="plan a local copy instead of the archive (as for build)")
    parser.add_argument("--dandi-api-url", default=None, help="DANDI API to list from (default: the public archive)")
    parser.add_argument("--figshare-api-url", default=None, help="figshare API to list from (default: the public one)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the plan, every skipped file listed")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)
