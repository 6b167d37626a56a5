"""The build driver: components -> sessions -> shards, resumable, with any executor.

One pipeline, several executors (the datatrove idea): :func:`plan` lists the sessions still to
do, :func:`process_session` turns one session into a shard plus a completion marker (the only
unit of work: the local process pool and the Ray driver in ``ray_jobs/build.py`` both call it),
and :func:`finalize` decides the split of every session from the markers' tokens (renaming the
shards into ``data/<component>/<split>-<slug>.parquet``), writes schema-only shards for empty
splits, the dataset card and the report. A build holds a lock per component it builds and the
folder lock around finalize (:mod:`builders.storage.locks`), so builds of different components
can share a folder.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from builders import __version__
from builders.archives import select_component
from builders.archives.local import DataDirMismatch, DataDirMissing, resolve_data_dir
from builders.archives.sessions import Session
from builders.build.card import write_build_card
from builders.build.report import make_report
from builders.build.rows import SessionSkipped, session_to_rows
from builders.errors import NeuralPileError
from builders.readers.prefetch import prefetch_batches, run_prefetched
from builders.runtime.executor import Executor, ItemFailed, SerialExecutor, Task
from builders.spec.binning import BIN_SIZE, MAX_TOKENS
from builders.spec.registry import DEMO, get_component
from builders.spec.split import (
    SESSION_RULE,
    SPLIT_RULE_VERSION,
    SPLITS,
    TEST_FRACTION,
    assign_sessions,
    rule_of,
)
from builders.storage import layout
from builders.storage.atomic import temporary_files, temporary_writer
from builders.storage.locks import FolderBusy, component_locks, folder_lock, writer_is_gone
from builders.storage.marker import FAILED_SUFFIX, PARAMS_FILE, BuildParameters, SessionMarker, read_markers
from builders.storage.ownership import OutputFolderError, check_output_folder, claim_output_folder
from builders.storage.report import BuildReport
from builders.storage.shards import write_rows_atomic


class BuildError(NeuralPileError, RuntimeError):
    """The build cannot start or cannot go on (bad output folder, mismatched parameters...)."""


@dataclass(frozen=True)
class BuildOptions:
    """Everything that decides the content of a build (and where it goes).

    Attributes:
        out: the dataset folder.
        data_dir: local copy of the archives (a dandiset folder or a parent of several); ``None``
            streams from the archives.
        dandi_api_url: DANDI instance to list from (``None``: the public archive).
        figshare_api_url: figshare API to list from (``None``: the public one).
        cache_dir: optional local byte cache for streamed assets.
        bin_size: bin width in seconds.
        max_tokens: longest row in tokens.
        test_fraction: share of each component's tokens in the test split (:mod:`builders.spec.split`).
    """

    out: str
    data_dir: str | None = None
    dandi_api_url: str | None = None
    figshare_api_url: str | None = None
    cache_dir: str | None = None
    bin_size: float = BIN_SIZE
    max_tokens: int = MAX_TOKENS
    test_fraction: float = TEST_FRACTION

    def parameters(self) -> BuildParameters:
        """The parameters that must match for a folder to be resumed or extended."""
        return BuildParameters(self.bin_size, self.max_tokens, self.test_fraction, SPLIT_RULE_VERSION)


@dataclass(frozen=True)
class SessionJob:
    """One session to build, with the options it needs (picklable: crosses process/Ray boundaries).

    ``version`` is the archive version the session was listed from (recorded in the report).
    """

    session: Session
    options: BuildOptions
    version: str | None = None


@dataclass
class BuildPlan:
    """What :func:`plan` found: jobs still to do, sessions already done, listing failures, and
    per component what the selection read and left out (:meth:`selection_record`)."""

    jobs: list[SessionJob] = field(default_factory=list)
    resumed: int = 0
    listing_errors: dict[str, str] = field(default_factory=dict)
    components: list[str] = field(default_factory=list)
    selections: dict[str, dict] = field(default_factory=dict)


def selection_record(selection) -> dict:
    """What a build report keeps of a :class:`~builders.archives.selection.Selection`: counts, not paths
    (the skipped files are listed by ``neural-pile plan``)."""
    return {
        "listed_files": selection.listed,
        "selected_files": len(selection.assets),
        "skipped_files": selection.skipped_by_reason(),
        "missing_sessions": list(selection.missing_sessions),
    }


#: What ``claim_output_folder`` records for a dataset folder.
OUT_KIND = "pile dataset"
#: Paths only a build writes (a folder holding one is a build's, even before its marker exists:
#: another build may be creating it, and the state folder holds the locks).
EARLIER = (PARAMS_FILE, layout.STATE_DIR)


def check_inputs(components: list[str], options: BuildOptions) -> None:
    """Refuse, before anything is written, inputs that cannot give any session.

    Raises:
        BuildError: ``--data-dir`` is not a folder, holds another collection than a component
            (its ``dandiset.yaml``), or a component has no archive to stream from and no
            ``--data-dir`` was given (the synthetic ``demo``).
    """
    if options.data_dir is not None and not Path(options.data_dir).is_dir():
        raise BuildError(f"data folder {options.data_dir}: no such folder", argument="data_dir", label="data folder")
    if options.data_dir is not None:
        for name in components:
            try:
                resolve_data_dir(get_component(name), options.data_dir, shared_root=len(components) > 1)
            except DataDirMismatch as exc:
                raise BuildError(f"data folder {exc}", argument="data_dir", label="data folder") from None
            except DataDirMissing:
                pass  # reported per component by the listing (the other components still build)
    if options.data_dir is None:
        local_only = [name for name in components if get_component(name).archive not in ("dandi", "figshare")]
        if local_only == [DEMO]:
            raise BuildError(
                "the demo component has no archive to stream from: run `neural-pile demo` (writes the synthetic "
                "recordings and builds them), or pass --data-dir with the recordings it wrote (default ./demo_data)"
            )
        if local_only:
            raise BuildError(f"{', '.join(local_only)}: no archive to stream from; pass --data-dir")


def check_out(options: BuildOptions) -> bool:
    """Check the output folder without writing: refuse one that holds something else, or was built
    with other parameters (mixing bin sizes in one dataset would silently corrupt it).

    Returns whether the folder already holds an earlier build.
    """
    out = Path(options.out)
    try:
        check_output_folder(out, OUT_KIND, earlier=EARLIER)
    except OutputFolderError as exc:
        raise BuildError(f"output folder {exc}", argument="out", label="output folder") from None
    try:
        previous = BuildParameters.read(out)
    except ValueError as exc:
        raise BuildError(
            f"output folder {out}/{PARAMS_FILE}: {exc}; use another folder", argument="out", label="output folder"
        ) from None
    if previous is None:
        return False
    if previous != options.parameters():
        raise BuildError(
            f"output folder {out}: was built with {previous.to_json()}, not {options.parameters().to_json()}; "
            "use another folder or the same parameters",
            argument="out",
            label="output folder",
        )
    return True


def prepare_out(options: BuildOptions) -> Path:
    """Check (:func:`check_out`), then create or claim the output folder and record the parameters.

    The claim is made under the folder lock and checked again there, so two builds started
    together into a new folder agree on it (the first records the parameters, the second compares)."""
    out = Path(options.out)
    check_out(options)  # before the lock file exists: a user's folder gets nothing written into it
    with folder_lock(out):
        check_out(options)
        claim_output_folder(out, OUT_KIND, earlier=EARLIER)
        if not BuildParameters.path(out).exists():
            options.parameters().write(out)
    return out


def _marker_path(options: BuildOptions, session: Session, failed: bool = False) -> Path:
    path = layout.marker_path(Path(options.out), session.component, session.slug)
    return path.with_name(session.slug + FAILED_SUFFIX) if failed else path


def plan(components: Iterable[str], options: BuildOptions, *, progress: bool = True) -> BuildPlan:
    """List every component's sessions and keep those without a completion marker."""
    result = BuildPlan()
    components = list(components)
    for name in components:
        component = get_component(name)
        result.components.append(name)
        try:
            selection = select_component(
                component,
                data_dir=options.data_dir,
                dandi_api_url=options.dandi_api_url,
                figshare_api_url=options.figshare_api_url,
                shared_root=len(components) > 1,
                progress=progress or None,
            )
            sessions = selection.sessions
            version = selection.version or component.version
        except Exception as exc:  # reported per component; the other components still build
            result.listing_errors[name] = f"{type(exc).__name__}: {exc}"
            continue
        result.selections[name] = selection_record(selection)
        if not sessions:
            result.listing_errors[name] = "no session found (check --data-dir and the asset filter)"
        for session in tqdm(sessions, desc=f"checking {name}", disable=not progress, leave=False):
            if _marker_path(options, session).exists():
                result.resumed += 1
            else:
                result.jobs.append(SessionJob(session, options, version))
    return result


