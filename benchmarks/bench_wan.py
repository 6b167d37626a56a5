"""Streaming over a wide-area link: per spike layout, and a whole build of streamed sessions.

The loopback DANDI stand-in and file server add a time to first byte to every request and cap
each connection's bandwidth (default 30 ms and 50 MB/s). For each spike layout
(:data:`builders.synthetic.recordings.SPIKE_LAYOUTS`) one synthetic session is read:

- from a local copy (the CPU cost: HDF5 decoding),
- streamed the way the build streams (download URL -> redirect -> range requests), and
- through ``remfile.File`` given the content URL and the size (what the issue compares to).

Network time is the streamed read minus the local read. The goal per session: network time
within 1.3 x ((spike bytes / bandwidth) + 10 round trips), and never slower than remfile.
Requests and bytes are what the file server counted.

Then a whole build: ``--build-sessions`` streamed sessions with 2 worker processes
(``run_jobs`` on 2 processes, next sessions fetched ahead), with fetching ahead turned off, and
the sum of the same sessions' local-copy build times (one process).

    python benchmarks/bench_wan.py [--latency-ms 30] [--bandwidth-mb 50] [--units 300] \
        [--minutes 30] [--build-sessions 8] [--out benchmarks/results/wan.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent

os.environ.setdefault("DANDI_NO_ET", "1")

from builders.archives import list_sessions  # noqa: E402
from builders.archives.http import FetchStats, open_remote  # noqa: E402
from builders.archives.sessions import Asset  # noqa: E402
from builders.build.pipeline import BuildOptions, SessionJob, run_jobs  # noqa: E402
from builders.readers.nwb_units import read_nwb_units  # noqa: E402
from builders.runtime.executor import make_executor  # noqa: E402
from builders.spec.binning import BIN_SIZE, bin_flat  # noqa: E402
from builders.spec.registry import get_component, pile_components  # noqa: E402
from builders.synthetic.recordings import SPIKE_LAYOUTS, write_nwb_session  # noqa: E402
from tests.support.loopback import DandiStandIn, FileServer  # noqa: E402
from tests.support.nwb_sizes import spike_data_bytes  # noqa: E402

MB = 1e6
DANDISET = "000021"  # the vcn component's dandiset, served by the stand-in
GOAL_ROUND_TRIPS = 10
GOAL_FACTOR = 1.3
#: Projection of the whole pile: workers, the shared link to the archive's storage (bytes/s),
#: and the parallel connections of one worker (builders.archives.rangefile.DEFAULT_PARALLEL_REQUESTS).
PROJECT_WORKERS = (1, 8, 64)
LINK_BYTES_PER_S = 1.25e9  # 10 Gb/s


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=30.0, help="time to first byte per request, ms")
    parser.add_argument("--bandwidth-mb", type=float, default=50.0, help="bandwidth cap per connection, MB/s")
    parser.add_argument("--units", type=int, default=300, help="units of each per-layout session")
    parser.add_argument("--minutes", type=float, default=30.0, help="length of each per-layout session, minutes")
    parser.add_argument(
        "--layouts", nargs="+", default=list(SPIKE_LAYOUTS), choices=list(SPIKE_LAYOUTS), help="spike layouts to read"
    )
    parser.add_argument(
        "--build-sessions", type=int, default=8, help="sessions of the whole-build measurement (0: none)"
    )
    parser.add_argument("--build-units", type=int, default=300, help="units of each whole-build session")
    parser.add_argument("--build-minutes", type=float, default=20.0, help="length of each whole-build session, minutes")
    parser.add_argument("--repeats", type=int, default=2, help="timings per reader (the fastest is kept)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "wan.json", help="JSON results file")
    parser.add_argument("--work-dir", type=Path, default=None, help="where to write the sessions (default: temporary)")
    return parser.parse_args(argv)


@contextmanager
def _remfile(url: str, size: int):
    import remfile

    handle = remfile.File(url, _size=size)
    try:
        yield handle
    finally:
        handle.close()


def _timed(files: FileServer, served: str, read, repeats: int) -> dict:
    """Fastest of ``repeats`` runs of ``read()``, with the server's counts of the last one."""
    best = float("inf")
    for _ in range(repeats):
        files.reset_counts()
        start = time.perf_counter()
        read()
        best = min(best, time.perf_counter() - start)
    return {"seconds": round(best, 3), "requests": int(files.requests[served]), "bytes": int(files.bytes_sent[served])}


