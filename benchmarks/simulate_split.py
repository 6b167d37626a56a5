"""The train/test split rules over the registry: which components get test data, and how much.

Compares the version-1 rule (a session is ``test`` iff its own hash score is below 1%) with the
version-2 rule of :mod:`builders.spec.split` (nearest token prefix in hash order for components of at
least 100 published sessions, the last 1% of every session's bins otherwise).

Inputs: the registry's published session counts and tokens per component, the real VBN session
list (``vbn_sessions.tsv``; a session's tokens are taken proportional to its unit count) and the
real IBL asset list (``ibl_processed_paths.txt``). Per-session token counts of the other
components are not published: they are drawn log-normally (sigma ``--sigma``) and scaled to the
component's published tokens; their session keys are synthetic, so the version-1 rule is drawn
too. The time-tail rule holds out ``round(0.01 x n_time_bins)`` bins per session, i.e. 1% up to
half a bin per session (under 0.001% for sessions of minutes), counted here as exactly 1%.

    python benchmarks/simulate_split.py [--draws 200] [--sigma 0.6] [--test-fraction 0.01] [--markdown]

Prints the per-component table of draw 0, then the spread of the pile's test share over draws.
"""

from __future__ import annotations

import argparse
import csv
import sys
from importlib import resources
from pathlib import Path

import numpy as np

from builders.archives.sessions import Asset, group_sessions
from builders.spec.registry import get_component, pile_components
from builders.spec.split import (
    SESSION_RULE,
    TEST_FRACTION,
    assign_sessions,
    assign_split_by_score,
    component_rule,
)
from builders.storage.atomic import write_json_atomic


def _facts(name: str) -> str:
    return resources.files("builders.spec").joinpath("facts", name).read_text(encoding="utf-8")


def real_session_keys() -> dict[str, list[tuple[str, str, float]]]:
    """``(subject_id, session_id, relative size)`` of the components whose session lists are known."""
    rows = list(csv.DictReader(_facts("vbn_sessions.tsv").splitlines(), delimiter="\t"))
    vbn = [(r["mouse_id"].strip(), r["ecephys_session_id"].strip(), float(r["unit_count"])) for r in rows]
    paths = [line.strip() for line in _facts("ibl_processed_paths.txt").splitlines() if line.strip()]
    ibl = [
        (s.subject_id, s.session_id, float("nan"))
        for s in group_sessions(get_component("ibl"), [Asset(path=p, url=p) for p in paths])
    ]
    return {"vbn": vbn, "ibl": ibl}


def draw_sessions(rng: np.random.Generator, draw: int, sigma: float) -> dict[str, list[tuple[str, str, int]]]:
    """Every component's sessions with integer tokens summing to its published tokens."""
    known = real_session_keys()
    out = {}
    for comp in pile_components():
        keys = known.get(comp.name) or [(f"sim{draw}", f"{comp.name}-{i}", float("nan")) for i in range(comp.sessions)]
        sizes = np.array([k[2] for k in keys])
        if np.isnan(sizes).any():
            sizes = rng.lognormal(0.0, sigma, len(keys))
        tokens = np.floor(sizes / sizes.sum() * comp.tokens).astype(np.int64)
        out[comp.name] = [(s, t, int(n)) for (s, t, _), n in zip(keys, tokens, strict=True)]
    return out


def test_tokens(
    name: str, sessions: list[tuple[str, str, int]], rule: str, test_fraction: float = TEST_FRACTION
) -> tuple[int, int]:
    """(sessions with test rows, test tokens) of one component under ``old`` or ``new``."""
    if rule == "old":
        test = [s for s in sessions if assign_split_by_score(name, s[0], s[1], test_fraction) == "test"]
        return len(test), sum(s[2] for s in test)
    if component_rule(get_component(name).sessions, test_fraction) == SESSION_RULE:
        splits = assign_sessions(name, sessions, test_fraction)
        test = [s for s in sessions if splits[(s[0], s[1])] == "test"]
        return len(test), sum(s[2] for s in test)
    return len(sessions), round(test_fraction * sum(s[2] for s in sessions))