def _marker(session: Session, status: str, **extra) -> SessionMarker:
    return SessionMarker(
        key=session.key,
        component=session.component,
        subject_id=session.subject_id,
        session_id=session.session_id,
        assets=[a.path for a in session.assets],
        status=status,
        **extra,
    )


def process_session(job: SessionJob) -> dict:
    """Build one session: rows -> atomic shard -> completion marker. Returns the marker's record
    (:meth:`~builders.storage.marker.SessionMarker.to_json`).

    A session that cannot be read, or whose shards cannot be written (a full disk), is returned
    with status ``failed`` (and a failure marker so the report keeps it) rather than raised, so
    one bad file never stops the others; a shard written before the failure is removed.
    """
    try:
        return _process_session(job)
    except OSError as exc:
        out, session = Path(job.options.out), job.session
        for split in SPLITS:
            layout.shard_path(out, session.component, split, session.slug).unlink(missing_ok=True)
        marker = _marker(session, "failed", error=f"{type(exc).__name__}: {exc}")
        marker.write(_marker_path(job.options, session, failed=True))
        return marker.to_json()


def _process_session(job: SessionJob) -> dict:
    session, options = job.session, job.options
    component = get_component(session.component)
    rule = rule_of(session.component, options.test_fraction)
    out = Path(options.out)
    start = time.perf_counter()
    try:
        result = session_to_rows(
            component,
            session,
            bin_size=options.bin_size,
            max_tokens=options.max_tokens,
            held_out_fraction=0.0 if rule == SESSION_RULE else options.test_fraction,
            cache_dir=options.cache_dir,
        )
    except SessionSkipped as exc:
        marker = _marker(session, "skipped", reason=str(exc))
    except Exception as exc:  # recorded as a failure marker and reported, never hidden
        marker = _marker(
            session, "failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=6)
        )
        marker.write(_marker_path(options, session, failed=True))
        return marker.to_json()
    else:
        if rule == SESSION_RULE:  # the split waits for finalize: it depends on the other sessions' tokens
            shards = [layout.pending_shard_path(out, session.component, session.slug)]
            write_rows_atomic(shards[0], result.rows)
            split = None
        else:  # time tail: decided by the session alone
            shards = [layout.shard_path(out, session.component, "train", session.slug)]
            write_rows_atomic(shards[0], result.rows)
            test_shard = layout.shard_path(out, session.component, "test", session.slug)
            if result.held_out_rows:
                write_rows_atomic(test_shard, result.held_out_rows)
                shards.append(test_shard)
            else:
                test_shard.unlink(missing_ok=True)
            split = "train+test" if result.held_out_rows else "train"
        marker = _marker(
            session,
            "done",
            split=split,
            split_rule=rule,
            n_neurons=result.n_neurons,
            n_time_bins=result.n_time_bins,
            tokens=result.tokens,
            test_tokens=result.held_out_tokens,
            rows=len(result.rows) + len(result.held_out_rows),
            stats=result.stats.to_dict(),
            notes=result.notes,
            shards=[p.relative_to(out).as_posix() for p in shards],
            version=job.version or component.version,
            seconds=round(time.perf_counter() - start, 3),
        )
    marker.write(_marker_path(options, session))
    failed_marker = _marker_path(options, session, failed=True)
    if failed_marker.exists():
        failed_marker.unlink()
    return marker.to_json()


