"""``neural-pile push``: publish a dataset folder or a tokenizer folder to the Hugging Face Hub."""

from __future__ import annotations

import argparse
import sys

from builders.cli.common import one_line_errors


def announce(plan, repo_id: str) -> None:
    """One line on stderr: what is about to be sent, and how to resume it."""
    resume = (
        "; if it stops, run the same command again: what is on the Hub already is not sent twice"
        if plan.repo_type == "dataset"
        else " in one commit"
    )
    print(
        f"pushing {len(plan.files)} file(s), {plan.total_bytes / 1e9:.2f} GB, of {plan.folder} to the "
        f"{plan.repo_type} repo {repo_id}{resume}",
        file=sys.stderr,
        flush=True,
    )


@one_line_errors
def run(args: argparse.Namespace, api=None) -> int:
    # imported when the command runs, not for --help (see builders.cli)
    from builders.hub.publish import push_folder

    plan = push_folder(
        args.folder, args.repo_id, private=args.private, token_env=args.token_env, api=api, on_start=announce
    )
    print(f"pushed {len(plan.files)} file(s) of {plan.folder} to the {plan.repo_type} repo {args.repo_id}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "push",
        help="upload a dataset or tokenizer folder to the Hugging Face Hub",
        description="Upload a dataset folder (README.md with configs + data/**/*.parquet; the .build/ state and "
        "hidden files are skipped) as a dataset repo, or a tokenizer folder (config.json + .safetensors) as a "
        "model repo, in one commit. A dataset push is resumable: if it stops, run the same command again and "
        "only what the Hub lacks is sent. Any other folder is refused. The token is read from an environment "
        "variable and never printed.",
    )
    parser.add_argument("folder", help="dataset folder or tokenizer folder")
    parser.add_argument("--repo", dest="repo_id", required=True, help="target repo id, 'user/name'")
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument(
        "--token-env",
        default="HF_TOKEN",
        help="environment variable holding the Hub token (default: HF_TOKEN; unset = the saved login "
        "of `hf auth login`; with neither, nothing is pushed)",
    )
    parser.set_defaults(func=run)
