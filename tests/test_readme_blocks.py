"""Every code block of the README is marked: the ones that say they run on the demo folder run as
written, in README order, in a folder where the demo was just built (`make demo`'s command), with
the Python blocks sharing one session as a reader's would; the folders they write are git-ignored."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.readme  # runs the README as a user does; make test-fast skips it

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MARKED = re.compile(r"<!-- readme-test: (?P<what>[^\n]*?) -->\n```(?P<lang>\w*)\n(?P<code>.*?)```", re.S)
FENCE = re.compile(r"^```", re.M)
RUN, RUN_WITH_TORCH = "run", "run if torch is installed"

#: Runs the blocks in order: shell blocks with bash (stop at the first failing line), Python blocks
#: exec'd in one namespace with the working folder first on sys.path, as for `python` started there.
DRIVER = r"""
import importlib.util, json, os, subprocess, sys
sys.path.insert(0, os.getcwd())
namespace = {"__name__": "__main__"}
for number, (what, lang, code) in enumerate(json.load(open(sys.argv[1])), 1):
    print(f"--- README block {number} ({lang or 'shell'})", flush=True)
    if what == "run if torch is installed" and importlib.util.find_spec("torch") is None:
        print("skipped: torch is not installed", flush=True)
        continue
    if lang == "python":
        exec(compile(code, f"README block {number}", "exec"), namespace)
    else:
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code])
        if done.returncode:
            sys.exit(f"README block {number} failed with exit code {done.returncode}")
print("--- all blocks done", flush=True)
"""


def readme_blocks() -> list[tuple[str, str, str]]:
    readme = (REPO / "README.md").read_text()
    blocks = [(m["what"], m["lang"], m["code"]) for m in MARKED.finditer(readme)]
    assert 2 * len(blocks) == len(FENCE.findall(readme)), "every README code block needs a readme-test mark"
    for what, _, _ in blocks:
        assert what in (RUN, RUN_WITH_TORCH) or what.startswith("skip, "), what
    return blocks


def test_every_block_is_marked_and_the_skipped_ones_say_why():
    blocks = readme_blocks()
    skipped = [what for what, _, _ in blocks if what.startswith("skip")]
    assert all(len(what) > len("skip, ") + 10 for what in skipped)
    run = [code for what, _, code in blocks if what == RUN]
    # what the issue found broken must now run on the demo, not on a build it does not have
    assert not any(s in code for code in run for s in ('config="all"', "tok_1x15_32k", "--config v2h", '"vbn"'))
    assert any("window_stream(" in code for code in run) and any("neural-pile sample" in code for code in run)


def test_readme_blocks_run_on_the_demo_folder_and_write_only_ignored_folders(tmp_path):
    folder = tmp_path / "repo"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        HF_HOME=str(tmp_path / "hf"),
        MPLBACKEND="Agg",
        RAY_USAGE_STATS_ENABLED="0",
        DANDI_NO_ET="1",
        HF_HUB_OFFLINE="1",  # loopback only: a name that is no local folder is not looked up on the Hub
    )
    demo = subprocess.run(["neural-pile", "demo"], cwd=folder, env=env, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr[-3000:]
    before = set(os.listdir(folder))

    blocks = [b for b in readme_blocks() if b[0] in (RUN, RUN_WITH_TORCH)]
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    (tmp_path / "driver.py").write_text(DRIVER)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "blocks.json")],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "--- all blocks done" in output, output[-5000:]
    assert "Traceback" not in output

    # what the blocks say they write is there
    assert (folder / "motifs_1x10" / "motifs.parquet").is_file()
    assert (folder / "tok_1x10_32k" / "config.json").is_file()
    assert (folder / "sample.png").stat().st_size > 0
    assert list((folder / "neural_pile_rodent_reordered" / "figures").glob("raster_demo_train_9rows_seed0.png"))
    assert list((folder / "neural_pile_rodent" / "stats").glob("token_stats_*.json"))
    # and every folder or file they added beside the demo is one a clone's .gitignore ignores
    written = sorted(set(os.listdir(folder)) - before) + sorted(before)
    for name in written:
        probe = f"{name}/x" if (folder / name).is_dir() else name
        ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", probe], cwd=REPO)
        assert ignored.returncode == 0, f"{name} is written by the README's commands but not git-ignored"
