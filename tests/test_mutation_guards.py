"""Tests that pin what small plausible bugs would change: the merge's documented permutation and
shard ranges, the executor's attempt counts and its outcome order (every executor without Ray)."""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from builders.jobs.merge import merge_pile
from builders.pile import open_pile
from builders.runtime.executor import ProcessExecutor, SerialExecutor, Task
from builders.spec.split import SPLITS
from tests.support.pile_folder import write_pile_folder

SEED = 11
SHARD_BYTES = 3_000


def row_ids(tables) -> list[str]:
    """A checksum of every row (all columns), in order."""
    return [hashlib.sha256(repr(sorted(row.items())).encode()).hexdigest() for t in tables for row in t.to_pylist()]


@pytest.fixture(scope="module")
def pile_and_merged_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("merge")
    write_pile_folder(root / "pile", {"vbn": (4, 2), "v2h": (3, 2), "ibl": (3, 1)}, seed=12)
    merge_pile(root / "pile", root / "merged", seed=SEED, shard_bytes=SHARD_BYTES)
    return root / "pile", root / "merged"


@pytest.mark.parametrize("split", SPLITS)
def test_every_output_position_is_the_documented_permutation(split, pile_and_merged_folders):
    """Input rows numbered in input order (file, row group, row); row ``i`` goes to position
    ``default_rng([seed, split number]).permutation(N)[i]``; shard ``j`` of ``n`` holds the
    positions in ``[j N / n, (j + 1) N / n)``."""
    pile, merged = pile_and_merged_folders
    source = open_pile(pile, None, [split])
    inputs = row_ids(source.read(g, source.schema().names) for g in source.row_groups())
    shards = sorted((merged / "data").glob(f"{split}-*.parquet"))
    outputs = row_ids(pq.read_table(p) for p in shards)
    n_rows, n_shards = len(inputs), len(shards)
    assert n_rows > 3 and n_shards > 1 and len(outputs) == n_rows
    permutation = np.random.default_rng([SEED, SPLITS.index(split)]).permutation(n_rows)
    assert [outputs[permutation[i]] for i in range(n_rows)] == inputs
    for j, shard in enumerate(shards):
        low, high = math.ceil(j * n_rows / n_shards), math.ceil((j + 1) * n_rows / n_shards)
        assert pq.ParquetFile(shard).metadata.num_rows == high - low, shard.name


# --- the executor: attempts and order, on every executor that runs without Ray --------------------


class CountedTask(Task):
    """Records each attempt of an item as a line in ``<folder>/<item>``; an item fails while its
    attempts are at most ``fails[item]``; after ``delays[item]`` seconds it returns ``item * 10``."""

    def __init__(self, folder: Path, fails: dict[int, int], delays: dict[int, float] | None = None):
        self.folder, self.fails, self.delays = str(folder), fails, delays or {}

    def run(self, item: int) -> int:
        path = Path(self.folder) / str(item)
        with open(path, "a") as handle:
            handle.write("attempt\n")
        time.sleep(self.delays.get(item, 0.0))
        if len(path.read_text().splitlines()) <= self.fails.get(item, 0):
            raise RuntimeError(f"item {item} fails this attempt")
        return item * 10


EXECUTORS = {
    "serial": lambda retries: SerialExecutor(max_retries=retries),
    "process pool": lambda retries: ProcessExecutor(2, max_retries=retries),
}


def attempts_made(folder: Path, item: int) -> int:
    return len((folder / str(item)).read_text().splitlines())


@pytest.mark.parametrize("kind, max_retries", [("serial", 0), ("serial", 2), ("process pool", 2)])
def test_attempts_are_max_retries_plus_one_and_fail_once_succeeds_on_the_second(kind, max_retries, tmp_path):
    always, once, fine = 0, 1, 2
    task = CountedTask(tmp_path, fails={always: 10**6, once: 1})
    outcomes = EXECUTORS[kind](max_retries).map(task, [always, once, fine], progress=False)
    assert not outcomes[always].ok and "fails this attempt" in outcomes[always].error
    assert outcomes[always].attempts == attempts_made(tmp_path, always) == max_retries + 1
    if max_retries:
        assert outcomes[once].ok and outcomes[once].result == 10
        assert outcomes[once].attempts == attempts_made(tmp_path, once) == 2
    else:
        assert not outcomes[once].ok and attempts_made(tmp_path, once) == 1
    assert outcomes[fine].ok and outcomes[fine].attempts == attempts_made(tmp_path, fine) == 1


@pytest.mark.parametrize("kind", sorted(EXECUTORS))
def test_outcomes_come_back_in_item_order(kind, tmp_path):
    """Item 0 fails once (its retry finishes last) and the early items take longest (a pool of two
    finishes them after the later ones)."""
    items = list(range(6))
    delays = {i: 0.05 * (len(items) - i) for i in items}
    task = CountedTask(tmp_path, fails={0: 1}, delays=delays)
    outcomes = EXECUTORS[kind](2).map(task, items, progress=False)
    assert [o.item for o in outcomes] == items
    assert [o.result for o in outcomes] == [i * 10 for i in items]
    assert [o.attempts for o in outcomes] == [2, 1, 1, 1, 1, 1]
