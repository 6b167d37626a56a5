"""Publish a dataset folder or a tokenizer folder to the Hugging Face Hub.

What a folder is decides where it goes:

- dataset folder: ``README.md`` whose YAML front matter has ``configs:`` and Parquet shards
  under ``data/`` -> a ``dataset`` repo; uploaded: the card, ``data/**/*.parquet`` and the JSON
  reports; never the ``.build/`` resume state or hidden temporary files.
- tokenizer folder: ``config.json`` and a ``*.safetensors`` file (what ``MotifTokenizer.
  save_pretrained`` writes) -> a ``model`` repo; uploaded: config, safetensors, README, JSON.

Anything else is refused before any network call, and so is a push without a token. The token
is taken from an environment variable (never a command-line argument, which other users could
read in the process list) or the saved login, handed only to ``HfApi``, and scrubbed from every
error message this module raises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

DATASET_ALLOW = ["README.md", "data/*.parquet", "*.json"]  # fnmatch: "*" also crosses "/"
TOKENIZER_ALLOW = ["README.md", "config.json", "*.safetensors", "*.json"]
#: Never uploaded: build resume state and hidden (temporary) files anywhere.
IGNORE = [".build/**", ".*", "**/.*"]


class PushError(RuntimeError):
    """The folder cannot be published (wrong kind, or the Hub refused); message holds no token."""


@dataclass(frozen=True)
class UploadPlan:
    """What will be uploaded: repo type, patterns, and the matching files (relative, sorted)."""

    folder: Path
    repo_type: str
    allow_patterns: list[str]
    ignore_patterns: list[str]
    files: list[str]


def _card_configs(card: Path) -> list:
    text = card.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return []
    try:
        front = yaml.safe_load(text.split("---", 2)[1]) or {}
    except yaml.YAMLError:
        return []
    return front.get("configs") or [] if isinstance(front, dict) else []


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
    return text.replace(token, "***") if token else text


def push_folder(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    token_env: str = "HF_TOKEN",
    api=None,
) -> UploadPlan:
    """Create ``repo_id`` (if needed) and upload the folder's publishable files in one commit.

    ``token`` defaults to :func:`find_token` (the variable ``token_env``, else the saved login);
    without one, nothing is sent. ``api`` defaults to ``huggingface_hub.HfApi(token=token)``; tests pass a
    stand-in. Returns the plan that was uploaded.
    """
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PushError(f"--repo {repo_id!r}: expected 'user/name'")
    plan = plan_upload(folder)
    token = token or find_token(token_env)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type=plan.repo_type, private=private, exist_ok=True)
        api.upload_folder(
            folder_path=str(plan.folder),
            repo_id=repo_id,
            repo_type=plan.repo_type,
            allow_patterns=plan.allow_patterns,
            ignore_patterns=plan.ignore_patterns,
            commit_message=f"Upload {plan.folder.name} with neural-pile push",
        )
    except Exception as exc:  # the Hub's errors may quote request details; re-raise scrubbed, unchained
        raise PushError(
            _scrub(f"pushing {plan.folder} to {repo_id} failed: {type(exc).__name__}: {exc}", token)
        ) from None
    return plan
