"""The streams in a real torch DataLoader (run by ``make test-torch``, which installs torch and
torchdata in their own venv; skipped where torch is not installed)."""

from __future__ import annotations

import functools
from itertools import islice

import numpy as np
import pytest

from builders.streams import eval_windows, token_stream, window_stream
from tests.support.pile_folder import write_pile_folder

torch = pytest.importorskip("torch")
stateful = pytest.importorskip("torchdata.stateful_dataloader")
from torch.utils.data import DataLoader  # noqa: E402


@pytest.fixture(scope="module")
def pile_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("torch_pile")
    write_pile_folder(folder, {"v2h": (4, 2), "vbn": (4, 2)}, seed=5)
    return str(folder)


def keys(batch) -> list[tuple]:
    return list(zip(batch["path"], batch["row_group"].tolist(), batch["row"].tolist(), batch["bin_start"].tolist()))


def test_stateful_loader_two_workers_resumes_mid_epoch_to_exactly_one_epoch(pile_folder):
    make = functools.partial(window_stream, pile_folder, n_neurons=4, n_bins=10, seed=3, epochs=1, sampling="uniform")
    loader = functools.partial(stateful.StatefulDataLoader, batch_size=4, num_workers=2)
    whole = [k for b in loader(make()) for k in keys(b)]
    assert len(whole) == make().epoch_length(2)
    first = loader(make())
    it = iter(first)
    head = [k for _ in range(3) for k in keys(next(it))]
    state = first.state_dict()
    second = loader(make())
    second.load_state_dict(state)
    tail = [k for b in second for k in keys(b)]
    assert head + tail == whole  # element for element: none twice, none skipped


def test_eval_windows_two_workers_give_the_rank_items_once(pile_folder):
    for rank in range(2):
        plain = [
            (w["path"], w["row"], w["neuron_start"], w["bin_start"])
            for w in eval_windows(pile_folder, n_neurons=4, n_bins=30, rank=rank, world_size=2)
        ]
        loader = DataLoader(
            eval_windows(pile_folder, n_neurons=4, n_bins=30, rank=rank, world_size=2), batch_size=None, num_workers=2
        )
        seen = [(w["path"], int(w["row"]), int(w["neuron_start"]), int(w["bin_start"])) for w in loader]
        assert sorted(seen) == sorted(plain) and len(seen) == len(plain)


def test_token_batches_are_tensors_with_ignored_padding(pile_folder):
    loader = DataLoader(token_stream(pile_folder, seq_len=100, n_neurons=48, seed=0), batch_size=8, num_workers=2)
    batch = next(iter(loader))
    assert batch["input_ids"].shape == (8, 100) and batch["labels"].dtype == torch.int32
    logits = torch.zeros(8 * 100, 257)
    loss = torch.nn.functional.cross_entropy(logits, batch["labels"].reshape(-1).long())
    assert torch.isfinite(loss)  # -100 labels are ignored, not an index error
    assert (batch["labels"] == -100).any()  # rows narrower than 48 neurons are padded
    reference = list(islice(token_stream(pile_folder, seq_len=40, n_neurons=48, seed=0, layout="reference"), 3))
    assert all(np.asarray(r["input_ids"]).shape == (40,) for r in reference)


def test_stateful_loaders_of_2_ranks_continue_on_3_ranks_with_workers(pile_folder):
    """Elastic restore: the loader states of 2 ranks x 2 workers, combined, continue on 3 ranks x 2
    workers; the items before and after are the epoch's items, none twice."""
    from collections import Counter

    from builders.streams import combine_states

    make = functools.partial(window_stream, pile_folder, n_neurons=4, n_bins=10, seed=3, epochs=1, sampling="uniform")
    epoch = Counter(
        k
        for r in range(2)
        for b in DataLoader(make(rank=r, world_size=2), batch_size=4, num_workers=2)
        for k in keys(b)
    )
    before, states = [], []
    for r in range(2):
        loader = stateful.StatefulDataLoader(make(rank=r, world_size=2), batch_size=2, num_workers=2)
        it = iter(loader)
        before += [k for _ in range(3) for k in keys(next(it))]
        states.append(loader.state_dict())
    combined = combine_states(states)
    after = []
    for r in range(3):
        stream = make(rank=r, world_size=3)
        stream.load_state_dict(combined)
        after.append([k for b in DataLoader(stream, batch_size=2, num_workers=2) for k in keys(b)])
    assert len({len(a) for a in after}) == 1
    seen = Counter(before) + Counter(k for a in after for k in a)
    assert not seen - epoch
    assert sum((epoch - seen).values()) == (sum(epoch.values()) - len(before)) % 3
