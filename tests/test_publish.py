"""``neural-pile push`` against a recording stand-in for the Hub (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders.cli.main import main as cli_main
from builders.hub.publish import PushError, matching_files, push_folder
from tests.support.pile_folder import write_pile_folder

SECRET = "hf_ThisIsNotARealTokenButMustNeverBePrinted"


class RecordingHub:
    """Stand-in for ``HfApi``: records calls; lists what ``upload_folder`` would send."""

    def __init__(self, fail_with: Exception | None = None):
        self.calls: list[tuple[str, dict]] = []
        self.uploaded: list[str] = []
        self.fail_with = fail_with

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, *, folder_path, allow_patterns, ignore_patterns, **kwargs):
        self.calls.append(("upload_folder", {"folder_path": folder_path, **kwargs}))
        if self.fail_with:
            raise self.fail_with
        self.uploaded = matching_files(Path(folder_path), allow_patterns, ignore_patterns)

    def create_commit(self, *, operations, **kwargs):
        self.calls.append(("create_commit", kwargs))
        if self.fail_with:
            raise self.fail_with
        self.uploaded = sorted(op.path_in_repo for op in operations)


@pytest.fixture()
def dataset_folder(tmp_path):
    folder = tmp_path / "neural_pile_rodent"
    write_pile_folder(folder, {"vbn": (1, 0)}, seed=1)
    (folder / "build_report.json").write_text("{}")
    (folder / ".build" / "vbn").mkdir(parents=True)
    (folder / ".build" / "vbn" / "sess.json").write_text("{}")
    (folder / "data" / "vbn" / ".train-x.parquet.tmp-1").write_text("half")
    (folder / "notes.txt").write_text("local notes")
    return folder


@pytest.fixture()
def tokenizer_folder(tmp_path):
    folder = tmp_path / "tok_1x10_32k"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"patch_size": [1, 10]}))
    (folder / "motif_tokenizer.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    (folder / "README.md").write_text("# tokenizer\n")
    return folder


def test_dataset_folder_goes_to_a_dataset_repo_without_build_state(dataset_folder, monkeypatch, capsys):
    hub = RecordingHub()
    monkeypatch.setenv("MY_TOKEN", SECRET)
    from builders.cli import push as push_command

    args = push_command_args(
        ["push", str(dataset_folder), "--repo", "user/neural-pile-rodent", "--token-env", "MY_TOKEN"]
    )
    assert push_command.run(args, api=hub) == 0
    assert hub.calls[0] == (
        "create_repo",
        {"repo_id": "user/neural-pile-rodent", "repo_type": "dataset", "private": False, "exist_ok": True},
    )
    name, upload = hub.calls[1]
    assert (
        name == "upload_folder" and upload["repo_type"] == "dataset" and upload["repo_id"] == "user/neural-pile-rodent"
    )
    assert hub.uploaded == [
        "README.md",
        "build_report.json",
        "data/vbn/test-empty.parquet",
        "data/vbn/train-vbn-train-0.parquet",
    ]
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err


def test_tokenizer_folder_goes_to_a_private_model_repo(tokenizer_folder):
    hub = RecordingHub()
    plan = push_folder(tokenizer_folder, "user/motif-tokenizer-1x10-32k", private=True, token=SECRET, api=hub)
    assert plan.repo_type == "model"
    assert hub.calls[0][1] == {
        "repo_id": "user/motif-tokenizer-1x10-32k",
        "repo_type": "model",
        "private": True,
        "exist_ok": True,
    }
    assert hub.uploaded == ["README.md", "config.json", "motif_tokenizer.safetensors"]
    assert SECRET not in repr(plan)


@pytest.mark.parametrize("make", ["empty", "card_without_configs", "parquet_without_card", "config_without_weights"])
def test_other_folders_are_refused_before_any_call(tmp_path, make, capsys):
    folder = tmp_path / make
    folder.mkdir()
    if make == "card_without_configs":
        (folder / "README.md").write_text("---\nlicense: mit\n---\n# x\n")
        (folder / "data").mkdir()
        (folder / "data" / "a.parquet").write_bytes(b"x")
    elif make == "parquet_without_card":
        (folder / "data").mkdir()
        (folder / "data" / "a.parquet").write_bytes(b"x")
    elif make == "config_without_weights":
        (folder / "config.json").write_text("{}")
        (folder / "model.bin").write_bytes(b"x")
    hub = RecordingHub()
    with pytest.raises(PushError, match="neither a dataset folder"):
        push_folder(folder, "user/x", api=hub)
    assert hub.calls == []
    assert cli_main(["push", str(folder), "--repo", "user/x"]) == 2
    assert "nothing pushed" in capsys.readouterr().err


def test_hub_errors_never_carry_the_token(tokenizer_folder, monkeypatch, capsys):
    hub = RecordingHub(fail_with=RuntimeError(f"401 Unauthorized for token {SECRET}"))
    monkeypatch.setenv("HF_TOKEN", SECRET)
    from builders.cli import push as push_command

    args = push_command_args(["push", str(tokenizer_folder), "--repo", "user/tok"])
    assert push_command.run(args, api=hub) == 2
    out = capsys.readouterr()
    assert "401 Unauthorized" in out.err
    assert SECRET not in out.out + out.err
    with pytest.raises(PushError) as caught:
        push_folder(tokenizer_folder, "user/tok", token=SECRET, api=hub)
    assert SECRET not in str(caught.value) and caught.value.__cause__ is None and caught.value.__suppress_context__


def test_bad_repo_id_is_refused(tokenizer_folder):
    with pytest.raises(PushError, match="user/name"):
        push_folder(tokenizer_folder, "no-slash", api=RecordingHub())


def push_command_args(argv):
    from builders.cli.main import make_parser

    return make_parser().parse_args(argv)


@pytest.fixture()
def no_saved_login(tmp_path, monkeypatch):
    """No token in the environment and a saved-login file that does not exist."""
    from huggingface_hub import constants

    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "MY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no_login" / "token"))
    return Path(constants.HF_TOKEN_PATH)


def test_push_without_a_token_says_so_before_any_call(tokenizer_folder, no_saved_login, monkeypatch, capsys):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # a call would fail with a connection error
    hub = RecordingHub()
    from builders.cli import push as push_command

    assert push_command.run(push_command_args(["push", str(tokenizer_folder), "--repo", "user/tok"]), api=hub) == 2
    err = capsys.readouterr().err
    assert hub.calls == []
    assert "no Hub token found: HF_TOKEN is not set and there is no saved login" in err and err.count("\n") == 1
    assert cli_main(["push", str(tokenizer_folder), "--repo", "user/tok", "--token-env", "MY_TOKEN"]) == 2
    assert "MY_TOKEN is not set" in capsys.readouterr().err


def test_push_uses_the_saved_login(tokenizer_folder, no_saved_login):
    no_saved_login.parent.mkdir()
    no_saved_login.write_text(SECRET)
    hub = RecordingHub()
    from builders.cli import push as push_command

    assert push_command.run(push_command_args(["push", str(tokenizer_folder), "--repo", "user/tok"]), api=hub) == 0
    assert [name for name, _ in hub.calls] == ["create_repo", "create_commit"]  # a tokenizer: one commit
