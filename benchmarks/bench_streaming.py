"""Bytes moved to read one session's spike data over HTTP, versus the file and the spike data.

A realistic synthetic NWB session (units with mean waveforms, electrodes on two probes, and an
LFP-sized int16 acquisition series, so the file is mostly not spikes) is served on 127.0.0.1 by
the loopback file server behind the DANDI stand-in. The units reader reads it through:

- ``open_remote`` (the build's path) at several block sizes;
- ``remfile.File`` with its defaults, and with the size given (no length probe), for comparison.

Bytes are what the server actually sent. Goal: at most 1.2 x the spike datasets' stored size
+ 2 MB, whatever the file size; shown for two file sizes (two LFP lengths) of a small and a
large session.

    python benchmarks/bench_streaming.py [--sessions 60x300 300x1800] [--lfp-seconds 60 300] \
        [--out benchmarks/results/streaming.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

os.environ.setdefault("DANDI_NO_ET", "1")

from builders.archives.http import FetchStats, open_remote  # noqa: E402
from builders.archives.sessions import Asset  # noqa: E402
from builders.readers.nwb_units import read_nwb_units  # noqa: E402
from builders.synthetic.recordings import write_nwb_session  # noqa: E402
from tests.support.loopback import DandiStandIn, FileServer  # noqa: E402
from tests.support.nwb_sizes import spike_data_bytes  # noqa: E402

MB = 1e6
BLOCK_SIZES = (16 * 1024, 64 * 1024, 256 * 1024)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lfp-seconds",
        type=float,
        nargs="+",
        default=[60.0, 300.0],
        help="LFP length of each test file, seconds (2.5 kHz x 96 channels x int16)",
    )
    parser.add_argument(
        "--sessions",
        nargs="+",
        default=["60x300", "300x1800"],
        help="sessions as UNITSxSECONDS (each written once per LFP length)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "streaming.json", help="JSON results file")
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where to write the test files (default: a temporary folder)"
    )
    return parser.parse_args(argv)


def _session_spec(text: str) -> tuple[int, float]:
    try:
        units, seconds = text.lower().split("x")
        return int(units), float(seconds)
    except ValueError:
        raise SystemExit(f"--sessions {text!r}: expected UNITSxSECONDS, e.g. 300x1800") from None


def measure(label, files: FileServer, served: str, open_handle) -> dict:
    """Read the units table through ``open_handle()`` and report what the server sent."""
    files.reset_counts()
    start = time.perf_counter()
    with open_handle() as handle:
        trains = read_nwb_units(handle, Asset(path=served, url=files.url_for(served)))
    seconds = time.perf_counter() - start
    return {
        "reader": label,
        "bytes_sent": int(files.bytes_sent[served]),
        "requests": int(files.requests[served]),
        "seconds": round(seconds, 3),
        "n_units": trains.n_units,
        "n_spikes": int(trains.times.size),
    }


def _remfile_handle(url: str, size: int | None = None):
    from contextlib import contextmanager

    import remfile

    @contextmanager
    def opener():
        handle = remfile.File(url) if size is None else remfile.File(url, _size=size)
        try:
            yield handle
        finally:
            handle.close()

    return opener


def bench_file(files: FileServer, dandi: DandiStandIn, served: str, local: Path) -> dict:
    meta = dandi.dandisets["bench"]["assets"][Path(served).relative_to("bench").as_posix()]
    asset = Asset(
        path=meta.path, url=f"{dandi.api_url}/assets/{meta.asset_id}/download/", size=meta.size, asset_id=meta.asset_id
    )
    spike = spike_data_bytes(local)
    runs = []
    for block in BLOCK_SIZES:
        runs.append(
            measure(
                f"open_remote, {block // 1024} KiB blocks",
                files,
                served,
                lambda block=block: open_remote(asset, block_size=block, stats=FetchStats()),
            )
        )
    runs.append(measure("remfile.File defaults", files, served, _remfile_handle(files.url_for(served))))
    runs.append(measure("remfile.File, size given", files, served, _remfile_handle(files.url_for(served), meta.size)))
    spike_total = sum(spike.values())
    budget = 1.2 * spike_total + 2 * MB
    for run in runs:
        run["x_spike_data"] = round(run["bytes_sent"] / spike_total, 3)
        run["within_goal"] = run["bytes_sent"] <= budget
    return {
        "file": served,
        "file_bytes": local.stat().st_size,
        "spike_data_bytes": spike_total,
        "spike_datasets": spike,
        "goal_bytes": int(budget),
        "runs": runs,
    }


def print_table(results: list[dict]) -> None:
    print(
        f"{'file MB':>8} {'spike MB':>9} {'goal MB':>8}  {'reader':<28} {'fetched MB':>10} {'x spike':>8} {'requests':>8} {'s':>6}"
    )
    for result in results:
        for run in result["runs"]:
            print(
                f"{result['file_bytes'] / MB:8.1f} {result['spike_data_bytes'] / MB:9.2f} {result['goal_bytes'] / MB:8.2f}  "
                f"{run['reader']:<28} {run['bytes_sent'] / MB:10.2f} {run['x_spike_data']:8.2f} {run['requests']:8d} {run['seconds']:6.2f}"
            )


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as scratch:
        root = args.work_dir or Path(scratch)
        folder = root / "bench"
        written = []
        for spec in args.sessions:
            n_units, duration = _session_spec(spec)
            for lfp in args.lfp_seconds:
                number = len(written)
                name = f"u{n_units}-d{int(duration)}-lfp{int(lfp)}"
                path = folder / f"sub-B{number}" / f"sub-B{number}_ses-{name}_ecephys.nwb"
                if not path.exists():
                    print(f"writing {path.name} ({n_units} units, {duration:.0f} s, {lfp:.0f} s of LFP)...", flush=True)
                    write_nwb_session(
                        path,
                        subject_id=f"B{number}",
                        session_id=name,
                        n_units=n_units,
                        duration_s=duration,
                        seed=number,
                        n_probes=2,
                        lfp_seconds=lfp,
                    )
                written.append(path)
        with FileServer(root) as files, DandiStandIn(files) as dandi:
            dandi.add_dandiset("bench", "bench")
            results = [bench_file(files, dandi, path.relative_to(root).as_posix(), path) for path in written]
    print_table(results)
    report = {
        "command": "python benchmarks/bench_streaming.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "sessions": args.sessions,
        "lfp_seconds": args.lfp_seconds,
        "goal": "bytes fetched <= 1.2 x spike datasets + 2 MB",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
