"""Connecting to Ray: an existing cluster, or a new local instance (used by :class:`builders.executor.RayExecutor`).

Address resolution (:func:`connect`):

1. the ``address`` argument (``--ray ADDRESS``), e.g. ``127.0.0.1:6379``, ``ray://host:10001`` or
   ``auto`` (find a cluster started with ``ray start`` on this machine);
2. the ``RAY_ADDRESS`` environment variable (set for the driver by ``ray job submit``);
3. otherwise a new local instance with ``num_cpus`` CPUs (never silently joins a cluster that
   happens to run on this machine).
"""

from __future__ import annotations

import os

LOCAL = "local"


def resolve_address(address: str | None = None) -> str:
    """The address :func:`connect` will use (``"local"`` for a new instance)."""
    return address or os.environ.get("RAY_ADDRESS") or LOCAL


def describe_address(address: str | None = None) -> str:
    """One line: the address :func:`connect` will use and where it comes from."""
    target = resolve_address(address)
    if address:
        return f"address: {target} (from --address)"
    if os.environ.get("RAY_ADDRESS"):
        return f"address: {target} (from the RAY_ADDRESS environment variable)"
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
