"""The one way to run a job's work items: in this process, in a process pool, or on Ray actors.

A job is a :class:`Task`: ``setup()`` runs once per worker (open a connection pool, load a
tokenizer or vocabulary) and ``run(item)`` turns one work item (a session, a shard, a row group,
a chunk of motifs) into a result. An :class:`Executor` maps a task over items and returns one
:class:`Outcome` per item, in item order, whatever order they finished in::

    outcomes = make_executor(ray=None, num_proc=2).map(task, items, desc="count motifs")

Failures: an exception raised by ``run`` is caught in the worker, the item is tried again up to
``max_retries`` times, and then returned as a failed outcome (``error`` holds one line,
``traceback`` the detail); the other items go on. A task may raise :class:`ItemFailed` with a
result record to report a failure that carries data (the build's failure records). On Ray, an
actor that dies (a lost node) has its item retried on a new actor without counting as an attempt
of the item's own code, as the datatrove and brainsets executors tell system errors from
application errors.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, Generic, TypeVar

from tqdm.auto import tqdm

from builders.runtime.cluster import connect

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
#: New attempts of an item whose code failed, before it is reported as failed.
MAX_RETRIES = 2
#: New actors started for items whose actor died, before the job gives up.
MAX_ACTOR_RESTARTS = 8


class ItemFailed(Exception):
    """Raised by :meth:`Task.run` for a failure that still has a result to report (``result``)."""

    def __init__(self, message: str, result: Any = None):
        super().__init__(message)
        self.result = result


class Task(ABC, Generic[Item]):
    """One job's unit of work. Instances are pickled to workers: keep them small (paths, options)."""

    def setup(self) -> None:  # noqa: B027 - optional hook, most tasks need no set-up
        """Runs once per worker before its first item (costly state: connections, loaded models)."""

    @abstractmethod
    def run(self, item: Item) -> Any:
        """The result of one item; raise to fail it (it is retried, then reported)."""


@dataclass
class Outcome(Generic[Item]):
    """What became of one item: its ``result`` or its ``error``, after ``attempts`` tries."""

    item: Any
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    attempts: int = 1
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _attempt(task: Task, item) -> Outcome:
    """Run one item once, catching its failure."""
    started = time.perf_counter()
    try:
        return Outcome(item, result=task.run(item), seconds=time.perf_counter() - started)
    except ItemFailed as exc:
        return Outcome(item, result=exc.result, error=str(exc), seconds=time.perf_counter() - started)
    except Exception as exc:  # reported as a failed outcome, never hidden
        return Outcome(
            item,
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(limit=8),
            seconds=time.perf_counter() - started,
        )


