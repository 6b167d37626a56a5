"""The build report: what was built per component, beside the registry's published figures.

It is computed from the completion markers on disk (``.build/<component>/*.json``), so a
resumed build, or a folder built one component at a time, reports everything it holds, as the
record :class:`~builders.storage.report.BuildReport`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from builders.spec.registry import get_component, registry
from builders.spec.split import TEST_FRACTION, rule_of
from builders.storage.marker import BuildParameters, SessionMarker, read_markers
from builders.storage.report import BuildReport
from builders.text_table import render_table


def summarize_component(name: str, markers: list[SessionMarker], test_fraction: float = TEST_FRACTION) -> dict:
    """Per-component totals, shares of the test split, and every skipped/failed session."""
    comp = get_component(name)
    done = [m for m in markers if m.status == "done"]
    test = [m for m in done if m.test_tokens]  # sessions with rows in test (whole, or a time tail)
    tokens = sum(m.tokens for m in done)
    stats_keys = ("saturated_bins", "dropped_nonfinite", "dropped_negative", "dropped_out_of_range", "unsorted_units")
    totals = {k: sum(m.stats.get(k, 0) for m in done) for k in stats_keys}
    return {
        "source": comp.source_label,
        "version": next((m.version for m in done if m.version), comp.version),
        "species": comp.species,
        "sessions_built": len(done),
        "subjects_built": len({m.subject_id for m in done}),
        "rows": sum(m.rows for m in done),
        "tokens": tokens,
        "split_rule": rule_of(name, test_fraction),
        "test_sessions": len(test),
        "test_session_share": len(test) / len(done) if done else 0.0,
        "test_tokens": sum(m.test_tokens for m in test),
        "test_token_share": sum(m.test_tokens for m in test) / tokens if tokens else 0.0,
        **totals,
        "dropped_spikes": totals["dropped_nonfinite"] + totals["dropped_negative"] + totals["dropped_out_of_range"],
        "published": {"subjects": comp.subjects, "sessions": comp.sessions, "tokens": comp.tokens},
        "skipped": [{"session": m.key, "reason": m.reason} for m in markers if m.status == "skipped"],
        "failed": [{"session": m.key, "error": m.error} for m in markers if m.status == "failed"],
        # files left out of built sessions by the component's skip_file rule, "<path>: <reason>"
        "skipped_files": [{"session": m.key, "file": line} for m in done for line in m.notes.get("skipped_files", [])],
        # how many sessions were read with each timing rule (firing-rate components only)
        "timing_rules": dict(Counter(r for m in done for r in m.notes.get("timing_rule", []))),
    }


def make_report(out: Path, parameters: BuildParameters, package_version: str) -> BuildReport:
    """Summaries of every component that has markers in ``out``, in registry order."""
    components = {}
    test_fraction = TEST_FRACTION if parameters.test_fraction is None else parameters.test_fraction
    for name in registry():
        markers = read_markers(out, name)
        if markers:
            components[name] = summarize_component(name, markers, test_fraction)
    return BuildReport(package_version, parameters, components)


def _fmt_pair(built: int, published: int) -> str:
    return f"{built:,} / {published:,}" if published else f"{built:,}"


def format_report(report: BuildReport) -> str:
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
    for name, c in report.components.items():
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
    for name, chosen in report.selection.items():
        if name in report.components and chosen.get("skipped_files"):
            reasons = ", ".join(f"{n:,} {reason}" for reason, n in chosen["skipped_files"].items())
            text.append(
                f"{name}: read {chosen['selected_files']:,} of {chosen['listed_files']:,} listed files; "
                f"skipped files (not failures): {reasons}"
            )
    for c in report.components.values():
        text += [f"skipped {s['session']}: {s['reason']}" for s in c["skipped"]]
        text += [f"skipped file {s['file']} (session {s['session']} kept)" for s in c.get("skipped_files", [])]
        text += [f"timing rule {rule}: {n} session(s)" for rule, n in c.get("timing_rules", {}).items()]
        text += [f"FAILED  {s['session']}: {s['error']}" for s in c["failed"]]
    return "\n".join(text)