def simulate(draw: int, sigma: float, test_fraction: float = TEST_FRACTION) -> dict:
    sessions = draw_sessions(np.random.default_rng(draw), draw, sigma)
    table = {}
    for name, items in sessions.items():
        tokens = sum(s[2] for s in items)
        row = {
            "sessions": len(items),
            "tokens": tokens,
            "rule": component_rule(get_component(name).sessions, test_fraction),
        }
        for rule in ("old", "new"):
            n_test, test = test_tokens(name, items, rule, test_fraction)
            row[rule] = (n_test, test / tokens)
        table[name] = row
    total = sum(r["tokens"] for r in table.values())
    pile = {rule: sum(r[rule][1] * r["tokens"] for r in table.values()) / total for rule in ("old", "new")}
    return {"components": table, "pile": pile}


def format_table(result: dict, markdown: bool) -> str:
    header = [
        "component",
        "sessions",
        "tokens",
        "v2 rule",
        "v1 test sessions",
        "v1 test tokens",
        "v2 test sessions",
        "v2 test tokens",
    ]
    rows = []
    for name, r in result["components"].items():
        rows.append(
            [
                name,
                f"{r['sessions']}",
                f"{r['tokens'] / 1e9:.1f}B",
                r["rule"],
                f"{r['old'][0]}",
                f"{100 * r['old'][1]:.2f}%",
                f"{r['new'][0]}",
                f"{100 * r['new'][1]:.2f}%",
            ]
        )
    with_test = {rule: sum(1 for r in result["components"].values() if r[rule][0]) for rule in ("old", "new")}
    rows.append(
        [
            "pile",
            "",
            "",
            "",
            f"{with_test['old']} comps",
            f"{100 * result['pile']['old']:.2f}%",
            f"{with_test['new']} comps",
            f"{100 * result['pile']['new']:.2f}%",
        ]
    )
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|:--|" + "--:|" * (len(header) - 1)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
        for r in [header, *rows]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200, help="draws of the unknown session sizes (default: 200)")
    parser.add_argument("--sigma", type=float, default=0.6, help="log-normal spread of session sizes (default: 0.6)")
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=TEST_FRACTION,
        help=f"target test share of tokens (default: {TEST_FRACTION})",
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    first = simulate(0, args.sigma, args.test_fraction)
    print(format_table(first, args.markdown))
    shares = {"old": [], "new": []}
    with_test = {"old": [], "new": []}
    for draw in range(args.draws):
        result = simulate(draw, args.sigma, args.test_fraction)
        for rule in shares:
            shares[rule].append(100 * result["pile"][rule])
            with_test[rule].append(sum(1 for r in result["components"].values() if r[rule][0]))
    print(f"\nover {args.draws} draws of the unknown session sizes (sigma {args.sigma}):")
    spread = {}
    for rule, label in (("old", "v1 (own hash < 1%)"), ("new", "v2 (this package)")):
        s, c = np.array(shares[rule]), np.array(with_test[rule])
        within = int(np.sum(np.abs(s - 100 * args.test_fraction) <= 10 * args.test_fraction))
        spread[rule] = {
            "test_share_percent": [float(s.min()), float(np.median(s)), float(s.max())],
            "draws_within_10_percent_of_target": within,
            "components_with_test": [int(c.min()), float(np.median(c)), int(c.max())],
        }
        print(
            f"  {label}: pile test share min {s.min():.2f}% median {np.median(s):.2f}% max {s.max():.2f}% "
            f"(within +-10% of the target in {within} of {args.draws}); "
            f"components with test data min {c.min()} median {np.median(c):.0f} max {c.max()} of 25"
        )
    if args.out is not None:
        write_json_atomic(
            args.out,
            {
                "draws": args.draws,
                "sigma": args.sigma,
                "test_fraction": args.test_fraction,
                "components": len(first["components"]),
                "draw_0": first,
                "min_median_max": spread,
            },
        )
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
