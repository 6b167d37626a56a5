"""Benchmark: motif counting and MotifTokenizer.encode vs plain restatements of the reference methods.

Side by side in one process on the same demo rows (the ``demo`` config of a built dataset, > 90%
zero tokens), one core each:

* ``count_motifs`` vs a Python ``Counter`` keyed by each patch's bytes (the reference method);
* ``MotifTokenizer.encode`` vs a per-patch dictionary lookup of the patch's bytes (a cosine
  search over the prepared vocabulary for a patch missing from the dictionary), both giving the
  same ids, on training rows (every motif known) and on held-out rows (some never seen);
* counting on the Ray executor (``builders.runtime.executor.RayExecutor``, one file per item) with 1 vs 2 actors.

    neural-pile demo                        # once: builds ./neural_pile_rodent with the demo config
    python benchmarks/bench_motifs.py [--dataset neural_pile_rodent] [--reference-tokens 4000000]

Prints a table and writes benchmarks/results/motifs.json. Throughput is tokens/s on one core
(the numpy code is single-threaded), best of 3 runs for each method; ratios compare the two
methods on identical input.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from builders.pile import PileError, open_pile  # noqa: E402
from tokenizer.motif_tokenizer import MotifTokenizer  # noqa: E402
from tokenizer.motifs import count_motifs  # noqa: E402


def demo_rows(dataset: Path, config: str):
    """Every row of the config (both splits) as arrays, and the opened pile."""
    from builders.spec.counts import table_spike_counts

    try:
        pile = open_pile(dataset, config, None)
    except PileError as exc:
        raise SystemExit(f"{exc} (run `neural-pile demo` first)") from None
    rows = [np.array(a) for _, table in pile.iter_tables() for a in table_spike_counts(table)]
    return rows, pile


def take_tokens(rows: list[np.ndarray], budget: int) -> list[np.ndarray]:
    """Leading rows (the last one cut in time) holding about ``budget`` tokens."""
    out, used = [], 0
    for row in rows:
        if used >= budget:
            break
        keep = min(row.shape[1], max(1, (budget - used) // max(row.shape[0], 1)))
        out.append(np.ascontiguousarray(row[:, :keep]))
        used += row.shape[0] * keep
    return out


def reference_count(rows, patch_size) -> Counter:
    """The reference method: walk the patches, count each patch's bytes in a Counter."""
    p_n, p_t = patch_size
    counter: Counter = Counter()
    for row in rows:
        n, t = row.shape
        for i in range(0, n - p_n + 1, p_n):
            for j in range(0, t - p_t + 1, p_t):
                counter[row[i : i + p_n, j : j + p_t].tobytes()] += 1
    return counter


class ReferenceNearest:
    """Cosine search for one patch at a time over a vocabulary prepared once (same rule and
    arithmetic as :func:`tokenizer.nearest.nearest_by_cosine`, so the same ids)."""

    def __init__(self, vocab: np.ndarray):
        self.vocab = vocab.astype(np.float64)
        self.norms2 = np.einsum("ij,ij->i", self.vocab, self.vocab)
        self.candidates = np.flatnonzero(self.norms2 > 0)

    def __call__(self, patch: np.ndarray) -> int:
        dots = self.vocab[self.candidates] @ patch.astype(np.float64)
        return int(self.candidates[np.argmax(dots * dots / self.norms2[self.candidates])])