def bench_layout(layout: str, files: FileServer, dandi: DandiStandIn, root: Path, args) -> dict:
    meta = next(a for a in dandi.dandisets[DANDISET]["assets"].values() if f"ses-{layout}_" in a.path)
    served, local = meta.file_path, root / meta.file_path
    asset = Asset(
        path=meta.path, url=f"{dandi.api_url}/assets/{meta.asset_id}/download/", size=meta.size, asset_id=meta.asset_id
    )
    spike = sum(spike_data_bytes(local).values())

    def streamed():
        with open_remote(asset, stats=FetchStats()) as handle:
            return read_nwb_units(handle, asset)

    def remote_file():
        with _remfile(files.url_for(served), meta.size) as handle:
            return read_nwb_units(handle, asset)

    local_run = {
        "seconds": round(min(_seconds(lambda: read_nwb_units(str(local), asset)) for _ in range(args.repeats)), 3)
    }
    trains = read_nwb_units(str(local), asset)
    counts, _ = bin_flat(trains.times - trains.origin, trains.ends, BIN_SIZE)
    ours = _timed(files, served, streamed, args.repeats)
    theirs = _timed(files, served, remote_file, args.repeats)
    latency, bandwidth = args.latency_ms / 1000, args.bandwidth_mb * MB
    goal = spike / bandwidth + GOAL_ROUND_TRIPS * latency
    for run in (ours, theirs):
        run["network_s"] = round(max(0.0, run["seconds"] - local_run["seconds"]), 3)
        run["x_goal"] = round(run["network_s"] / goal, 2)
    return {
        "layout": layout,
        "file_bytes": meta.size,
        "spike_bytes": spike,
        "tokens": int(counts.size),
        "goal_network_s": round(goal, 3),
        "local": local_run,
        "streamed": ours,
        "remfile": theirs,
        "within_goal": ours["network_s"] <= GOAL_FACTOR * goal,
        "not_slower_than_remfile": ours["network_s"] <= theirs["network_s"],
    }


def _seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def bench_build(jobs_remote: list[SessionJob], jobs_local: list[SessionJob], out: Path) -> dict:
    """Wall time of the streamed build (2 workers, with and without fetching ahead) against the
    sum of the local-copy build times of the same sessions."""
    local_records = run_jobs(jobs_local, progress=False)
    local_sum = sum(r["seconds"] for r in local_records)
    tokens = sum(r.get("tokens", 0) for r in local_records)
    result = {"sessions": len(jobs_remote), "tokens": tokens, "local_sum_s": round(local_sum, 2)}
    # the same pool on the local copies: what 2 workers cost without any network (process start-up)
    jobs = [SessionJob(j.session, BuildOptions(out=str(out / "local_2_workers")), j.version) for j in jobs_local]
    start = time.perf_counter()
    run_jobs(jobs, make_executor(None, 2), progress=False)
    wall = time.perf_counter() - start
    result["local_2_workers"] = {
        "wall_s": round(wall, 2),
        "tokens_per_s": round(tokens / wall),
        "x_local_sum": round(wall / local_sum, 2),
    }
    runs = (
        ("streamed_1_worker", 1, None),
        ("streamed_1_worker_no_prefetch", 1, "0"),
        ("streamed_2_workers", 2, None),
        ("streamed_2_workers_no_prefetch", 2, "0"),
    )
    for label, workers, ahead in runs:
        previous = os.environ.get("NEURAL_PILE_PREFETCH_SESSIONS")
        if ahead is not None:
            os.environ["NEURAL_PILE_PREFETCH_SESSIONS"] = ahead
        try:
            target = out / label
            jobs = [SessionJob(j.session, BuildOptions(out=str(target)), j.version) for j in jobs_remote]
            start = time.perf_counter()
            records = run_jobs(jobs, make_executor(None, workers), progress=False)
            wall = time.perf_counter() - start
        finally:
            if previous is None:
                os.environ.pop("NEURAL_PILE_PREFETCH_SESSIONS", None)
            else:
                os.environ["NEURAL_PILE_PREFETCH_SESSIONS"] = previous
        assert all(r["status"] == "done" for r in records), records
        result[label] = {
            "wall_s": round(wall, 2),
            "tokens_per_s": round(tokens / wall),
            "x_local_sum": round(wall / local_sum, 2),
        }
    return result


