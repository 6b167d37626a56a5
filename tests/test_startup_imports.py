"""What starts fast stays fast: ``neural-pile --help`` (every command's parser) loads none of the
heavy libraries, each command importing its own when it runs, so help and a mistyped option answer
at once; and the modules a worker process imports to build sessions, count motifs or stream rows (a Ray actor, a
spawned pool worker, a DataLoader worker) do not load ``datasets``."""

from __future__ import annotations

import ast
import subprocess
import sys

#: Libraries a command loads only when it runs (each costs up to a second or more to import).
RUN_TIME_ONLY = ("datasets", "pandas", "huggingface_hub", "ray", "matplotlib", "h5py", "pynwb", "scipy", "sklearn")

PROBE = f"""
import sys
from builders.cli.main import make_parser
parser = make_parser()
for argv in (["--help"], ["build", "--help"], ["merge", "--help"], ["motifs", "--help"]):
    try:
        parser.parse_args(argv)
    except SystemExit:
        pass
print(sorted(name for name in {RUN_TIME_ONLY!r} if name in sys.modules))
"""


def test_help_loads_no_library_a_command_needs_only_when_it_runs():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert ast.literal_eval(done.stdout.strip().splitlines()[-1]) == []


#: Modules that worker processes import for their task (building sessions into shards, merging,
#: motif counting, figures, training streams).
WORKER_MODULES = (
    "builders.build.pipeline",
    "builders.jobs.merge",
    "tokenizer.motif_counting",
    "builders.jobs.figures",
    "builders.streams.source",
    "builders.streams.eval",
)


def test_the_modules_workers_import_do_not_load_datasets():
    probe = f"import sys\nfor name in {WORKER_MODULES!r}: __import__(name)\nprint(sorted(n for n in ('datasets', 'pandas') if n in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert ast.literal_eval(done.stdout.strip().splitlines()[-1]) == []
