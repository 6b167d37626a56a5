"""Edited artifacts: a tokenizer whose ``config.json`` names another patch size of the same width
is refused, naming the config, instead of encoding other ids."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.support.pile_folder import sparse_counts
from tokenizer.motif_tokenizer import CONFIG_FILE, WEIGHTS_FILE, ArtifactError, MotifTokenizer
from tokenizer.motifs import count_motifs


@pytest.fixture
def saved_tokenizer_folder_and_row(tmp_path):
    rng = np.random.default_rng(3)
    rows = [sparse_counts(rng, 12, 400) for _ in range(6)]
    motifs, counts = count_motifs(rows, (1, 10))
    tok = MotifTokenizer.from_counts(motifs, counts, 16, (1, 10))
    tok.save_pretrained(tmp_path / "tok")
    return tmp_path / "tok", tok, rows[0]


@pytest.mark.parametrize("edited", [[2, 5], [10, 1], [5, 2]])
def test_an_edited_patch_size_of_the_same_width_is_refused(edited, saved_tokenizer_folder_and_row):
    folder, tok, row = saved_tokenizer_folder_and_row
    config = json.loads((folder / CONFIG_FILE).read_text())
    (folder / CONFIG_FILE).write_text(json.dumps({**config, "patch_size": edited}))
    with pytest.raises(ArtifactError, match=r"patch_size \[.*\] does not match the 1x10 patches") as err:
        MotifTokenizer.from_pretrained(folder)
    assert str(folder / CONFIG_FILE) in str(err.value) and WEIGHTS_FILE in str(err.value)
    (folder / CONFIG_FILE).write_text(json.dumps(config))  # the config as saved loads and encodes the same ids
    np.testing.assert_array_equal(MotifTokenizer.from_pretrained(folder).encode(row), tok.encode(row))
