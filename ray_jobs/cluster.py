"""Which Ray cluster the jobs would use (:mod:`builders.runtime.cluster` resolves it).

Run as a script, it says which address a job would use, and with ``--connect`` joins it and
lists the cluster's nodes and CPUs::

    python ray_jobs/cluster.py --address auto --connect
"""

from __future__ import annotations

import argparse
import sys

from builders.cli.common import error_line, option_flags
from builders.runtime.cluster import RayAddressError, connect, describe_address


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """``--address``, ``--num-cpus`` and ``--object-store-mb`` options for a Ray job."""
    parser.add_argument(
        "--address",
        default=None,
        help="Ray cluster to join: its GCS address HOST:6379 (a job-server URL http://HOST:8265 of a head on "
        "this machine is mapped to it; 'auto' finds one started with `ray start`); default: $RAY_ADDRESS, "
        "else a new local instance",
    )
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of a new local instance (default: all)")
    parser.add_argument(
        "--object-store-mb",
        type=int,
        default=None,
        help="object store of a new local instance, MiB (default: Ray's choice)",
    )


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
    parser.set_defaults(option_flags=option_flags(parser))
    args = parser.parse_args(argv)
    try:
        print(describe_address(args.address))
    except RayAddressError as exc:
        print(f"error: {error_line(exc, args)}", file=sys.stderr)
        return 2
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
