"""A README ``ray job submit`` command with relative paths, from a folder where the demo was built:
refused in one line inside the job (the README's absolute-path recipe runs in tests/test_ray_recipe.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.pile_folder import write_pile_folder

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.ray


def demo_clone(tmp_path: Path) -> Path:
    """A folder holding the job scripts and a built ``neural_pile_rodent`` (what `make demo` leaves)."""
    clone = tmp_path / "clone"
    shutil.copytree(REPO / "ray_jobs", clone / "ray_jobs", ignore=shutil.ignore_patterns("__pycache__"))
    write_pile_folder(clone / "neural_pile_rodent", {"demo": (2, 1)}, seed=2)
    return clone


def test_relative_paths_inside_a_ray_job_are_refused_in_one_line(ray_head, tmp_path):
    clone = demo_clone(tmp_path)
    done = ray_head.submit(
        "ray_jobs/motifs.py",
        "--patch-size",
        "1",
        "10",
        "--dataset",
        "neural_pile_rodent",
        "--config",
        "demo",
        "--out",
        "motifs_demo",
        "--quiet",
        working_dir=clone,
    )
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "--dataset neural_pile_rodent: a relative path inside a Ray job" in output
    assert "Traceback" not in output
