"""Building the rodent neural pile: registry, listing, readers, binning, rows, output."""

from .binning import BIN_SIZE, MAX_TOKENS, BinStats, bin_spikes, counts_from_rates, split_segments
from .registry import Component, get_component, pile_components, registry
from .rows import SessionResult, SessionSkipped, session_to_rows
from .schema import FEATURES, iter_spike_counts, spike_counts_array, table_spike_counts
from .sessions import Asset, Session
from .split import assign_sessions

__version__ = "0.1.0"

__all__ = [
    "BIN_SIZE",
    "MAX_TOKENS",
    "Asset",
    "BinStats",
    "Component",
    "FEATURES",
    "Session",
    "SessionResult",
    "SessionSkipped",
    "assign_sessions",
    "bin_spikes",
    "counts_from_rates",
    "get_component",
    "iter_spike_counts",
    "pile_components",
    "registry",
    "session_to_rows",
    "spike_counts_array",
    "split_segments",
    "table_spike_counts",
]
