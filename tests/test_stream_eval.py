"""Exact-once evaluation: the union of all ranks' items rebuilds every row of the split exactly once,
every rank yields the same number of items (fillers flagged), and metrics average per component."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from builders.pile import open_pile
from builders.spec.counts import table_spike_counts
from builders.spec.schema import rows_to_table
from builders.streams import IGNORE_INDEX, StreamError, aggregate_by_component, eval_tokens, eval_windows
from tests.support.pile_folder import write_pile_folder
from tokenizer.motif_tokenizer import MotifTokenizer
from tokenizer.motifs import count_motifs

COMPONENTS = {"v2h": (2, 3), "vbn": (1, 2), "demo": (1, 1)}


@pytest.fixture(scope="module")
def pile_folder_and_rows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval_pile")
    return folder, write_pile_folder(folder, COMPONENTS, seed=8)


@pytest.fixture(scope="module")
def reference_folder(pile_folder_and_rows, tmp_path_factory):
    """The same test rows in the reference layout (five columns: shapes only from the counts), 2-row groups."""
    out = tmp_path_factory.mktemp("eval_reference")
    rows = [r for comp in pile_folder_and_rows[1].values() for r in comp["test"]]
    rows = [rows[i] for i in np.random.default_rng(1).permutation(len(rows))]
    table = rows_to_table(rows).select(["spike_counts", "subject_id", "session_id", "segment_id", "source_dataset"])
    (out / "data").mkdir()
    pq.write_table(table, out / "data" / "test-00000-of-00001.parquet", row_group_size=2)
    (out / "README.md").write_text("# reference layout\n")
    return out


def stored_rows(dataset, config) -> dict[tuple, np.ndarray]:
    """Every stored test row of ``config`` by (path, row group, stored row), read without the streams."""
    pile = open_pile(str(dataset), config=config, splits=("test",))
    out = {}
    for rg in pile.row_groups():
        table = pq.ParquetFile(rg.path).read_row_group(rg.index, columns=["spike_counts", "source_dataset"])
        for r, counts in enumerate(table_spike_counts(table)):
            if config in (None, "all") or table.column("source_dataset")[r].as_py() == config:
                out[(rg.path, rg.index, r)] = counts
    return out


def per_rank(make, world_size):
    ranks = [list(make(rank=r, world_size=world_size)) for r in range(world_size)]
    lengths = {len(items) for items in ranks}
    assert len(lengths) == 1, [len(items) for items in ranks]
    assert [len(make(rank=r, world_size=world_size)) for r in range(world_size)] == [len(ranks[0])] * world_size
    return ranks


@pytest.mark.parametrize("world_size", [1, 2, 3, 5])
@pytest.mark.parametrize("layout,config", [("package", None), ("reference", "vbn"), ("reference", "all")])
def test_the_union_of_all_ranks_windows_rebuilds_every_test_row_once(
    pile_folder_and_rows, reference_folder, layout, config, world_size
):
    dataset = pile_folder_and_rows[0] if layout == "package" else reference_folder
    expected = stored_rows(dataset, config)
    n_neurons, n_bins = 7, 64

    def make(**rank):
        return eval_windows(str(dataset), config=config, split="test", n_neurons=n_neurons, n_bins=n_bins, **rank)

    rebuilt = {key: np.full(c.shape, -1, np.int16) for key, c in expected.items()}
    fillers = 0
    for items in per_rank(make, world_size):
        for w in items:
            if w["is_filler"]:
                fillers += 1
                assert not w["spike_counts"].any() and not w["neuron_mask"].any() and not w["bin_mask"].any()
                assert w["path"] == "" and w["row"] == -1
                continue
            target = rebuilt[(w["path"], w["row_group"], w["row"])]
            used, valid = w["neuron_index"][w["neuron_mask"]], int(w["bin_mask"].sum())
            assert w["bin_mask"][:valid].all() and not w["spike_counts"][~w["neuron_mask"]].any()
            assert not w["spike_counts"][:, valid:].any()
            cells = target[used, w["bin_start"] : w["bin_start"] + valid]
            assert (cells == -1).all(), "a count is in two items"
            target[used, w["bin_start"] : w["bin_start"] + valid] = w["spike_counts"][w["neuron_mask"], :valid]
    for key, counts in expected.items():
        np.testing.assert_array_equal(rebuilt[key], counts.astype(np.int16), err_msg=str(key))
    if world_size == 5:
        assert fillers > 0  # rows of unequal sizes: some rank ends with fillers


def lossless(rows, patch_size) -> MotifTokenizer:
    motifs, counts = count_motifs(rows, patch_size, pad="zero")
    if motifs.any(axis=1).all():
        motifs = np.concatenate([motifs, np.zeros((1, motifs.shape[1]), np.uint8)])
        counts = np.concatenate([counts, [1]])
    return MotifTokenizer.from_counts(motifs, counts, len(motifs), patch_size)


@pytest.mark.parametrize("patch_size", [None, (2, 3)])
@pytest.mark.parametrize("world_size", [1, 3])
def test_the_labels_of_all_ranks_token_items_rebuild_every_test_row_once(pile_folder_and_rows, patch_size, world_size):
    expected = stored_rows(pile_folder_and_rows[0], None)
    p_n, p_t = patch_size or (1, 1)
    tok = None if patch_size is None else lossless(list(expected.values()), patch_size)
    n_neurons, seq_len = 6, 60
    step = n_neurons // p_n + 1
    separator = 256 if tok is None else tok.vocab_size

    def make(**rank):
        return eval_tokens(
            str(pile_folder_and_rows[0]), split="test", seq_len=seq_len, n_neurons=n_neurons, tokenizer=tok, **rank
        )

    rebuilt = {key: np.full(c.shape, -1, np.int16) for key, c in expected.items()}
    for items in per_rank(make, world_size):
        for s in items:
            assert s["input_ids"].shape == s["labels"].shape == (seq_len,) and s["labels"].dtype == np.int32
            if s["is_filler"]:
                assert (s["labels"] == IGNORE_INDEX).all()
                continue
            real = s["labels"] != IGNORE_INDEX
            m = len(s["bin_mask"]) // p_t * step  # the window's tokens
            assert not real[m - 1 :].any() and (s["input_ids"][m - 1 :] == separator).all()
            # labels are the inputs shifted by one wherever they are real
            inner = real[: m - 2]
            np.testing.assert_array_equal(s["input_ids"][1 : m - 1][inner], s["labels"][: m - 2][inner])
            target = rebuilt[(s["path"], s["row_group"], s["row"])]
            n, t = target.shape
            for j in np.flatnonzero(real):
                k = j + 1  # token k of the window is label j
                step_k, slot = divmod(k, step)
                if slot == 0:
                    assert s["labels"][j] == separator
                    continue
                patch = np.full((p_n, p_t), s["labels"][j], np.int64)
                if tok is not None:
                    patch = tok.decode(np.array([[s["labels"][j]]], np.int32), shape=(p_n, p_t))
                n0, t0 = s["neuron_start"] + (slot - 1) * p_n, s["bin_start"] + step_k * p_t
                inside = patch[: max(0, min(p_n, n - n0)), : max(0, min(p_t, t - t0))]
                assert not patch.sum() - inside.sum(), "a padding cell holds a count"
                assert inside.size, "a label on no cell of the row"
                cells = target[n0 : n0 + inside.shape[0], t0 : t0 + inside.shape[1]]
                assert (cells == -1).all(), "a count is the label of two positions"
                cells[...] = inside
    for key, counts in expected.items():
        np.testing.assert_array_equal(rebuilt[key], counts.astype(np.int16), err_msg=str(key))


def test_aggregate_by_component_weights_and_skips_fillers():
    items = [
        {"source_dataset": "a", "is_filler": False},
        {"source_dataset": "b", "is_filler": False},
        {"source_dataset": "a", "is_filler": False},
        {"source_dataset": "", "is_filler": True},
    ]
    means = aggregate_by_component(items, [1.0, 5.0, 4.0, 100.0], weights=[1, 2, 3, 9])
    assert means == pytest.approx({"a": (1 * 1 + 4 * 3) / 4, "b": 5.0, "all": (1 + 10 + 12) / 6})
    assert aggregate_by_component(items, [1.0, 5.0, 4.0, 100.0]) == pytest.approx({"a": 2.5, "b": 5.0, "all": 10 / 3})
    with pytest.raises(StreamError, match="4 items, 3 values"):
        aggregate_by_component(items, [1.0, 2.0, 3.0])


def test_eval_bad_input_is_one_line(pile_folder_and_rows):
    n_rows = len(stored_rows(pile_folder_and_rows[0], None))
    with pytest.raises(StreamError, match=f"has {n_rows} non-empty rows, fewer than world_size=1000"):
        eval_windows(str(pile_folder_and_rows[0]), n_neurons=4, n_bins=10, world_size=1000, rank=3)
    with pytest.raises(StreamError, match="more than seq_len"):
        eval_tokens(str(pile_folder_and_rows[0]), seq_len=20, n_neurons=8, n_bins=10)
    with pytest.raises(StreamError, match="n_bins must be a positive integer"):
        eval_windows(str(pile_folder_and_rows[0]), n_neurons=4, n_bins=0)
