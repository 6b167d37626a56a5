"""The import paths users call keep working across the layout change (one folder per layer).

The names are those the README and the previous release documented; each is imported in a fresh
interpreter, so a name that only resolves because another test imported its module first fails here.
"""

import ast
import subprocess
import sys

import pytest

#: Public names of ``neural_pile_rodent`` as the release before the layout change exported them.
BUILDER_EXPORTS = (
    "NeuralPileRodent",
    "NeuralPileRodentConfig",
    "MotifTokenizer",
    "window_stream",
    "token_stream",
    "eval_windows",
    "eval_tokens",
    "combine_states",
    "aggregate_by_component",
    "bin_spikes",
    "split_segments",
    "spike_counts_array",
    "iter_spike_counts",
    "table_spike_counts",
    "FEATURES",
)

#: ``from <module> import <name>`` lines that user code and the README use.
USER_IMPORTS = (
    ("builders.pile", "open_pile"),
    ("builders.pile", "Pile"),
    ("builders.pile", "PileError"),
    ("tokenizer", "MotifTokenizer"),
    ("builders.streams", "window_stream"),
    ("builders.streams", "token_stream"),
)


def fresh_import(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_every_name_the_builder_module_exported_still_imports():
    names = ", ".join(BUILDER_EXPORTS)
    done = fresh_import(
        f"from neural_pile_rodent import {names}; import neural_pile_rodent as m; print(sorted(m.__all__))"
    )
    assert done.returncode == 0, done.stderr[-800:]
    assert set(BUILDER_EXPORTS) <= set(ast.literal_eval(done.stdout))


@pytest.mark.parametrize("module, name", USER_IMPORTS)
def test_user_import_paths_still_resolve(module, name):
    done = fresh_import(f"from {module} import {name}")
    assert done.returncode == 0, f"from {module} import {name}: {done.stderr[-800:]}"


def test_the_command_runs_as_a_module_without_the_console_script():
    done = subprocess.run([sys.executable, "-m", "builders.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "usage:" in done.stdout and done.stderr == ""
