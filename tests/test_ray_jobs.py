"""The README's ``ray job submit`` commands, run as written from a folder where the demo was built."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.pile_folder import write_pile_folder
from tokenizer.motif_table import read_motif_table

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.ray


def demo_clone(tmp_path: Path) -> tuple[Path, dict]:
    """A folder holding the job scripts and a built ``neural_pile_rodent`` (what `make demo` leaves)."""
    clone = tmp_path / "clone"
    shutil.copytree(REPO / "ray_jobs", clone / "ray_jobs", ignore=shutil.ignore_patterns("__pycache__"))
    written = write_pile_folder(clone / "neural_pile_rodent", {"demo": (2, 1)}, seed=2)
    return clone, written


def test_relative_paths_inside_a_ray_job_are_refused_in_one_line(ray_head, tmp_path):
    clone, _ = demo_clone(tmp_path)
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


def test_readme_motif_job_runs_with_absolute_paths(ray_head, tmp_path):
    clone, written = demo_clone(tmp_path)
    dataset, out = clone / "neural_pile_rodent", clone / "motifs_demo"
    done = ray_head.submit(
        "ray_jobs/motifs.py",
        "--patch-size",
        "1",
        "10",
        "--dataset",
        str(dataset),
        "--config",
        "demo",
        "--out",
        str(out),
        "--quiet",
        working_dir=clone,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = read_motif_table(out)
    assert table.metadata["configs"] == ["demo"] and table.metadata["rows"] == len(written["demo"]["train"])
    assert table.metadata["sources"][0]["dataset"] == dataset.name  # the folder's name, never its path
    assert str(clone) not in json.dumps(table.metadata)
