"""``neural-pile train-tokenizer``: a MotifTokenizer from a motif table."""

from __future__ import annotations

import argparse
import time

from builders.cli.common import add_executor_arguments, executor_from_args, one_line_errors, ray_job_paths


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train-tokenizer",
        help="train a MotifTokenizer of K ids from a motif table and save it",
        description=(
            "Keep the K most frequent motifs of a motif table as the vocabulary (the silent motif "
            "always included), map every other motif of the table to its cosine-nearest vocabulary "
            "motif, and save the tokenizer with save_pretrained (load it with "
            "MotifTokenizer.from_pretrained). The tokenizer card names the pile the table was counted on."
        ),
    )
    parser.add_argument(
        "--motifs", required=True, help="motif table folder written by `neural-pile motifs` (motifs.parquet)"
    )
    parser.add_argument("--vocab-size", type=int, required=True, help="K, the number of token ids (e.g. 32000)")
    parser.add_argument(
        "--out",
        required=True,
        help="folder for the saved tokenizer (config.json, motif_tokenizer.safetensors, README.md)",
    )
    parser.add_argument(
        "--max-known",
        type=int,
        default=1 << 20,
        help="out-of-vocabulary motifs whose ids are precomputed and saved, most frequent first; rarer "
        "ones are searched when met (default: 1048576; 0: none)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_executor_arguments(parser, what="chunks of motifs")
    parser.set_defaults(func=run)


@one_line_errors
def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for --help (see builders.cli)
    from tokenizer.tokenizer_job import tokenizer_job

    ray_job_paths(args, "motifs", "out")
    started = time.perf_counter()
    tok = tokenizer_job(
        args.motifs,
        args.vocab_size,
        args.out,
        executor=executor_from_args(args),
        progress=not args.quiet,
        max_known=args.max_known,
    )
    share = 1.0 if tok.training.in_vocab_share is None else tok.training.in_vocab_share
    print(
        f"tokenizer {tok.patch_size[0]}x{tok.patch_size[1]}, {tok.vocab_size:,} ids, {len(tok.known_motifs):,} of "
        f"{tok.training.oov_motifs or 0:,} out-of-vocabulary motifs stored; {100 * share:.3f}% of training patches lossless; "
        f"{time.perf_counter() - started:.1f} s -> {args.out}/"
    )
    return 0
