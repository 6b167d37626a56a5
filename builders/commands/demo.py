"""``neural-pile demo``: the whole pipeline on the built-in synthetic recordings.

Writes the synthetic ``demo`` recordings (NWB files laid out as ``dandi download`` leaves them),
builds them into a dataset folder exactly as a real component is built, prints the token
table, saves a raster figure, and prints how to load the result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import DEFAULT_OUT, run_summary
from .common import one_line_errors

DEFAULT_DATA = "demo_data"


@one_line_errors
def run(args: argparse.Namespace) -> int:
    from ..analysis.figures import FIGURES_DIR, plot_config
    from ..executor import make_executor
    from ..output.report import format_report
    from ..pile import open_pile
    from ..pipeline import BuildError, BuildOptions, build
    from ..synthetic import write_demo_recordings

    data = Path(args.data_dir)
    if data.is_dir() and any(data.rglob("*.nwb")):
        print(f"using the synthetic recordings already in {data}/ (delete it to write them anew)")
    else:
        print(f"writing synthetic recordings to {data}/ (seed {args.seed})")
        write_demo_recordings(data, seed=args.seed, scale=args.scale)
    options = BuildOptions(out=args.out, data_dir=str(data))
    try:
        report, records = build(["demo"], options, executor=make_executor(None, args.num_proc))
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    print(format_report(report))
    print(run_summary(report, records))
    figure = plot_config(
        open_pile(args.out, "demo", ["train"]), Path(args.out) / FIGURES_DIR, n_examples=args.n_examples, seed=args.seed
    )
    print(f"\nraster figure: {figure}")
    print(f"""
load it:
    from datasets import load_dataset
    from neural_pile_rodent import spike_counts_array
    ds = load_dataset("{args.out}", "demo", split="train")
    counts = spike_counts_array(ds, 0)   # uint8 (n_neurons, n_time_bins), zero-copy
""")
    failed = report["components"]["demo"]["failed"]
    return 1 if failed else 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="write synthetic recordings, build them, print tokens, save a raster figure",
        description="Run the whole build on the built-in synthetic recordings (6 sessions of 40-300 units, "
        "3-45 minutes): the quickest way to see what a built component looks like.",
    )
    parser.add_argument(
        "--data-dir", default=DEFAULT_DATA, help=f"where the synthetic NWB files go (default: ./{DEFAULT_DATA})"
    )
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"dataset folder (default: ./{DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the recordings and of the figure's rows")
    parser.add_argument("--scale", type=float, default=1.0, help="factor on the recordings' durations (default: 1)")
    parser.add_argument("--num-proc", type=int, default=2, help="sessions built in parallel (default: 2)")
    parser.add_argument("--n-examples", type=int, default=9, help="rows in the raster figure (default: 9)")
    parser.set_defaults(func=run)
