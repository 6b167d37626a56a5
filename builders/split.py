"""The session-level train/test split.

A session goes to ``test`` when a stable hash of ``(component, subject_id, session_id)`` falls
in the lowest ``test_fraction`` of the hash range. The decision depends on nothing but the
session's own key, so adding a component or a session never moves an existing one, and all
segments of a session land in the same split.
"""

from __future__ import annotations

import hashlib

#: Share of sessions put in the test split.
TEST_FRACTION = 0.01
SPLITS = ("train", "test")
#: Human-readable statement of the rule, written into the dataset card.
SPLIT_RULE = (
    "by session: test iff int(sha256('component/subject_id/session_id')[:16], 16) / 2**64 "
    f"< {TEST_FRACTION}"
)


def split_score(component: str, subject_id: str, session_id: str) -> float:
    """Position of the session in [0, 1), uniform over sessions, fixed forever."""
    key = f"{component}/{subject_id}/{session_id}".encode()
    return int(hashlib.sha256(key).hexdigest()[:16], 16) / 2**64


def assign_split(component: str, subject_id: str, session_id: str, test_fraction: float = TEST_FRACTION) -> str:
    """``"test"`` for about ``test_fraction`` of sessions, ``"train"`` for the rest."""
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be within [0, 1], got {test_fraction}")
    return "test" if split_score(component, subject_id, session_id) < test_fraction else "train"
