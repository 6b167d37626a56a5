"""Start and stop a Ray head on this machine's loopback interface, touching no other Ray processes.

    eval "$(.venv/bin/python ray_jobs/head.py start --num-cpus 2)"   # sets RAY_ADDRESS for `ray job submit`
    .venv/bin/python ray_jobs/head.py stop                           # ends this head only

``start`` runs ``ray start --head --block`` in a session of its own, listening on 127.0.0.1 only,
with its own temporary folder and every port explicit: the GCS on ``--port`` (default 6379) and
the job server on ``--dashboard-port`` (default 8265), or free ports when those are taken (other
Ray ports are always free ones, so a second Ray on the machine does not clash). It waits until
the job server and the node's agent answer, then prints two ``export`` lines for the shell
(``RAY_ADDRESS=http://127.0.0.1:PORT``, the form ``ray job submit`` takes, and
``NEURAL_PILE_RAY_HEAD``, the folder ``stop`` reads) and, on stderr, both addresses.

``stop`` signals that session, then any process still using the head's folder, and removes the
folder. ``ray stop`` would instead end every Ray process of the machine, other people's included.

Authentication: Ray turns token authentication on for a new head when ``~/.ray/auth_token``
exists, while ``ray job submit`` sends the token only when ``RAY_AUTH_MODE=token`` is set; so set
it in the shell before both (``start`` refuses to run unless it is ``token`` or ``disabled``).
``ray get-auth-token --generate > /dev/null`` writes the token file once if it is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ray.job_submission import JobSubmissionClient

#: The environment variable ``start`` exports and ``stop`` reads: the head's own folder.
HEAD_ENV = "NEURAL_PILE_RAY_HEAD"
STATE_FILE = "head.json"
#: Seconds to wait for the job server and the node agent.
START_TIMEOUT_S = 180.0
#: Seconds between two probes of a starting head.
PROBE_INTERVAL_S = 0.25
LOOPBACK = "127.0.0.1"


def _ray_cli() -> str:
    """The ``ray`` command of this interpreter's environment (a venv's ``bin/ray``), else the one on PATH."""
    beside = Path(sys.executable).parent / "ray"
    return str(beside) if beside.exists() else (shutil.which("ray") or "ray")


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def answers(port: int) -> bool:
    """Whether something accepts TCP connections on loopback ``port``."""
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex((LOOPBACK, port)) == 0


def processes_using(folder: str) -> list[int]:
    """Pids (not this one) whose command line or working directory mentions ``folder`` (Linux /proc)."""
    mention = re.compile(re.escape(folder.rstrip("/")) + r"(?![\w.-])")  # the folder, not a longer name
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if mention.search(cmdline) or mention.match(cwd):
            pids.append(int(entry.name))
    return pids


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):  # gone already, or not ours
            os.kill(pid, sig)


def stop_head(folder: str, leader: int | None, *, grace_s: float = 10.0) -> None:
    """End the head whose temporary folder is ``folder``, waiting up to ``grace_s`` seconds per step.

    First the leader (``ray start --block``) alone gets SIGINT, as from Ctrl-C in its terminal: it
    then shuts its own processes down (about 2 s; its GCS, raylet and autoscaler outlast a SIGTERM).
    What still uses ``folder`` after that gets SIGTERM (the leader's session too), then SIGKILL. The
    leader is signalled only while it still uses ``folder`` (its pid may have been reused).
    """
    steps = ((signal.SIGINT, False), (signal.SIGTERM, True), (signal.SIGKILL, True))
    for sig, everyone in steps:
        if leader is not None and leader in processes_using(folder):
            signal_leader = os.killpg if everyone else os.kill
            with contextlib.suppress(ProcessLookupError, PermissionError):
                signal_leader(leader, sig)
        if everyone:
            _signal(processes_using(folder), sig)
        deadline = time.time() + grace_s
        while processes_using(folder) and time.time() < deadline:
            time.sleep(0.2)
        if not processes_using(folder):
            break
    shutil.rmtree(folder, ignore_errors=True)


def job_server_answers(address: str, auth_headers: dict[str, str] | None = None) -> bool:
    """Whether the job server at ``address`` (``http://HOST:PORT``) lists its jobs, the call
    ``ray job submit`` starts with. Asked from this process (a ``ray job list`` process per probe
    would cost most of a CPU-second); Ray adds the token of ``RAY_AUTH_MODE=token`` itself unless
    ``auth_headers`` carries an ``Authorization`` header."""
    try:
        JobSubmissionClient(address, headers=auth_headers).list_jobs()
    except Exception:  # noqa: BLE001 - not up yet: refused connections, 5xx while modules load, auth not ready
        return False
    return True


def start_head(
    num_cpus: int | None,
    port: int,
    dashboard_port: int,
    object_store_mb: int | None,
    *,
    env: dict[str, str] | None = None,
    auth_headers: dict[str, str] | None = None,
) -> dict:
    """Start the head; returns its state (addresses, leader pid, folder) once jobs can be submitted.

    Args:
        env: environment of ``ray start`` (default: this process's, without ``RAY_ADDRESS``).
        auth_headers: headers the readiness probe sends (see :func:`job_server_answers`).
    """
    notes = []
    if not port_is_free(port):
        notes.append(f"port {port} is taken, the GCS uses another")
        port = free_port()
    if not port_is_free(dashboard_port):
        notes.append(f"port {dashboard_port} is taken, the job server uses another")
        dashboard_port = free_port()
    folder = tempfile.mkdtemp(prefix="npr", dir="/tmp")  # short: Ray's socket paths have a length limit
    agent, agent_grpc, env_agent, metrics, client = (free_port() for _ in range(5))
    command = [
        _ray_cli(),
        "start",
        "--head",
        "--block",
        f"--node-ip-address={LOOPBACK}",
        f"--port={port}",
        f"--dashboard-host={LOOPBACK}",
        f"--dashboard-port={dashboard_port}",
        "--include-dashboard=true",
        f"--temp-dir={folder}",
        f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--runtime-env-agent-port={env_agent}",
        f"--metrics-export-port={metrics}",
        f"--ray-client-server-port={client}",
    ]
    if num_cpus is not None:
        command.append(f"--num-cpus={num_cpus}")
    if object_store_mb is not None:
        command += ["--object-store-memory", str(object_store_mb * 1024**2)]
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "RAY_ADDRESS"}
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with open(Path(folder) / "ray_start.log", "wb") as log:
        head = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    state = {
        "leader_pid": head.pid,
        "folder": folder,
        "gcs_address": f"{LOOPBACK}:{port}",
        "job_server": f"http://{LOOPBACK}:{dashboard_port}",
        "notes": notes,
    }
    (Path(folder) / STATE_FILE).write_text(json.dumps(state))
    deadline = time.time() + START_TIMEOUT_S
    while True:
        if answers(agent) and job_server_answers(state["job_server"], auth_headers):
            return state
        if head.poll() is not None or time.time() > deadline:
            log_tail = (Path(folder) / "ray_start.log").read_text(errors="replace")[-1500:]
            stop_head(folder, head.pid)
            reason = "exited" if head.poll() is not None else f"did not answer within {START_TIMEOUT_S:g} s"
            raise RuntimeError(f"the Ray head {reason}; the last lines of `ray start`:\n{log_tail}")
        time.sleep(PROBE_INTERVAL_S)


def token_available() -> bool:
    """Whether Ray will find an authentication token: ``$RAY_AUTH_TOKEN``, the file ``$RAY_AUTH_TOKEN_PATH``
    names, or ``~/.ray/auth_token`` (only whether it exists; the token is never read here)."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or str(Path.home() / ".ray" / "auth_token")
    return Path(path).is_file()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ray_jobs/head.py",
        description="Start a Ray head on 127.0.0.1 for `ray job submit` and `neural-pile ... --ray`, "
        "and stop that head only (never other Ray processes of the machine).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser(
        "start", help='start the head; prints `export` lines for the shell (use it as eval "$(...)")'
    )
    start.add_argument("--num-cpus", type=int, default=None, help="CPUs of the head (default: all)")
    start.add_argument("--port", type=int, default=6379, help="GCS port, the ray.init address (default: 6379)")
    start.add_argument(
        "--dashboard-port", type=int, default=8265, help="job server port, the `ray job submit` address (default: 8265)"
    )
    start.add_argument("--object-store-mb", type=int, default=None, help="object store, MiB (default: Ray's choice)")
    stop = commands.add_parser("stop", help=f"stop the head ${HEAD_ENV} names")
    stop.add_argument("--head", default=None, help=f"the head's folder (default: ${HEAD_ENV})")
    args = parser.parse_args(argv)

    if args.command == "start":
        mode = os.environ.get("RAY_AUTH_MODE")
        if mode not in ("token", "disabled"):
            print(
                "error: set RAY_AUTH_MODE=token (or =disabled) in this shell first: `ray job submit` and the head "
                "must agree on authentication",
                file=sys.stderr,
            )
            return 2
        if mode == "token" and not token_available():
            print(
                "error: RAY_AUTH_MODE=token but no token: run `ray get-auth-token --generate > /dev/null` once "
                "(it writes ~/.ray/auth_token), or set RAY_AUTH_TOKEN_PATH",
                file=sys.stderr,
            )
            return 2
        if args.num_cpus is not None and args.num_cpus < 1:
            print(f"error: --num-cpus must be at least 1, got {args.num_cpus}", file=sys.stderr)
            return 2
        try:
            state = start_head(args.num_cpus, args.port, args.dashboard_port, args.object_store_mb)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        for note in state["notes"]:
            print(f"note: {note}", file=sys.stderr)
        print(
            f"Ray head on this machine (authentication: {mode}): job server {state['job_server']} "
            f"(RAY_ADDRESS, `ray job submit --address`), GCS {state['gcs_address']} (`--ray`, ray.init); "
            f"stop it with `python ray_jobs/head.py stop`",
            file=sys.stderr,
        )
        print(f"export RAY_ADDRESS={state['job_server']}")
        print(f"export {HEAD_ENV}={state['folder']}")
        return 0

    folder = args.head or os.environ.get(HEAD_ENV)
    if not folder:
        print(f"error: no head to stop: ${HEAD_ENV} is not set and --head was not given", file=sys.stderr)
        return 2
    state_path = Path(folder) / STATE_FILE
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        print(
            f"error: --head {folder}: not a head started by ray_jobs/head.py (no readable {STATE_FILE})",
            file=sys.stderr,
        )
        return 2
    if state.get("folder") != str(Path(folder)):
        print(f"error: --head {folder}: its {STATE_FILE} names another folder", file=sys.stderr)
        return 2
    stop_head(state["folder"], state.get("leader_pid"))
    print(f"stopped the Ray head of {state['folder']} ({state['job_server']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
