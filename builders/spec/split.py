"""The train/test split (rule version 2): about 1% of every component's tokens in ``test``.

Two rules, chosen per component from the registry's published session count (a fixed fact of
the component, so a partial build and a full build use the same rule):

``sessions`` (components whose average published session is at most the test share of their
tokens: ``published_sessions x test_fraction >= 1``, i.e. at least 100 sessions at 1%)
    Whole sessions go to ``test``. The component's sessions are ordered by :func:`split_score`
    (a fixed hash of ``component/subject_id/session_id``, uniform in [0, 1)); with ``C_k`` the
    tokens of the first ``k`` sessions in that order and ``F = test_fraction x`` the component's
    tokens, ``test`` is the first ``k`` sessions where ``k >= 1`` minimises ``|C_k - F|`` (a tie
    keeps the smaller ``k``). No unit's activity is in both splits. Adding a component never
    moves another component's session; adding sessions to a component moves only sessions at its
    boundary (a new session ordered before the boundary, and the one or two sessions where
    ``C_k`` crosses ``F``).

``time_tail`` (components with fewer published sessions: an average session is more than the
target, so whole sessions would give a test split that is empty or several times too large)
    The last ``round(test_fraction x n_time_bins)`` bins of every session form separate ``test``
    rows; the rest of the session is ``train``. The test rows are later in time than every
    train row of their session, so a model never sees the future of a test segment in train,
    but the same units appear in both splits. The decision depends on the session alone.

Both rules are decided from token counts, so :func:`assign_sessions` runs where a component's
sessions and their tokens are known (the build's finalize, from the completion markers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from builders.spec.registry import get_component

#: Share of tokens put in the test split.
TEST_FRACTION = 0.01
SPLITS = ("train", "test")
#: Version of the rule below; recorded in the build parameters and the dataset card.
SPLIT_RULE_VERSION = 2
SESSION_RULE = "sessions"
TIME_TAIL_RULE = "time_tail"

#: Human-readable statement of the rule, written into the dataset card.
SPLIT_RULE = (
    f"split rule version {SPLIT_RULE_VERSION}. Components with published_sessions x test_fraction >= 1 "
    "(rule `sessions`): sessions are ordered by int(sha256('component/subject_id/session_id')[:16], 16) / 2**64; "
    "`test` is the prefix of that order (at least one session; the shorter on a tie) whose tokens are nearest to "
    "test_fraction of the component's tokens; no session is in both splits. Smaller components (rule "
    "`time_tail`): the last round(test_fraction x n_time_bins) bins of every session are separate `test` rows."
)


def split_score(component: str, subject_id: str, session_id: str) -> float:
    """Position of the session in [0, 1), uniform over sessions, fixed forever."""
    key = f"{component}/{subject_id}/{session_id}".encode()
    return int(hashlib.sha256(key).hexdigest()[:16], 16) / 2**64


def _check_fraction(test_fraction: float) -> None:
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be within [0, 1], got {test_fraction}")


def component_rule(published_sessions: int, test_fraction: float = TEST_FRACTION) -> str:
    """:data:`SESSION_RULE` when an average session is at most the test share of the component's
    tokens (``published_sessions x test_fraction >= 1``), else :data:`TIME_TAIL_RULE`."""
    _check_fraction(test_fraction)
    return SESSION_RULE if published_sessions * test_fraction >= 1 - 1e-9 else TIME_TAIL_RULE


def rule_of(component: str, test_fraction: float = TEST_FRACTION) -> str:
    """The rule of a registry component (from its published session count)."""
    return component_rule(get_component(component).sessions, test_fraction)


def held_out_bins(n_time_bins: int, test_fraction: float = TEST_FRACTION) -> int:
    """Bins at the end of a session that go to ``test`` under the time-tail rule
    (``round(test_fraction x n_time_bins)``, halves rounded up, never the whole session)."""
    _check_fraction(test_fraction)
    return min(int(n_time_bins * test_fraction + 0.5), max(n_time_bins - 1, 0))


def assign_sessions(
    component: str, sessions: Iterable[tuple[str, str, int]], test_fraction: float = TEST_FRACTION
) -> dict[tuple[str, str], str]:
    """The session rule: ``{(subject_id, session_id): split}`` for one component.

    Args:
        component: component name (part of the hashed key).
        sessions: ``(subject_id, session_id, tokens)`` of every built session of the component.
        test_fraction: target share of the component's tokens in ``test``.
    """
    _check_fraction(test_fraction)
    items = sorted(sessions, key=lambda s: (split_score(component, s[0], s[1]), s[0], s[1]))
    target = test_fraction * sum(tokens for _, _, tokens in items)
    n_test = 0
    if items and test_fraction > 0:
        cumulative = 0
        n_test = len(items)
        for k, (_, _, tokens) in enumerate(items, start=1):
            before, cumulative = cumulative, cumulative + tokens
            if cumulative >= target:
                # C_k is the first prefix at or past the target; C_{k-1} wins when it is as near or nearer
                n_test = k - 1 if k > 1 and target - before <= cumulative - target else k
                break
    return {(s[0], s[1]): ("test" if i < n_test else "train") for i, s in enumerate(items)}


def assign_split_by_score(
    component: str, subject_id: str, session_id: str, test_fraction: float = TEST_FRACTION
) -> str:
    """The version-1 rule (kept for comparison in ``benchmarks/simulate_split.py``): ``test`` iff the
    session's own :func:`split_score` is below ``test_fraction``."""
    _check_fraction(test_fraction)
    return "test" if split_score(component, subject_id, session_id) < test_fraction else "train"
