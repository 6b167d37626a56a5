"""Count what two piles hold per component, and compare a build with a published pile.

Both piles are opened through :func:`builders.pile.open_pile`, in either layout: this package's
(one config per component, ``n_neurons`` and ``n_time_bins`` columns) or the reference project's
(one ``default`` config, five columns, components shuffled together). Per component a side
counts:

- **rows** and **sessions** (distinct ``(subject_id, session_id)``) from the label columns;
- **tokens** (uint8 counts, neurons x 20 ms bins): ``n_neurons * n_time_bins`` per row where those
  columns exist; else, for a row group whose rows are all one component, the ``num_values`` of the
  ``spike_counts`` leaf column in the Parquet footer (one value per token: exact for rows with at
  least one neuron and one bin, as every built row has); else, only when asked
  (``count_tokens=True``), the list lengths of ``spike_counts`` read in batches of
  :data:`BATCH_ROWS` rows; else not counted (``None``);
- **neurons**: the sum over sessions of the session's neurons: the largest neuron count of its
  rows (every segment of a session has the same units, so this is any row's count; the largest
  keeps the figure independent of row order should rows disagree), from ``n_neurons`` or, when
  ``spike_counts`` is read, its outer list length; ``None`` when neither was read.

Nothing reads spike data unless ``count_tokens`` is set and a row group needs it; the label
columns are small. Row groups are the executor's work items, so a big pile can be counted in
several processes or on Ray.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builders.pile import ALL, Pile, PileError, RowGroup, open_pile
from builders.runtime.executor import Executor, SerialExecutor, Task
from builders.spec.registry import registry

SOURCE = "source_dataset"
SPIKES = "spike_counts"
SHAPE_COLUMNS = ("n_neurons", "n_time_bins")
#: Rows of ``spike_counts`` decoded at once when tokens are counted from the spike data (a built
#: row holds at most 10M tokens, so a batch stays under ~100 MB).
BATCH_ROWS = 8
#: Default allowed relative difference of rows, neurons and tokens (0.001 = 0.1%).
TOLERANCE = 0.001
#: Default allowed absolute difference of sessions.
SESSION_TOLERANCE = 0
#: The quantities compared, in table order.
QUANTITIES = ("rows", "sessions", "neurons", "tokens")
#: Where a side's tokens came from.
FROM_COLUMNS = "n_neurons x n_time_bins"
FROM_FOOTER = "parquet footer"
FROM_SPIKES = "spike_counts"


@dataclass
class ComponentCounts:
    """What one pile holds of one component.

    Attributes:
        rows: rows (segments).
        sessions: ``{(subject_id, session_id): most neurons of its rows, or None if unread}``.
        tokens: tokens (neurons x time bins summed over rows); ``None``: not counted.
        tokens_from: how the tokens were counted (:data:`FROM_COLUMNS`, :data:`FROM_FOOTER`,
            :data:`FROM_SPIKES`), one entry per method used.
    """

    rows: int = 0
    sessions: dict = field(default_factory=dict)
    tokens: int | None = 0
    tokens_from: set = field(default_factory=set)

    @property
    def n_sessions(self) -> int:
        return len(self.sessions)

    @property
    def neurons(self) -> int | None:
        """Sum over sessions of neurons per session; ``None`` when a session's neurons were not read."""
        values = list(self.sessions.values())
        return None if any(v is None for v in values) else int(sum(values))

    def add(self, other: ComponentCounts) -> None:
        self.rows += other.rows
        for key, neurons in other.sessions.items():
            self.sessions[key] = _most(self.sessions.get(key), neurons)
        self.tokens = None if self.tokens is None or other.tokens is None else self.tokens + other.tokens
        self.tokens_from |= other.tokens_from

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "sessions": self.n_sessions,
            "neurons": self.neurons,
            "tokens": self.tokens,
            "tokens_from": sorted(self.tokens_from) if self.tokens is not None else [],
        }


@dataclass
class PileCounts:
    """Per-component counts of one pile, with its provenance (the first config's
    :meth:`~builders.pile.provenance.Provenance.to_json`, plus every config counted as ``configs``)."""

    source: dict
    components: dict[str, ComponentCounts]