def project_pile(layouts: list[dict], build: dict, args) -> dict:
    """Whole-pile time from the published sessions and tokens x the measured costs.

    Network per session: requests x latency + spike bytes / a worker's bandwidth (its parallel
    connections, or its share of the link); CPU per token: the local-copy build. With fetching
    ahead a worker's time is the larger of the two, without it their sum.
    """
    from builders.archives.rangefile import DEFAULT_PARALLEL_REQUESTS

    components = pile_components()
    sessions = sum(c.sessions for c in components)
    tokens = sum(c.tokens for c in components)
    contiguous = next(r for r in layouts if r["layout"] == "contiguous")
    bytes_per_token = contiguous["spike_bytes"] / contiguous["tokens"]
    requests = max(r["streamed"]["requests"] for r in layouts) + 1  # + the download redirect
    cpu_per_token = build["local_sum_s"] / build["tokens"]
    latency, per_connection = args.latency_ms / 1000, args.bandwidth_mb * MB
    rows = []
    for workers in PROJECT_WORKERS:
        bandwidth = min(DEFAULT_PARALLEL_REQUESTS * per_connection, LINK_BYTES_PER_S / workers)
        network = (sessions * requests * latency + tokens * bytes_per_token / bandwidth) / workers
        cpu = tokens * cpu_per_token / workers
        rows.append(
            {
                "workers": workers,
                "worker_bytes_per_s": bandwidth,
                "network_h": network / 3600,
                "cpu_h": cpu / 3600,
                "wall_h_prefetch": max(network, cpu) / 3600,
                "wall_h_no_prefetch": (network + cpu) / 3600,
            }
        )
    return {
        "sessions": sessions,
        "tokens": tokens,
        "spike_bytes_per_token": bytes_per_token,
        "spike_bytes": tokens * bytes_per_token,
        "requests_per_session": requests,
        "cpu_s_per_gtoken": cpu_per_token * 1e9,
        "link_bytes_per_s": LINK_BYTES_PER_S,
        "parallel_connections": DEFAULT_PARALLEL_REQUESTS,
        "rows": rows,
    }


def print_tables(layouts: list[dict], build: dict | None, args) -> None:
    print(f"\nper session, {args.latency_ms:g} ms + {args.bandwidth_mb:g} MB/s per connection")
    print(
        f"{'layout':<14}{'spike MB':>9}{'goal s':>8} | {'ours req':>8}{'MB':>7}{'net s':>7}{'x goal':>7}"
        f" | {'remfile req':>11}{'MB':>7}{'net s':>7}{'x goal':>7}"
    )
    for r in layouts:
        o, t = r["streamed"], r["remfile"]
        print(
            f"{r['layout']:<14}{r['spike_bytes'] / MB:9.2f}{r['goal_network_s']:8.2f} | {o['requests']:8d}"
            f"{o['bytes'] / MB:7.2f}{o['network_s']:7.2f}{o['x_goal']:7.2f} | {t['requests']:11d}"
            f"{t['bytes'] / MB:7.2f}{t['network_s']:7.2f}{t['x_goal']:7.2f}"
        )
    if build is None:
        return
    print(
        f"\nwhole build, {build['sessions']} sessions, {build['tokens'] / 1e6:.1f}M tokens: "
        f"local copies one after the other {build['local_sum_s']} s"
    )
    for label in (
        "local_2_workers",
        "streamed_1_worker",
        "streamed_1_worker_no_prefetch",
        "streamed_2_workers",
        "streamed_2_workers_no_prefetch",
    ):
        run = build[label]
        print(
            f"  {label}: {run['wall_s']} s ({run['x_local_sum']} x the local sum, {run['tokens_per_s'] / 1e6:.1f}M tokens/s)"
        )


