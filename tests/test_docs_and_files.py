"""What the README, the dataset card and the outputs promise: imports that exist, file names and modes,
a rerun that says what it skipped, a --help for every script."""

from __future__ import annotations

import importlib
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np

from builders.cli.main import main

REPO = Path(__file__).resolve().parents[1]
IMPORT = re.compile(r"^\s*from ([\w.]+) import ([\w, ]+)", re.M)


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, re.S)


def assert_imports_exist(code: str) -> int:
    """Every ``from X import a, b`` of ``code`` names attributes X really has; returns how many."""
    checked = 0
    for module, names in IMPORT.findall(code):
        imported = importlib.import_module(module)
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(imported, name), f"from {module} import {name}"
            checked += 1
    return checked


def test_readme_snippets_import_what_exists():
    readme = (REPO / "README.md").read_text()
    assert assert_imports_exist("\n".join(python_blocks(readme))) > 0


def test_readme_names_the_tokenizer_files_and_a_local_training_command():
    from tokenizer.motif_tokenizer import WEIGHTS_FILE

    readme = (REPO / "README.md").read_text()
    assert WEIGHTS_FILE in readme and "model.safetensors" not in readme
    assert "neural-pile train-tokenizer --motifs" in readme


def test_every_output_gets_the_same_mode_whatever_its_writer(tmp_path):
    from tokenizer.motif_tokenizer import WEIGHTS_FILE, MotifTokenizer

    tok = MotifTokenizer(np.array([[0, 0], [1, 0]], np.uint8), (1, 2))
    tok.save_pretrained(tmp_path / "tok")
    mask = os.umask(0o022)
    os.umask(mask)
    expected = 0o666 & ~mask
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "tok").iterdir()}
    assert WEIGHTS_FILE in modes and set(modes.values()) == {expected}, modes


def test_pyproject_license_is_an_spdx_string():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    setuptools_pin = next(r for r in project["build-system"]["requires"] if r.startswith("setuptools"))
    assert int(setuptools_pin.split(">=")[1].split(".")[0]) >= 77  # the first setuptools reading SPDX strings


def test_cluster_script_has_a_help_and_says_which_address_it_uses(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    script = str(REPO / "ray_jobs" / "cluster.py")
    helped = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert helped.returncode == 0 and "--address" in helped.stdout and "RAY_ADDRESS" in helped.stdout
    default = subprocess.run([sys.executable, script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert "new local Ray instance" in default.stdout
    env["RAY_ADDRESS"] = "127.0.0.1:6379"
    from_env = subprocess.run([sys.executable, script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert from_env.stdout.strip() == "address: 127.0.0.1:6379 (from the RAY_ADDRESS environment variable)"
    given = subprocess.run(
        [sys.executable, script, "--address", "auto"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert given.stdout.strip() == "address: auto (from --address)"


def test_demo_rerun_reports_the_sessions_it_did_not_redo(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["demo", "--scale", "0.03", "--num-proc", "1", "--n-examples", "2"]
    assert main(args) == 0
    first = capsys.readouterr().out
    n_sessions = len(list((tmp_path / "demo_data").rglob("*.nwb")))
    assert (
        f"this run: {n_sessions} session(s) built, 0 skipped (nothing to tokenize), 0 failed, 0 already built" in first
    )
    assert main(args) == 0
    second = capsys.readouterr().out
    assert (
        f"this run: 0 session(s) built, 0 skipped (nothing to tokenize), 0 failed, {n_sessions} already built" in second
    )
    card = (tmp_path / "neural_pile_rodent" / "README.md").read_text()
    assert "from neural_pile_rodent import spike_counts_array" in card
    assert assert_imports_exist("\n".join(python_blocks(card))) > 0
