"""A Ray head on loopback for ``ray job submit`` tests, started and ended by the test run only.

``ray stop`` would end every Ray process on the machine (other people's clusters included), so
the head runs in its own process group with its own temp dir and explicit free ports, and is
ended by signalling that group and whatever process still uses its temp dir
(:func:`ray_jobs.head.stop_head`, the same stop the README's ``head.py stop`` runs).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ray_jobs.head import free_port, stop_head

REPO = Path(__file__).resolve().parents[2]
RAY_CLI = str(Path(sys.executable).parent / "ray")
#: What a job's working directory upload leaves out (the venv, git data, built shards).
EXCLUDES = [".venv", ".git", "*.parquet", "benchmarks/results", "neural_pile_rodent", "demo_data"]
#: Seconds the head's processes get after SIGTERM before SIGKILL: the GCS ends within one, while the
#: raylet and ``ray start --block`` were seen still running 12 s after it; this head holds nothing to save.
STOP_GRACE_S = 2.0


@dataclass
class RayHead:
    address: str  # job server (dashboard) URL
    env: dict
    head: subprocess.Popen

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
    """Start ``ray start --head`` on 127.0.0.1 with free ports; yield a :class:`RayHead`; end it."""
    temp_dir = tempfile.mkdtemp(prefix="npr", dir="/tmp")  # short: Ray's socket paths have a length limit
    gcs, dash, agent, agent_grpc, env_agent, metrics, client = (free_port() for _ in range(7))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    # Left unset, a new head turns token auth on when ~/.ray/auth_token exists (an in-process
    # ray.init() creates it) while the job CLI stays unauthenticated: say "token" to both.
    env["RAY_AUTH_MODE"] = "token"
    # A token of this head's own, so a fresh machine (no ~/.ray/auth_token yet) starts it too.
    env["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    head = subprocess.Popen(
        [
            RAY_CLI,
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={gcs}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dash}",
            f"--num-cpus={num_cpus}",
            "--include-dashboard=true",
            f"--temp-dir={temp_dir}",
            # every port explicit: the defaults (e.g. agent 52365) clash with any other Ray on this machine
            f"--dashboard-agent-listen-port={agent}",
            f"--dashboard-agent-grpc-port={agent_grpc}",
            f"--runtime-env-agent-port={env_agent}",
            f"--metrics-export-port={metrics}",
            f"--ray-client-server-port={client}",
            "--object-store-memory",
            str(512 * 1024**2),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        address = f"http://127.0.0.1:{dash}"
        deadline = time.time() + 120
        while True:  # wait for the job server
            probe = subprocess.run(
                [RAY_CLI, "job", "list", "--address", address], env=env, capture_output=True, text=True
            )
            if probe.returncode == 0:
                break
            if head.poll() is not None:
                raise RuntimeError("ray start --head exited early")
            if time.time() > deadline:
                raise RuntimeError(f"job server did not come up: {probe.stderr[-2000:]}")
            time.sleep(1)
        yield RayHead(address, env, head)
    finally:
        stop_head(temp_dir, head.pid, grace_s=STOP_GRACE_S)  # removes temp_dir too
        head.wait(timeout=10)
