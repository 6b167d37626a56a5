"""Benchmark: ``neural-pile stats`` on a Hub repo in the reference layout vs the reference way.

A pile in the reference project's published layout (one ``default`` config, components shuffled
together in ``data/{train,test}-XXXXX-of-XXXXX.parquet``, five columns, row groups as
``push_to_hub`` sizes them) is written with ``datasets`` and served by the loopback Hub stand-in
(tests/hub_standin.py). Side by side in one process, each method from a cold, empty ``HF_HOME``
of its own:

* ``stats``: ``open_pile(repo)`` + ``dataset_stats`` on one core (what ``neural-pile stats
  --dataset REPO`` runs): Parquet footers and the ``spike_counts``/``source_dataset`` column
  chunks are read through ``HfFileSystem`` one row group at a time;
* ``reference``: ``load_dataset(repo)`` (downloads every Parquet file into the Hub cache and
  builds the Arrow cache), then ``np.array(row["spike_counts"])`` per row, counted with
  ``np.bincount``;
* ``stats CLI``: ``neural-pile stats --dataset REPO`` in a new process (start-up, JSON and plot
  included).

For each: wall time, body bytes the stand-in sent and its file requests, and local disk used
under the method's ``HF_HOME`` (``du``: allocated blocks). All three must count the same values
as the writer's ground truth. The runs are repeated with the stand-in's wide-area mode
(``--latency-ms`` per request, ``--bandwidth-mbps`` per connection) when tests/loopback.py has
it (``set_wan``); loopback alone hides round trips.

    python benchmarks/bench_pile_stats.py [--scale 12] [--sessions 8] [--latency-ms 30] \\
        [--bandwidth-mbps 50] [--out benchmarks/results/pile_stats.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

from tests.support.hub_standin import HubStandIn, client_environment, hub_clients  # noqa: E402
from tests.support.reference_pile import write_reference_pile  # noqa: E402

REPO = "bench/neural-pile-rodent"
MB = 1e6


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=12.0,
        help="multiplies the test rows' neurons and bins (default 12: ~0.7M tokens per row)",
    )
    parser.add_argument(
        "--sessions",
        type=int,
        default=8,
        help="train sessions of each of the three components (1-3 rows each; default 8)",
    )
    parser.add_argument("--train-files", type=int, default=4, help="train Parquet files (default 4)")
    parser.add_argument("--latency-ms", type=float, default=30.0, help="wide-area latency per request (default 30)")
    parser.add_argument(
        "--bandwidth-mbps", type=float, default=50.0, help="wide-area cap per connection, MB/s (default 50)"
    )
    parser.add_argument("--repeats", type=int, default=2, help="cold runs of each method, fastest kept (default 2)")
    parser.add_argument("--no-cli", action="store_true", help="skip the `neural-pile stats` subprocess runs")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "pile_stats.json", help="JSON results file")
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where to write the pile and caches (default: a temporary folder)"
    )
    return parser.parse_args(argv)


def disk_bytes(folder: Path) -> int:
    """Bytes allocated to the files under ``folder`` (what ``du`` reports), 0 if it does not exist."""
    total = 0
    for path in folder.rglob("*") if folder.exists() else ():
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_blocks * 512
    return total


def count_with_stats(repo: str) -> np.ndarray:
    from builders.jobs.stats import dataset_stats
    from builders.pile import open_pile
    from builders.runtime.executor import SerialExecutor

    pile = open_pile(repo, None, ("train", "test"))
    return np.asarray(dataset_stats(pile, executor=SerialExecutor(), progress=False)["counts"], dtype=np.int64)


def count_the_reference_way(repo: str) -> tuple[np.ndarray, dict]:
    """``load_dataset(repo)`` into the Arrow cache, then a numpy array per row (the reference trainer's
    conversion) and a bincount of its values. Also returns the seconds of each phase."""
    from datasets import load_dataset

    start = time.perf_counter()
    loaded = load_dataset(repo)
    loaded_at = time.perf_counter()
    counts = np.zeros(256, np.int64)
    for split in ("train", "test"):
        for row in loaded[split]:
            counts += np.bincount(np.array(row["spike_counts"]).ravel(), minlength=256)
    return counts, {
        "load_dataset_seconds": round(loaded_at - start, 3),
        "rows_seconds": round(time.perf_counter() - loaded_at, 3),
    }


def count_with_cli(url: str, home: Path, out_dir: Path) -> np.ndarray:
    env = {**os.environ, **client_environment(url, home), "PYTHONPATH": str(HERE.parent)}
    env.pop("HF_TOKEN", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "builders.cli",
            "stats",
            "--dataset",
            REPO,
            "--splits",
            "train",
            "test",
            "--no-progress",
            "--out-dir",
            str(out_dir),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"neural-pile stats failed:\n{done.stderr[-2000:]}")
    stats = json.loads(next(out_dir.glob("token_stats_*.json")).read_text())
    return np.asarray(stats["counts"], dtype=np.int64)


def measure(method: str, hub: HubStandIn, home: Path, run) -> tuple[dict, np.ndarray]:
    """One cold run of ``run(home)`` with an empty ``home``: time, what the stand-in sent, disk used."""
    hub.reset_counts()
    start = time.perf_counter()
    counts, phases = run(home)
    seconds = time.perf_counter() - start
    return {
        "method": method,
        "seconds": round(seconds, 3),
        **phases,
        "bytes_moved": hub.repo_bytes(REPO),
        "file_requests": hub.repo_requests(REPO),
        "api_requests": sum(n for name, n in hub.calls.items() if name != "resolve"),
        "disk_bytes": disk_bytes(home) - disk_bytes(home / "stats_out"),  # the CLI's JSON and PNG are output
        "disk_hub_cache_bytes": disk_bytes(home / "hub"),
        "disk_arrow_cache_bytes": disk_bytes(home / "datasets"),
    }, counts


def scenario(name: str, hub: HubStandIn, work: Path, expected: np.ndarray, with_cli: bool, repeats: int) -> list[dict]:
    """Every method ``repeats`` times (a new empty ``HF_HOME`` each time); the fastest run is kept."""
    rows = []

    def in_process(count):
        def run(home: Path):
            with hub_clients(hub.url, home):
                out = count(REPO)
            return out if isinstance(out, tuple) else (out, {})

        return run

    methods = [("stats", in_process(count_with_stats)), ("reference", in_process(count_the_reference_way))]
    if with_cli:
        methods.append(("stats CLI", lambda home: (count_with_cli(hub.url, home, home / "stats_out"), {})))
    for method, run in methods:
        runs = []
        for attempt in range(repeats):
            home = work / f"{name}-{method}-{attempt}".replace(" ", "_").replace("/", "_")
            row, counts = measure(method, hub, home, run)
            if not np.array_equal(counts, expected):
                raise SystemExit(f"{method} ({name}): counts differ from the pile's ground truth")
            runs.append(row)
        best = min(runs, key=lambda r: r["seconds"])
        rows.append({"scenario": name, **best, "runs_seconds": [r["seconds"] for r in runs], "counts_match": True})
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        work = Path(tmp)
        components = {"demo": (args.sessions, 1), "v2h": (args.sessions, 0), "vbn": (args.sessions, 2)}
        started = time.perf_counter()
        pile = write_reference_pile(
            work / "pile", components, seed=0, num_shards={"train": args.train_files}, shape_scale=args.scale
        )
        parquet_bytes = sum((pile.folder / p).stat().st_size for files in pile.files.values() for p in files)
        print(
            f"pile: {pile.n_rows():,} rows, {pile.n_tokens():,} tokens, {parquet_bytes / MB:.1f} MB of Parquet "
            f"in {sum(map(len, pile.files.values()))} files (written in {time.perf_counter() - started:.1f} s)"
        )
        expected = pile.value_counts()
        results = []
        with HubStandIn() as hub:
            hub.add_repo(REPO, pile.folder)
            results += scenario("loopback", hub, work, expected, not args.no_cli, args.repeats)
            if hasattr(hub, "set_wan"):
                hub.set_wan(args.latency_ms / 1000, args.bandwidth_mbps * MB)
                results += scenario(
                    f"wan {args.latency_ms:g} ms {args.bandwidth_mbps:g} MB/s",
                    hub,
                    work,
                    expected,
                    not args.no_cli,
                    args.repeats,
                )
            else:
                print("tests/loopback.py has no wide-area mode (set_wan) here: loopback only")
    ratios = {}
    for name in dict.fromkeys(r["scenario"] for r in results):
        by = {r["method"]: r for r in results if r["scenario"] == name}
        ref, ours = by["reference"], by["stats"]
        ratios[name] = {
            "reference_over_stats_seconds": round(ref["seconds"] / ours["seconds"], 2),
            "stats_bytes_over_parquet": round(ours["bytes_moved"] / parquet_bytes, 3),
            "reference_bytes_over_parquet": round(ref["bytes_moved"] / parquet_bytes, 3),
            "reference_disk_over_parquet": round(ref["disk_bytes"] / parquet_bytes, 2),
        }
    print(
        f"\n{'scenario':<24}{'method':<11}{'seconds':>9}{'MB moved':>10}{'requests':>10}"
        f"{'disk MB':>9}{'(Parquet':>10}{' + Arrow)':>10}"
    )
    for r in results:
        print(
            f"{r['scenario']:<24}{r['method']:<11}{r['seconds']:>9.2f}{r['bytes_moved'] / MB:>10.2f}"
            f"{r['file_requests']:>10}{r['disk_bytes'] / MB:>9.2f}{r['disk_hub_cache_bytes'] / MB:>10.2f}"
            f"{r['disk_arrow_cache_bytes'] / MB:>10.2f}"
        )
    for name, ratio in ratios.items():
        print(
            f"{name}: the reference way takes {ratio['reference_over_stats_seconds']}x the time of stats; stats "
            f"moves {ratio['stats_bytes_over_parquet']}x the Parquet bytes, the reference way "
            f"{ratio['reference_bytes_over_parquet']}x and leaves {ratio['reference_disk_over_parquet']}x on disk"
        )
    report = {
        "benchmark": "pile_stats",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "pile": {
            "rows": pile.n_rows(),
            "tokens": pile.n_tokens(),
            "parquet_bytes": parquet_bytes,
            "files": pile.files,
            "scale": args.scale,
            "sessions": args.sessions,
        },
        "wan": {"latency_ms": args.latency_ms, "bandwidth_mbps": args.bandwidth_mbps},
        "results": results,
        "ratios": ratios,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
