"""The ``neural-pile`` command line: one module per sub-command, shared options in ``common``."""

from builders.cli.main import main

__all__ = ["main"]
