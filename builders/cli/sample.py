"""``neural-pile sample``: a few windows and token sequences as a model would get them, and a picture."""

from __future__ import annotations

import argparse
from itertools import islice
from pathlib import Path

import numpy as np

from builders.cli.common import (
    MAX_SEED,
    CommandError,
    add_dataset_arguments,
    check_range,
    default_output_dir,
    one_line_errors,
)
from builders.pile import open_pile

#: Most windows and sequences ``sample`` prints.
MAX_SAMPLES = 1000


@one_line_errors
def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for --help (see builders.cli)
    from builders.jobs.sample_figure import plot_window_tokens
    from builders.streams import token_stream, window_stream

    check_range("-n", args.n, 1, MAX_SAMPLES)
    check_range("--seed", args.seed, 0, MAX_SEED)
    if len(args.splits) != 1:
        raise CommandError(f"--splits: sample one split at a time, got {' '.join(args.splits)}")
    split = args.splits[0]
    tokenizer = None
    if args.tokenizer:
        from tokenizer.motif_tokenizer import MotifTokenizer

        tokenizer = MotifTokenizer.from_pretrained(args.tokenizer)
    pile = open_pile(args.dataset, args.config, (split,))
    common = dict(seed=args.seed, neurons=args.neurons, pad=args.pad)
    tokens = token_stream(
        pile,
        args.config,
        split,
        seq_len=args.seq_len,
        n_neurons=args.n_neurons,
        tokenizer=tokenizer,
        n_bins=args.n_bins,
        **common,
    )
    windows = window_stream(
        pile,
        args.config,
        split,
        n_neurons=args.n_neurons,
        n_bins=tokens.n_bins,
        align=tokens.layout.patch_size,
        **common,
    )  # the windows the token stream draws
    shown = list(islice(windows, args.n))
    sequences = list(islice(tokens, args.n))
    name = f"sample_{args.config or pile.source.config or 'default'}_{split}_seed{args.seed}.png"
    picture = Path(args.out) if args.out else default_output_dir(pile, "figures") / name
    layout = tokens.layout
    print(f"{pile.describe()}: windows of {args.n_neurons} neurons x {tokens.n_bins} bins (seed {args.seed}):")
    for w in shown:
        counts = w["spike_counts"]
        start = "subset" if w["neuron_start"] < 0 else f"neurons {w['neuron_start']}+"
        print(
            f"  {w['source_dataset']}/{w['session_id']}/{w['segment_id']}  {start}  bins {w['bin_start']}+  "
            f"real neurons {int(w['neuron_mask'].sum())}/{counts.shape[0]}  real bins {int(w['bin_mask'].sum())}/{counts.shape[1]}  "
            f"spikes {int(counts.sum(dtype=np.int64))}  non-zero {np.count_nonzero(counts) / counts.size:.1%}"
        )
    p_n, p_t = layout.patch_size
    print(
        f"token sequences of {args.seq_len} ids: {layout.patch_ids} patch ids ({p_n}x{p_t}), separator {layout.separator}, "
        f"vocabulary {layout.vocab_size}, {layout.tokens_per_step} tokens per time step:"
    )
    for s in sequences:
        ids = s["input_ids"]
        head = " ".join(str(v) for v in ids[: min(24, len(ids))])
        print(f"  {head} ...  ({int(np.count_nonzero(ids == layout.separator))} separators)")
    if shown:
        first = shown[0]
        reordered = "neuron_order" in pile.schema().names
        print(
            plot_window_tokens(
                first, layout, tokenizer, picture, subject=window_subject(pile, first), reordered=reordered
            )
        )
    return 0


def window_subject(pile, window: dict) -> str:
    """The ``subject_id`` of the row a window was cut from ("" when the pile has no such column)."""
    if "subject_id" not in pile.schema().names:
        return ""
    group = next(g for g in pile.row_groups() if g.path == window["path"] and g.index == window["row_group"])
    return str(pile.read(group, ["subject_id"]).column(0)[int(window["row"])].as_py())


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sample",
        help="print a few training windows and token sequences, save a picture of one window",
        description="Draw a few windows (window_stream) and packed token sequences (token_stream) from a pile, print "
        "where they came from and their first ids, and save a PNG of the first window beside its token ids.",
    )
    add_dataset_arguments(parser, splits=["train"])
    parser.add_argument(
        "--tokenizer", default=None, help="MotifTokenizer folder or Hub repo (default: raw counts as tokens)"
    )
    parser.add_argument("--n-neurons", type=int, default=32, help="neurons per window (default: 32)")
    parser.add_argument(
        "--n-bins", type=int, default=None, help="20 ms bins per window (default: what fills one sequence)"
    )
    parser.add_argument("--seq-len", type=int, default=512, help="tokens per sequence (default: 512)")
    parser.add_argument(
        "--neurons", choices=["block", "subset"], default="block", help="contiguous block or random subset"
    )
    parser.add_argument(
        "--pad", choices=["zero", "tile"], default="zero", help="rows with fewer neurons: zero-pad or tile"
    )
    parser.add_argument(
        "-n", "--n", type=int, default=3, help=f"windows and sequences to print, 1 to {MAX_SAMPLES} (default: 3)"
    )
    parser.add_argument("--seed", type=int, default=0, help="stream seed (default: 0)")
    parser.add_argument(
        "--out",
        default=None,
        help="PNG path (default: <dataset>/figures/sample_<config>_<split>_seed<seed>.png for a local "
        "folder, ./figures_<repo>/... for a remote pile)",
    )
    parser.set_defaults(func=run)
