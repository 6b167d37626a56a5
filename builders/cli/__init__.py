"""The ``neural-pile`` command line: one module per sub-command, shared options in ``common``.

``neural-pile --help`` imports every sub-command module (:mod:`builders.cli.main`), so a module
imports at its top only what its parser needs and what every command loads anyway; the library
a command runs (a build, a job, the tokenizer, the Hub, the archives, the streams, synthetic
recordings) is imported inside the function that runs it.
"""

from builders.cli.main import main

__all__ = ["main"]
