"""The README's benchmark section is the rendering of benchmarks/results/, and the renderer's rows
match hand-written ones for a small hand-made results folder."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_report():
    spec = importlib.util.spec_from_file_location("benchmark_report", ROOT / "benchmarks" / "report.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


report = load_report()

BUILD = {
    "cpu_count": 2,
    "binning": {
        "units": 400,
        "duration_s": 3600.0,
        "spikes": 5_240_000,
        "tokens": 72_000_000,
        "bin_spikes_s": 0.065,
        "reference_s": 1.95,
        "speedup": 30.0,
    },
    "row_loading": {"tokens": 10_000_000, "accessor_s": 0.0006, "plain_s": 0.41, "speedup": 683.3},
    "build": {
        "sessions": 3,
        "units": 200,
        "duration_s": 1200.0,
        "tokens": 36_000_000,
        "ours_tokens_per_s_per_core": 54.6e6,
        "reference_tokens_per_s_per_core": 17.4e6,
        "speedup": 3.14,
    },
}


def results_dir(tmp_path: Path, **files: dict) -> Path:
    folder = tmp_path / "results"
    folder.mkdir(parents=True)
    for name, payload in files.items():
        (folder / f"{name}.json").write_text(json.dumps(payload))
    return folder


def test_readme_benchmark_section_is_the_rendering_of_the_results():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    _, block, _ = report.split_readme(readme, ROOT / "README.md")
    assert block == report.render(ROOT / "benchmarks" / "results"), (
        "README benchmark section is stale: run `python benchmarks/report.py --write`"
    )


def test_hand_made_results_render_as_hand_written_rows(tmp_path):
    folder = results_dir(
        tmp_path,
        build=BUILD,
        machine={
            "cpu": "Test CPU",
            "cores": 2,
            "date": "2026-01-02",
            "load_average_1min": 3.5,
            "load_average_1min_end": 4.3,
        },
    )
    text = report.render(folder)
    lines = text.splitlines()
    assert (
        "| binning, 400 units x 1 h, 5.24M spikes (`bench_build.py`) | 65 ms | 1.95 s (`numpy.histogram` per "
        "unit, `vstack`, uint8 cast) | **30x** | 30x |"
    ) in lines
    assert (
        "| row loading, 10M-token row (`bench_build.py`) | 600 us (`spike_counts_array`) | 410 ms "
        '(`np.array(ds[i]["spike_counts"])`) | **683x** | 100x |'
    ) in lines
    assert (
        "| whole build, NWB -> Parquet folder, 3 x 200 units x 20 min (`bench_build.py`) | 54.6M tokens/s/core "
        "| 17.4M tokens/s/core (`to_dataframe`, histogram, `from_generator(writer_batch_size=1)`, `to_parquet`) "
        "| **3.14x** | 10x |"
    ) in lines
    flat = " ".join(text.split())  # prose is wrapped at 100 columns
    assert "Run on 2026-01-02, on 2 cores (Test CPU) shared with other work (1-minute load average 3.5-4.3)" in flat
    # only the missed goal is explained
    missed = flat[flat.index("Where a goal is missed") :]
    assert "**Whole build (3.14x of 10x).**" in missed
    assert "Binning" not in missed and "Row loading" not in missed


def test_a_missing_results_file_is_not_measured_never_a_number(tmp_path):
    text = report.render(results_dir(tmp_path, build=BUILD))
    for section in report.SECTIONS[1:]:
        assert (
            f"| {section.what} (`{section.script}`) | not measured (run `python benchmarks/{section.script}`) |" in text
        )
    assert "The machine was not recorded" in text
    empty = report.render(results_dir(tmp_path / "empty"))
    assert (
        "| binning, row loading, whole build (`bench_build.py`) | not measured (run `python benchmarks/bench_build.py`) |"
        in empty
    )
    assert "Every goal that was measured is met." in empty


def test_write_then_check_touches_only_the_block(tmp_path, capsys):
    folder = results_dir(tmp_path, build=BUILD)
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{report.START}\nold numbers 1.0x\n{report.END}\n\n## after\n")
    argv = ["--results", str(folder), "--readme", str(readme)]
    assert report.main([*argv, "--check"]) == 1
    assert report.main([*argv, "--write"]) == 0
    assert readme.read_text() == f"# title\n\n{report.START}\n{report.render(folder)}{report.END}\n\n## after\n"
    assert report.main([*argv, "--check"]) == 0


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{not json", "build.json: not readable JSON"),
        (json.dumps({"binning": {}}), "build.json: unexpected layout"),
    ],
)
def test_a_bad_results_file_is_one_line_and_exit_2(tmp_path, capsys, content, expected):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "build.json").write_text(content)
    assert report.main(["--results", str(folder)]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_a_readme_without_markers_is_refused(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    assert report.main(["--results", str(results_dir(tmp_path)), "--readme", str(readme), "--check"]) == 2
    assert "README.md: needs one line <!-- benchmarks:start -->" in capsys.readouterr().err


def test_every_benchmark_run_all_runs_has_a_section():
    spec = importlib.util.spec_from_file_location("benchmark_run_all", ROOT / "benchmarks" / "run_all.py")
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    written = {Path(run[run.index("--out") + 1]).name: run[0] for run in run_all.benchmark_runs("pile")}
    rendered = {section.file: section.script for section in report.SECTIONS}
    assert written == rendered


def test_reorder_ranges_render_as_a_hand_written_row(tmp_path):
    rows = [
        {"n_neurons": 200, "ours_s": 0.1, "reference_s": 0.63},
        {"n_neurons": 800, "ours_s": 0.25, "reference_s": 7.2},
    ]
    summary = {
        "total_speedup": 16.0,
        "min_speedup": 6.0,
        "rows_quality_no_worse": 2,
        "rows": 2,
        "mean_quality_ours": 0.8492,
        "mean_quality_reference": 0.8527,
    }
    text = report.render(results_dir(tmp_path, reorder={"summary": summary, "rows": rows}))
    assert (
        "| `reorder_neurons`, 200-800 neurons (`bench_reorder.py`) | 100-250 ms per row | 0.63-7.2 s (`pdist` cosine"
        " + Ward, optimal ordering) | **16x overall, 6x worst row**; adjacent cosine distance 0.8492 vs 0.8527 (no"
        " worse on 2/2 rows) | 5x |"
    ) in text.splitlines()
