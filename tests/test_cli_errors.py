"""One base error class; library messages name values, the command line names its options.

A Python caller reads the library's words (``pile x: no such folder``); ``neural-pile`` shows the
same error naming the option that gave the value (``--dataset x: no such folder``), through the
one wrapper every command has. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import pytest

from builders.cli.main import main, make_parser
from builders.errors import NeuralPileError
from builders.pile import PileError, open_pile


def test_a_python_caller_of_open_pile_reads_no_option_name(tmp_path):
    missing = tmp_path / "no_such_pile"
    with pytest.raises(PileError) as caught:
        open_pile(missing)
    message = str(caught.value)
    assert message.startswith(f"pile {missing}: no such folder") and "--" not in message
    assert caught.value.argument == "dataset"


@pytest.mark.parametrize("command, flag", [("stats", "--dataset"), ("reorder", "--in"), ("merge", "--in")])
def test_the_command_line_names_the_option_of_the_pile(command, flag, tmp_path, capsys):
    missing = tmp_path / "no_such_pile"
    argv = [command, flag, str(missing), "--no-progress"]
    if command != "stats":
        argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {flag} {missing}: no such folder") and err.count("\n") == 1


def test_a_library_bound_names_the_parameter_and_the_command_its_option(tmp_path, capsys):
    from builders.jobs.merge import MergeError, merge_pile

    with pytest.raises(MergeError, match=r"^shard_bytes must be positive, got 0$"):
        merge_pile(tmp_path / "pile", tmp_path / "out", shard_bytes=0)
    argv = ["merge", "--in", str(tmp_path / "pile"), "--out", str(tmp_path / "out"), "--shard-bytes", "0"]
    assert main(argv) == 2
    assert capsys.readouterr().err == "error: --shard-bytes must be positive, got 0\n"


def test_every_command_goes_through_the_one_wrapper():
    parser = make_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert commands
    for name, command in commands.items():
        func = command.get_default("func")
        assert getattr(func, "one_line_errors", False), f"{name} bypasses one_line_errors"


def test_an_error_that_is_not_the_projects_keeps_its_traceback(monkeypatch):
    import builders.cli.components as components

    def broken() -> str:
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(components, "component_table", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["components"])


def test_every_error_class_keeps_its_builtin_base():
    from builders.archives.bytecache import CacheFolderError
    from builders.archives.dandi import DandiListingError
    from builders.archives.deadline import ListingTimeout
    from builders.archives.figshare import FigshareListingError
    from builders.archives.http import RemoteReadError
    from builders.archives.local import DataDirMismatch, DataDirMissing
    from builders.archives.rangefile import HoldLimitExceeded
    from builders.archives.selection import SelectionError
    from builders.build.pipeline import BuildError
    from builders.cli.common import CommandError
    from builders.errors import SettingError
    from builders.hub.publish import PushError
    from builders.jobs.merge import MergeError
    from builders.jobs.reorder_dataset import RowReorderError
    from builders.readers.base import ReaderError
    from builders.runtime.cluster import RayAddressError
    from builders.spec.binning import BinningError
    from builders.spec.registry import UnknownComponent
    from builders.storage.locks import FolderBusy, LockHeld
    from builders.storage.ownership import OutputFolderBusy, OutputFolderError
    from builders.streams.errors import StreamError, StreamStateError
    from tokenizer.motif_table import MotifTableError, MotifTableMissing
    from tokenizer.motif_tokenizer import ArtifactError, TokenizerNotFoundError, VocabularyError
    from tokenizer.patches import PatchError

    bases = {
        ValueError: [
            RayAddressError,
            RowReorderError,
            MergeError,
            PileError,
            ReaderError,
            SelectionError,
            DataDirMismatch,
            OutputFolderError,
            OutputFolderBusy,
            StreamError,
            StreamStateError,
            ArtifactError,
            VocabularyError,
            PatchError,
            MotifTableError,
            BinningError,
            SettingError,
            CommandError,
        ],
        RuntimeError: [
            PushError,
            FigshareListingError,
            DandiListingError,
            ListingTimeout,
            FolderBusy,
            LockHeld,
            BuildError,
        ],
        OSError: [RemoteReadError, HoldLimitExceeded, CacheFolderError],
        FileNotFoundError: [TokenizerNotFoundError, DataDirMissing, MotifTableMissing],
        KeyError: [UnknownComponent],
    }
    for builtin, classes in bases.items():
        for cls in classes:
            assert issubclass(cls, NeuralPileError) and issubclass(cls, builtin), cls
    assert str(UnknownComponent("unknown component 'x'")) == "unknown component 'x'"  # not quoted as a key


def test_naming_replaces_only_the_label_of_the_argument():
    error = NeuralPileError("output folder /o: holds a pile", argument="out", label="output folder")
    assert error.naming("--out") == "--out /o: holds a pile"
    assert NeuralPileError("/f: not a file").naming("--out") == "/f: not a file"
    assert NeuralPileError("parts must be at least 1, got 0", argument="parts").naming("--parts") == (
        "--parts must be at least 1, got 0"
    )


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["stats", "--dataset", "relative_pile"], "--dataset"),
        (["reorder", "--in", "relative_pile", "--out", "/absolute/out"], "--in"),
        (["reorder", "--in", "/absolute/pile", "--out", "relative_out"], "--out"),
    ],
)
def test_a_relative_path_in_a_ray_job_names_the_option_it_came_from(argv, flag, monkeypatch, capsys):
    from builders.cli.common import RAY_JOB_ENV

    monkeypatch.setenv(RAY_JOB_ENV, "{}")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {flag} relative_") and "a relative path inside a Ray job" in err
