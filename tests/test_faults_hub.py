"""A Hub repo whose connections keep dropping: one line per retry at most, then one error line
naming the file, within the documented retry budget (plus one request's own retries)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from builders.pile.read import READ_RETRY_BUDGET_S

#: ``huggingface_hub``'s own retries of one request: 5 new attempts after 1, 2, 4, 8 and 8 s.
HUB_RETRIES, HUB_BACKOFF_S = 5, 23


@pytest.mark.processes
@pytest.mark.wan
def test_stats_on_a_repo_that_keeps_dropping_ends_within_the_budget(hub, package_layout_repo, tmp_path):
    repo_id, _ = package_layout_repo
    files = sorted((tmp_path / "package_repo_copy").rglob("*.parquet"))
    for path in files:
        hub.drop(f"{repo_id}/{path.relative_to(tmp_path / 'package_repo_copy').as_posix()}", times=10**6)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "builders.cli", "stats", "--dataset", repo_id, "--out-dir", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.monotonic() - started
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and lines[-1].startswith("error: ") and "read failed" in lines[-1]
    assert any(path.name in lines[-1] for path in files)
    assert "Traceback" not in done.stderr
    assert not [line for line in lines if line.startswith("Retrying in") or line.startswith("WARNING huggingface")]
    # every file may be in flight at once (footers are fetched in parallel): one line per retry of each
    assert len(lines) <= len(files) * (HUB_RETRIES + 1) + 1
    assert seconds < READ_RETRY_BUDGET_S + HUB_BACKOFF_S + 20  # start-up and the stand-in's pace
