"""``neural-pile plan vbn`` over a wide-area link: requests and seconds for the 4,293-file listing.

    python benchmarks/bench_plan.py [--latency-ms 30] [--bandwidth-mb 50] [--sample 200] [--out FILE]

A DANDI stand-in serves VBN's listing with the real naming patterns (``tests/archive_listings.py``),
30 ms added to every request and 50 MB/s per connection. Side by side in one run:

- **plan**: the listing with the archive's metadata (``?metadata=true``, 1,000 files a page), the
  name rules, the metadata's neurodata types; no request to any file.
- **per-file metadata** (the plain way to select by content with the ``dandi`` client):
  ``get_assets()`` at the archive's default page (25), then ``get_raw_metadata()`` of every
  asset, one request each. Timed on ``--sample`` assets and scaled to the
  listing (stated as such).
- **HDF5 roots** (an archive without listing metadata): the same plan where each main file's root
  is opened by range requests.
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

from builders.archives import select_component  # noqa: E402
from builders.spec.registry import get_component  # noqa: E402
from builders.storage.atomic import write_json_atomic  # noqa: E402
from tests.support.archive_listings import VBN_FILES, vbn_entries, write_units_root  # noqa: E402
from tests.support.loopback import DandiStandIn, FileServer  # noqa: E402


def timed_plan(dandi: DandiStandIn, files: FileServer) -> dict:
    files.reset_counts()
    dandi.calls.clear()
    start = time.perf_counter()
    selection = select_component(get_component("vbn"), dandi_api_url=dandi.api_url, progress=False)
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 3),
        "api_requests": sum(dandi.calls.values()),
        "file_requests": sum(files.requests.values()),
        "root_requests": selection.root_requests,
        "sessions": len(selection.sessions),
        "selected_files": len(selection.assets),
    }


def per_file_metadata(dandi: DandiStandIn, sample: int) -> dict:
    """The client's default listing, then one metadata request per asset."""
    os.environ.setdefault("DANDI_NO_ET", "1")
    from dandi.dandiapi import DandiAPIClient

    vbn = get_component("vbn")
    dandi.calls.clear()
    start = time.perf_counter()
    client = DandiAPIClient(api_url=dandi.api_url)
    assets = list(client.get_dandiset(vbn.archive_id, "0.240101.1200").get_assets())
    listing_seconds = time.perf_counter() - start
    listing_requests = sum(dandi.calls.values())
    start = time.perf_counter()
    for asset in assets[:sample]:
        asset.get_raw_metadata()
    per_asset = (time.perf_counter() - start) / min(sample, len(assets))
    return {
        "listing_seconds": round(listing_seconds, 3),
        "listing_requests": listing_requests,
        "metadata_requests": len(assets),
        "seconds_per_metadata_request": round(per_asset, 4),
        "seconds_scaled": round(listing_seconds + per_asset * len(assets), 1),
        "sampled": min(sample, len(assets)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=30.0, help="added to every request (default 30)")
    parser.add_argument("--bandwidth-mb", type=float, default=50.0, help="MB/s per connection (default 50)")
    parser.add_argument("--sample", type=int, default=200, help="assets timed one by one for the per-file way")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    os.environ["DANDI_NO_ET"] = "1"
    wan = {"latency_s": args.latency_ms / 1000, "bandwidth_bytes_per_s": args.bandwidth_mb * 1e6}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_units_root(root / "units.nwb")
        size = (root / "units.nwb").stat().st_size
        with FileServer(root, **wan) as files, DandiStandIn(files, page_size=25, **wan) as dandi:
            dandi.add_listing("000713", vbn_entries(main_file="units.nwb", main_size=size))
            plan = timed_plan(dandi, files)
            naive = per_file_metadata(dandi, args.sample)
            dandi.add_listing("000713", vbn_entries(main_file="units.nwb", main_size=size), listing_metadata=False)
            roots = timed_plan(dandi, files)
    result = {
        "command": "python benchmarks/bench_plan.py" + (f" --out {os.path.relpath(args.out)}" if args.out else ""),
        "latency_ms": args.latency_ms,
        "bandwidth_mb_per_s_per_connection": args.bandwidth_mb,
        "listed_files": VBN_FILES,
        "plan": plan,
        "per_file_metadata": naive,
        "hdf5_roots": roots,
        "speedup_vs_per_file": round(naive["seconds_scaled"] / plan["seconds"], 1),
    }
    print(json.dumps(result, indent=2))
    print(
        f"\nplan vbn over {args.latency_ms:g} ms / {args.bandwidth_mb:g} MB/s: {plan['seconds']:.2f} s, "
        f"{plan['api_requests']} API requests, {plan['file_requests']} file requests; per-file metadata "
        f"(scaled from {naive['sampled']}): {naive['seconds_scaled']:.0f} s ({result['speedup_vs_per_file']}x); "
        f"without listing metadata: {roots['seconds']:.1f} s, {roots['root_requests']} root requests"
    )
    if args.out:
        write_json_atomic(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
