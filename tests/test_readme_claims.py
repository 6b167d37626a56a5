"""What the README and the cards say about behaviour, checked against it: the license of synthetic
data, what ``np.array`` of a row gives, the set-up's one silenced notice, no citation of a file the
repository does not hold."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from builders.cli.main import main

REPO = Path(__file__).resolve().parents[1]


def card_parts(folder: Path) -> tuple[dict, str]:
    _, front, body = (folder / "README.md").read_text().split("---", 2)
    return yaml.safe_load(front), body


def test_demo_and_merged_cards_say_what_their_license_covers(demo_recordings_dir, tmp_path):
    built, merged = tmp_path / "pile", tmp_path / "merged"
    assert main(["build", "demo", "--data-dir", str(demo_recordings_dir), "--out", str(built), "--no-progress"]) == 0
    assert main(["merge", "--in", str(built), "--out", str(merged)]) == 0
    for folder in (built, merged):
        front, body = card_parts(folder)
        assert front["license"] == "mit"
        section = body.split("## License\n\n", 1)[1].split("\n", 1)[0]
        assert section.startswith("`license: mit`: the rows are synthetic") and "no animal was recorded" in section
        assert section.endswith("so they carry the package's own license, MIT.")


def test_a_card_with_recorded_and_synthetic_rows_says_both():
    from builders.storage.card import license_section

    text = license_section("cc-by-4.0", ["demo", "peyrache"])
    assert "every recording here is CC-BY-4.0" in text and "The `demo` rows are synthetic" in text
    other = license_section("other", ["vbn", "someone-elses"])
    assert "different or unrecorded licenses" in other and "synthetic" not in other


def test_np_array_of_a_row_is_int64_as_the_readme_says(tmp_path):
    from datasets import load_dataset

    from neural_pile_rodent import spike_counts_array
    from tests.support.pile_folder import write_pile_folder

    written = write_pile_folder(tmp_path / "pile", {"demo": (1, 0)}, seed=8)
    ds = load_dataset(str(tmp_path / "pile"), "demo", split="train", cache_dir=str(tmp_path / "cache"))
    slow, fast = np.array(ds[0]["spike_counts"]), spike_counts_array(ds, 0)
    assert slow.dtype == np.int64 and fast.dtype == np.uint8
    np.testing.assert_array_equal(slow, fast)
    np.testing.assert_array_equal(fast, written["demo"]["train"][0]["spike_counts"])
    readme = (REPO / "README.md").read_text()
    assert 'np.array(ds[i]["spike_counts"])' in readme and "gives the same counts as int64" in readme


def makefile_warning_filter() -> str:
    found = re.search(
        r'PYTHONWARNINGS="([^"]+)" \\\n\t\$\(BIN\)/python -m pip install', (REPO / "Makefile").read_text()
    )
    assert found, "the Makefile's pip install line sets no PYTHONWARNINGS filter"
    return found.group(1)


def warn(message: str, env_filter: str | None) -> str:
    """stderr of a process that issues ``message`` as a warning the way setuptools does (a subclass
    of UserWarning raised from a module), under the Makefile's filter or none."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    if env_filter is not None:
        env["PYTHONWARNINGS"] = env_filter
    code = (
        "import warnings\n"
        "class BuildBackendWarning(UserWarning): pass\n"
        f"warnings.warn({message!r}, BuildBackendWarning)\n"
    )
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stderr


def test_the_set_up_silences_only_the_compat_mode_notice():
    notice = (
        "Compat editable installs\n!!\n\n        ****\n        The 'compat' editable mode is transitional and will "
        "be removed\n        in future versions of `setuptools`.\n        ****\n\n!!"
    )
    other = "Some other setuptools warning\n!!\n\n        ****\n        details\n        ****\n\n!!"
    filt = makefile_warning_filter()
    assert "transitional" in warn(notice, None)  # it does show without the filter
    assert warn(notice, filt) == ""
    assert "Some other setuptools warning" in warn(other, filt)


def test_the_readme_cites_no_file_the_repository_lacks():
    readme = (REPO / "README.md").read_text()
    tracked = set(subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split())
    cited = set(re.findall(r"`([\w./-]+\.(?:md|py|tsv|json|txt|toml))`", readme))
    local = {c for c in cited if "/" in c or c in {"DESIGN.md", "STYLE.md", "README.md", "pyproject.toml"}}
    generated = {c for c in local if c.startswith(("data/", "stats/", ".build/"))} | {"build_report.json"}
    missing = sorted(c for c in local - generated if c not in tracked and not any(t.endswith("/" + c) for t in tracked))
    assert "DESIGN.md" not in readme and missing == []


def test_a_component_a_merged_pile_lacks_is_refused_naming_its_source_values(tmp_path, capsys):
    from tests.support.pile_folder import write_pile_folder

    write_pile_folder(tmp_path / "pile", {"demo": (2, 1)}, seed=9)
    assert main(["merge", "--in", str(tmp_path / "pile"), "--out", str(tmp_path / "merged")]) == 0
    capsys.readouterr()
    for command in (["stats", "--no-progress"], ["motifs", "--patch-size", "1", "10", "--out", str(tmp_path / "m")]):
        assert main([*command, "--dataset", str(tmp_path / "merged"), "--config", "vbn"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.endswith("config 'vbn' matches nothing; configs: default; source_dataset values: demo"), err
        assert "\n" not in err
    assert not (tmp_path / "m").exists()
