"""The README's builder lines, run as a user runs them: a script file and ``python -``, in a subprocess.

With ``num_proc=2`` and no ``if __name__ == "__main__":`` guard they once deadlocked as a script
(every build process imported the script again and waited for the lock its parent held) and died
with ``BrokenProcessPool`` from stdin. Each run has a timeout, so a hang fails the test.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from builders.cli.main import main as cli
from builders.spec.split import SPLITS
from builders.storage.layout import shard_files

pytestmark = pytest.mark.readme  # runs the README as a user does; make test-fast skips it

ROOT = Path(__file__).resolve().parents[1]
#: seconds a run may take before it counts as hung
TIMEOUT_S = 300
#: prepended to a program to start processes as macOS and Windows do
SPAWN = 'import multiprocess\nmultiprocess.set_start_method("spawn", force=True)\n'
COUNT_ROWS = '\nprint("rows", sorted((name, len(split)) for name, split in ds.items()))\n'
GUARD = 'if __name__ == "__main__":'


def readme_builder_blocks() -> tuple[str, str]:
    """The README's ``NeuralPileRodent`` code blocks: (unguarded, guarded)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    builder = [b for b in blocks if 'NeuralPileRodent(config_name="demo", data_dir="demo_data")' in b]
    unguarded = [b for b in builder if GUARD not in b]
    guarded = [b for b in builder if GUARD in b]
    assert len(unguarded) == 1 and len(guarded) == 1, (
        "the README shows the builder once without and once with the guard"
    )
    return unguarded[0], guarded[0]


@pytest.fixture(scope="module")
def workdir(demo_recordings_dir, tmp_path_factory):
    """A folder holding ``demo_data`` as ``make demo`` leaves it (at the tests' small scale)."""
    folder = tmp_path_factory.mktemp("builder_script")
    shutil.copytree(demo_recordings_dir, folder / "demo_data")
    return folder


@pytest.fixture(scope="module")
def expected_rows(demo_recordings_dir, tmp_path_factory):
    """What the lines print for the demo folder: the rows per split of a CLI build of it."""
    out = tmp_path_factory.mktemp("cli_build") / "pile"
    assert cli(["build", "demo", "--data-dir", str(demo_recordings_dir), "--out", str(out), "--no-progress"]) == 0
    rows = {}
    for split in SPLITS:
        n = sum(pq.ParquetFile(f).metadata.num_rows for f in shard_files(out, "demo", (split,)))
        if n:
            rows[split] = n
    return f"rows {sorted(rows.items())}"


def run(workdir: Path, program: str, *, as_file: bool, cache: str) -> subprocess.CompletedProcess:
    """Run ``program`` in ``workdir`` as ``python prog.py`` or ``python -``, the datasets cache in
    a fresh folder; on a timeout its whole process group is killed and the test fails."""
    env = {
        **os.environ,
        "HF_HOME": str(workdir / "hf_home"),
        "HF_DATASETS_CACHE": str(workdir / cache),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
    }
    if as_file:
        (workdir / f"{cache}.py").write_text(program)
        command, stdin = [sys.executable, f"{cache}.py"], None
    else:
        command, stdin = [sys.executable, "-"], program
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(stdin, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{' '.join(command[1:])} hung for {TIMEOUT_S} s")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


@pytest.mark.parametrize("as_file", [True, False], ids=["script", "stdin"])
def test_readme_lines_run_unguarded_with_num_proc(workdir, expected_rows, as_file):
    unguarded, _ = readme_builder_blocks()
    done = run(workdir, unguarded + COUNT_ROWS, as_file=as_file, cache=f"cache_{'script' if as_file else 'stdin'}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert last_line(done.stdout) == expected_rows


@pytest.mark.parametrize("as_file", [True, False], ids=["script", "stdin"])
def test_spawn_without_the_guard_is_one_line(workdir, as_file):
    unguarded, _ = readme_builder_blocks()
    done = run(workdir, SPAWN + unguarded, as_file=as_file, cache=f"cache_spawn_{'script' if as_file else 'stdin'}")
    assert done.returncode != 0
    line = last_line(done.stderr)
    assert line.startswith("RuntimeError: NeuralPileRodent('demo'): "), done.stderr[-3000:]
    if as_file:
        assert GUARD in line
    else:
        assert "<stdin>" in line and "num_proc=1" in line


def test_spawn_with_the_guard_runs(workdir, expected_rows):
    _, guarded = readme_builder_blocks()
    program = SPAWN + guarded + COUNT_ROWS.replace("\nprint", "\n    print")
    done = run(workdir, program, as_file=True, cache="cache_spawn_guarded")
    assert done.returncode == 0, done.stderr[-3000:]
    assert last_line(done.stdout) == expected_rows
    # the build is done, the datasets cache is not: the workers that spawn are datasets' own
    shutil.rmtree(workdir / "cache_spawn_guarded" / "neural_pile_rodent")
    unguarded, _ = readme_builder_blocks()
    done = run(workdir, SPAWN + unguarded, as_file=True, cache="cache_spawn_guarded")
    assert done.returncode != 0
    assert last_line(done.stderr).startswith("RuntimeError: NeuralPileRodent('demo'): "), done.stderr[-3000:]
    assert GUARD in last_line(done.stderr)
