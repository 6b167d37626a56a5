"""Options and error handling shared by the commands that read a pile.

Every such command takes ``--dataset`` (a folder, a Hub repo id with an optional ``@revision``,
an ``hf://`` path or an fsspec URL), ``--config`` (default: the card's default config) and the
common executor options. :func:`one_line_errors` wraps every command: an error the project
raises on purpose becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import errno
import functools
import os
import re
import sys
from pathlib import Path

from builders.errors import NeuralPileError
from builders.pile import PileError, parse_reference
from builders.runtime.executor import MAX_RETRIES, Executor, make_executor

#: The folder ``neural-pile build`` and ``make demo`` write by default.
DEFAULT_DATASET = "neural_pile_rodent"
#: Set by Ray for the entrypoint of a submitted job (the job's runtime environment, as JSON).
RAY_JOB_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"
#: Exit code of a command given bad input.
BAD_INPUT = 2
#: Exit code of a command whose reads or writes the system refused (a full disk, a read-only place).
WRITE_FAILED = 1
#: Largest seed any command takes (numpy seeds are non-negative; 32 bits are plenty).
MAX_SEED = 2**32 - 1
#: Most raster panels one figure draws (``visualize`` and ``demo --n-examples``).
MAX_RASTERS = 64
#: Most motifs one figure draws (``motifs --top``, ``visualize --motifs --top``).
MAX_TOP_MOTIFS = 256


class CommandError(NeuralPileError, ValueError):
    """Input a command refuses itself (an option out of its bounds or at odds with another, a
    component it cannot plan); the message names the option or the component."""


def check_range(option: str, value, low, high) -> None:
    """Refuse a value of ``option`` outside ``[low, high]`` (or NaN) in one line naming the bound."""
    if not low <= value <= high:  # False for NaN as well
        raise CommandError(f"{option} must be within [{low:,}, {high:,}], got {value}")


def add_pile_argument(parser: argparse.ArgumentParser, flag: str = "--dataset") -> None:
    """The pile to read, as ``args.dataset`` (``reorder`` and ``merge`` call the option ``--in``)."""
    parser.add_argument(
        flag,
        dest="dataset",
        default=DEFAULT_DATASET,
        help="the pile: a local folder, a Hub dataset repo (namespace/name[@revision]), "
        "hf://datasets/... or an fsspec URL such as s3://bucket/pile "
        f"(default: ./{DEFAULT_DATASET}, what `neural-pile build` and `make demo` write)",
    )


def add_dataset_arguments(
    parser: argparse.ArgumentParser, *, splits: list[str] | None = None, many_configs: bool = False
) -> None:
    """``--dataset``, ``--config`` and ``--splits``.

    Args:
        splits: default splits (``None``: every split of the config).
        many_configs: ``--config`` takes several names.
    """
    add_pile_argument(parser)
    parser.add_argument(
        "--config",
        nargs="+" if many_configs else None,
        default=None,
        help="config(s) of the card (a component name, or 'all'); on a pile with one "
        "'default' config a component name selects rows by source_dataset "
        "(default: the card's default config)",
    )
    parser.add_argument(
        "--splits",
        nargs="+",
        default=splits,
        help=f"splits to read (default: {' '.join(splits) if splits else 'every split'})",
    )


def ray_job_paths(args: argparse.Namespace, *names: str) -> None:
    """Under ``ray job submit``, refuse relative local paths in ``args.<name>``.

    The job runs in Ray's uploaded copy of the working directory: a relative input is not there
    (built folders are not uploaded) and a relative output would be written into that temporary
    copy and lost. Raises :class:`CommandError` about the argument ``name``.
    """
    if not in_ray_job():
        return
    for name in names:
        value = getattr(args, name, None)
        if not value or "://" in str(value) or os.path.isabs(os.path.expanduser(str(value))):
            continue
        if name == "dataset" and _looks_like_repo(str(value)):
            continue
        raise CommandError(  # the wrapper names the option that filled args.<name>
            f"{name} {value}: a relative path inside a Ray job resolves in the job's uploaded copy of the "
            "working directory; pass an absolute path on storage every node sees, a Hub repo id or an "
            "object-store URL",
            argument=name,
        )


def default_output_dir(pile, name: str) -> Path:
    """``<folder>/<name>`` beside a local pile; ``./<name>_<repo>`` for a remote one (never inside it)."""
    if pile.local_folder is not None:
        return pile.local_folder / name
    label = re.sub(r"[^\w.-]+", "_", pile.source.repo_id or pile.source.dataset).strip("_")
    return Path(f"{name}_{label}")


def in_ray_job() -> bool:
    """Whether this process is the driver of a ``ray job submit`` (Ray sets this variable for it)."""
    return bool(os.environ.get(RAY_JOB_ENV))


def _looks_like_repo(value: str) -> bool:
    try:
        return parse_reference(value).kind == "hub"
    except PileError:
        return False


def os_error_line(exc: OSError) -> str:
    """One line for a failed read or write: the file, then what the system said (a full disk, a
    read-only place, a path below a regular file)."""
    where = exc.filename if exc.filename is not None else "output"
    reason = exc.strerror or str(exc)
    hint = {
        errno.ENOSPC: "free some space and rerun (finished outputs are kept, nothing is half-written)",
        errno.EDQUOT: "free some space and rerun (finished outputs are kept, nothing is half-written)",
        errno.EROFS: "choose a writable place",
        errno.EACCES: "choose a place you may write",
        errno.EPERM: "choose a place you may write",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EEXIST: "a part of the path is a file, not a folder",
    }.get(exc.errno)
    return f"{where}: {reason}" + (f"; {hint}" if hint else "")


def option_flags(parser: argparse.ArgumentParser) -> dict[str, str]:
    """``{dest: option}`` of a command's parser (``{"dataset": "--in"}`` for ``merge``): the
    option that fills each parameter an error may name (:attr:`NeuralPileError.argument`)."""
    return {action.dest: action.option_strings[-1] for action in parser._actions if action.option_strings}


def error_line(exc: NeuralPileError, args: argparse.Namespace) -> str:
    """The error's one line as the command's user reads it: the argument it names (if any) called
    by the option that gave it (``--dataset x: no such folder``)."""
    flag = getattr(args, "option_flags", {}).get(exc.argument)
    return exc.naming(flag) if flag else str(exc)


def one_line_errors(run):
    """Decorate a command's ``run(args, ...)``; every command has it.

    An error the project raises on purpose (:class:`NeuralPileError`) becomes one line on stderr
    (:func:`error_line`); so does a read or write the system refused (any other :class:`OSError`:
    a full disk, a read-only place), its line naming the file. The exit code is
    :func:`exit_code`'s. Any other exception is a bug and keeps its traceback.
    """

    @functools.wraps(run)
    def guarded(args: argparse.Namespace, *more, **options) -> int:
        try:
            return run(args, *more, **options)
        except NeuralPileError as exc:
            print(f"error: {error_line(exc, args)}", file=sys.stderr)
            return exit_code(exc)
        except OSError as exc:
            print(f"error: {os_error_line(exc)}", file=sys.stderr)
            return exit_code(exc)

    guarded.one_line_errors = True
    return guarded


def exit_code(exc: Exception) -> int:
    """:data:`WRITE_FAILED` for a read or write that failed (an :class:`OSError`: a full disk, a
    remote file unreadable, a cache folder that cannot be made), else :data:`BAD_INPUT` (what was
    asked for is wrong, a missing file or folder among it)."""
    refused = isinstance(exc, OSError) and not isinstance(exc, (FileNotFoundError, FileExistsError))
    return WRITE_FAILED if refused else BAD_INPUT


def add_executor_arguments(parser, *, what: str = "items") -> None:
    """``--ray [ADDRESS]``, ``--num-proc N`` and ``--max-retries N``: the same on every command."""
    parser.add_argument(
        "--ray",
        dest="address",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help=f"run the {what} on Ray actors: the cluster at ADDRESS, else the one $RAY_ADDRESS "
        "names (set by `ray job submit`), else a new local instance",
    )
    parser.add_argument(
        "--num-proc",
        type=int,
        default=1,
        help=f"without --ray: {what} run in this many processes (default: 1, this process)",
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        default=MAX_RETRIES,
        help=f"new attempts of a failed item before it is reported (default: {MAX_RETRIES})",
    )


def executor_from_args(args) -> Executor:
    """The executor of :func:`add_executor_arguments`' options."""
    if args.num_proc < 1:
        raise CommandError(f"--num-proc must be at least 1, got {args.num_proc}")
    if args.max_retries < 0:
        raise CommandError(f"--max-retries must be at least 0, got {args.max_retries}")

    return make_executor(args.address, args.num_proc, max_retries=args.max_retries)