class Executor(ABC):
    """Maps a :class:`Task` over items (see the module docstring)."""

    max_retries: int = MAX_RETRIES

    def parallelism(self) -> int:
        """How many items run at once (a hint for jobs that batch their items)."""
        return 1

    @abstractmethod
    def _outcomes(self, task: Task, items: list, indices: list[int]) -> Iterator[tuple[int, Outcome]]:
        """Yield ``(index, outcome)`` for each of ``items`` (numbered ``indices``) as it finishes, one attempt each."""

    def map(
        self,
        task: Task,
        items: Sequence,
        *,
        desc: str = "items",
        progress: bool = True,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> list[Outcome]:
        """One outcome per item, in item order. ``on_outcome`` sees each final outcome as it lands."""
        items = list(items)
        final: dict[int, Outcome] = {}
        with tqdm(total=len(items), desc=desc, unit="item", disable=not progress) as bar:
            for index, outcome in self._run_with_retries(task, items):
                final[index] = outcome
                if on_outcome is not None:
                    on_outcome(outcome)
                bar.update(1)
        return [final[i] for i in range(len(items))]

    def _run_with_retries(self, task: Task, items: list):
        attempts = [0] * len(items)
        pending = list(range(len(items)))
        while pending:
            retry = []
            for index, outcome in self._outcomes(task, [items[i] for i in pending], pending):
                attempts[index] += 1
                outcome.attempts = attempts[index]
                if not outcome.ok and attempts[index] <= self.max_retries:
                    logger.warning(
                        "item %d failed (%s); attempt %d of %d",
                        index,
                        outcome.error,
                        attempts[index] + 1,
                        self.max_retries + 1,
                    )
                    retry.append(index)
                    continue
                yield index, outcome
            pending = retry


class SerialExecutor(Executor):
    """Every item in this process, one after the other."""

    def __init__(self, max_retries: int = MAX_RETRIES):
        self.max_retries = max_retries

    def _outcomes(self, task, items, indices):
        task.setup()
        for index, item in zip(indices, items):
            yield index, _attempt(task, item)


_WORKER_TASK: Task | None = None
#: How often a pool worker checks that its parent is alive, in seconds.
PARENT_POLL_S = 0.5


def _exit_with_parent(parent: int) -> None:
    """A pool worker's watch: end the worker once its parent is gone (a killed parent leaves its
    workers re-parented, and nothing else would stop them)."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def _worker_setup(task: Task, parent: int) -> None:
    global _WORKER_TASK
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="exit-with-parent").start()
    _WORKER_TASK = task
    task.setup()


def _worker_run(item) -> Outcome:
    return _attempt(_WORKER_TASK, item)


class ProcessExecutor(Executor):
    """Items spread over ``num_proc`` processes; ``setup`` runs once in each. A worker whose
    parent dies (``kill -9``) ends within :data:`PARENT_POLL_S` seconds.

    ``start_method`` is how they start: ``"spawn"`` (default) is a fresh interpreter, which
    imports the caller's ``__main__`` again (a script needs ``if __name__ == "__main__":``);
    ``"fork"`` copies this process and imports nothing again.
    """

    def __init__(self, num_proc: int, max_retries: int = MAX_RETRIES, start_method: str = "spawn"):
        self.num_proc = max(1, int(num_proc))
        self.max_retries = max_retries
        self.start_method = start_method

    def parallelism(self) -> int:
        return self.num_proc

    def _outcomes(self, task, items, indices):
        workers = min(self.num_proc, len(items))
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context(self.start_method),
            initializer=_worker_setup,
            initargs=(task, os.getpid()),
        ) as pool:
            futures = {pool.submit(_worker_run, item): index for index, item in zip(indices, items)}
            for future in as_completed(futures):
                yield futures[future], future.result()


class RayExecutor(Executor):
    """A pool of Ray actors, each holding the task after one ``setup()``; a dead actor is replaced.

    Args:
        address: cluster to join (see :mod:`builders.runtime.cluster`); ``None``: ``$RAY_ADDRESS`` or a new
            local instance.
        num_workers: actors (default: the cluster's CPUs, at most one per item).
        num_cpus: CPUs a new local instance gets (ignored when joining a cluster).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_workers: int | None = None,
        num_cpus: int | None = None,
        max_retries: int = MAX_RETRIES,
    ):
        self.address = address
        self.num_workers = num_workers
        self.num_cpus = num_cpus
        self.max_retries = max_retries

    def parallelism(self) -> int:
        """The actors asked for, else the CPUs of the cluster (which connects to it)."""
        if self.num_workers:
            return self.num_workers

        ray = connect(self.address, num_cpus=self.num_cpus, progress=False)
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def _outcomes(self, task, items, indices):
        ray = connect(self.address, num_cpus=self.num_cpus, progress=False)
        worker_class = ray.remote(num_cpus=1, max_restarts=0)(_TaskActor)
        size = self.num_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        size = max(1, min(size, len(items)))
        task_ref = ray.put(task)
        actors = [worker_class.remote(task_ref) for _ in range(size)]
        queue = list(zip(indices, items))
        running: dict = {}
        restarts = 0

        def submit(actor) -> None:
            index, item = queue.pop(0)
            running[actor.run.remote(item)] = (actor, index, item)

        for actor in actors:
            if queue:
                submit(actor)
        try:
            while running:
                done, _ = ray.wait(list(running), num_returns=1)
                actor, index, item = running.pop(done[0])
                try:
                    outcome = ray.get(done[0])
                except ray.exceptions.RayActorError as exc:  # the worker died, not the item's code
                    restarts += 1
                    if restarts > MAX_ACTOR_RESTARTS:
                        raise RuntimeError(f"{restarts} Ray workers died; giving up ({exc})") from None
                    logger.warning("a Ray worker died (%s); item %d goes to a new worker", type(exc).__name__, index)
                    actor = worker_class.remote(task_ref)
                    queue.insert(0, (index, item))
                    submit(actor)
                    continue
                if queue:
                    submit(actor)
                yield index, outcome
        finally:
            for actor in actors:
                ray.kill(actor, no_restart=True)


class _TaskActor:
    """A Ray actor holding one task after its ``setup()``."""

    def __init__(self, task: Task):
        self.task = task
        task.setup()

    def run(self, item) -> Outcome:
        return _attempt(self.task, item)

    def pid(self) -> int:
        return os.getpid()


def make_executor(
    ray: str | None = None,
    num_proc: int = 1,
    *,
    max_retries: int = MAX_RETRIES,
    num_workers: int | None = None,
    start_method: str = "spawn",
) -> Executor:
    """The executor the common ``--ray [ADDRESS]`` / ``--num-proc N`` options ask for.

    Args:
        ray: ``None``: no Ray; ``""``: the cluster ``$RAY_ADDRESS`` names, else a new local one; else an address.
        num_proc: processes when not on Ray (1: this process).
        start_method: how those processes start (see :class:`ProcessExecutor`).
    """
    if ray is not None:
        return RayExecutor(ray or None, num_workers=num_workers, max_retries=max_retries)
    if num_proc > 1:
        return ProcessExecutor(num_proc, max_retries=max_retries, start_method=start_method)
    return SerialExecutor(max_retries=max_retries)
