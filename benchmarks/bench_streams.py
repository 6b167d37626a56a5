"""Benchmark: ``token_stream`` vs the reference trainer's method restated, on the same local pile.

The reference method (DESIGN.md, "How the pile is trained on"), restated plainly:
``load_dataset(folder)`` (an Arrow cache), ``np.array(row["spike_counts"])`` per row, a random
contiguous block of ``n_neurons`` neurons (rows with fewer tiled), a dictionary lookup of each
1 x p_t patch's bytes (unknown patches id 0), a separator id before each time step, packing into
``seq_len + 1`` chunks. Ours: ``token_stream(folder, ...)`` with the same tokenizer.

Measured side by side in one run:

* ids per second per core: sequence ids over the process's CPU seconds (all threads), after the
  first sequence (the reference's Arrow cache is built before its clock starts);
* reading vs encoding inside the stream: Parquet row groups -> uint8 views (spike tokens/s) and
  ``MotifTokenizer.encode`` of the windows (spike tokens/s), each on one core;
* from a fresh process: seconds to the first sequence, and local disk written (the child's
  ``/proc/self/io`` ``write_bytes`` plus what appeared in its empty Hugging Face cache folder);
* the tokenizer artifact with every out-of-vocabulary training motif stored (``max_known=None``,
  the old behaviour) vs the most frequent ones (``--max-known``): file size, and encode speed on
  held-out rows (the test split) from a fresh tokenizer, first pass and second pass.

    python benchmarks/bench_streams.py [--sessions 3] [--minutes 10] [--out benchmarks/results/streams.json]

``--windows`` runs only the window measures (``benchmarks/results/streams_windows.json``), on a
pile of ``--sessions`` one-shard sessions and the same rows merged into one shuffled row group:

* windows per CPU second of ``window_stream`` against the nearest loops a user writes over the same
  Arrow data (``datasets`` ``.with_format("arrow").iter(batch_size)`` + zero-copy reshape, and
  ``with_format("numpy")``), cutting the same number of 256 x 500 windows per row;
* distinct sessions per batch of 32 consecutive items against a random token-weighted draw;
* peak RSS of one stream (a fresh process, ``ru_maxrss`` minus the same process before the
  stream opens) on the merged pile, for ``open_pieces`` 32 and 1.

The pile is simulated (``builders.synthetic.population``: lognormal rates, shared slow
fluctuations, > 90% empty bins), 300-600 units per session, written with the build's own shard
writer into a temporary folder.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from itertools import islice
from pathlib import Path

import numpy as np

# One thread per process (set before numpy loads BLAS): "per core" means one core for both methods.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]

from builders.spec.binning import bin_spikes, split_segments  # noqa: E402
from builders.storage.atomic import write_json_atomic, write_text_atomic  # noqa: E402
from builders.storage.card import card_yaml  # noqa: E402
from builders.storage.layout import shard_path  # noqa: E402
from builders.storage.shards import write_rows_atomic  # noqa: E402
from builders.synthetic.population import simulate_population  # noqa: E402

SEQ_LEN, N_NEURONS, PATCH, VOCAB = 8192, 256, (1, 15), 32_000


# ---------------------------------------------------------------------- the pile
def make_pile(folder: Path, n_sessions: int, minutes: float, seed: int = 0) -> dict:
    """``n_sessions`` train sessions and one test session of the ``demo`` component."""
    rng = np.random.default_rng(seed)
    tokens = {"train": 0, "test": 0}
    for s in range(n_sessions + 1):
        split = "test" if s == n_sessions else "train"
        pop = simulate_population(int(rng.integers(300, 601)), minutes * 60, seed=seed + s)
        counts = bin_spikes(pop.trains())
        rows = []
        for k, segment in enumerate(split_segments(counts)):
            n, t = segment.shape
            rows.append(
                {
                    "spike_counts": np.ascontiguousarray(segment),
                    "subject_id": f"sub-{s}",
                    "session_id": f"ses-{s}",
                    "segment_id": f"segment_{k}",
                    "source_dataset": "demo",
                    "n_neurons": n,
                    "n_time_bins": t,
                    "t_start": 0.0,
                    "unit_ids": np.arange(n),
                    "unit_regions": [""] * n,
                }
            )
            tokens[split] += segment.size
        write_rows_atomic(shard_path(folder, "demo", split, f"ses-{s}"), rows)
    write_text_atomic(folder / "README.md", card_yaml(folder, ["demo"]) + "\n# benchmark pile\n")
    return tokens


def split_rows(folder: Path, split: str) -> list[np.ndarray]:
    from builders.pile import open_pile
    from builders.spec.counts import table_spike_counts

    pile = open_pile(str(folder), splits=(split,))
    return [np.array(a) for _, t in pile.iter_tables() for a in table_spike_counts(t)]


# ---------------------------------------------------------------------- the tokenizer
def tokenizer_section(folder: Path, work: Path, max_known: int) -> dict:
    from tokenizer.motif_tokenizer import WEIGHTS_FILE, MotifTokenizer
    from tokenizer.motifs import count_motifs

    motifs, counts = count_motifs(split_rows(folder, "train"), PATCH)
    k = min(VOCAB, len(motifs))
    out: dict = {"patch_size": list(PATCH), "vocab_size": k, "distinct_training_motifs": int(len(motifs))}
    held_out = split_rows(folder, "test")
    held_tokens = sum(r.size for r in held_out)
    ids = {}
    for label, cap in (("all_oov_stored", None), ("capped", max_known)):
        started = time.perf_counter()
        tok = MotifTokenizer.from_counts(motifs, counts, k, PATCH, max_known=cap)
        train_s = time.perf_counter() - started
        tok.save_pretrained(work / label)
        fresh = MotifTokenizer.from_pretrained(work / label)
        passes = []
        for _ in range(2):
            start = time.process_time()
            encoded = [fresh.encode(r) for r in held_out]
            passes.append(held_tokens / (time.process_time() - start))
        ids[label] = encoded
        out[label] = {
            "max_known": cap,
            "known_motifs": int(len(tok.known_motifs)),
            "training_s": train_s,
            "artifact_bytes": (work / label / WEIGHTS_FILE).stat().st_size,
            "held_out_encode_tokens_per_s_first_pass": passes[0],
            "held_out_encode_tokens_per_s_second_pass": passes[1],
            "held_out_searched_share": fresh.stats.searched / max(fresh.stats.patches, 1),
        }
    out["same_ids"] = all(np.array_equal(a, b) for a, b in zip(ids["all_oov_stored"], ids["capped"], strict=True))
    out["held_out_tokens"] = int(held_tokens)
    return out


# ---------------------------------------------------------------------- the reference trainer, restated
def reference_sequences(folder, tok_dir, seq_len, n_neurons, cache_dir):
    """The reference trainer's method: load_dataset, np.array per row, random block, dict per patch."""
    import numpy as np
    from datasets import load_dataset

    from tokenizer.motif_tokenizer import MotifTokenizer

    tok = MotifTokenizer.from_pretrained(tok_dir)
    p_t = tok.patch_size[1]
    table = {bytes(m): i for i, m in enumerate(tok.vocab)}
    separator = tok.vocab_size
    ds = load_dataset(str(folder), split="train", cache_dir=cache_dir)
    rng = np.random.default_rng()
    buffer = []
    for row in ds:
        counts = np.array(row["spike_counts"])
        n, t = counts.shape
        if n < n_neurons:
            counts = np.tile(counts, (-(-n_neurons // n), 1))
            n = counts.shape[0]
        start = rng.integers(0, n - n_neurons + 1)
        block = counts[start : start + n_neurons].astype(np.uint8)
        for step in range(t // p_t):
            buffer.append(separator)
            for i in range(n_neurons):
                buffer.append(table.get(block[i, step * p_t : (step + 1) * p_t].tobytes(), 0))
            while len(buffer) >= seq_len + 1:
                chunk = np.array(buffer[: seq_len + 1], dtype=np.int32)
                buffer = buffer[seq_len + 1 :]
                yield {"input_ids": chunk[:-1], "labels": chunk[1:]}


REFERENCE = inspect.getsource(reference_sequences)


def our_sequences(folder, tok_dir, seq_len, n_neurons, cache_dir):
    from neural_pile_rodent import MotifTokenizer, token_stream

    tok = MotifTokenizer.from_pretrained(tok_dir)
    return iter(token_stream(str(folder), split="train", seq_len=seq_len, n_neurons=n_neurons, tokenizer=tok, seed=0))


OURS = inspect.getsource(our_sequences)


def throughput(make, budget_s: float) -> dict:
    """Ids per CPU second after the first sequence, over about ``budget_s`` CPU seconds."""
    it = make()
    next(it)
    start_cpu, start_wall, n = time.process_time(), time.perf_counter(), 0
    for seq in it:
        n += len(seq["input_ids"])
        if time.process_time() - start_cpu > budget_s:
            break
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
    return {"ids": n, "cpu_s": cpu, "wall_s": wall, "ids_per_cpu_s": n / cpu}


def read_vs_encode(folder: Path, tok_dir: Path) -> dict:
    """Inside the stream: reading row groups (uint8 views) vs encoding windows, spike tokens per CPU second."""
    from builders.pile import open_pile
    from builders.spec.counts import table_spike_counts
    from neural_pile_rodent import MotifTokenizer, window_stream

    pile = open_pile(str(folder))
    read_tokens, start = 0, time.process_time()
    for rg in pile.row_groups():
        read_tokens += sum(a.size for a in table_spike_counts(pile.read(rg, ("spike_counts",))))
    read_s = time.process_time() - start
    tok = MotifTokenizer.from_pretrained(tok_dir)
    stream = window_stream(str(folder), n_neurons=N_NEURONS, n_bins=480, align=PATCH)  # as token_stream draws them
    windows = [w["spike_counts"] for w in islice(stream, 300)]
    start = time.process_time()
    for w in windows:
        tok.encode(w)
    encode_s = time.process_time() - start
    window_tokens = sum(w.size for w in windows)
    return {
        "read_tokens_per_cpu_s": read_tokens / read_s,
        "encode_tokens_per_cpu_s": window_tokens / encode_s,
        "read_tokens": read_tokens,
        "encoded_tokens": window_tokens,
    }


FRESH = textwrap.dedent("""
    import json, os, sys, time
    started = time.perf_counter()
    {source}
    it = {fn}({folder!r}, {tok!r}, {seq_len}, {n_neurons}, {cache!r})
    first = next(iter(it))
    seconds = time.perf_counter() - started
    io = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
    print(json.dumps({{"first_sequence_s": seconds, "write_bytes": int(io["write_bytes"])}}))
""")


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def fresh_process(fn: str, source: str, folder: Path, tok_dir: Path, work: Path) -> dict:
    """Run ``fn`` to its first sequence in a new interpreter with an empty Hugging Face home."""
    home = work / f"hf_home_{fn}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    code = FRESH.format(
        source=source.replace("\n", "\n    ").strip(),
        fn=fn,
        folder=str(folder),
        tok=str(tok_dir),
        seq_len=SEQ_LEN,
        n_neurons=N_NEURONS,
        cache=str(home / "datasets"),
    )
    env = dict(
        os.environ,
        HF_HOME=str(home),
        HF_DATASETS_CACHE=str(home / "datasets"),
        HF_HUB_OFFLINE="1",
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{fn} in a fresh process failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - start
    result["hf_home_bytes"] = folder_bytes(home)
    return result


# ---------------------------------------------------------------------- windows
WINDOW = (256, 500)


def windows_per_row(size: int, rng) -> int:
    """Token-weighted windows of a row, as ``window_stream(sampling="tokens")`` draws them."""
    x = size / (WINDOW[0] * WINDOW[1])
    return int(x) + int(rng.random() < x - int(x))


def cut(counts, rng, out):
    """One random window of a row (a contiguous block, start bin uniform), zero-padded."""
    n, t = counts.shape
    a = int(rng.integers(0, max(1, n - WINDOW[0] + 1)))
    b = int(rng.integers(0, max(1, t - WINDOW[1] + 1)))
    block = counts[a : a + WINDOW[0], b : b + WINDOW[1]]
    out[:] = 0
    out[: block.shape[0], : block.shape[1]] = block
    return out


def arrow_loop(files, cache_dir):
    """The nearest user loop: datasets' Arrow batches, zero-copy uint8 views, windows cut per row."""
    from datasets import Dataset

    from builders.spec.counts import table_spike_counts

    ds = Dataset.from_parquet([str(f) for f in files], cache_dir=cache_dir).with_format("arrow")
    rng = np.random.default_rng(0)
    out = np.zeros(WINDOW, np.uint8)
    while True:  # epoch after epoch, as an endless stream
        for batch in ds.shuffle(seed=int(rng.integers(1 << 30))).iter(batch_size=4):
            for counts in table_spike_counts(batch):
                for _ in range(windows_per_row(counts.size, rng)):
                    yield cut(counts, rng, out)


def numpy_loop(files, cache_dir):
    """``with_format("numpy")`` rows (arrays of row arrays), stacked, windows cut per row."""
    from datasets import Dataset

    ds = Dataset.from_parquet([str(f) for f in files], cache_dir=cache_dir).with_format("numpy")
    rng = np.random.default_rng(0)
    out = np.zeros(WINDOW, np.uint8)
    while True:
        for row in ds:
            counts = np.stack(row["spike_counts"])
            for _ in range(windows_per_row(counts.size, rng)):
                yield cut(counts, rng, out)


def ours_loop(folder, open_pieces=32):
    from builders.streams import window_stream

    return (
        w["spike_counts"]
        for w in window_stream(str(folder), n_neurons=WINDOW[0], n_bins=WINDOW[1], seed=0, open_pieces=open_pieces)
    )


def windows_rate(make, budget_s: float) -> dict:
    """Windows per CPU second after the first (the Arrow caches are built before the clock)."""
    it = make()
    next(it)
    start, n = time.process_time(), 0
    for _ in it:
        n += 1
        if time.process_time() - start > budget_s:
            break
    cpu = time.process_time() - start
    return {"windows": n, "cpu_s": cpu, "windows_per_cpu_s": n / cpu}


def distinct_sessions(folder, budget_items: int = 32 * 30) -> dict:
    from builders.pile import open_pile
    from builders.spec.counts import table_spike_counts
    from builders.streams import window_stream

    pile = open_pile(str(folder))
    tokens: dict[str, int] = {}
    for _, table in pile.iter_tables(columns=("spike_counts", "session_id")):
        for r, counts in enumerate(table_spike_counts(table)):
            key = table.column("session_id")[r].as_py()
            tokens[key] = tokens.get(key, 0) + counts.size
    p = np.array(list(tokens.values()), float) / sum(tokens.values())
    random = float(np.sum(1 - (1 - p) ** 32))
    out = {"sessions": len(tokens), "random_draw": random}
    for k in (32, 1):
        items = [
            w["session_id"]
            for w in islice(
                window_stream(str(folder), n_neurons=WINDOW[0], n_bins=WINDOW[1], seed=0, open_pieces=k), budget_items
            )
        ]
        batches = [len(set(items[i : i + 32])) for i in range(0, len(items) - 31, 32)]
        out[f"open_pieces_{k}"] = float(np.mean(batches))
    out["ratio"] = out["open_pieces_32"] / random
    return out


PEAK = """
from itertools import islice
from builders.streams import window_stream, token_stream

def hwm():  # peak resident set of this process (ru_maxrss would carry the parent's across exec)
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM"))

before = hwm()
for _ in islice(window_stream({folder!r}, n_neurons=256, n_bins=500, seed=0, open_pieces={k}), 300):
    pass
print(before, hwm())
"""


def peak_rss(folder: Path, k: int) -> dict:
    code = PEAK.format(folder=str(folder), k=k)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    before, after = int(out[0]), int(out[1])
    return {"rss_before_bytes": before, "peak_rss_bytes": after, "stream_bytes": after - before}


def merged_copy(folder: Path, out: Path) -> tuple[Path, int]:
    """Every train row of ``folder`` shuffled into one row group of one file (the merged layout)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted((folder / "data").rglob("train-*.parquet"))
    table = pa.concat_tables([pq.read_table(f) for f in files])
    table = table.take(np.random.default_rng(0).permutation(table.num_rows))
    (out / "data").mkdir(parents=True)
    pq.write_table(table, out / "data" / "train-00000-of-00001.parquet", row_group_size=table.num_rows)
    (out / "README.md").write_text("# merged\n")
    tokens = int(
        sum(np.prod(s) for s in zip(table.column("n_neurons").to_numpy(), table.column("n_time_bins").to_numpy()))
    )
    return out, tokens


def windows_main(args) -> int:
    with tempfile.TemporaryDirectory(prefix="bench_windows_") as tmp:
        work = Path(tmp)
        folder = work / "pile"
        tokens = make_pile(folder, args.sessions, args.minutes)
        merged, group_tokens = merged_copy(folder, work / "merged")
        print(
            f"pile: {tokens['train']:,} train tokens in {args.sessions} sessions; merged row group {group_tokens:,} tokens",
            flush=True,
        )
        files = sorted((folder / "data").rglob("train-*.parquet"))
        cache = str(work / "hf_cache")
        rates = {
            "ours": windows_rate(lambda: ours_loop(folder), args.budget_s),
            "ours_merged": windows_rate(lambda: ours_loop(merged), args.budget_s),
            "datasets_arrow_iter": windows_rate(lambda: arrow_loop(files, cache), args.budget_s),
            "datasets_numpy": windows_rate(lambda: numpy_loop(files, cache), args.budget_s),
        }
        best = max(rates["datasets_arrow_iter"]["windows_per_cpu_s"], rates["datasets_numpy"]["windows_per_cpu_s"])
        rates["ratio_to_best_user_loop"] = rates["ours"]["windows_per_cpu_s"] / best
        diversity = distinct_sessions(folder)
        memory = {f"open_pieces_{k}": peak_rss(merged, k) for k in (32, 1)}
    result = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            "window": list(WINDOW),
            "sessions": args.sessions,
            "minutes": args.minutes,
            "budget_s": args.budget_s,
        },
        "pile_tokens": tokens,
        "merged_row_group_tokens": group_tokens,
        "windows_per_cpu_s": rates,
        "distinct_sessions_per_32": diversity,
        "peak_rss_merged": memory,
    }
    write_json_atomic(Path(args.out), result)
    print(json.dumps(result, indent=1))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=3, help="train sessions of the simulated pile (default: 3)")
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes per session (default: 10)")
    parser.add_argument(
        "--max-known",
        type=int,
        default=5000,
        help="stored out-of-vocabulary motifs of the capped tokenizer (default: 5000, a few percent "
        "of this pile's, about the share the package default keeps of the whole pile's)",
    )
    parser.add_argument("--budget-s", type=float, default=8.0, help="CPU seconds of each throughput run (default: 8)")
    parser.add_argument(
        "--out",
        default=None,
        help="results JSON (default: benchmarks/results/streams.json, or streams_windows.json with --windows)",
    )
    parser.add_argument("--windows", action="store_true", help="only the window measures (see the module notes)")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = str(ROOT / "benchmarks" / "results" / ("streams_windows.json" if args.windows else "streams.json"))
    if args.windows:
        return windows_main(args)
    with tempfile.TemporaryDirectory(prefix="bench_streams_") as tmp:
        work = Path(tmp)
        folder = work / "pile"
        started = time.perf_counter()
        pile_tokens = make_pile(folder, args.sessions, args.minutes)
        print(
            f"pile: {pile_tokens['train']:,} train / {pile_tokens['test']:,} test tokens "
            f"({time.perf_counter() - started:.1f} s to simulate and write)",
            flush=True,
        )
        tok_result = tokenizer_section(folder, work, args.max_known)
        print(json.dumps(tok_result, indent=1), flush=True)
        tok_dir, full_dir = work / "capped", work / "all_oov_stored"
        inside = read_vs_encode(folder, tok_dir)
        print(json.dumps(inside, indent=1), flush=True)
        cache = str(work / "hf_inprocess")
        ours = throughput(lambda: our_sequences(folder, tok_dir, SEQ_LEN, N_NEURONS, cache), args.budget_s)
        ours_full = throughput(lambda: our_sequences(folder, full_dir, SEQ_LEN, N_NEURONS, cache), args.budget_s)
        reference = throughput(lambda: reference_sequences(folder, tok_dir, SEQ_LEN, N_NEURONS, cache), args.budget_s)
        fresh_ours = fresh_process("our_sequences", OURS, folder, tok_dir, work)
        fresh_reference = fresh_process("reference_sequences", REFERENCE, folder, tok_dir, work)
    result = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            "seq_len": SEQ_LEN,
            "n_neurons": N_NEURONS,
            "patch_size": list(PATCH),
            "sessions": args.sessions,
            "minutes": args.minutes,
        },
        "pile_tokens": pile_tokens,
        "tokenizer": tok_result,
        "read_vs_encode": inside,
        "throughput": {
            "ours": ours,
            "ours_all_oov_stored": ours_full,
            "reference": reference,
            "ratio": ours["ids_per_cpu_s"] / reference["ids_per_cpu_s"],
            "ratio_all_oov_stored": ours_full["ids_per_cpu_s"] / reference["ids_per_cpu_s"],
        },
        "fresh_process": {"ours": fresh_ours, "reference": fresh_reference},
    }
    write_json_atomic(Path(args.out), result)
    t = tok_result
    rows = [
        (
            "ids per CPU second",
            f"{ours['ids_per_cpu_s'] / 1e6:.2f} M",
            f"{reference['ids_per_cpu_s'] / 1e6:.3f} M",
            f"{result['throughput']['ratio']:.1f}x",
        ),
        (
            "  (tokenizer with every OOV)",
            f"{ours_full['ids_per_cpu_s'] / 1e6:.2f} M",
            "",
            f"{result['throughput']['ratio_all_oov_stored']:.1f}x",
        ),
        (
            "first sequence, fresh process",
            f"{fresh_ours['first_sequence_s']:.2f} s",
            f"{fresh_reference['first_sequence_s']:.2f} s",
            f"{fresh_reference['first_sequence_s'] / fresh_ours['first_sequence_s']:.1f}x",
        ),
        (
            "local disk written",
            f"{fresh_ours['write_bytes'] + fresh_ours['hf_home_bytes']:,} B",
            f"{fresh_reference['write_bytes'] + fresh_reference['hf_home_bytes']:,} B",
            "",
        ),
    ]
    print(f"\n{'':32} {'token_stream':>16} {'reference':>16} {'ratio':>8}")
    for name, a, b, c in rows:
        print(f"{name:32} {a:>16} {b:>16} {c:>8}")
    print(
        f"inside the stream: reading {inside['read_tokens_per_cpu_s'] / 1e6:.0f} M tokens/s, "
        f"encoding {inside['encode_tokens_per_cpu_s'] / 1e6:.0f} M tokens/s (spike tokens, one core)"
    )
    for label in ("all_oov_stored", "capped"):
        r = t[label]
        print(
            f"tokenizer {label}: {r['known_motifs']:,} stored OOV motifs, {r['artifact_bytes']:,} B, held-out encode "
            f"{r['held_out_encode_tokens_per_s_first_pass'] / 1e6:.1f} / {r['held_out_encode_tokens_per_s_second_pass'] / 1e6:.1f} "
            f"M tokens/s (first / second pass)"
        )
    print(f"same ids: {t['same_ids']}; results -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
