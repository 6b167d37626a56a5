"""A Ray head on loopback for ``ray job submit`` tests, started and ended by the test run only.

``ray stop`` would end every Ray process on the machine (other people's clusters included), so
the head is the README's (:func:`ray_jobs.head.start_head`: its own process group, folder and
explicit free ports), ended the way the README's ``head.py stop`` ends it
(:func:`ray_jobs.head.stop_head`: that group, then whatever process still uses its folder).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ray_jobs.head import free_port, start_head, stop_head

REPO = Path(__file__).resolve().parents[2]
RAY_CLI = str(Path(sys.executable).parent / "ray")
#: What a job's working directory upload leaves out (the venv, git data, built shards).
EXCLUDES = [".venv", ".git", "*.parquet", "benchmarks/results", "neural_pile_rodent", "demo_data"]
#: Seconds the head's processes get after SIGTERM before SIGKILL: the GCS ends within one, while the
#: raylet and ``ray start --block`` were seen still running 12 s after it; this head holds nothing to save.
STOP_GRACE_S = 2.0


@dataclass
class RayHead:
    address: str  # job server (dashboard) URL, what ``ray job submit`` takes
    env: dict  # environment of the head and of the commands that talk to it (its auth mode and token)

    def submit(self, *script_args: str, timeout: float = 300, working_dir: Path = REPO) -> subprocess.CompletedProcess:
        """``ray job submit --working-dir . -- <this python> <script_args>`` run from ``working_dir``,
        retried while the node's agent has not registered yet."""
        command = [
            RAY_CLI,
            "job",
            "submit",
            "--address",
            self.address,
            "--working-dir",
            ".",
            "--runtime-env-json",
            json.dumps({"excludes": EXCLUDES}),
            "--",
            sys.executable,
            *script_args,
        ]
        deadline = time.time() + 90
        while True:
            done = subprocess.run(
                command, env=self.env, capture_output=True, text=True, timeout=timeout, cwd=working_dir
            )
            if done.returncode == 0 or "No available agent" not in done.stderr or time.time() > deadline:
                return done
            time.sleep(1)


@contextmanager
def loopback_ray_head(num_cpus: int = 2):
    """A head of :func:`ray_jobs.head.start_head` (127.0.0.1, free ports, its own folder) with a
    token of its own; yield a :class:`RayHead`; end it."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    # Left unset, a new head turns token auth on when ~/.ray/auth_token exists (an in-process
    # ray.init() creates it) while the job CLI stays unauthenticated: say "token" to both.
    env["RAY_AUTH_MODE"] = "token"
    # A token of this head's own, so a fresh machine (no ~/.ray/auth_token yet) starts it too.
    token = secrets.token_hex(32)
    env["RAY_AUTH_TOKEN"] = token
    state = start_head(
        num_cpus, free_port(), free_port(), 512, env=env, auth_headers={"Authorization": f"Bearer {token}"}
    )
    try:
        yield RayHead(state["job_server"], env)
    finally:
        stop_head(state["folder"], state["leader_pid"], grace_s=STOP_GRACE_S)  # removes the folder too
