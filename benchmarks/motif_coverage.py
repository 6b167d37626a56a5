"""Coverage table: share of patches a MotifTokenizer encodes losslessly, per vocabulary size and patch size.

For each patch size, motifs are counted on the train split of ``--config``; a tokenizer of K ids
is trained from those counts; then the test rows and all rows (train + test) are encoded and
the lossless share (patches that are vocabulary motifs, zero padding included) is reported.
When the train split has fewer distinct motifs than K, the vocabulary holds all of them and the
cell says so.

    neural-pile demo                                   # once
    python benchmarks/motif_coverage.py --dataset neural_pile_rodent --config demo

Prints a Markdown table and writes benchmarks/results/motif_coverage.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from builders.pile import PileError, open_pile  # noqa: E402
from builders.spec.counts import table_spike_counts  # noqa: E402
from tokenizer.motif_counting import count_pile_motifs  # noqa: E402
from tokenizer.motif_tokenizer import MotifTokenizer  # noqa: E402

PATCH_SIZES = [(1, 5), (1, 10), (2, 5)]
VOCAB_SIZES = [1000, 8000, 32000]


def encode_share(tok: MotifTokenizer, piles) -> tuple[float, int]:
    """Lossless share and number of patches when encoding every row of ``piles``."""
    tok.reset_stats()
    for pile in piles:
        for _, table in pile.iter_tables():
            for counts in table_spike_counts(table):
                tok.encode(counts)
    return tok.lossless_fraction, tok.stats.patches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="neural_pile_rodent", help="built dataset folder")
    parser.add_argument("--config", default="demo", help="config to measure (default: demo)")
    parser.add_argument("--vocab-sizes", type=int, nargs="+", default=VOCAB_SIZES)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "motif_coverage.json"))
    args = parser.parse_args(argv)

    try:
        train = open_pile(args.dataset, args.config, ["train"])
        test = open_pile(args.dataset, args.config, ["test"])
    except PileError as exc:
        raise SystemExit(f"{exc} (run `neural-pile demo` first)") from None
    cells = []
    for patch_size in PATCH_SIZES:
        counted = count_pile_motifs([train], patch_size, progress=False)
        motifs, counts, rows = counted.motifs, counted.counts, counted.rows
        for k in args.vocab_sizes:
            available = len(motifs) + (0 if (~motifs.any(axis=1)).any() else 1)
            used = min(k, available)
            tok = MotifTokenizer.from_counts(motifs, counts, used, patch_size)
            test_share, test_patches = encode_share(tok, [test])
            all_share, all_patches = encode_share(tok, [train, test])
            cells.append(
                {
                    "patch_size": list(patch_size),
                    "vocab_size": k,
                    "vocab_used": used,
                    "train_motifs": int(len(motifs)),
                    "train_rows": rows,
                    "test_lossless": test_share,
                    "test_patches": test_patches,
                    "all_lossless": all_share,
                    "all_patches": all_patches,
                }
            )
            print(
                f"{patch_size[0]}x{patch_size[1]} K={k:>6}: test {100 * test_share:.3f}%  all {100 * all_share:.3f}%  ({len(motifs):,} train motifs)",
                file=sys.stderr,
            )

    header = "| patch | " + " | ".join(f"K = {k:,}" for k in args.vocab_sizes) + " |"
    print(f"\nLossless share of patches, {args.config} config (tokenizer trained on train, test rows / all rows):\n")
    print(header)
    print("|" + " :--- |" + " ---: |" * len(args.vocab_sizes))
    for patch_size in PATCH_SIZES:
        row = [c for c in cells if c["patch_size"] == list(patch_size)]
        texts = []
        for c in row:
            note = f" (all {c['vocab_used']:,} motifs)" if c["vocab_used"] < c["vocab_size"] else ""
            texts.append(f"{100 * c['test_lossless']:.2f}% / {100 * c['all_lossless']:.2f}%{note}")
        print(f"| {patch_size[0]}x{patch_size[1]} | " + " | ".join(texts) + " |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"dataset": Path(args.dataset).name, "config": args.config, "cells": cells}, indent=2) + "\n"
    )
    print(f"\n-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
