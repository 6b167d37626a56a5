"""Connecting to Ray: an existing cluster, or a new local instance (used by :class:`builders.runtime.executor.RayExecutor`).

Address resolution (:func:`connect`):

1. the ``address`` argument (``--ray ADDRESS``), e.g. ``127.0.0.1:6379``, ``ray://host:10001`` or
   ``auto`` (find a cluster started with ``ray start`` on this machine);
2. the ``RAY_ADDRESS`` environment variable (set for the driver by ``ray job submit``);
3. otherwise a new local instance with ``num_cpus`` CPUs (never silently joins a cluster that
   happens to run on this machine).

Ray has two address forms: ``ray.init`` joins the cluster's GCS, ``HOST:6379``, while
``ray job submit`` talks to the job server, ``http://HOST:8265``, and users often export the latter
as ``RAY_ADDRESS``. A job-server address (from either source) is mapped to the GCS address of the
head serving it when that head runs on this machine (its dashboard process names its GCS);
otherwise it is refused in one line (:class:`RayAddressError`) that says which form to pass.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from builders.errors import NeuralPileError

LOCAL = "local"
#: ``http(s)://HOST:PORT``, the job server (dashboard) address of ``ray job submit``.
JOB_SERVER = re.compile(r"^https?://(?P<host>\[[^\]]+\]|[^:/\[\]]+)(?::(?P<port>\d+))?/?$")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0"}


class RayAddressError(NeuralPileError, ValueError):
    """A Ray address that cannot be joined, with the one line that says why and what to pass."""


def _local_host(host: str) -> bool:
    if host in LOCAL_HOSTS:
        return True
    try:
        mine = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
        theirs = {info[4][0] for info in socket.getaddrinfo(host.strip("[]"), None)}
    except OSError:
        return False
    return bool(mine & theirs) or host == socket.gethostname()


def dashboard_gcs_port(port: int, proc: Path = Path("/proc")) -> int | None:
    """The GCS port of the Ray dashboard (job server) listening on ``port`` on this machine, from
    the dashboard process's own command line (``dashboard.py --port=P ... --gcs-address=H:G``)."""
    if not proc.is_dir():
        return None
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if not any(a.endswith("dashboard/dashboard.py") for a in argv) or f"--port={port}" not in argv:
            continue
        for arg in argv:
            if arg.startswith("--gcs-address="):
                gcs_port = arg.rsplit(":", 1)[-1]
                if gcs_port.isdigit():
                    return int(gcs_port)
    return None


def gcs_address(address: str, origin: str = "address") -> str:
    """``address`` as ``ray.init`` takes it: a job-server URL becomes ``HOST:GCS_PORT``; others pass.

    Args:
        address: an address from ``origin``.
        origin: where it came from, for the error message: ``"address"`` (the argument of
            :func:`resolve_address`) or ``"RAY_ADDRESS"`` (the environment variable).
    Raises:
        RayAddressError: a job-server URL whose head is not on this machine, or malformed.
    """
    if not address.startswith(("http://", "https://")):
        return address
    parsed = JOB_SERVER.match(address)
    if parsed is None or parsed["port"] is None:
        raise _address_error(
            origin,
            f"{address}: not a Ray address; pass the cluster's GCS address, HOST:6379 "
            "(http://HOST:8265 is the job server, for `ray job submit`)",
        )
    host, port = parsed["host"], int(parsed["port"])
    local = _local_host(host)
    gcs_port = dashboard_gcs_port(port) if local else None
    if gcs_port is None:
        where = "no Ray head on this machine serves it" if local else f"its head runs on another machine, {host}"
        raise _address_error(
            origin,
            f"{address}: that is a job-server address (the form `ray job submit` takes) and {where}; "
            "pass the cluster's GCS address, HOST:6379",
        )
    return f"{host}:{gcs_port}"


def _address_error(origin: str, detail: str) -> RayAddressError:
    """``<origin> <detail>``; about the ``address`` argument unless it came from ``RAY_ADDRESS``."""
    argument = "address" if origin == "address" else None
    return RayAddressError(f"{origin} {detail}", argument=argument, label=origin)


def resolve_address(address: str | None = None) -> str:
    """The address :func:`connect` will use (``"local"`` for a new instance), in ``ray.init``'s form:
    ``address``, else ``$RAY_ADDRESS``, else a new local instance."""
    if address:
        return gcs_address(address)
    if os.environ.get("RAY_ADDRESS"):
        return gcs_address(os.environ["RAY_ADDRESS"], "RAY_ADDRESS")
    return LOCAL


def describe_address(address: str | None = None) -> str:
    """One line: the address :func:`connect` will use and where it comes from (``address`` from ``--address``)."""
    target = resolve_address(address)
    given = address or os.environ.get("RAY_ADDRESS")
    mapped = f", the GCS of the job server {given}" if given and target != given else ""
    if address:
        return f"address: {target} (from --address{mapped})"
    if os.environ.get("RAY_ADDRESS"):
        return f"address: {target} (from the RAY_ADDRESS environment variable{mapped})"
    return "address: none given, so a job starts a new local Ray instance (pass --address auto to join `ray start`)"


def connect(
    address: str | None = None,
    *,
    num_cpus: int | None = None,
    object_store_mb: int | None = None,
    progress: bool = True,
):
    """Initialise Ray once per process (no-op if already initialised); returns the ``ray`` module.

    Args:
        address: see the module docstring.
        num_cpus: CPUs of a new local instance (ignored when joining a cluster).
        object_store_mb: object store of a new local instance, MiB.
        progress: show Ray Data progress bars.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from ray.data import DataContext

    if not ray.is_initialized():
        target = resolve_address(address)
        options: dict = {"address": target, "log_to_driver": True}
        if target == LOCAL:  # a single-node instance: it listens on loopback only
            options["include_dashboard"] = False
            options["_node_ip_address"] = "127.0.0.1"
            if num_cpus is not None:
                options["num_cpus"] = int(num_cpus)
            if object_store_mb is not None:
                options["object_store_memory"] = int(object_store_mb) * 1024**2
        ray.init(**options)
    context = DataContext.get_current()
    context.enable_progress_bars = progress
    context.enable_operator_progress_bars = progress
    return ray