def reference_encode(rows, tok: MotifTokenizer, table: dict, nearest: ReferenceNearest) -> list[np.ndarray]:
    """Per-patch dictionary lookup of the patch's bytes (cosine search on a miss), zero padding."""
    p_n, p_t = tok.patch_size
    out = []
    for row in rows:
        n, t = row.shape
        g_n, g_t = -(-n // p_n), -(-t // p_t)
        padded = np.zeros((g_n * p_n, g_t * p_t), np.uint8)
        padded[:n, :t] = row
        ids = np.empty((g_n, g_t), np.int64)
        for r in range(g_n):
            for c in range(g_t):
                patch = padded[r * p_n : (r + 1) * p_n, c * p_t : (c + 1) * p_t]
                found = table.get(patch.tobytes())
                ids[r, c] = nearest(patch.ravel()) if found is None else found
        out.append(ids)
    return out


REPEATS = 3


def timed(fn, *args, repeats: int = 1):
    """``(result, seconds)``: the fastest of ``repeats`` runs (each method gets the same number)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return result, best


def tokens(rows) -> int:
    return int(sum(r.size for r in rows))


def bench_counting(rows, patch_size, ref_rows) -> dict:
    (motifs, counts), ours_s = timed(count_motifs, ref_rows, patch_size, repeats=REPEATS)
    ref, ref_s = timed(reference_count, ref_rows, patch_size, repeats=REPEATS)
    assert ref == Counter({m.tobytes(): int(c) for m, c in zip(motifs, counts)}), "counts differ from the reference"
    _, full_s = timed(count_motifs, rows, patch_size)
    n = tokens(ref_rows)
    return {
        "patch_size": list(patch_size),
        "tokens": n,
        "ours_s": ours_s,
        "reference_s": ref_s,
        "ours_tokens_per_s": n / ours_s,
        "reference_tokens_per_s": n / ref_s,
        "speedup": ref_s / ours_s,
        "all_rows_tokens": tokens(rows),
        "all_rows_ours_tokens_per_s": tokens(rows) / full_s,
    }


def bench_encode(rows, patch_size, budget, vocab_size) -> list[dict]:
    """Encode training rows (every motif known: lookups only) and held-out rows (never-seen
    motifs need the cosine search, in both methods)."""
    cut = max(1, len(rows) * 3 // 4)
    train, held_out = rows[:cut], rows[cut:] or rows[-1:]
    motifs, counts = count_motifs(train, patch_size)
    tok = MotifTokenizer.from_counts(motifs, counts, min(vocab_size, len(motifs)), patch_size)
    lookup = {m.tobytes(): i for i, m in enumerate(tok.vocab)}
    lookup.update({m.tobytes(): int(i) for m, i in zip(tok.known_motifs, tok.known_ids)})
    nearest = ReferenceNearest(tok.vocab)
    results = []
    for name, source in (("training rows", train), ("held-out rows", held_out)):
        sample = take_tokens(source, budget)
        tok.reset_stats()
        tok.encode_with_stats(sample[0])  # warm-up (first-call allocations)
        ours, ours_s = timed(lambda rs: [tok.encode(r) for r in rs], sample, repeats=REPEATS)
        ref, ref_s = timed(reference_encode, sample, tok, lookup, nearest, repeats=REPEATS)
        assert all(np.array_equal(a, b) for a, b in zip(ours, ref)), "ids differ from the reference"
        n = tokens(sample)
        results.append(
            {
                "rows": name,
                "patch_size": list(patch_size),
                "vocab_size": tok.vocab_size,
                "tokens": n,
                "ours_s": ours_s,
                "reference_s": ref_s,
                "ours_tokens_per_s": n / ours_s,
                "reference_tokens_per_s": n / ref_s,
                "speedup": ref_s / ours_s,
                "lossless_fraction": tok.lossless_fraction,
                "searched_share": tok.stats.searched / max(tok.stats.patches, 1),
            }
        )
    return results


def bench_ray(pile, patch_size, repeats: int, copies: int) -> dict:
    """1 vs 2 counting actors over ``copies`` passes of the files (the demo alone is counted in a
    fraction of a second, less than the actors' start-up)."""
    from builders.runtime.cluster import connect
    from builders.runtime.executor import RayExecutor
    from tokenizer.motif_counting import MotifCountTask, file_items

    items = file_items([pile]) * copies
    task = MotifCountTask([pile], patch_size, "drop")
    ray = connect(None, num_cpus=2, object_store_mb=512, progress=False)
    try:
        RayExecutor(num_workers=2).map(task, items, progress=False)  # warm-up: imports, object store
        times = {}
        for workers in (1, 2):
            executor = RayExecutor(num_workers=workers)
            runs = [timed(lambda run=executor.map: run(task, items, progress=False))[1] for _ in range(repeats)]
            times[workers] = min(runs)
    finally:
        ray.shutdown()
    return {
        "patch_size": list(patch_size),
        "files": len(items),
        "one_worker_s": times[1],
        "two_workers_s": times[2],
        "scaling": times[1] / times[2],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="neural_pile_rodent", help="built dataset folder with the demo config")
    parser.add_argument("--config", default="demo")
    parser.add_argument(
        "--reference-tokens", type=int, default=4_000_000, help="tokens given to both methods side by side"
    )
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--ray-repeats", type=int, default=2)
    parser.add_argument("--ray-copies", type=int, default=8, help="passes over the shards in the Ray scaling run")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "motifs.json"))
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    rows, pile = demo_rows(Path(args.dataset), args.config)
    zero_share = 1 - sum(int(np.count_nonzero(r)) for r in rows) / tokens(rows)
    ref_rows = take_tokens(rows, args.reference_tokens)
    print(
        f"{len(rows)} demo rows, {tokens(rows):,} tokens, {100 * zero_share:.1f}% zeros; side by side on {tokens(ref_rows):,} tokens"
    )
    result = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "rows": len(rows),
        "tokens": tokens(rows),
        "zero_share": zero_share,
    }
    result["counting"] = [bench_counting(rows, ps, ref_rows) for ps in ((1, 10), (2, 5))]
    result["encode"] = [
        r for ps in ((1, 10), (2, 5)) for r in bench_encode(rows, ps, args.reference_tokens, args.vocab_size)
    ]
    result["ray"] = bench_ray(pile, (1, 10), args.ray_repeats, args.ray_copies)

    print(f"\n{'what':<50}{'patch':>6}{'ours tok/s':>14}{'ref tok/s':>13}{'ratio':>8}")
    for r in result["counting"] + result["encode"]:
        label = (
            "count_motifs vs Counter"
            if "rows" not in r
            else f"encode vs dict lookup, {r['rows']} ({100 * r['searched_share']:.2f}% new)"
        )
        patch = f"{r['patch_size'][0]}x{r['patch_size'][1]}"
        print(
            f"{label:<50}{patch:>6}{r['ours_tokens_per_s']:>14,.0f}{r['reference_tokens_per_s']:>13,.0f}{r['speedup']:>7.1f}x"
        )
    ray_r = result["ray"]
    print(
        f"\nRay actor counting 1x10 over {ray_r['files']} file passes: 1 actor {ray_r['one_worker_s']:.2f} s, "
        f"2 actors {ray_r['two_workers_s']:.2f} s, scaling {ray_r['scaling']:.2f}x"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