class RowGroupCountTask(Task):
    """Per row group: ``{component: ComponentCounts}`` from its label columns (and, if needed and
    allowed, its ``spike_counts``)."""

    def __init__(self, piles: Sequence[Pile], count_tokens: bool, batch_rows: int = BATCH_ROWS):
        self.piles = list(piles)
        self.count_tokens = count_tokens
        self.batch_rows = batch_rows

    def run(self, item: tuple[int, RowGroup]) -> dict[str, ComponentCounts]:
        index, group = item
        pile = self.piles[index]
        names = pile.parquet_file(group.path).schema_arrow.names
        if "session_id" not in names:
            raise PileError(f"{group.path}: no column session_id (columns: {', '.join(names)})")
        has_shape = all(c in names for c in SHAPE_COLUMNS)
        columns = [c for c in ("subject_id", "session_id", SOURCE) if c in names]
        table = pile.read(group, columns + (list(SHAPE_COLUMNS) if has_shape else []))
        n = table.num_rows
        labels = _strings(table, SOURCE, n, default=pile.source.config)
        sessions = list(zip(_strings(table, "subject_id", n, ""), _strings(table, "session_id", n, ""), strict=True))
        if has_shape:
            neurons = table.column("n_neurons").to_numpy(zero_copy_only=False).astype(np.int64)
            tokens = neurons * table.column("n_time_bins").to_numpy(zero_copy_only=False).astype(np.int64)
            return _tally(labels, sessions, neurons, tokens, FROM_COLUMNS)
        if not self.count_tokens:
            # the footer's leaf count is the tokens of the row group: usable when all its rows are
            # one component (read from the labels themselves, exact even without statistics)
            footer = _footer_tokens(pile, group) if len(set(labels)) == 1 and pile.source_filter is None else None
            out = _tally(labels, sessions, None, None, None if footer is None else FROM_FOOTER)
            if footer is not None:
                out[labels[0]].tokens = footer
            return out
        neurons, tokens = _spike_shapes(pile, group, self.batch_rows)
        if len(neurons) != n:
            raise PileError(f"{group.path}: row group {group.index} gave {len(neurons)} spike_counts rows, not {n}")
        return _tally(labels, sessions, neurons, tokens, FROM_SPIKES)


def _strings(table: pa.Table, name: str, n: int, default: str) -> list[str]:
    if name not in table.column_names:
        return [default] * n
    return ["" if v is None else str(v) for v in table.column(name).to_pylist()]


def _tally(labels, sessions, neurons, tokens, how: str | None) -> dict[str, ComponentCounts]:
    """Counts per component of one row group's rows (``neurons``/``tokens``: per row, or None)."""
    out: dict[str, ComponentCounts] = {}
    for row, (label, session) in enumerate(zip(labels, sessions, strict=True)):
        counts = out.setdefault(label, ComponentCounts(tokens=0 if tokens is not None else None))
        counts.rows += 1
        counts.sessions[session] = _most(counts.sessions.get(session), None if neurons is None else int(neurons[row]))
        if tokens is not None:
            counts.tokens += int(tokens[row])
    for counts in out.values():
        if how is not None:
            counts.tokens_from.add(how)
    return out


def _most(a: int | None, b: int | None) -> int | None:
    """The larger of two neuron counts of one session, ignoring an unread one (None)."""
    return b if a is None else a if b is None else max(a, b)


def _footer_tokens(pile: Pile, group: RowGroup) -> int | None:
    """Leaf values of ``spike_counts`` in one row group, from the Parquet footer (None: no such leaf)."""
    meta = pile.parquet_file(group.path).metadata
    leaves = [i for i in range(meta.num_columns) if meta.schema.column(i).path.split(".")[0] == SPIKES]
    if len(leaves) != 1:
        return None
    return int(meta.row_group(group.index).column(leaves[0]).num_values)


