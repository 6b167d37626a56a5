"""``neural-pile``: build, inspect, tokenize and publish the rodent neural pile.

Each sub-command lives in its own module under :mod:`builders.cli` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking the
parsed arguments and returning an exit code, wrapped in :func:`builders.cli.common.one_line_errors`
(an error the project raises on purpose becomes one line on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from builders.cli.common import option_flags

#: Modules providing sub-commands, in the order ``--help`` lists them.
COMMAND_MODULES = [
    "builders.cli.demo",
    "builders.cli.plan",
    "builders.cli.build",
    "builders.cli.merge",
    "builders.cli.components",
    "builders.cli.motifs",
    "builders.cli.train_tokenizer",
    "builders.cli.reorder",
    "builders.cli.visualize",
    "builders.cli.sample",
    "builders.cli.stats",
    "builders.cli.compare",
    "builders.cli.push",
]


def make_parser(prog: str = "neural-pile") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Build the rodent neural pile (20 ms spike counts as uint8 tokens) from DANDI / "
            "figshare recordings or local copies, and analyse, tokenize and publish it."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for command in sub.choices.values():  # errors name a parameter; the command's line names its option
        command.set_defaults(option_flags=option_flags(command))
    return parser


class _OneLinePerRetry(logging.Filter):
    """Drops ``huggingface_hub``'s "Retrying in Ns" lines: the line naming the failed request,
    just before, already says a retry follows."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Retrying in")


def quiet_hub_retries() -> None:
    """One line per retry of a Hub request: ``huggingface_hub`` prints through its own handler
    (its records do not also reach this program's), without its "Retrying in" lines."""
    hub = logging.getLogger("huggingface_hub")
    hub.propagate = False
    http = logging.getLogger("huggingface_hub.utils._http")
    if not any(isinstance(f, _OneLinePerRetry) for f in http.filters):
        http.addFilter(_OneLinePerRetry())


def main(argv: list[str] | None = None, prog: str = "neural-pile") -> int:
    """Run one command; ``prog`` names the program in messages (the Ray job scripts pass theirs)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_hub_retries()
    args = make_parser(prog).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted: finished sessions are kept; rerun the same command to resume", file=sys.stderr)
        return 130
