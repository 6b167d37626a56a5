"""``neural-pile demo``: the whole pipeline on the built-in synthetic recordings.

Writes the synthetic ``demo`` recordings (NWB files laid out as ``dandi download`` leaves them),
builds them into a dataset folder exactly as a real component is built, prints the token
table, saves a raster figure, and prints how to load the result.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from builders.build.report import format_report
from builders.cli.build import DEFAULT_OUT, run_summary
from builders.cli.common import MAX_RASTERS, MAX_SEED, CommandError, check_range, one_line_errors
from builders.pile import open_pile
from builders.runtime.executor import make_executor

DEFAULT_DATA = "demo_data"


def check_options(args: argparse.Namespace) -> None:
    """Refuse, before anything is written, options out of their bounds (one line each)."""
    # imported when the command runs, not for --help (see builders.cli)
    from builders.synthetic.recordings import DEMO_MAX_SCALE

    if args.scale is not None and not 0 < args.scale <= DEMO_MAX_SCALE:
        raise CommandError(f"--scale must be > 0 and at most {DEMO_MAX_SCALE:g}, got {args.scale}")
    if args.seed is not None:
        check_range("--seed", args.seed, 0, MAX_SEED)
    check_range("--n-examples", args.n_examples, 1, MAX_RASTERS)
    if args.num_proc < 1:
        raise CommandError(f"--num-proc must be at least 1, got {args.num_proc}")


def recordings_options(data: Path, args: argparse.Namespace) -> tuple[int, float]:
    """The seed and scale of the recordings the demo builds.

    A folder that already holds recordings is used as it is: options not given take its recorded
    values, and a ``--seed`` or ``--scale`` other than those is refused (nothing is rewritten or
    deleted; choose a new ``--data-dir`` or delete the folder to write other recordings).
    """
    from builders.synthetic.recordings import read_demo_record

    if not (data.is_dir() and any(data.rglob("*.nwb"))):
        return (0 if args.seed is None else args.seed), (1.0 if args.scale is None else args.scale)
    record = read_demo_record(data) or {}
    held = {"seed": record.get("seed"), "scale": record.get("scale")}
    for option, asked in (("seed", args.seed), ("scale", args.scale)):
        if asked is not None and asked != held[option]:
            written = f"seed {held['seed']}, scale {held['scale']:g}" if record else "options it does not record"
            raise CommandError(
                f"--{option} {asked}: {data}/ already holds synthetic recordings written with {written}; "
                "pass --data-dir with a new folder (or delete this one) to write recordings with other options"
            )
    return (0 if held["seed"] is None else held["seed"]), (1.0 if held["scale"] is None else held["scale"])


@one_line_errors
def run(args: argparse.Namespace) -> int:
    from builders.archives.local import write_synthetic_identity
    from builders.build.pipeline import BuildOptions, build
    from builders.jobs.figures import FIGURES_DIR, plot_config
    from builders.synthetic.recordings import write_demo_recordings

    check_options(args)
    data = Path(args.data_dir)
    seed, scale = recordings_options(data, args)
    if data.is_dir() and any(data.rglob("*.nwb")):
        print(f"using the synthetic recordings already in {data}/ (seed {seed}, scale {scale:g})")
    else:
        print(f"writing synthetic recordings to {data}/ (seed {seed}, scale {scale:g})")
        write_demo_recordings(data, seed=seed, scale=scale)
        write_synthetic_identity(data)
    options = BuildOptions(out=args.out, data_dir=str(data))
    report, records = build(["demo"], options, executor=make_executor(None, args.num_proc))
    print()
    print(format_report(report))
    print(run_summary(report, records))
    figure = plot_config(
        open_pile(args.out, "demo", ["train"]), Path(args.out) / FIGURES_DIR, n_examples=args.n_examples, seed=seed
    )
    print(f"\nraster figure: {figure}")
    print(f"""
load it:
    from datasets import load_dataset
    from neural_pile_rodent import spike_counts_array
    ds = load_dataset("{args.out}", "demo", split="train")
    counts = spike_counts_array(ds, 0)   # uint8 (n_neurons, n_time_bins), zero-copy
""")
    failed = report.components["demo"]["failed"]
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
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the recordings and of the figure's rows (default: 0, or the one --data-dir's recordings "
        "were written with; another value than that is refused)",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=None,
        help="factor on the recordings' durations, in (0, 4] (default: 1, or the one --data-dir's recordings "
        "were written with; another value than that is refused)",
    )
    parser.add_argument("--num-proc", type=int, default=2, help="sessions built in parallel (default: 2)")
    parser.add_argument(
        "--n-examples", type=int, default=9, help=f"rows in the raster figure, 1 to {MAX_RASTERS} (default: 9)"
    )
    parser.set_defaults(func=run)
