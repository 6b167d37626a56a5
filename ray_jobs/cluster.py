"""Connecting a job to Ray: an existing cluster, or a new local instance.

Address resolution (:func:`connect`):

1. ``address`` argument (``--address``), e.g. ``127.0.0.1:6379``, ``ray://host:10001`` or
   ``auto`` (find a cluster started with ``ray start`` on this machine);
2. the ``RAY_ADDRESS`` environment variable (set for the driver by ``ray job submit``);
3. otherwise a new local instance with ``num_cpus`` CPUs (never silently joins a cluster that
   happens to run on this machine).

Run as a script, it says which address a job would use, and with ``--connect`` joins it and
lists the cluster's nodes and CPUs::

    python ray_jobs/cluster.py --address auto --connect
"""

from __future__ import annotations

import argparse
import os
import sys

LOCAL = "local"


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """``--address``, ``--num-cpus`` and ``--object-store-mb`` options for a Ray job."""
    parser.add_argument("--address", default=None, help="Ray cluster to join ('auto' finds one started with `ray start`); default: $RAY_ADDRESS, else a new local instance")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of a new local instance (default: all)")
    parser.add_argument("--object-store-mb", type=int, default=None, help="object store of a new local instance, MiB (default: Ray's choice)")


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


def connect(address: str | None = None, *, num_cpus: int | None = None, object_store_mb: int | None = None, progress: bool = True):
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
        if target == LOCAL:
            options["include_dashboard"] = False
            if num_cpus is not None:
                options["num_cpus"] = int(num_cpus)
            if object_store_mb is not None:
                options["object_store_memory"] = int(object_store_mb) * 1024**2
        ray.init(**options)
    context = DataContext.get_current()
    context.enable_progress_bars = progress
    context.enable_operator_progress_bars = progress
    return ray


def connect_from_args(args: argparse.Namespace, progress: bool = True):
    """:func:`connect` with the options added by :func:`add_cluster_arguments`."""
    return connect(args.address, num_cpus=args.num_cpus, object_store_mb=args.object_store_mb, progress=progress)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ray_jobs/cluster.py",
        description="Show which Ray cluster the jobs in ray_jobs/ (and neural-pile ... --ray) would use: "
                    "--address, else $RAY_ADDRESS (set by `ray job submit`), else a new local instance. "
                    "With --connect, join it and list its nodes and CPUs.",
    )
    add_cluster_arguments(parser)
    parser.add_argument("--connect", action="store_true", help="connect, print the alive nodes and CPUs, disconnect")
    args = parser.parse_args(argv)
    print(describe_address(args.address))
    if args.connect:
        ray = connect_from_args(args, progress=False)
        try:
            nodes = [node for node in ray.nodes() if node.get("Alive")]
            print(f"connected: {len(nodes)} node(s), {ray.cluster_resources().get('CPU', 0):g} CPUs")
            for node in nodes:
                print(f"  {node.get('NodeManagerAddress')}: {node.get('Resources', {}).get('CPU', 0):g} CPUs")
        finally:
            ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
