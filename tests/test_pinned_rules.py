"""Rules a one-character change could break silently: the silent motif is never a cosine
fallback, the zero-copy accessor refuses ragged rows, and the split key keeps its documented order."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pytest

from builders.spec.counts import table_spike_counts
from builders.spec.split import SPLIT_RULE, assign_sessions, split_score
from tokenizer.motif_tokenizer import MotifTokenizer
from tokenizer.nearest import nearest_by_cosine


@pytest.mark.parametrize("vocab, expected", [([[0, 0], [1, 0]], 1), ([[1, 0], [0, 0]], 0)])
def test_silent_motif_is_never_the_cosine_fallback(vocab, expected):
    """[0, 3] is orthogonal to [1, 0]: every cosine ties at 0, and the silent id must still not win."""
    tok = MotifTokenizer(np.array(vocab, np.uint8), (1, 2))
    ids, stats = tok.encode_with_stats(np.array([[0, 3]], np.uint8))
    assert ids.tolist() == [[expected]] and stats.searched == 1 and stats.lossless == 0
    assert nearest_by_cosine(np.array([[0, 3]], np.uint8), np.array(vocab, np.uint8), 1 - expected).tolist() == [
        expected
    ]
    trained = MotifTokenizer.from_counts(np.array([[0, 0], [1, 0], [0, 3]], np.uint8), np.array([9, 5, 1]), 2, (1, 2))
    assert trained.known_motifs.tolist() == [[0, 3]] and trained.known_ids.tolist() == [1]  # [1, 0] is id 1


def counts_column(neurons: list[list[int]]) -> pa.Table:
    return pa.table({"spike_counts": pa.array([neurons], pa.list_(pa.list_(pa.uint8())))})


def test_zero_copy_accessor_refuses_neurons_of_different_lengths():
    with pytest.raises(ValueError, match="row 0: neurons have different numbers of time bins"):
        table_spike_counts(counts_column([[1, 2], [3, 4, 5, 6]]))
    with pytest.raises(ValueError, match="different numbers of time bins"):
        table_spike_counts(counts_column([[1, 2, 3], [4, 5, 6], [7, 8, 9, 10], [11, 12]]))  # equal total, ragged
    (whole,) = table_spike_counts(counts_column([[1, 2, 3], [4, 5, 6]]))
    assert whole.tolist() == [[1, 2, 3], [4, 5, 6]]
    sliced = pa.table(
        {"spike_counts": pa.array([[[9]], [[1, 2], [3, 4]], [[5], [6, 7]]], pa.list_(pa.list_(pa.uint8())))}
    ).slice(1, 1)
    assert [a.tolist() for a in table_spike_counts(sliced)] == [[[1, 2], [3, 4]]]


def documented_score(component: str, subject_id: str, session_id: str) -> float:
    """The rule as the dataset card states it, restated with hashlib."""
    digest = hashlib.sha256(f"{component}/{subject_id}/{session_id}".encode()).hexdigest()
    return int(digest[:16], 16) / 2**64


KEYS = [
    ("vbn", "715093703", "791319847"),
    ("ibl", "CSHL045", "2020-02-27_001"),
    ("demo", "M01", "1"),
    ("peyrache", "Mouse12", "120806"),
    ("steinmetz", "Cori", "2016-12-14"),
]


def test_split_score_follows_the_documented_key_order():
    assert "sha256('component/subject_id/session_id')[:16]" in SPLIT_RULE
    for component, subject, session in KEYS:
        score = split_score(component, subject, session)
        assert score == documented_score(component, subject, session)
        assert score != documented_score(component, session, subject)  # swapped subject / session differs
    # 100 equal sessions: 1% of the tokens is one session, the first in documented-score order
    sessions = [("sub", str(i), 1000) for i in range(100)]
    first = min(sessions, key=lambda s: documented_score("vbn", s[0], s[1]))
    splits = assign_sessions("vbn", sessions, 0.01)
    assert [k for k, v in splits.items() if v == "test"] == [(first[0], first[1])]
