"""The common entry of the Ray job scripts: run a ``neural-pile`` command with ``--ray`` implied.

Each ``ray_jobs/<job>.py`` is a thin script over the command of the same job, so the Ray job and
the local command share their options, checks, outputs and exit codes; the executor
(:class:`builders.runtime.executor.RayExecutor`) joins the cluster of the submitted job (``$RAY_ADDRESS``)
or the one ``--ray ADDRESS`` names.
"""

from __future__ import annotations

import sys

from builders.cli.main import main


def run_on_ray(command: str, argv: list[str] | None = None) -> int:
    """``neural-pile COMMAND ARGS --ray`` (an explicit ``--ray ADDRESS`` in ARGS wins)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "-h" not in args and "--help" not in args and not any(a == "--ray" or a.startswith("--ray=") for a in args):
        args.append("--ray")
    return main([command, *args], prog=f"ray_jobs/{command.replace('-', '_')}.py")
