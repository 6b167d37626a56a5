"""The README's Ray recipe, run as written in a fresh copy of the repository after the demo build,
beside another Ray head that must survive it; and the two address forms of ``--ray``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from builders.runtime.cluster import RayAddressError, dashboard_gcs_port, resolve_address
from ray_jobs.head import stop_head
from tests.support.ray_head import STOP_GRACE_S

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parents[1]
RECIPE_MARK = "<!-- readme-test: skip, the Ray recipe"


def readme_recipe() -> str:
    """The ``sh`` block that follows the recipe marker in the README."""
    readme = (REPO / "README.md").read_text()
    found = re.search(re.escape(RECIPE_MARK) + r"[^\n]*\n```sh\n(.*?)```", readme, re.S)
    assert found, "the README has no marked Ray recipe"
    return found.group(1)


def fresh_clone(tmp_path: Path) -> Path:
    """The repository's tracked files, a link to this venv and the demo built there (`make demo`)."""
    clone = tmp_path / "clone"
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in tracked.split():
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    (clone / ".venv").symlink_to(VENV)
    done = subprocess.run(
        [str(VENV / "bin" / "neural-pile"), "demo", "--scale", "0.02", "--num-proc", "1"],
        cwd=clone,
        capture_output=True,
        text=True,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return clone


def recipe_env(home: Path) -> dict:
    """The environment of a new shell: no Ray address or mode inherited; its own home (the token)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_") and k != "NEURAL_PILE_RAY_HEAD"}
    env.update(HOME=str(home), RAY_USAGE_STATS_ENABLED="0", DANDI_NO_ET="1")
    return env


def head_answers(folder: str, env: dict) -> bool:
    state = json.loads((Path(folder) / "head.json").read_text())
    listed = subprocess.run(
        [str(VENV / "bin" / "ray"), "job", "list", "--address", state["job_server"]],
        env={**env, "RAY_AUTH_MODE": "token"},
        capture_output=True,
        text=True,
    )
    return listed.returncode == 0


def start_other_head(env: dict) -> str:
    """Another Ray head on this machine (someone else's cluster); returns its folder."""
    started = subprocess.run(
        [sys.executable, str(REPO / "ray_jobs" / "head.py"), "start", "--num-cpus", "1", "--object-store-mb", "200"],
        env={**env, "RAY_AUTH_MODE": "token"},
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr[-2000:]
    exports = dict(re.findall(r"^export (\w+)=(.*)$", started.stdout, re.M))
    return exports["NEURAL_PILE_RAY_HEAD"]


def stop_other_head(folder: str) -> None:
    """End the other head once the test is done with it (clean-up, not under test): the recipe's own
    ``stop`` line is what the test checks, so this one skips the CLI and most of its SIGTERM grace."""
    state = json.loads((Path(folder) / "head.json").read_text())
    stop_head(state["folder"], state.get("leader_pid"), grace_s=STOP_GRACE_S)


@pytest.mark.ray
def test_the_readme_ray_recipe_runs_as_written_and_stops_only_its_own_head(tmp_path):
    home, other_home = tmp_path / "home", tmp_path / "other_home"
    home.mkdir()
    other_home.mkdir()
    env, other_env = recipe_env(home), recipe_env(other_home)
    # someone else's head, with its own token; the recipe's home has none, so its own line makes one
    subprocess.run([str(VENV / "bin" / "ray"), "get-auth-token", "--generate"], env=other_env, capture_output=True)
    clone = fresh_clone(tmp_path)
    other = start_other_head(other_env)
    try:
        # The trap only cleans up if a line fails before the recipe's own `stop`.
        script = (
            'trap \'status=$?; [ -d "${NEURAL_PILE_RAY_HEAD:-/nonexistent}" ] && '
            ".venv/bin/python ray_jobs/head.py stop; exit $status' EXIT\n"
        )
        script += "set -e\n" + readme_recipe()
        done = subprocess.run(["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True, timeout=850)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
        assert "Traceback" not in output
        assert "Ray head on this machine (authentication: token)" in output  # `eval` hides a failed start
        assert head_answers(other, other_env), "the recipe's `stop` ended another Ray head"
    finally:
        stop_other_head(other)

    import numpy as np
    import pyarrow.parquet as pq

    from tests.support.motif_counts import as_counter, brute_force
    from tokenizer.motif_table import read_motif_table
    from tokenizer.motif_tokenizer import MotifTokenizer

    pile = clone / "neural_pile_rodent"
    table = read_motif_table(clone / "motifs_demo")
    report = json.loads((pile / "build_report.json").read_text())
    assert table.metadata["configs"] == ["demo"]
    # the motifs job counted every train row of the build job's folder, exactly
    train = [
        pq.read_table(f, columns=["spike_counts"]) for f in sorted((pile / "data" / "demo").glob("train-*.parquet"))
    ]
    arrays = [np.array(row, dtype=np.uint8) for t in train for row in t.column("spike_counts").to_pylist()]
    assert table.metadata["rows"] == len(arrays) > 0
    assert as_counter(table.motifs, table.counts) == brute_force(arrays, (1, 10))
    assert table.metadata["sources"][0]["dataset"] == pile.name  # the folder's name, never its path
    assert str(clone) not in json.dumps(table.metadata)
    assert MotifTokenizer.from_pretrained(clone / "tok_demo").vocab_size == 1000
    assert list((clone / "merged" / "data").glob("train-*.parquet"))
    assert list((clone / "neural_pile_rodent_reordered" / "data").rglob("*.parquet"))
    stats = json.loads(next((pile / "stats").glob("token_stats_*.json")).read_text())
    assert stats["tokens"] == report["components"]["demo"]["tokens"]
    assert "stopped the Ray head" in output
    assert (home / ".ray" / "auth_token").is_file()  # made by the recipe's own line
    # The recipe's head is gone: nothing uses a folder that ray_jobs/head.py made and still lists.
    assert not head_left(output)


def head_left(output: str) -> bool:
    """Whether the head the recipe's output names still has processes."""
    from ray_jobs.head import processes_using

    folders = re.findall(r"stopped the Ray head of (\S+)", output)
    return any(processes_using(f) or Path(f).exists() for f in folders)


def test_a_job_server_address_maps_to_the_gcs_of_the_head_on_this_machine(tmp_path, monkeypatch):
    """A fake /proc holding one dashboard process: its ``--port`` is what the URL names, its GCS port is returned."""
    proc = tmp_path / "proc"
    argv = ["/venv/bin/python", "/venv/lib/ray/dashboard/dashboard.py", "--port=8311", "--gcs-address=10.0.0.5:7411"]
    (proc / "4242").mkdir(parents=True)
    (proc / "4242" / "cmdline").write_bytes("\0".join(argv).encode() + b"\0")
    (proc / "4243").mkdir()
    (proc / "4243" / "cmdline").write_bytes(b"/bin/sleep\x00--port=8312\x00--gcs-address=10.0.0.5:9999\x00")
    assert dashboard_gcs_port(8311, proc) == 7411
    assert dashboard_gcs_port(8312, proc) is None  # not a dashboard
    assert dashboard_gcs_port(8313, proc) is None

    import builders.runtime.cluster as cluster

    monkeypatch.setattr(cluster, "dashboard_gcs_port", lambda port: {8311: 7411}.get(port))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert resolve_address("http://127.0.0.1:8311") == "127.0.0.1:7411"
    assert resolve_address("127.0.0.1:6379") == "127.0.0.1:6379"
    assert resolve_address(None) == "local"
    monkeypatch.setenv("RAY_ADDRESS", "http://localhost:8311/")
    assert resolve_address(None) == "localhost:7411"
    monkeypatch.setenv("RAY_ADDRESS", "http://127.0.0.1:8399")
    with pytest.raises(RayAddressError, match=r"^RAY_ADDRESS http://127.0.0.1:8399: .*GCS address, HOST:6379$"):
        resolve_address(None)
    with pytest.raises(RayAddressError, match="another machine, 10.9.8.7"):
        resolve_address("http://10.9.8.7:8265")
    with pytest.raises(RayAddressError, match="not a Ray address"):
        resolve_address("http://127.0.0.1")


def test_an_unmapped_job_server_address_is_one_line_on_a_command(tmp_path):
    from tests.support.pile_folder import write_pile_folder

    write_pile_folder(tmp_path / "pile", {"demo": (1, 0)}, seed=3)
    env = {**recipe_env(tmp_path), "RAY_ADDRESS": "http://127.0.0.1:1"}  # nothing serves port 1
    done = subprocess.run(
        [str(VENV / "bin" / "neural-pile"), "stats", "--dataset", str(tmp_path / "pile"), "--ray", "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
    )
    err = done.stderr.strip()
    assert done.returncode == 2
    assert err.startswith("error: RAY_ADDRESS http://127.0.0.1:1: that is a job-server address") and "\n" not in err


def test_a_head_counts_as_started_only_when_its_job_server_lists_jobs(tmp_path):
    """The readiness probe of ``head.py start``: a closed port and an HTTP server that is no Ray
    job server (every path 404) are both "not yet"."""
    from ray_jobs.head import free_port, job_server_answers
    from tests.support.loopback import FileServer

    assert not job_server_answers(f"http://127.0.0.1:{free_port()}")
    with FileServer(tmp_path) as server:  # an empty folder: /api/version and /api/jobs/ are 404
        assert not job_server_answers(server.url)
        assert server.requests  # the probe did reach it
