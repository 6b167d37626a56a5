"""``neural-pile train-tokenizer``: a MotifTokenizer from a motif table, trained locally."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    from tokenizer.tokenizer_job import add_tokenizer_arguments

    parser = subparsers.add_parser(
        "train-tokenizer",
        help="train a MotifTokenizer of K ids from a motif table and save it",
        description=(
            "Keep the K most frequent motifs of a motif table as the vocabulary (the silent motif "
            "always included), map every other motif of the table to its cosine-nearest vocabulary "
            "motif, and save the tokenizer with save_pretrained (load it with "
            "MotifTokenizer.from_pretrained). ray_jobs/tokenizer.py does the same on Ray."
        ),
    )
    add_tokenizer_arguments(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from tokenizer.tokenizer_job import assign_locally, run_tokenizer_job

    try:
        run_tokenizer_job(args, assign_locally(progress=not args.quiet))
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
