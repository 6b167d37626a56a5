"""What a reader hands back for one asset, and how per-probe results merge into a session.

Readers return spike times when the file has them (:class:`SpikeTrains`, binned later on the
session's shared edges) or counts when the file only has binned data (:class:`BinnedUnits`,
e.g. firing rates). Both carry the original unit ids and each unit's brain region, and
``notes``: what a reading rule of the registry decided for this recording (which timing rule a
firing-rate file was read with, which files of the session were skipped), by rule name, as lines
of text. The notes reach the session's completion marker and the build report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from builders.errors import NeuralPileError
from builders.spec.binning import BinStats


class ReaderError(NeuralPileError, ValueError):
    """An asset cannot be read as the registry says it should; the message names the file."""


@dataclass
class SpikeTrains:
    """Spike times of a set of units, stored flat like NWB's ``spike_times`` + index.

    Attributes:
        times: float64 spike times in seconds, all units concatenated, unit after unit.
        ends: int64 end offset of each unit in ``times`` (length n_units).
        unit_ids: int64 original unit ids (NWB ``units.id``, or offset cluster ids).
        unit_regions: brain region per unit, "" where unknown.
        origin: where bin 0 starts, in the same clock as ``times`` (0 for NWB; the first
            spike for Steinmetz-2, where the reference binned from the first spike). Times
            stay as recorded; binning subtracts the origin.
        notes: rule name -> lines saying what it decided (see the module docstring).
    """

    times: np.ndarray
    ends: np.ndarray
    unit_ids: np.ndarray
    unit_regions: list[str]
    origin: float = 0.0
    notes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_units(self) -> int:
        return int(self.ends.size)


@dataclass
class BinnedUnits:
    """Counts that arrive already binned (one sample per 20 ms bin), e.g. firing rates.

    Attributes:
        counts: uint8 ``(n_units, n_time_bins)``.
        unit_ids: int64 original unit ids.
        unit_regions: brain region per unit, "" where unknown.
        t_start: time of the first bin's left edge, seconds.
        stats: what the conversion to counts dropped or saturated.
        notes: rule name -> lines saying what it decided (see the module docstring).
    """

    counts: np.ndarray
    unit_ids: np.ndarray
    unit_regions: list[str]
    t_start: float = 0.0
    stats: BinStats = field(default_factory=BinStats)
    notes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_units(self) -> int:
        return int(self.counts.shape[0])


def merge_trains(parts: list[SpikeTrains]) -> SpikeTrains:
    """Stack the units of several probes of one session along the neuron axis.

    The merged session is binned once, so all probes share the same time bins (edges up to
    the last spike of any probe). The parts' notes are joined rule by rule, in part order.
    """
    if len(parts) == 1:
        return parts[0]
    notes: dict[str, list[str]] = {}
    for part in parts:
        for rule, lines in part.notes.items():
            notes.setdefault(rule, []).extend(lines)
    offsets = np.cumsum([0] + [p.times.size for p in parts[:-1]])
    return SpikeTrains(
        times=np.concatenate([p.times for p in parts]),
        ends=np.concatenate([p.ends + off for p, off in zip(parts, offsets)]),
        unit_ids=np.concatenate([np.asarray(p.unit_ids, dtype=np.int64) for p in parts]),
        unit_regions=[r for p in parts for r in p.unit_regions],
        origin=min(p.origin for p in parts),
        notes=notes,
    )


@dataclass(frozen=True)
class Reader:
    """How one reader kind (:data:`builders.spec.registry.READER_KINDS`) reads an opened asset.

    Attributes:
        read: ``read(handle, asset, **options)`` -> :class:`SpikeTrains` or :class:`BinnedUnits`;
            ``handle`` is what :func:`builders.archives.open_asset` yields, ``options`` the
            component's ``reader_options`` (keyword-only parameters of ``read``).
        prefetch: ``prefetch(handle, asset)`` fetches through ``handle`` (a
            :class:`~builders.archives.rangefile.RangeFile`) the bytes ``read`` will read,
            without decoding them (used to fetch a session ahead, :mod:`builders.readers.prefetch`).
        binned: ``read`` returns already binned data and so takes the build's ``bin_size``
            (seconds) as a keyword argument.
    """

    read: Callable[..., SpikeTrains | BinnedUnits]
    prefetch: Callable[[object, object], None]
    binned: bool = False
