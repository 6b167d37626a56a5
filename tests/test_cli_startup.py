"""``neural-pile --help`` (and every command's parser) loads none of the heavy libraries: each
command imports its library when it runs, so help and a mistyped option answer at once."""

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
