"""Stream items name the row they were cut from (also under a filtering config), carry every row
label, cut windows at every start the row allows, and bad splits say what to change."""

from __future__ import annotations

from itertools import islice

import numpy as np
import pyarrow.parquet as pq
import pytest

from builders.spec.counts import table_spike_counts
from builders.streams import StreamError, token_stream, window_stream
from tests.support.pile_folder import make_row
from tests.support.stream_piles import coded_row, write_reference_folder
from tokenizer.motif_tokenizer import MotifTokenizer
from tokenizer.motifs import count_motifs


@pytest.fixture(scope="module")
def mixed_folder_and_rows(tmp_path_factory):
    """Three components shuffled together into 3-row row groups; session ids repeat across
    components and subjects (``ses-0`` is in all three), so only all labels name a row."""
    rng = np.random.default_rng(5)
    rows = [
        make_row(rng, comp, f"sub-{s}", f"ses-{k}", seg, int(rng.integers(4, 12)), int(rng.integers(30, 90)))
        for comp in ("a", "b", "c")
        for s in range(2)
        for k in range(2)
        for seg in range(2)
    ]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    return write_reference_folder(tmp_path_factory.mktemp("mixed"), rows, files=2, row_group=3), rows


def stored(item: dict) -> dict:
    """The stored row an item names, read straight from its file (no filter)."""
    table = pq.ParquetFile(item["path"]).read_row_group(item["row_group"])
    row = table.slice(item["row"], 1)
    labels = row.select(["source_dataset", "subject_id", "session_id", "segment_id"]).to_pylist()[0]
    return {**labels, "spike_counts": table_spike_counts(row)[0]}


@pytest.mark.parametrize("config", ["b", "all"])
def test_items_of_a_filtered_config_name_their_stored_row(mixed_folder_and_rows, config):
    folder, rows = mixed_folder_and_rows
    items = list(window_stream(str(folder), config=config, n_neurons=3, n_bins=20, epochs=1, sampling="uniform"))
    expected = [r for r in rows if config == "all" or r["source_dataset"] == config]
    assert len(items) == len(expected)
    seen = set()
    for w in items:
        row = stored(w)
        for key in ("source_dataset", "subject_id", "session_id", "segment_id"):
            assert w[key] == row[key], key
        used, valid = w["neuron_mask"], int(w["bin_mask"].sum())
        np.testing.assert_array_equal(
            w["spike_counts"][used, :valid],
            row["spike_counts"][w["neuron_index"][used], w["bin_start"] : w["bin_start"] + valid],
        )
        seen.add((w["source_dataset"], w["subject_id"], w["session_id"], w["segment_id"]))
    assert seen == {(r["source_dataset"], r["subject_id"], r["session_id"], r["segment_id"]) for r in expected}
    # session ids alone repeat: the labels are needed to tell the rows apart
    assert len({w["session_id"] for w in items}) < len(seen)


@pytest.fixture(scope="module")
def short_rows_folder(tmp_path_factory):
    """One-neuron rows of 10 + d bins, d = 0..5, one row group each (file order = d)."""

    def folder(lengths):
        rows = [coded_row("a", "s", f"ses-{d}", 0, 1, t) for d, t in enumerate(lengths)]
        return write_reference_folder(tmp_path_factory.mktemp("short"), rows, row_group=1)

    return folder


def window_starts(folder, n_bins: int, align: int, n: int = 300) -> set[int]:
    starts = set()
    for w in islice(window_stream(str(folder), n_neurons=1, n_bins=n_bins, seed=1, align=(1, align)), n):
        valid = int(w["bin_mask"].sum())
        np.testing.assert_array_equal(w["spike_counts"][0, :valid], (w["bin_start"] + np.arange(valid)) % 251)
        starts.add(w["bin_start"])
    return starts


def test_a_row_one_bin_longer_than_the_window_draws_both_starts(short_rows_folder):
    assert window_starts(short_rows_folder([11]), 10, 1) == {0, 1}
    assert window_starts(short_rows_folder([10]), 10, 1) == {0}
    assert window_starts(short_rows_folder([13]), 10, 1) == {0, 1, 2, 3}


def test_aligned_windows_start_on_every_whole_patch_the_row_allows(short_rows_folder):
    assert window_starts(short_rows_folder([15]), 10, 5) == {0, 5}  # n_bins + p_t
    for t in (11, 14):  # less than one patch longer: never fails, starts at 0
        assert window_starts(short_rows_folder([t]), 10, 5) == {0}
    assert window_starts(short_rows_folder([20]), 10, 5) == {0, 5, 10}


def test_token_windows_of_a_row_one_patch_longer_start_at_0_and_p_t(short_rows_folder):
    """One sequence = one window (1 neuron x 2 patches of 1x5: 4 tokens = seq_len + 1); the
    decoded first patch tells the window's start bin."""
    for t, expected in ((15, {0, 5}), (14, {0}), (11, {0})):
        folder = short_rows_folder([t])
        arrays = [coded_row("a", "s", "x", 0, 1, t)["spike_counts"]]
        motifs, counts = count_motifs(arrays, (1, 5), pad="zero")
        tok = MotifTokenizer.from_counts(motifs, counts, len(motifs), (1, 5))
        starts = set()
        for s in islice(token_stream(str(folder), seq_len=3, n_neurons=1, n_bins=10, tokenizer=tok, seed=2), 200):
            ids = np.append(s["input_ids"], s["labels"][-1])
            assert ids[0] == ids[2] == tok.vocab_size  # separators
            first = tok.decode(ids[1:2].reshape(1, 1), shape=(1, 5))[0]
            starts.add(int(first[0]))
            np.testing.assert_array_equal(first, (first[0] + np.arange(5)) % 251)
        assert starts == expected, t


def test_too_few_rows_for_the_ranks_says_how_many_and_what_to_change(mixed_folder_and_rows):
    folder = str(mixed_folder_and_rows[0])
    n_rows = len(mixed_folder_and_rows[1])
    with pytest.raises(StreamError) as err:
        window_stream(folder, n_neurons=3, n_bins=20, world_size=1000, sampling="uniform")
    message = str(err.value)
    assert f"has {n_rows} rows" in message and f"use world_size <= {n_rows}" in message
    assert "sampling='uniform'" not in message  # the option it already uses is not suggested
    with pytest.raises(StreamError) as err:
        window_stream(folder, n_neurons=100, n_bins=1000, world_size=3, sampling="tokens")
    message = str(err.value)
    assert "sampling='uniform'" in message and f"{n_rows} rows" in message and "split 'train'" in message