class BuildProgress:
    """A tqdm bar over sessions with done / skipped / failed and tokens per second."""

    def __init__(self, total: int, enabled: bool = True):
        self.bar = tqdm(total=total, desc="sessions", unit="session", disable=not enabled)
        self.counts = {"done": 0, "skipped": 0, "failed": 0}
        self.tokens = 0
        self.start = time.perf_counter()

    def update(self, record: dict) -> None:
        self.counts[record["status"]] += 1
        self.tokens += record.get("tokens", 0)
        rate = self.tokens / max(time.perf_counter() - self.start, 1e-9)
        self.bar.set_postfix(**self.counts, tokens_per_s=f"{rate:.3g}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


class SessionBatchTask(Task):
    """A batch of sessions built in order, the next sessions' bytes fetched while one is built
    (:mod:`builders.readers.prefetch`). Sessions with a completion marker are not redone, so a
    retried batch redoes only what failed; a batch with a failed session raises
    :class:`~builders.runtime.executor.ItemFailed` carrying every record, so the executor retries it."""

    def run(self, batch: list[SessionJob]) -> list[dict]:
        records = {}
        todo = []
        for job in batch:
            marker = _marker_path(job.options, job.session)
            if marker.exists():  # done by an earlier attempt of this batch
                records[job.session.key] = SessionMarker.read(marker).to_json()
            else:
                todo.append(job)
        cache_dir = batch[0].options.cache_dir if batch else None
        for record in run_prefetched(process_session, todo, cache_dir=cache_dir):
            records[record["key"]] = record
        ordered = [records[job.session.key] for job in batch]
        failed = [r for r in ordered if r["status"] == "failed"]
        if failed:
            raise ItemFailed(f"{len(failed)} of {len(batch)} session(s) failed; first: {failed[0]['error']}", ordered)
        return ordered


def run_jobs(jobs: list[SessionJob], executor: Executor | None = None, *, progress: bool = True) -> list[dict]:
    """Build ``jobs`` on ``executor`` (default: this process); one record per session, with the
    ``attempts`` its batch took. Streamed sessions go in batches (one per worker's share, at
    most :data:`~builders.readers.prefetch.BATCH_SESSIONS`) so that each worker fetches ahead."""
    executor = executor or SerialExecutor()
    batches = prefetch_batches(jobs, executor.parallelism())
    bar = BuildProgress(len(jobs), progress)

    def records_of(outcome) -> list[dict]:
        if outcome.result is not None:
            return [{**record, "attempts": outcome.attempts} for record in outcome.result]
        # the batch's code crashed without records (e.g. a worker ran out of memory): each session failed
        return [
            {**_marker(job.session, "failed", error=outcome.error).to_json(), "attempts": outcome.attempts}
            for job in outcome.item
        ]

    try:
        outcomes = executor.map(
            SessionBatchTask(),
            batches,
            desc="session batches",
            progress=False,
            on_outcome=lambda outcome: [bar.update(r) for r in records_of(outcome)],
        )
    finally:
        bar.close()
    return [record for outcome in outcomes for record in records_of(outcome)]


def assign_component_splits(out: Path, component: str, test_fraction: float) -> dict[str, int]:
    """Decide the split of every built session of a ``sessions``-rule component from its
    completion markers and move each shard to ``data/<component>/<split>-<slug>.parquet``.

    Idempotent and safe to interrupt: every move is one rename, and a marker is rewritten only
    after its shard is in place. Returns ``{"train": n, "test": n}`` sessions."""
    counts = {split: 0 for split in SPLITS}
    if rule_of(component, test_fraction) != SESSION_RULE:
        return counts
    out = Path(out)
    done = [m for m in read_markers(out, component) if m.status == "done"]
    splits = assign_sessions(component, [(m.subject_id, m.session_id, m.tokens) for m in done], test_fraction)
    for marker in done:
        session = Session(component, marker.subject_id, marker.session_id)
        split = splits[(session.subject_id, session.session_id)]
        counts[split] += 1
        target = layout.shard_path(out, component, split, session.slug)
        other = layout.shard_path(out, component, SPLITS[1 - SPLITS.index(split)], session.slug)
        pending = layout.pending_shard_path(out, component, session.slug)
        target.parent.mkdir(parents=True, exist_ok=True)
        if pending.exists():  # newest rows of the session
            os.replace(pending, target)
            other.unlink(missing_ok=True)
        elif other.exists():
            if target.exists():
                other.unlink()
            else:
                os.replace(other, target)
        updated = marker.with_split(split, target.relative_to(out).as_posix())
        if updated != marker:
            updated.write(layout.marker_path(out, component, session.slug))
    return counts


def _remove_stale_temporaries(out: Path, components: list[str]) -> None:
    """Remove temporaries whose writer is gone: every one in the folders of ``components`` (this
    build holds their locks and its jobs have ended), elsewhere only those of dead processes on
    this host (another build may be writing them)."""
    owned = [out / layout.DATA_DIR / name for name in components] + [
        out / layout.STATE_DIR / name for name in components
    ]
    for temporary in temporary_files(out):
        if any(folder in temporary.parents for folder in owned) or writer_is_gone(temporary_writer(temporary)):
            temporary.unlink(missing_ok=True)


def finalize(
    components: list[str],
    options: BuildOptions,
    listing_errors: dict[str, str] | None = None,
    selections: dict[str, dict] | None = None,
) -> BuildReport:
    """Under the folder lock: remove stale temporaries, decide the split of ``components`` from
    their markers, write schema-only shards for empty splits, then the report and the card.

    ``selections``: what this run's listing selected per component (:func:`selection_record`);
    the report keeps the latest one of every component ever built into the folder."""
    out = Path(options.out)
    with folder_lock(out):
        _remove_stale_temporaries(out, components)
        for name in components:
            assign_component_splits(out, name, options.test_fraction)
            folder = out / layout.DATA_DIR / name
            if not folder.is_dir() and name in (listing_errors or {}):
                continue
            for split in SPLITS:
                empty = layout.empty_shard_path(out, name, split)
                real = [p for p in folder.glob(f"{split}-*.parquet") if p != empty] if folder.is_dir() else []
                if real and empty.exists():
                    empty.unlink()
                elif not real and not empty.exists():
                    write_rows_atomic(empty, [])  # no row group: readers see the schema and zero rows
        report = make_report(out, options.parameters(), __version__)
        report.listing_errors = dict(listing_errors or {})
        report.selection = {**_previous_selections(out), **(selections or {})}
        report.write(out)
        write_build_card(out, report)
    return report


def _previous_selections(out: Path) -> dict[str, dict]:
    """The selection records of the folder's last report (components built by earlier runs)."""
    try:
        report = BuildReport.read(out)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    return report.selection if report is not None else {}


def build(
    components: list[str], options: BuildOptions, *, executor: Executor | None = None, progress: bool = True
) -> tuple[BuildReport, list[dict]]:
    """Build ``components`` into ``options.out``; returns (report, records of this run).

    ``executor`` runs the sessions (default: this process); reruns skip sessions already done, and
    the returned report counts them under ``this_run`` (``already_done``, ``processed``).
    """
    components = list(dict.fromkeys(components))
    for name in components:
        get_component(name)
    check_inputs(components, options)
    check_out(options)
    todo = plan(components, options, progress=progress)
    if not todo.jobs and not todo.resumed and len(todo.listing_errors) == len(components):
        found = "; ".join(f"{name}: {err}" for name, err in todo.listing_errors.items())
        raise BuildError(f"no session to build, nothing written ({found})")
    prepare_out(options)
    with ExitStack() as stack:
        try:
            stack.enter_context(component_locks(options.out, components))
        except FolderBusy as exc:
            raise BuildError(str(exc)) from None
        # sessions another build of these components finished since the listing
        jobs = [job for job in todo.jobs if not _marker_path(options, job.session).exists()]
        records = run_jobs(jobs, executor, progress=progress)
        report = finalize(components, options, todo.listing_errors, todo.selections)
    report.this_run = {"already_done": todo.resumed + len(todo.jobs) - len(jobs), "processed": len(records)}
    return report, records


def failures(report: BuildReport, components: list[str]) -> list[str]:
    """Messages for every failed session or listing of the given components."""
    messages = [f"{name}: {err}" for name, err in report.listing_errors.items() if name in components]
    for name in components:
        for item in report.components.get(name, {}).get("failed", []):
            messages.append(f"{item['session']}: {item['error']}")
    return messages