def main(argv=None) -> int:
    args = parse_args(argv)
    layouts = args.layouts
    with tempfile.TemporaryDirectory(prefix="bench-wan-") as scratch:
        root = args.work_dir or Path(scratch)
        folder = root / DANDISET
        for number, layout in enumerate(layouts):
            path = folder / f"sub-L{number}" / f"sub-L{number}_ses-{layout}_ecephys.nwb"
            if not path.exists():
                print(f"writing {layout} ({args.units} units, {args.minutes:g} min)...", flush=True)
                write_nwb_session(
                    path,
                    subject_id=f"L{number}",
                    session_id=layout,
                    n_units=args.units,
                    duration_s=args.minutes * 60,
                    seed=number,
                    lfp_seconds=20.0,
                    spike_layout=layout,
                )
        for number in range(args.build_sessions):
            layout = list(SPIKE_LAYOUTS)[number % len(SPIKE_LAYOUTS)]
            path = folder / f"sub-B{number}" / f"sub-B{number}_ses-build{number}_ecephys.nwb"
            if not path.exists():
                print(f"writing build session {number} ({layout})...", flush=True)
                write_nwb_session(
                    path,
                    subject_id=f"B{number}",
                    session_id=f"build{number}",
                    n_units=args.build_units,
                    duration_s=args.build_minutes * 60,
                    seed=100 + number,
                    lfp_seconds=10.0,
                    spike_layout=layout,
                )
        component = get_component("vcn")
        with (
            FileServer(root, latency_s=args.latency_ms / 1000, bandwidth_bytes_per_s=args.bandwidth_mb * MB) as files,
            DandiStandIn(files, latency_s=args.latency_ms / 1000) as dandi,
        ):
            dandi.add_dandiset(DANDISET, DANDISET)
            per_layout = []
            for layout in layouts:
                print(f"reading {layout}...", flush=True)
                per_layout.append(bench_layout(layout, files, dandi, root, args))
            remote = [s for s in list_sessions(component, dandi_api_url=dandi.api_url) if s.subject_id.startswith("B")]
            local = [s for s in list_sessions(component, data_dir=folder) if s.subject_id.startswith("B")]
            remote, local = remote[: args.build_sessions], local[: args.build_sessions]
            print(f"building {len(remote)} sessions...", flush=True)
            build = (
                None
                if not remote
                else bench_build(
                    [SessionJob(s, BuildOptions(out="")) for s in remote],
                    [SessionJob(s, BuildOptions(out=str(root / "out-local"))) for s in local],
                    root,
                )
            )
    print_tables(per_layout, build, args)
    projection = None
    if build is not None and "contiguous" in layouts:
        projection = project_pile(per_layout, build, args)
        print_projection(projection)
    report = {
        "command": "python benchmarks/bench_wan.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()],
        "latency_ms": args.latency_ms,
        "bandwidth_mb_per_s_per_connection": args.bandwidth_mb,
        "goal": f"network s <= {GOAL_FACTOR} x (spike bytes / bandwidth + {GOAL_ROUND_TRIPS} round trips), "
        "and <= remfile.File given the size",
        "layouts": per_layout,
        "build": build,
        "pile_projection": projection,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


def print_projection(projection: dict) -> None:
    print(
        f"\nwhole pile: {projection['sessions']} sessions, {projection['tokens'] / 1e9:.1f}G tokens, "
        f"{projection['spike_bytes'] / 1e9:.0f} GB of spike data ({projection['spike_bytes_per_token']:.2f} B/token), "
        f"{projection['requests_per_session']} requests/session, {projection['cpu_s_per_gtoken']:.0f} CPU s/Gtoken"
    )
    for row in projection["rows"]:
        print(
            f"  {row['workers']:3d} workers ({row['worker_bytes_per_s'] / MB:.0f} MB/s each): network {row['network_h']:.2f} h,"
            f" CPU {row['cpu_h']:.2f} h -> {row['wall_h_prefetch']:.2f} h fetching ahead, {row['wall_h_no_prefetch']:.2f} h without"
        )


if __name__ == "__main__":
    sys.exit(main())
