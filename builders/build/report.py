"""The build report: what was built per component, beside the registry's published figures.

It is computed from the completion markers on disk (``.build/<component>/*.json``), so a
resumed build, or a folder built one component at a time, reports everything it holds.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from builders.spec.registry import get_component, registry
from builders.spec.split import TEST_FRACTION, rule_of
from builders.storage.layout import REPORT, STATE_DIR
from builders.storage.shards import write_json_atomic
from builders.text_table import render_table

FAILED_SUFFIX = ".failed.json"


def read_markers(out: Path, component: str) -> list[dict]:
    """Completion (``done`` / ``skipped``) and failure markers of one component, by key."""
    folder = Path(out) / STATE_DIR / component
    if not folder.is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def summarize_component(name: str, markers: list[dict], test_fraction: float = TEST_FRACTION) -> dict:
    """Per-component totals, shares of the test split, and every skipped/failed session."""
    comp = get_component(name)
    done = [m for m in markers if m["status"] == "done"]
    test = [m for m in done if m.get("test_tokens")]  # sessions with rows in test (whole, or a time tail)
    tokens = sum(m["tokens"] for m in done)
    stats_keys = ("saturated_bins", "dropped_nonfinite", "dropped_negative", "dropped_out_of_range", "unsorted_units")
    totals = {k: sum(m["stats"].get(k, 0) for m in done) for k in stats_keys}
    return {
        "source": comp.source_label,
        "version": next((m.get("version") for m in done if m.get("version")), comp.version),
        "species": comp.species,
        "sessions_built": len(done),
        "subjects_built": len({m["subject_id"] for m in done}),
        "rows": sum(m["rows"] for m in done),
        "tokens": tokens,
        "split_rule": rule_of(name, test_fraction),
        "test_sessions": len(test),
        "test_session_share": len(test) / len(done) if done else 0.0,
        "test_tokens": sum(m["test_tokens"] for m in test),
        "test_token_share": sum(m["test_tokens"] for m in test) / tokens if tokens else 0.0,
        **totals,
        "dropped_spikes": totals["dropped_nonfinite"] + totals["dropped_negative"] + totals["dropped_out_of_range"],
        "published": {"subjects": comp.subjects, "sessions": comp.sessions, "tokens": comp.tokens},
        "skipped": [{"session": m["key"], "reason": m["reason"]} for m in markers if m["status"] == "skipped"],
        "failed": [{"session": m["key"], "error": m["error"]} for m in markers if m["status"] == "failed"],
        # files left out of built sessions by the component's skip_file rule, "<path>: <reason>"
        "skipped_files": [
            {"session": m["key"], "file": line} for m in done for line in m.get("notes", {}).get("skipped_files", [])
        ],
        # how many sessions were read with each timing rule (firing-rate components only)
        "timing_rules": dict(Counter(r for m in done for r in m.get("notes", {}).get("timing_rule", []))),
    }


def make_report(out: Path, parameters: dict, package_version: str) -> dict:
    """Summaries of every component that has markers in ``out``, in registry order."""
    components = {}
    for name in registry():
        markers = read_markers(out, name)
        if markers:
            components[name] = summarize_component(name, markers, parameters.get("test_fraction", TEST_FRACTION))
    return {"package_version": package_version, "parameters": parameters, "components": components}


def write_report(out: Path, report: dict) -> Path:
    path = Path(out) / REPORT
    write_json_atomic(path, report)
    return path


def _fmt_pair(built: int, published: int) -> str:
    return f"{built:,} / {published:,}" if published else f"{built:,}"


def format_report(report: dict) -> str:
    """A plain-text table of the report, followed by every skipped or failed session, every file
    left out of a built session, and the timing rules firing-rate sessions were read with."""
    header = (
        "component",
        "sessions",
        "subjects",
        "rows",
        "tokens (built / published)",
        "split rule",
        "test sess",
        "test tok",
        "saturated",
        "dropped",
        "skipped",
        "skipped files",
        "failed",
    )
    lines = []
    for name, c in report["components"].items():
        pub = c["published"]
        lines.append(
            (
                name,
                _fmt_pair(c["sessions_built"], pub["sessions"]),
                _fmt_pair(c["subjects_built"], pub["subjects"]),
                f"{c['rows']:,}",
                _fmt_pair(c["tokens"], pub["tokens"]),
                c["split_rule"],
                f"{100 * c['test_session_share']:.1f}%",
                f"{100 * c['test_token_share']:.1f}%",
                f"{c['saturated_bins']:,}",
                f"{c['dropped_spikes']:,}",
                str(len(c["skipped"])),
                str(len(c.get("skipped_files", []))),
                str(len(c["failed"])),
            )
        )
    text = render_table(header, lines)
    for name, chosen in report.get("selection", {}).items():
        if name in report["components"] and chosen.get("skipped_files"):
            reasons = ", ".join(f"{n:,} {reason}" for reason, n in chosen["skipped_files"].items())
            text.append(
                f"{name}: read {chosen['selected_files']:,} of {chosen['listed_files']:,} listed files; "
                f"skipped files (not failures): {reasons}"
            )
    for c in report["components"].values():
        text += [f"skipped {s['session']}: {s['reason']}" for s in c["skipped"]]
        text += [f"skipped file {s['file']} (session {s['session']} kept)" for s in c.get("skipped_files", [])]
        text += [f"timing rule {rule}: {n} session(s)" for rule, n in c.get("timing_rules", {}).items()]
        text += [f"FAILED  {s['session']}: {s['error']}" for s in c["failed"]]
    return "\n".join(text)
