"""Training streams: windows equal the rows they name, determinism, exact resume, balanced ranks, tokens."""

from __future__ import annotations

import functools
import json
from itertools import islice

import numpy as np
import pyarrow.parquet as pq
import pytest

from builders.pile import open_pile
from builders.spec.counts import table_spike_counts
from builders.spec.schema import rows_to_table
from builders.streams import StreamError, StreamStateError, token_stream, window_stream
from tests.support.pile_folder import write_pile_folder
from tokenizer.motif_tokenizer import MotifTokenizer
from tokenizer.motifs import count_motifs

COMPONENTS = {"v2h": (3, 1), "vbn": (3, 1), "demo": (1, 1)}


@pytest.fixture(scope="module")
def pile_folder_and_rows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream_pile")
    return folder, write_pile_folder(folder, COMPONENTS, seed=3)


@pytest.fixture(scope="module")
def opened_pile(pile_folder_and_rows):
    """The default config (``all``: v2h and vbn) of the folder, both splits."""
    return open_pile(pile_folder_and_rows[0], splits=None)


@pytest.fixture(scope="module")
def reference_folder(pile_folder_and_rows, tmp_path_factory):
    """The same rows in the reference layout: five columns, components shuffled together, two files
    per split of 3-row row groups (so row groups mix components), no ``configs:`` in the card."""
    folder = tmp_path_factory.mktemp("reference_pile")
    rng = np.random.default_rng(0)
    five = ["spike_counts", "subject_id", "session_id", "segment_id", "source_dataset"]
    for split in ("train", "test"):
        rows = [r for comp in pile_folder_and_rows[1].values() for r in comp[split]]
        table = rows_to_table([rows[i] for i in rng.permutation(len(rows))]).select(five)
        half = table.num_rows // 2
        for k, part in enumerate((table.slice(0, half), table.slice(half))):
            path = folder / "data" / f"{split}-{k:05d}-of-00002.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(part, path, row_group_size=3)
    (folder / "README.md").write_text("# a pile in the reference layout\n")
    return folder


def row_counts(window: dict) -> np.ndarray:
    table = pq.ParquetFile(window["path"]).read_row_group(window["row_group"], columns=["spike_counts"])
    return table_spike_counts(table)[window["row"]]


def expected_window(window: dict, n_neurons: int, n_bins: int) -> np.ndarray:
    """The window rebuilt from its row, neuron indices and start bin, one element at a time."""
    counts = row_counts(window)
    out = np.zeros((n_neurons, n_bins), np.uint8)
    for i, neuron in enumerate(window["neuron_index"]):
        for t in range(n_bins):
            if neuron >= 0 and window["bin_start"] + t < counts.shape[1]:
                out[i, t] = counts[neuron, window["bin_start"] + t]
    return out