def _spike_shapes(pile: Pile, group: RowGroup, batch_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(neurons per row, tokens per row), int64, reading ``spike_counts`` ``batch_rows`` rows at a time."""
    parquet = pile.parquet_file(group.path)
    if SPIKES not in parquet.schema_arrow.names:
        raise PileError(f"{group.path}: no column {SPIKES}")
    neurons, tokens = [], []
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[group.index], columns=[SPIKES]):
            outer = batch.column(0)
            inner = pc.list_flatten(outer)
            bins = pc.fill_null(pc.list_value_length(inner), 0).to_numpy().astype(np.int64)
            parents = pc.list_parent_indices(outer).to_numpy()
            neurons.append(pc.fill_null(pc.list_value_length(outer), 0).to_numpy().astype(np.int64))
            per_row = np.zeros(len(outer), np.int64)
            np.add.at(per_row, parents, bins)
            tokens.append(per_row)
    except (OSError, pa.ArrowException) as exc:
        raise PileError(f"{group.path}: reading {SPIKES} of row group {group.index} failed ({exc})") from None
    if not neurons:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(neurons), np.concatenate(tokens)


def open_all_components(dataset: str) -> list[Pile]:
    """Every Parquet file of ``dataset`` once, as one pile per config.

    A single-config pile (the reference layout, or no card configs) is one pile; on a pile with a
    config per component each config but ``all`` is opened, at the commit the first open resolved,
    and a file listed by two configs is kept in the first only.
    """
    first = open_pile(dataset, None, None)
    if first.source.layout == "single-config":
        return [first]
    local = first.local_folder
    # a local folder as it is; a Hub repo pinned to the commit resolved above
    pinned = str(local) if local is not None else first.source.uri
    configs = [c for c in first.configs if c != ALL] or list(first.configs)
    piles, seen = [], set()
    for config in configs:
        pile = first if config == first.source.card_config else open_pile(pinned, config, None)
        files = [f for f in pile.files if f.path not in seen]
        seen.update(f.path for f in files)
        if files:
            piles.append(replace(pile, files=files, _groups=None))
    return piles


def count_pile(
    dataset: str,
    *,
    count_tokens: bool = False,
    executor: Executor | None = None,
    progress: bool = False,
    batch_rows: int = BATCH_ROWS,
) -> PileCounts:
    """Rows, sessions, neurons and tokens per component of ``dataset`` (see the module docstring).

    Raises:
        PileError: the pile cannot be opened or a row group cannot be read (one line naming it).
    """
    piles = open_all_components(dataset)
    items = [(k, group) for k, pile in enumerate(piles) for group in pile.row_groups()]
    task = RowGroupCountTask(piles, count_tokens, batch_rows)
    outcomes = (executor or SerialExecutor()).map(task, items, desc="count rows", progress=progress)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise PileError(f"{failed[0].item[1].path}: {failed[0].error}")
    components: dict[str, ComponentCounts] = {}
    for outcome in outcomes:
        for name, counts in outcome.result.items():
            components.setdefault(name, ComponentCounts()).add(counts)
    source = {**piles[0].source.to_json(), "configs": [p.source.config for p in piles]}
    return PileCounts(source=source, components=dict(sorted(components.items())))


# ------------------------------------------------------------------------------- comparison


def published_figures(name: str) -> dict | None:
    """The reference build's published ``sessions``/``tokens`` of a registry component (None:
    not a published component, e.g. the synthetic demo or a name outside the registry)."""
    component = registry().get(name)
    if component is None or not component.in_all:
        return None
    return {
        "sessions": component.sessions,
        "tokens": component.tokens,
        "session_figure": component.session_figure,
        "session_tolerance": component.session_tolerance,
    }


def _difference(ours: int | None, theirs: int | None) -> tuple[int | None, float | None]:
    """(ours - theirs, relative to theirs); None where a side was not counted."""
    if ours is None or theirs is None:
        return None, None
    delta = ours - theirs
    if theirs == 0:
        return delta, (0.0 if delta == 0 else math.inf)
    return delta, delta / theirs


def _within(quantity: str, delta: int, relative: float, tolerance: float, session_tolerance: int) -> bool:
    if quantity == "sessions":
        return abs(delta) <= session_tolerance
    return abs(relative) <= tolerance


def compare_counts(
    ours: PileCounts,
    reference: PileCounts | None,
    *,
    components: Sequence[str] | None = None,
    tolerance: float = TOLERANCE,
    session_tolerance: int = SESSION_TOLERANCE,
) -> dict:
    """The comparison table of ``ours`` against ``reference`` (or, with no reference, against the
    published figures), JSON-ready.

    Per component and quantity: ``ours``, ``reference``, ``difference`` (ours - reference),
    ``relative`` (difference / reference), ``published`` and ``published_difference`` (sessions
    and tokens only). The pass rule: sessions within ``session_tolerance`` (absolute), rows,
    neurons and tokens within ``tolerance`` (relative to the reference); a quantity a side did
    not count is not checked and is listed in ``unchecked``. Without a reference the published
    sessions (within the larger of ``session_tolerance`` and the registry's tolerance of the
    component; not checked where the published figure counts files) and tokens are checked.

    Args:
        components: the components to compare (default: every component of ``ours``; a component
            only the reference holds is listed in ``only_in_reference``).
    """
    if tolerance < 0 or session_tolerance < 0:
        raise ValueError(f"tolerances must be >= 0, got {tolerance} and {session_tolerance}")
    theirs = reference.components if reference is not None else {}
    names = list(components) if components else list(ours.components)
    table = []
    for name in names:
        mine = ours.components.get(name, ComponentCounts()).as_dict()
        other = theirs.get(name, ComponentCounts()).as_dict() if reference is not None else None
        published = published_figures(name)
        entry: dict = {"component": name, "problems": [], "unchecked": []}
        for quantity in QUANTITIES:
            cell: dict = {"ours": mine[quantity]}
            if other is not None:
                delta, relative = _difference(mine[quantity], other[quantity])
                cell.update(reference=other[quantity], difference=delta, relative=relative)
                if delta is None:
                    entry["unchecked"].append(quantity)
                elif not _within(quantity, delta, relative, tolerance, session_tolerance):
                    entry["problems"].append(f"{quantity} differ by {_describe(delta, relative)}")
            if published is not None and quantity in ("sessions", "tokens"):
                delta, relative = _difference(mine[quantity], published[quantity])
                cell.update(published=published[quantity], published_difference=delta, published_relative=relative)
                if other is None:
                    allowed = max(session_tolerance, published["session_tolerance"])
                    if delta is None:
                        entry["unchecked"].append(quantity)
                    elif quantity == "sessions" and published["session_figure"] != "sessions":
                        entry["unchecked"].append(
                            f"sessions (the published figure counts {published['session_figure']})"
                        )
                    elif not _within(quantity, delta, relative, tolerance, allowed):
                        entry["problems"].append(
                            f"{quantity} differ from the published figure by {_describe(delta, relative)}"
                        )
            entry[quantity] = cell
        entry["tokens_from"] = {"ours": mine["tokens_from"]}
        if other is not None:
            entry["tokens_from"]["reference"] = other["tokens_from"]
        if other is None and published is None:
            entry["unchecked"].append("everything (no reference and no published figures)")
        entry["ok"] = not entry["problems"]
        table.append(entry)
    return {
        "ours": ours.source,
        "reference": reference.source if reference is not None else None,
        "against": "reference" if reference is not None else "published",
        "tolerance": {"relative": tolerance, "sessions": session_tolerance},
        "components": table,
        "only_in_reference": sorted(set(theirs) - set(names)),
        "ok": all(e["ok"] for e in table),
    }


def _describe(delta: int, relative: float) -> str:
    if delta == 0:
        return "0"
    return f"{delta:+,}" if math.isinf(relative) else f"{delta:+,} ({relative:+.4%})"


def _cell(value) -> str:
    return "not counted" if value is None else f"{value:,}"


def format_comparison(report: dict) -> str:
    """The report as a text table: one line per component and quantity, then one verdict per component."""
    header = ["component", "quantity", "ours"]
    with_reference = report["reference"] is not None
    if with_reference:
        header += ["reference", "difference"]
    header += ["published", "ours-published"]
    lines = [header]
    for entry in report["components"]:
        for k, quantity in enumerate(QUANTITIES):
            cell = entry[quantity]
            line = [entry["component"] if k == 0 else "", quantity, _cell(cell["ours"])]
            if with_reference:
                delta = cell["difference"]
                line += [_cell(cell["reference"]), "-" if delta is None else _describe(delta, cell["relative"])]
            if "published" in cell:
                delta = cell["published_difference"]
                line += [
                    f"{cell['published']:,}",
                    "-" if delta is None else _describe(delta, cell["published_relative"]),
                ]
            else:
                line += ["-", "-"]
            lines.append(line)
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    text = [
        "  ".join(v.rjust(w) if i > 1 else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths))).rstrip()
        for row in lines
    ]
    against = "the reference" if with_reference else "the published figures"
    for entry in report["components"]:
        verdict = "ok" if entry["ok"] else "DIFFERS: " + "; ".join(entry["problems"])
        if entry["unchecked"]:
            verdict += f" (not checked: {', '.join(entry['unchecked'])})"
        text.append(f"{entry['component']}: {verdict}")
    if report["only_in_reference"]:
        text.append(f"only in the reference, not compared: {', '.join(report['only_in_reference'])}")
    tol = report["tolerance"]
    text.append(
        f"against {against}: rows, neurons and tokens within {tol['relative']:g} relative, "
        f"sessions within {tol['sessions']}: {'ok' if report['ok'] else 'DIFFERENT'}"
    )
    return "\n".join(text)
