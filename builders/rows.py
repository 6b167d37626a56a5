"""Session -> rows: the one function the builder, the CLI and the Ray jobs all call."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .binning import BIN_SIZE, MAX_TOKENS, BinStats, bin_flat, segment_bounds
from .readers import SpikeTrains, read_session
from .registry import Component
from .sessions import Session
from .split import TEST_FRACTION, assign_split


class SessionSkipped(Exception):
    """The session is readable but holds nothing to tokenize (no units, or no spike at all)."""


@dataclass
class SessionResult:
    """The rows of one session and what it took to make them.

    Attributes:
        session: the session.
        split: ``train`` or ``test``.
        rows: one dict per segment, ``spike_counts`` as uint8 ``(n_neurons, n_bins)`` views.
        stats: what binning dropped or saturated.
        n_neurons: units in the session (all segments share them).
        n_time_bins: bins of the whole session (sum over segments).
    """

    session: Session
    split: str
    rows: list[dict] = field(default_factory=list)
    stats: BinStats = field(default_factory=BinStats)
    n_neurons: int = 0
    n_time_bins: int = 0

    @property
    def tokens(self) -> int:
        return self.n_neurons * self.n_time_bins


def session_to_rows(
    component: Component,
    session: Session,
    *,
    bin_size: float = BIN_SIZE,
    max_tokens: int = MAX_TOKENS,
    test_fraction: float = TEST_FRACTION,
    cache_dir=None,
) -> SessionResult:
    """Read, bin and chunk one session into dataset rows (see :mod:`builders.schema`).

    Args:
        component: the session's component (reader kind, name).
        session: the session to read.
        bin_size: bin width in seconds.
        max_tokens: longest row in tokens before the session is cut along time.
        test_fraction: share of sessions in the test split (decided per session key).
        cache_dir: optional local byte cache for remote assets.

    Raises:
        SessionSkipped: the session has no units or no spike at all.
        ReaderError / OSError: the session's files cannot be read (message names the file).
    """
    recording = read_session(component, session, bin_size=bin_size, cache_dir=cache_dir)
    if isinstance(recording, SpikeTrains):
        counts, stats = bin_flat(recording.times - recording.origin, recording.ends, bin_size)
        origin = recording.origin
    else:
        counts, stats, origin = recording.counts, recording.stats, recording.t_start
    n_neurons, n_bins = counts.shape
    if n_neurons == 0:
        raise SessionSkipped(f"{session.describe()}: no units")
    if n_bins == 0:
        raise SessionSkipped(f"{session.describe()}: no spike in any unit")

    unit_ids = np.asarray(recording.unit_ids, dtype=np.int64)
    regions = [str(r) for r in recording.unit_regions]
    split = assign_split(session.component, session.subject_id, session.session_id, test_fraction)
    result = SessionResult(session=session, split=split, stats=stats, n_neurons=n_neurons, n_time_bins=n_bins)
    for number, (first, stop) in enumerate(segment_bounds(n_neurons, n_bins, max_tokens)):
        result.rows.append(
            {
                "spike_counts": counts[:, first:stop],
                "subject_id": session.subject_id,
                "session_id": session.session_id,
                "segment_id": f"segment_{number}",
                "source_dataset": session.component,
                "n_neurons": n_neurons,
                "n_time_bins": stop - first,
                "t_start": float(origin + first * bin_size),
                "unit_ids": unit_ids,
                "unit_regions": regions,
            }
        )
    return result
