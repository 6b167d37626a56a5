"""Token streams: labels are -100 exactly where a window is padding (neurons a row does not have),
restated from the windows the same draws give; the tokenizer card says so."""

from __future__ import annotations

from itertools import islice

import numpy as np
import pytest

from builders.streams import IGNORE_INDEX, token_stream, window_stream
from tests.support.pile_folder import make_row
from tests.support.stream_piles import write_reference_folder
from tokenizer.motif_tokenizer import MotifTokenizer, model_card
from tokenizer.motifs import count_motifs


@pytest.fixture(scope="module")
def narrow_folder_and_rows(tmp_path_factory):
    """Rows of 3-12 neurons: windows of 8 neurons pad the narrow ones (odd widths half-fill a 2-neuron patch)."""
    rng = np.random.default_rng(4)
    widths = [3, 10, 5, 12, 7, 4, 9, 6, 11, 3, 8, 5]
    rows = [make_row(rng, "a", "s", f"ses-{k}", 0, n, int(rng.integers(40, 90))) for k, n in enumerate(widths)]
    return write_reference_folder(tmp_path_factory.mktemp("narrow"), rows, row_group=2), rows


def tokenizer_of(rows, patch_size):
    motifs, counts = count_motifs([r["spike_counts"] for r in rows], patch_size, pad="zero")
    if motifs.any(axis=1).all():
        motifs = np.concatenate([motifs, np.zeros((1, motifs.shape[1]), np.uint8)])
        counts = np.concatenate([counts, [1]])
    return MotifTokenizer.from_counts(motifs, counts, len(motifs), patch_size)


def restated(windows, p_n, p_t, tok):
    """Tokens and their realness from the windows, one time step at a time (the layout restated)."""
    ids, real = [], []
    separator = 256 if tok is None else tok.vocab_size
    for w in windows:
        for s in range(int(w["bin_mask"].sum()) // p_t):
            ids.append(separator)
            real.append(True)
            block = w["spike_counts"][:, s * p_t : (s + 1) * p_t]
            for j in range(w["spike_counts"].shape[0] // p_n):
                patch = block[j * p_n : (j + 1) * p_n]
                ids.append(int(patch[0, 0]) if tok is None else int(tok.encode(patch)[0, 0]))
                real.append(bool(w["neuron_mask"][j * p_n : (j + 1) * p_n].any()))
    return np.array(ids), np.array(real)


@pytest.mark.parametrize("patch_size,pad", [(None, "zero"), ((2, 3), "zero"), ((2, 3), "tile")])
def test_labels_are_minus_100_exactly_at_padding(narrow_folder_and_rows, patch_size, pad):
    folder, rows = narrow_folder_and_rows
    p_n, p_t = patch_size or (1, 1)
    tok = None if patch_size is None else tokenizer_of(rows, patch_size)
    n_neurons, n_bins, seq_len, n = 8, 10 * p_t, 33, 40
    windows = list(
        islice(window_stream(str(folder), n_neurons=n_neurons, n_bins=n_bins, seed=3, pad=pad, align=(p_n, p_t)), 80)
    )
    ids, real = restated(windows, p_n, p_t, tok)
    seqs = list(
        islice(
            token_stream(
                str(folder), seq_len=seq_len, n_neurons=n_neurons, n_bins=n_bins, tokenizer=tok, seed=3, pad=pad
            ),
            n,
        )
    )
    assert len(ids) >= n * (seq_len + 1)
    for k, s in enumerate(seqs):
        chunk, mask = (
            ids[k * (seq_len + 1) : (k + 1) * (seq_len + 1)],
            real[k * (seq_len + 1) : (k + 1) * (seq_len + 1)],
        )
        np.testing.assert_array_equal(s["input_ids"], chunk[:-1])
        np.testing.assert_array_equal(s["labels"], np.where(mask[1:], chunk[1:], IGNORE_INDEX))
    masked = sum(int((s["labels"] == IGNORE_INDEX).sum()) for s in seqs)
    assert (masked > 0) == (pad == "zero")  # narrow rows pad only with pad="zero"


def test_the_tokenizer_card_states_the_padding_label(narrow_folder_and_rows):
    card = model_card(tokenizer_of(narrow_folder_and_rows[1], (2, 3)))
    assert "**-100**" in card and "cross_entropy" in card
