"""``token_stream(layout="reference")`` gives the reference trainer's ids: its loop restated here
(``datasets`` rows in file order, ``split_dataset_by_node``, a separator row of ``vocab_size - 1``
prepended, transposed, flattened, packed into ``seq_len + 1``)."""

from __future__ import annotations

import functools
import json
from itertools import islice

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import Dataset
from datasets.distributed import split_dataset_by_node

from builders.streams import StreamError, token_stream
from tests.support.pile_folder import make_row
from tests.support.stream_piles import write_reference_folder
from tokenizer.motif_tokenizer import MotifTokenizer
from tokenizer.motifs import count_motifs


@pytest.fixture(scope="module")
def reference_folder_and_rows(tmp_path_factory):
    rng = np.random.default_rng(11)
    rows = [
        make_row(rng, comp, f"sub-{k % 3}", f"ses-{k}", 0, int(rng.integers(3, 15)), int(rng.integers(20, 70)))
        for comp in ("a", "b")
        for k in range(8)
    ]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    return write_reference_folder(tmp_path_factory.mktemp("reference_layout"), rows, files=2, row_group=3), rows


def reference_loop(folder, rank, world_size, seq_len, tokenizer=None):
    """The reference trainer's loader, restated: every sequence of the rank's rows, in order."""
    files = sorted((folder / "data").glob("train-*.parquet"))
    dataset = Dataset(pa.concat_tables([pq.read_table(f) for f in files]))
    shard = split_dataset_by_node(dataset, rank=rank, world_size=world_size)
    vocab_size = 256 if tokenizer is None else tokenizer.vocab_size + 1
    buffer: list[int] = []
    out = []
    for row in shard:
        counts = np.array(row["spike_counts"], dtype=np.uint8)
        ids = counts.astype(np.int64) if tokenizer is None else tokenizer.encode(counts)
        ids = np.vstack([np.full((1, ids.shape[1]), vocab_size - 1), ids])
        buffer.extend(ids.T.flatten().tolist())
        while len(buffer) >= seq_len + 1:
            chunk, buffer = buffer[: seq_len + 1], buffer[seq_len + 1 :]
            out.append((chunk[:-1], chunk[1:]))
    return out


def lossless(rows, patch_size):
    motifs, counts = count_motifs([r["spike_counts"] for r in rows], patch_size, pad="zero")
    if motifs.any(axis=1).all():
        motifs = np.concatenate([motifs, np.zeros((1, motifs.shape[1]), np.uint8)])
        counts = np.concatenate([counts, [1]])
    return MotifTokenizer.from_counts(motifs, counts, len(motifs), patch_size)


@pytest.mark.parametrize("world_size", [1, 2, 3])
@pytest.mark.parametrize("patch_size", [None, (2, 5)])
def test_reference_layout_unshuffled_equals_the_reference_loop(reference_folder_and_rows, world_size, patch_size):
    folder, rows = reference_folder_and_rows
    tok = None if patch_size is None else lossless(rows, patch_size)
    seq_len = 50
    expected = [reference_loop(folder, r, world_size, seq_len, tok) for r in range(world_size)]
    counts = []
    for rank in range(world_size):
        stream = token_stream(
            str(folder),
            seq_len=seq_len,
            n_neurons=None,
            tokenizer=tok,
            layout="reference",
            shuffle=False,
            rank=rank,
            world_size=world_size,
            epochs=1,
        )
        items = list(stream)
        counts.append(len(items))
        assert len(items) == len(stream)
        for got, (inputs, labels) in zip(items, expected[rank], strict=False):
            np.testing.assert_array_equal(got["input_ids"], inputs)
            np.testing.assert_array_equal(got["labels"], labels)
    # every rank yields as many as the reference's shortest rank
    assert counts == [min(len(e) for e in expected)] * world_size


def test_raw_separator_is_255_the_id_of_a_saturated_count(reference_folder_and_rows):
    item = next(
        iter(
            token_stream(
                str(reference_folder_and_rows[0]), seq_len=30, n_neurons=None, layout="reference", shuffle=False
            )
        )
    )
    assert item["input_ids"][0] == 255


def row_tokens(counts, n_neurons=None):
    ids = np.vstack([np.full((1, counts.shape[1]), 255), counts.astype(np.int64)])
    return ids.T.flatten()


def test_shuffled_rows_keep_the_reference_layout_in_a_seeded_order(reference_folder_and_rows):
    folder, rows = reference_folder_and_rows
    blocks = [row_tokens(r["spike_counts"]) for r in rows]
    make = functools.partial(token_stream, str(folder), seq_len=40, n_neurons=None, layout="reference", epochs=2)
    flat = np.concatenate([np.append(s["input_ids"], s["labels"][-1]) for s in make(seed=3)])
    orders, used = [], 0
    epoch: list[int] = []
    while used < len(flat):  # match each next block against the rows (greedy, rows are distinct)
        rest = flat[used:]
        match = [i for i, b in enumerate(blocks) if i not in epoch and np.array_equal(rest[: len(b)], b[: len(rest)])]
        assert len(match) == 1, f"no single row continues the stream at token {used}"
        epoch.append(match[0])
        used += len(blocks[match[0]])
        if len(epoch) == len(rows):
            orders.append(epoch)
            epoch = []
    assert orders and sorted(orders[0]) == list(range(len(rows)))
    assert orders[0] != list(range(len(rows)))  # shuffled
    if epoch:
        assert epoch != orders[0][: len(epoch)] or len(epoch) < 3  # the next epoch has its own order
    other = np.concatenate([np.append(s["input_ids"], s["labels"][-1]) for s in islice(make(seed=4), 5)])
    assert not np.array_equal(other, flat[: len(other)])


def test_reference_layout_resumes_exactly(reference_folder_and_rows):
    make = functools.partial(
        token_stream,
        str(reference_folder_and_rows[0]),
        seq_len=23,
        n_neurons=8,
        layout="reference",
        seed=1,
        world_size=2,
        rank=1,
    )
    reference = list(islice(make(), 40))
    for cut in (0, 1, 9, 25):
        stream = make()
        it = iter(stream)
        head = [next(it) for _ in range(cut)]
        state = json.loads(json.dumps(stream.state_dict()))
        restored = make()
        restored.load_state_dict(state)
        tail = list(islice(restored, 40 - cut))
        for a, b in zip(head + tail, reference, strict=True):
            np.testing.assert_array_equal(a["input_ids"], b["input_ids"])
            np.testing.assert_array_equal(a["labels"], b["labels"])


def test_reference_layout_bad_input(reference_folder_and_rows):
    folder = str(reference_folder_and_rows[0])
    with pytest.raises(StreamError, match="n_neurons=None .* needs layout='reference'"):
        token_stream(folder, seq_len=30, n_neurons=None)
    with pytest.raises(StreamError, match="shuffle=False needs layout='reference'"):
        token_stream(folder, seq_len=30, n_neurons=8, shuffle=False)
    with pytest.raises(StreamError, match="layout must be one of"):
        token_stream(folder, seq_len=30, n_neurons=8, layout="gpt")
    with pytest.raises(StreamError, match="fill no sequence of seq_len=100000; use a shorter seq_len or fewer ranks"):
        token_stream(folder, seq_len=100_000, n_neurons=None, layout="reference")