def same_items(a: list[dict], b: list[dict]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for key in x:
            if isinstance(x[key], np.ndarray):
                if x[key].dtype != y[key].dtype or not np.array_equal(x[key], y[key]):
                    return False
            elif x[key] != y[key]:
                return False
    return True


@pytest.mark.parametrize("neurons,pad", [("block", "zero"), ("block", "tile"), ("subset", "zero")])
def test_windows_equal_the_row_slices_they_report(opened_pile, neurons, pad):
    n_neurons, n_bins = 24, 120
    windows = list(
        window_stream(opened_pile, n_neurons=n_neurons, n_bins=n_bins, seed=1, epochs=1, neurons=neurons, pad=pad)
    )
    assert windows
    padded_neurons = padded_bins = 0
    for w in windows:
        counts = row_counts(w)
        n, t = counts.shape
        assert w["spike_counts"].dtype == np.uint8 and w["spike_counts"].shape == (n_neurons, n_bins)
        np.testing.assert_array_equal(w["spike_counts"], expected_window(w, n_neurons, n_bins))
        assert 0 <= w["bin_start"] <= max(0, t - n_bins)
        assert w["bin_mask"].sum() == min(n_bins, t)
        if n >= n_neurons:
            assert w["neuron_mask"].all()
            if neurons == "block":
                np.testing.assert_array_equal(
                    w["neuron_index"], np.arange(w["neuron_start"], w["neuron_start"] + n_neurons)
                )
            else:
                assert w["neuron_start"] == -1 and np.all(np.diff(w["neuron_index"]) > 0)
        elif pad == "tile":
            padded_neurons += 1
            np.testing.assert_array_equal(w["neuron_index"], np.arange(n_neurons) % n)
            assert w["neuron_mask"].all()
        else:
            padded_neurons += 1
            np.testing.assert_array_equal(w["neuron_mask"], np.arange(n_neurons) < n)
        padded_bins += t < n_bins
        row_table = pq.ParquetFile(w["path"]).read_row_group(
            w["row_group"], columns=["session_id", "segment_id", "source_dataset"]
        )
        assert row_table.slice(w["row"], 1).to_pylist()[0] == {
            k: w[k] for k in ("session_id", "segment_id", "source_dataset")
        }
    assert padded_neurons and padded_bins  # the test pile has rows narrower and shorter than the window


def test_same_seed_same_stream_other_seed_other_stream(opened_pile):
    def take(seed):
        return list(islice(window_stream(opened_pile, n_neurons=8, n_bins=30, seed=seed), 40))

    assert same_items(take(5), take(5))
    other = take(6)
    assert not same_items(take(5), other)

    def tokens(seed):
        return list(islice(token_stream(opened_pile, seq_len=50, n_neurons=8, seed=seed), 20))

    assert same_items(tokens(5), tokens(5)) and not same_items(tokens(5), tokens(6))


def resume_check(make, cuts, total):
    """Items after restoring the state taken at each cut equal the uninterrupted stream's."""
    reference = list(islice(make(), total))
    positions = []
    for cut in cuts:
        stream = make()
        it = iter(stream)
        head = [next(it) for _ in range(cut)]
        state = json.loads(json.dumps(stream.state_dict()))  # JSON-able
        positions.append(state["position"])
        restored = make()
        restored.load_state_dict(state)
        tail = list(islice(restored, total - cut))
        assert same_items(head + tail, reference), f"cut at {cut}"
    return positions


def test_window_stream_resumes_exactly_at_several_cuts_also_mid_row(opened_pile):
    make = functools.partial(window_stream, opened_pile, n_neurons=8, n_bins=40, seed=2, epochs=2)
    length = make().epoch_length()
    assert len(make()) == 2 * length
    positions = resume_check(make, [0, 1, 7, length // 2, length - 1, length + 3, 2 * length], 2 * length)
    # cut inside a row group (an open piece past its first row or draw) and after a wrap (pieces of the
    # second cycle opened)
    assert any(row > 0 or draw > 0 for p in positions for _, row, draw in p["slots"])
    n_groups = len([rg for rg in opened_pile.row_groups() if rg.split == "train"])
    assert any(p["next_piece"] > n_groups for p in positions)


def test_token_stream_resumes_exactly_mid_sequence_and_mid_window(opened_pile):
    tok = lossless_tokenizer(opened_pile, (2, 5))
    make = functools.partial(token_stream, opened_pile, seq_len=37, n_neurons=8, n_bins=60, tokenizer=tok, seed=4)
    positions = resume_check(make, [0, 1, 2, 5, 13, 40], 60)
    assert any(p["offset"] > 0 for p in positions)  # the next sequence starts inside a window


def test_every_rank_gets_the_same_count_and_ranks_see_disjoint_rows(opened_pile):
    n_row_groups = len([rg for rg in opened_pile.row_groups() if rg.split == "train"])
    for world_size in (1, 2, 3, n_row_groups + 2):
        counts, rows = [], []
        for rank in range(world_size):
            stream = window_stream(
                opened_pile,
                n_neurons=8,
                n_bins=30,
                seed=0,
                rank=rank,
                world_size=world_size,
                epochs=1,
                sampling="uniform",
            )
            items = list(stream)
            counts.append(len(items))
            assert len(items) == len(stream)
            rows.append({(w["path"], w["row_group"], w["row"]) for w in items})
        assert len(set(counts)) == 1, counts
        total_rows = sum(rg.num_rows for rg in opened_pile.row_groups() if rg.split == "train")
        assert counts[0] == total_rows // world_size
        for a in range(world_size):
            for b in range(a + 1, world_size):
                assert not rows[a] & rows[b]
        tokens = [
            len(
                list(
                    token_stream(opened_pile, seq_len=40, n_neurons=8, seed=0, rank=r, world_size=world_size, epochs=1)
                )
            )
            for r in range(world_size)
        ]
        assert len(set(tokens)) == 1 and tokens[0] > 0


def test_uniform_epoch_visits_every_row_once_on_one_rank(opened_pile):
    items = list(window_stream(opened_pile, n_neurons=4, n_bins=10, seed=0, epochs=1, sampling="uniform"))
    seen = [(w["path"], w["row_group"], w["row"]) for w in items]
    expected = {
        (rg.path, rg.index, r) for rg in opened_pile.row_groups() if rg.split == "train" for r in range(rg.num_rows)
    }
    assert len(seen) == len(expected) and set(seen) == expected


def lossless_tokenizer(opened_pile, patch_size, arrays=None) -> MotifTokenizer:
    """A tokenizer whose vocabulary holds every motif of ``arrays`` (default: the pile's rows)."""
    if arrays is None:
        arrays = [a for rg in opened_pile.row_groups() for a in table_spike_counts(opened_pile.read(rg))]
    motifs, counts = count_motifs(arrays, patch_size, pad="zero")
    if motifs.any(axis=1).all():
        motifs = np.concatenate([motifs, np.zeros((1, motifs.shape[1]), np.uint8)])
        counts = np.concatenate([counts, [1]])
    return MotifTokenizer.from_counts(motifs, counts, len(motifs), patch_size)


@pytest.mark.parametrize("patch_size", [None, (1, 5), (2, 3)])
def test_tokens_decode_back_to_the_windows(opened_pile, patch_size):
    p_n, p_t = patch_size or (1, 1)
    n_neurons, n_bins, seq_len = 8, 12 * p_t, 45
    aligned = window_stream(opened_pile, n_neurons=n_neurons, n_bins=n_bins, seed=9, align=(p_n, p_t))
    window_list = list(islice(aligned, 60))
    assert all(w["bin_start"] % p_t == 0 and w["neuron_start"] % p_n == 0 for w in window_list)
    # lossless on these windows: the vocabulary is every motif of their whole time steps
    seen = [w["spike_counts"][:, : int(w["bin_mask"].sum()) // p_t * p_t] for w in window_list]
    tok = None if patch_size is None else lossless_tokenizer(opened_pile, patch_size, [a for a in seen if a.shape[1]])
    seqs = list(
        islice(
            token_stream(opened_pile, seq_len=seq_len, n_neurons=n_neurons, n_bins=n_bins, tokenizer=tok, seed=9), 30
        )
    )
    silent = 0 if tok is None else tok.zero_id  # the id of a padding patch (its label is -100)
    flat = np.concatenate(
        [np.append(s["input_ids"], s["labels"][-1] if s["labels"][-1] >= 0 else silent) for s in seqs]
    )
    for s in seqs:
        assert s["input_ids"].dtype == np.int32 and s["input_ids"].shape == (seq_len,)
        real = s["labels"][:-1] >= 0
        np.testing.assert_array_equal(s["input_ids"][1:][real], s["labels"][:-1][real])
        assert (s["input_ids"][1:][~real] == silent).all()
    separator = 256 if tok is None else tok.vocab_size
    step = n_neurons // p_n + 1
    used = 0
    for w in window_list:
        steps = int(w["bin_mask"].sum()) // p_t
        if used + steps * step > len(flat):
            break
        part = flat[used : used + steps * step].reshape(steps, step)
        assert np.all(part[:, 0] == separator)
        grid = part[:, 1:].T
        back = grid.astype(np.uint8) if tok is None else tok.decode(grid, shape=(n_neurons, steps * p_t))
        np.testing.assert_array_equal(back, w["spike_counts"][:, : steps * p_t])
        used += steps * step
    assert used > len(flat) - step * 12 * 2  # the windows accounted for all but the last window's tokens


def test_a_state_of_other_arguments_is_refused_naming_the_argument(opened_pile):
    state = window_stream(opened_pile, n_neurons=8, n_bins=30, seed=0).state_dict()
    for change, name in [
        (dict(seed=1), "seed"),
        (dict(n_bins=31), "n_bins"),
        (dict(rank=1, world_size=2), "rank"),
        (dict(sampling="uniform"), "sampling"),
    ]:
        args = dict(n_neurons=8, n_bins=30, seed=0) | change
        with pytest.raises(StreamStateError, match=f"saved with {name}="):
            window_stream(opened_pile, **args).load_state_dict(state)
    with pytest.raises(StreamStateError, match="'windows' stream, this is a 'tokens' stream"):
        token_stream(opened_pile, seq_len=40, n_neurons=8).load_state_dict(state)
    with pytest.raises(StreamStateError, match="not a stream state_dict"):
        window_stream(opened_pile, n_neurons=8, n_bins=30).load_state_dict({"position": 3})
    tok = lossless_tokenizer(opened_pile, (1, 5))
    tstate = token_stream(opened_pile, seq_len=40, n_neurons=8, n_bins=25, tokenizer=tok).state_dict()
    with pytest.raises(StreamStateError, match="saved with tokenizer="):
        token_stream(opened_pile, seq_len=40, n_neurons=8, n_bins=25).load_state_dict(tstate)


def test_bad_arguments_are_clear_errors(opened_pile):
    tok = lossless_tokenizer(opened_pile, (2, 5))
    cases = [
        (lambda: window_stream(opened_pile, n_neurons=0, n_bins=10), "n_neurons must be a positive integer"),
        (lambda: window_stream(opened_pile, n_neurons=4, n_bins=0), "n_bins must be a positive integer"),
        (lambda: window_stream(opened_pile, n_neurons=4, n_bins=10, rank=2, world_size=2), "rank must be"),
        (
            lambda: window_stream(opened_pile, n_neurons=4, n_bins=10, split="validation"),
            "split 'validation' has no rows",
        ),
        (lambda: window_stream(opened_pile, n_neurons=4, n_bins=10, sampling="random"), "sampling must be one of"),
        (lambda: window_stream(opened_pile, n_neurons=4, n_bins=10, seed=-1), "seed must be a non-negative integer"),
        (
            lambda: token_stream(opened_pile, seq_len=10**6, n_neurons=8, n_bins=10, sampling="uniform"),
            "fewer than one sequence",
        ),
        (lambda: token_stream(opened_pile, seq_len=8, n_neurons=8), "shorter than one time step"),
        (
            lambda: token_stream(opened_pile, seq_len=64, n_neurons=7, tokenizer=tok),
            "not a multiple of the tokenizer's patch height 2",
        ),
        (
            lambda: token_stream(opened_pile, seq_len=64, n_neurons=8, n_bins=12, tokenizer=tok),
            "not a multiple of the tokenizer's patch width 5",
        ),
        (
            lambda: window_stream(opened_pile, n_neurons=4, n_bins=10, world_size=10_000, sampling="uniform"),
            "fewer than one per rank",
        ),
    ]
    for make, message in cases:
        with pytest.raises(StreamError, match=message):
            make()


def test_the_test_split_streams_only_test_rows(opened_pile):
    items = list(window_stream(opened_pile, split="test", n_neurons=4, n_bins=20, epochs=1, sampling="uniform"))
    assert items and all("-test-" in w["session_id"] for w in items)


def test_a_folder_path_and_a_config_open_the_pile(pile_folder_and_rows):
    folder, rows = pile_folder_and_rows
    items = list(window_stream(str(folder), config="vbn", n_neurons=4, n_bins=20, epochs=1, sampling="uniform"))
    assert len(items) == len(rows["vbn"]["train"]) and {w["source_dataset"] for w in items} == {"vbn"}
    with pytest.raises(StreamError, match="no config 'nope'"):
        window_stream(str(folder), config="nope", n_neurons=4, n_bins=20)


def test_reference_layout_component_rows_only(reference_folder, pile_folder_and_rows):
    rows = pile_folder_and_rows[1]["vbn"]["train"]
    stream = window_stream(
        str(reference_folder), config="vbn", n_neurons=6, n_bins=25, seed=3, epochs=1, sampling="uniform"
    )
    items = list(stream)
    assert len(items) == len(rows)  # counted through the source_dataset column, not the footers
    assert {w["source_dataset"] for w in items} == {"vbn"}
    assert {(w["session_id"], w["segment_id"]) for w in items} == {(r["session_id"], r["segment_id"]) for r in rows}
    by_label = {(r["session_id"], r["segment_id"]): r["spike_counts"] for r in rows}
    for w in items:
        counts = by_label[(w["session_id"], w["segment_id"])]
        used = w["neuron_mask"]
        valid = int(w["bin_mask"].sum())
        np.testing.assert_array_equal(
            w["spike_counts"][used, :valid], counts[w["neuron_index"][used], w["bin_start"] : w["bin_start"] + valid]
        )
    seqs = list(token_stream(str(reference_folder), config="vbn", seq_len=30, n_neurons=6, epochs=1))
    assert seqs and len(seqs) == len(
        token_stream(str(reference_folder), config="vbn", seq_len=30, n_neurons=6, epochs=1)
    )


def test_sample_command_prints_windows_and_sequences_and_saves_a_picture(pile_folder_and_rows, tmp_path, capsys):
    from builders.cli.main import main

    out = tmp_path / "sample.png"
    assert (
        main(
            [
                "sample",
                "--dataset",
                str(pile_folder_and_rows[0]),
                "--n-neurons",
                "8",
                "--seq-len",
                "60",
                "-n",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "separator 256" in printed and printed.count("segment_") == 2
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["sample", "--dataset", str(pile_folder_and_rows[0]), "--n-neurons", "8", "--seq-len", "3"]) == 2
    assert "shorter than one time step" in capsys.readouterr().err


def test_dataloader_workers_share_the_rank_and_resume_per_worker(opened_pile):
    """With torch: DataLoader workers split the rank's rows and its epoch; StatefulDataLoader
    (torchdata) keeps each worker's state_dict and a restored loader continues exactly."""
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    make = functools.partial(window_stream, opened_pile, n_neurons=4, n_bins=10, seed=0, epochs=1, sampling="uniform")
    loader = DataLoader(make(), batch_size=None, num_workers=2)
    seen = [(w["path"], int(w["row_group"]), int(w["row"])) for w in loader]
    expected = {
        (rg.path, rg.index, r) for rg in opened_pile.row_groups() if rg.split == "train" for r in range(rg.num_rows)
    }
    assert len(seen) == make().epoch_length(2) == len(expected) and set(seen) == expected

    stateful = pytest.importorskip("torchdata.stateful_dataloader")
    tokens = functools.partial(token_stream, opened_pile, seq_len=30, n_neurons=8, seed=1)

    def batches(loader, n):
        return [b["input_ids"] for b in islice(loader, n)]

    reference = batches(stateful.StatefulDataLoader(tokens(), batch_size=3, num_workers=2), 12)
    first = stateful.StatefulDataLoader(tokens(), batch_size=3, num_workers=2)
    it = iter(first)
    head = [next(it)["input_ids"] for _ in range(5)]
    state = first.state_dict()
    second = stateful.StatefulDataLoader(tokens(), batch_size=3, num_workers=2)
    second.load_state_dict(state)
    tail = batches(second, 7)
    for a, b in zip(head + tail, reference, strict=True):
        assert torch.equal(a, b)


def test_streams_through_the_hub_stand_in_write_nothing_locally(reference_layout_repo, hub, tmp_path):
    """A reference-layout repo on the loopback Hub: windows of one component equal its rows, token
    sequences resume exactly, and no file appears in the (empty) Hugging Face home."""
    repo, written = reference_layout_repo
    rows = {(r["session_id"], r["segment_id"]): r["spike_counts"] for r in written.select("vbn", ("train",))}
    windows = list(
        window_stream(f"{repo}@main", config="vbn", n_neurons=6, n_bins=25, seed=2, epochs=1, sampling="uniform")
    )
    assert len(windows) == len(rows) and {w["source_dataset"] for w in windows} == {"vbn"}
    for w in windows:
        counts = rows[(w["session_id"], w["segment_id"])]
        used, valid = w["neuron_mask"], int(w["bin_mask"].sum())
        np.testing.assert_array_equal(
            w["spike_counts"][used, :valid], counts[w["neuron_index"][used], w["bin_start"] : w["bin_start"] + valid]
        )
    make = functools.partial(token_stream, repo, config="vbn", seq_len=40, n_neurons=8, seed=1)
    resume_check(make, [3], 8)
    home = tmp_path / "hf_home"
    written_files = [p for p in home.rglob("*") if p.is_file()] if home.exists() else []
    assert written_files == []
