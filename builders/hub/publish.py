"""Publish a dataset folder or a tokenizer folder to the Hugging Face Hub.

What a folder is decides where it goes:

- dataset folder: ``README.md`` whose YAML front matter has ``configs:`` and Parquet shards
  under ``data/`` -> a ``dataset`` repo; uploaded: the card, ``data/**/*.parquet`` and the JSON
  reports; never the ``.build/`` resume state or hidden temporary files.
- tokenizer folder: ``config.json`` and a ``*.safetensors`` file (what ``MotifTokenizer.
  save_pretrained`` writes) -> a ``model`` repo; uploaded: config, safetensors, README, JSON.

How each kind is sent:

- a dataset folder (the whole pile is ~47 GB of Parquet) goes through ``HfApi.upload_folder``,
  whatever its size. Since huggingface_hub 1.20 (with ``hf_xet``, one of its dependencies) that is
  the library's resumable uploader, the successor of ``upload_large_folder`` (gone from the 2.x
  releases): files are chunked and deduplicated by Xet in the background, committed in batches of
  up to ~250 files (a small folder is one commit), and a run that stopped is resumed by running it
  again: committed files are dropped by their oid, and (the library's account) uploaded chunks are
  deduplicated, not sent again. It keeps no
  local record (nothing is written into the folder); the ``.cache/`` folder older releases wrote
  is ignored with every other hidden path. Without ``hf_xet`` the same call falls back to one
  commit whose LFS objects are skipped by the Hub when already stored (still file-level resume).
- a tokenizer folder (a few MB) goes in one ``create_commit``: config and weights land together or
  not at all.

Anything else is refused before any network call, and so is a push without a token. The token
is taken from an environment variable (never a command-line argument, which other users could
read in the process list) or the saved login, handed only to ``HfApi``, and scrubbed from every
error message this module raises.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from builders.errors import NeuralPileError
from builders.storage.card import read_front_matter

DATASET_ALLOW = ["README.md", "data/*.parquet", "*.json"]  # fnmatch: "*" also crosses "/"
TOKENIZER_ALLOW = ["README.md", "config.json", "*.safetensors", "*.json"]
#: Never uploaded: build resume state and hidden files and folders anywhere (temporary files,
#: ``.cache/huggingface/`` of older ``huggingface_hub`` uploads and downloads).
IGNORE = [".build/**", ".*", "**/.*"]
#: The logger of the library's streamed uploader: at INFO it logs a progress summary every 30 s
#: when stderr is not a terminal (on a terminal it draws live bars either way).
_PROGRESS_LOGGER = "huggingface_hub._upload_pipeline"


class PushError(NeuralPileError, RuntimeError):
    """The folder cannot be published (wrong kind, or the Hub refused); message holds no token."""


@dataclass(frozen=True)
class UploadPlan:
    """What will be uploaded: repo type, patterns, and the matching files (relative, sorted)."""

    folder: Path
    repo_type: str
    allow_patterns: list[str]
    ignore_patterns: list[str]
    files: list[str]

    @property
    def total_bytes(self) -> int:
        """Bytes of the files to upload."""
        return sum((self.folder / f).stat().st_size for f in self.files)


def _card_configs(card: Path) -> list:
    try:
        front = read_front_matter(card.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return []
    return front.get("configs") or []


def matching_files(folder: Path, allow: list[str], ignore: list[str]) -> list[str]:
    """Files under ``folder`` that ``upload_folder`` uploads with these patterns (relative, sorted)."""
    from huggingface_hub.utils import filter_repo_objects

    relative = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return list(filter_repo_objects(relative, allow_patterns=allow, ignore_patterns=ignore))


def plan_upload(folder: str | Path) -> UploadPlan:
    """Decide the repo type and files of ``folder``; :class:`PushError` if it is neither kind."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PushError(f"{folder}: no such folder")
    card = folder / "README.md"
    if card.is_file() and _card_configs(card) and any((folder / "data").rglob("*.parquet")):
        repo_type, allow = "dataset", DATASET_ALLOW
    elif (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        repo_type, allow = "model", TOKENIZER_ALLOW
    else:
        raise PushError(
            f"{folder}: neither a dataset folder (README.md with YAML 'configs:' and data/**/*.parquet) "
            f"nor a tokenizer folder (config.json and a .safetensors file); nothing pushed"
        )
    files = matching_files(folder, allow, IGNORE)
    return UploadPlan(folder, repo_type, list(allow), list(IGNORE), files)


def find_token(token_env: str = "HF_TOKEN") -> str:
    """The Hub token from the environment variable ``token_env``, else the saved login (no network).

    Raises:
        PushError: neither holds a token.
    """
    from huggingface_hub import get_token

    token = os.environ.get(token_env) or get_token()
    if not token:
        raise PushError(
            f"no Hub token found: {token_env} is not set and there is no saved login "
            "(run `hf auth login`, or set HF_TOKEN); nothing pushed"
        )
    return token


def _scrub(text: str, token: str | None) -> str:
    """``text`` on one line, without the token."""
    text = " ".join(text.split())
    return text.replace(token, "***") if token else text


@contextmanager
def _progress_logged():
    """The library's upload progress summaries at INFO while the block runs (restored after)."""
    logger = logging.getLogger(_PROGRESS_LOGGER)
    saved = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(saved)


def _upload(api, plan: UploadPlan, repo_id: str) -> None:
    message = f"Upload {plan.folder.name} with neural-pile push"
    if plan.repo_type == "dataset":
        with _progress_logged():
            api.upload_folder(
                folder_path=str(plan.folder),
                repo_id=repo_id,
                repo_type=plan.repo_type,
                allow_patterns=plan.allow_patterns,
                ignore_patterns=plan.ignore_patterns,
                commit_message=message,
            )
        return
    from huggingface_hub import CommitOperationAdd

    api.create_commit(
        repo_id=repo_id,
        repo_type=plan.repo_type,
        operations=[CommitOperationAdd(path_in_repo=f, path_or_fileobj=str(plan.folder / f)) for f in plan.files],
        commit_message=message,
    )


def push_folder(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    token_env: str = "HF_TOKEN",
    api=None,
    on_start: Callable[[UploadPlan, str], None] | None = None,
) -> UploadPlan:
    """Create ``repo_id`` (if needed) and upload the folder's publishable files.

    A dataset folder goes through the library's resumable multi-commit ``upload_folder``, a
    tokenizer folder in one commit (see the module docstring). ``token`` defaults to
    :func:`find_token` (the variable ``token_env``, else the saved login); without one, nothing is
    sent. ``api`` defaults to ``huggingface_hub.HfApi(token=token)``; tests pass a stand-in.
    ``on_start(plan, repo_id)`` is called once the token is found, before the first request.
    Returns the plan that was uploaded.
    """
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PushError(f"repo {repo_id!r}: expected 'user/name'", argument="repo_id", label="repo")
    plan = plan_upload(folder)
    token = token or find_token(token_env)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    if on_start is not None:
        on_start(plan, repo_id)
    try:
        api.create_repo(repo_id, repo_type=plan.repo_type, private=private, exist_ok=True)
        _upload(api, plan, repo_id)
    except Exception as exc:  # the Hub's errors may quote request details; re-raise scrubbed, unchained
        detail = f"{type(exc).__name__}: {exc}"
        if exc.__cause__ is not None:  # the library wraps the HTTP error of a failed upload
            detail += f" ({type(exc.__cause__).__name__}: {exc.__cause__})"
        again = "; run the same command again to resume" if plan.repo_type == "dataset" else ""
        raise PushError(_scrub(f"pushing {plan.folder} to {repo_id} failed: {detail}{again}", token)) from None
    return plan
