"""Session -> rows: the one function the builder, the CLI and the Ray jobs all call."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from builders.archives.sessions import Session
from builders.readers import SpikeTrains, read_session
from builders.spec.binning import BIN_SIZE, MAX_TOKENS, BinStats, bin_flat, segment_bounds
from builders.spec.registry import Component
from builders.spec.split import held_out_bins


class SessionSkipped(Exception):
    """The session is readable but holds nothing to tokenize (no units, or no spike at all)."""


@dataclass
class SessionResult:
    """The rows of one session and what it took to make them.

    Attributes:
        session: the session.
        rows: one dict per segment, ``spike_counts`` as uint8 ``(n_neurons, n_bins)`` views.
        held_out_rows: rows of the session's last bins when a held-out tail was asked for
            (segment numbers continue after :attr:`rows`).
        stats: what binning dropped or saturated.
        n_neurons: units in the session (all segments share them).
        n_time_bins: bins of the whole session (sum over segments).
        notes: what the registry's reading rules decided for the session, rule name -> lines
            (``skipped_files``: ``"<path>: <reason>"`` per file left out; ``timing_rule``: how a
            firing-rate file was timed); recorded in the session's completion marker.
    """

    session: Session
    rows: list[dict] = field(default_factory=list)
    held_out_rows: list[dict] = field(default_factory=list)
    stats: BinStats = field(default_factory=BinStats)
    n_neurons: int = 0
    n_time_bins: int = 0
    notes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return self.n_neurons * self.n_time_bins

    @property
    def held_out_tokens(self) -> int:
        return sum(row["spike_counts"].size for row in self.held_out_rows)


def session_to_rows(
    component: Component,
    session: Session,
    *,
    bin_size: float = BIN_SIZE,
    max_tokens: int = MAX_TOKENS,
    held_out_fraction: float = 0.0,
    cache_dir=None,
) -> SessionResult:
    """Read, bin and chunk one session into dataset rows (see :mod:`builders.spec.schema`).

    Args:
        component: the session's component (reader kind, name).
        session: the session to read.
        bin_size: bin width in seconds.
        max_tokens: longest row in tokens before the session is cut along time.
        held_out_fraction: share of the session's bins, taken at its end
            (:func:`builders.spec.split.held_out_bins`), returned apart in ``held_out_rows``; the caller
            decides which sessions get one (:mod:`builders.spec.split`).
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
    skipped = "".join(f"; skipped file {line}" for line in recording.notes.get("skipped_files", []))
    if n_neurons == 0:
        raise SessionSkipped(f"{session.describe()}: no units{skipped}")
    if n_bins == 0:
        raise SessionSkipped(f"{session.describe()}: no spike in any unit{skipped}")

    unit_ids = np.asarray(recording.unit_ids, dtype=np.int64)
    regions = [str(r) for r in recording.unit_regions]
    result = SessionResult(
        session=session, stats=stats, n_neurons=n_neurons, n_time_bins=n_bins, notes=dict(recording.notes)
    )
    n_kept = n_bins - held_out_bins(n_bins, held_out_fraction)
    parts = [(result.rows, 0, n_kept), (result.held_out_rows, n_kept, n_bins)]
    number = 0
    for target, part_start, part_stop in parts:
        if part_stop == part_start:
            continue
        for first, stop in segment_bounds(n_neurons, part_stop - part_start, max_tokens):
            first, stop = first + part_start, stop + part_start
            target.append(
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
            number += 1
    return result
