"""MotifTokenizer: vocabulary rules, exact round trip, cosine-nearest mapping vs brute force, save/load, refused artifacts."""

from __future__ import annotations

import json
import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.support.pile_folder import sparse_counts
from tokenizer.motif_table import MotifTable, write_motif_table
from tokenizer.motif_tokenizer import CONFIG_FILE, WEIGHTS_FILE, ArtifactError, MotifTokenizer
from tokenizer.motifs import count_motifs

REPO = Path(__file__).resolve().parents[1]

PATCH_SIZES = [(1, 5), (1, 10), (2, 5), (3, 4)]


def training_arrays(seed: int = 0):
    rng = np.random.default_rng(seed)
    return [sparse_counts(rng, int(rng.integers(4, 20)), int(rng.integers(100, 600))) for _ in range(12)]


def brute_nearest(query, vocab) -> tuple[float, list[int]]:
    """Best cosine over non-silent vocabulary rows, and every id reaching it (Python floats)."""
    q = [float(v) for v in query]
    qn = math.sqrt(sum(v * v for v in q))
    scores = {}
    for i, row in enumerate(vocab):
        r = [float(v) for v in row]
        rn = math.sqrt(sum(v * v for v in r))
        if rn > 0:
            scores[i] = sum(a * b for a, b in zip(q, r)) / (qn * rn)
    best = max(scores.values())
    return best, [i for i, s in scores.items() if s >= best - 1e-12]


def to_grid(patches: np.ndarray, grid, patch_size) -> np.ndarray:
    """Counts array whose patches, in grid order, are ``patches`` (brute-force assembly)."""
    (g_n, g_t), (p_n, p_t) = grid, patch_size
    out = np.zeros((g_n * p_n, g_t * p_t), np.uint8)
    for k, patch in enumerate(patches):
        r, c = divmod(k, g_t)
        out[r * p_n : (r + 1) * p_n, c * p_t : (c + 1) * p_t] = patch.reshape(p_n, p_t)
    return out


@pytest.fixture(scope="module", params=PATCH_SIZES, ids=lambda p: f"{p[0]}x{p[1]}")
def trained_tokenizer_and_counts(request):
    patch_size = request.param
    motifs, counts = count_motifs(training_arrays(), patch_size)
    k = min(40, len(motifs) - 5)
    return MotifTokenizer.from_counts(motifs, counts, k, patch_size), motifs, counts, k


def test_vocabulary_is_exactly_the_k_most_frequent(trained_tokenizer_and_counts):
    tok, motifs, counts, k = trained_tokenizer_and_counts
    assert tok.vocab_size == k == len(tok.vocab)
    np.testing.assert_array_equal(tok.vocab, motifs[:k])  # silent motif is the most frequent here
    assert tok.zero_id == 0 and not tok.vocab[0].any()
    assert len(tok.known_motifs) == len(motifs) - k


def test_in_vocabulary_motifs_round_trip_exactly(trained_tokenizer_and_counts):
    tok, _, _, k = trained_tokenizer_and_counts
    rng = np.random.default_rng(1)
    picks = tok.vocab[rng.integers(0, k, 7 * 9)]
    counts = to_grid(picks, (7, 9), tok.patch_size)
    ids = tok.encode(counts)
    assert ids.shape == (7, 9) and ids.dtype == np.int32
    np.testing.assert_array_equal(tok.decode(ids, shape=counts.shape), counts)
    np.testing.assert_array_equal(tok.vocab[ids.ravel()], picks)
    assert tok.lossless_fraction == 1.0


def test_known_and_unseen_motifs_map_to_cosine_nearest(trained_tokenizer_and_counts):
    tok, motifs, _, k = trained_tokenizer_and_counts
    width = motifs.shape[1]
    rng = np.random.default_rng(2)
    unseen = rng.integers(0, 6, (60, width)).astype(np.uint8)
    unseen[:, 0] = 7  # value 7 at position 0 never occurs in sparse training data: not in the table
    queries = np.concatenate([motifs[k:][:40], unseen])
    counts = to_grid(queries, (1, len(queries)), tok.patch_size)
    ids, stats = tok.encode_with_stats(counts)
    assert stats.lossless == 0 and stats.searched == len(unseen)
    loud = rng.integers(0, 256, (30, width)).astype(np.uint8)  # values too large to pack: bytewise keys
    loud[:, 0] = 255
    loud_ids, loud_stats = tok.encode_with_stats(to_grid(loud, (1, len(loud)), tok.patch_size))
    assert loud_stats.searched == len(loud)
    # the in-vocabulary and known motifs are found through the bytewise keys too
    mixed = np.concatenate([loud[:1], tok.vocab[1:], motifs[k:][:20]])
    mixed_ids, mixed_stats = tok.encode_with_stats(to_grid(mixed, (1, len(mixed)), tok.patch_size))
    np.testing.assert_array_equal(mixed_ids.ravel()[1 : len(tok.vocab)], np.arange(1, len(tok.vocab)))
    assert mixed_stats.lossless == len(tok.vocab) - 1 and mixed_stats.searched == 1
    for query, got in zip(
        np.concatenate([queries, loud, motifs[k:][:20]]),
        np.concatenate([ids.ravel(), loud_ids.ravel(), mixed_ids.ravel()[len(tok.vocab) :]]),
    ):
        best, ties = brute_nearest(query, tok.vocab)
        assert got != tok.zero_id
        assert got in ties, (query, got, ties)


def test_silent_maps_only_to_itself_and_zero_is_forced_into_vocab():
    rng = np.random.default_rng(4)
    busy = [np.maximum(sparse_counts(rng, 6, 300), rng.integers(0, 2, (6, 300)).astype(np.uint8) * 3) for _ in range(3)]
    busy.append(np.zeros((1, 10), np.uint8))  # one silent 1x5 patch pair: rare
    motifs, counts = count_motifs(busy, (1, 5))
    silent_rank = int(np.flatnonzero(~motifs.any(axis=1))[0])
    k = 10
    assert silent_rank >= k
    tok = MotifTokenizer.from_counts(motifs, counts, k, (1, 5))
    assert tok.vocab_size == k
    np.testing.assert_array_equal(tok.vocab[: k - 1], motifs[: k - 1])
    assert not tok.vocab[k - 1].any() and tok.zero_id == k - 1
    assert not np.any(tok.known_ids == tok.zero_id)  # no non-silent motif maps to silence
    ids = tok.encode(np.zeros((3, 12), np.uint8))
    np.testing.assert_array_equal(ids, np.full((3, 3), tok.zero_id))
    nothing_silent = motifs[motifs.any(axis=1)]
    tok2 = MotifTokenizer.from_counts(nothing_silent, counts[: len(nothing_silent)], 5, (1, 5))
    assert tok2.vocab_size == 5 and tok2.zero_id == 4 and not tok2.vocab[4].any()


def test_encode_pads_to_whole_patches_and_reports_lossless_share(trained_tokenizer_and_counts):
    tok, _, _, _ = trained_tokenizer_and_counts
    p_n, p_t = tok.patch_size
    rng = np.random.default_rng(5)
    counts = sparse_counts(rng, 3 * p_n + 1, 11 * p_t + 3)
    tok.reset_stats()
    ids = tok.encode(counts)
    assert ids.shape == (4, 12)
    back = tok.decode(ids, shape=counts.shape)
    assert back.shape == counts.shape
    padded = np.zeros((4 * p_n, 12 * p_t), np.uint8)
    padded[: counts.shape[0], : counts.shape[1]] = counts
    vocab_rows = {row.tobytes() for row in tok.vocab}
    in_vocab = [
        padded[r * p_n : (r + 1) * p_n, c * p_t : (c + 1) * p_t].tobytes() in vocab_rows
        for r in range(4)
        for c in range(12)
    ]
    assert tok.stats.patches == 48 and tok.stats.lossless == sum(in_vocab)
    assert tok.lossless_fraction == pytest.approx(sum(in_vocab) / 48)
    exact = np.array(in_vocab).reshape(4, 12)
    for r in range(4):
        for c in range(12):
            same = np.array_equal(
                tok.decode(ids[r : r + 1, c : c + 1]), padded[r * p_n : (r + 1) * p_n, c * p_t : (c + 1) * p_t]
            )
            assert same == exact[r, c]
    with pytest.raises(ValueError, match="does not fit"):
        tok.decode(ids, shape=(counts.shape[0] + p_n, counts.shape[1]))
    with pytest.raises(ValueError, match=r"ids must lie"):
        tok.decode(np.full((1, 1), tok.vocab_size))


def test_train_from_table_folder_and_too_large_k(tmp_path):
    motifs, counts = count_motifs(training_arrays(3), (1, 10))
    meta = {"patch_size": [1, 10], "pad": "drop", "dataset": "demo-test", "splits": ["train"], "rows": 12}
    write_motif_table(tmp_path / "motifs", MotifTable(motifs, counts, meta))
    tok = MotifTokenizer.train(tmp_path / "motifs", 25)
    assert tok.vocab_size == 25 and tok.training.dataset == "demo-test"
    assert tok.training.in_vocab_share == pytest.approx(counts[:25].sum() / counts.sum())
    with pytest.raises(ValueError, match="vocab_size"):
        MotifTokenizer.train(tmp_path / "motifs", len(motifs) + 1)


def test_save_load_round_trip(trained_tokenizer_and_counts, tmp_path):
    tok = trained_tokenizer_and_counts[0]
    tok.save_pretrained(tmp_path / "tok")
    names = sorted(p.name for p in (tmp_path / "tok").iterdir())
    assert names == sorted([CONFIG_FILE, WEIGHTS_FILE, "README.md"])
    config = json.loads((tmp_path / "tok" / CONFIG_FILE).read_text())
    assert config["vocab_size"] == tok.vocab_size and config["patch_size"] == list(tok.patch_size)
    back = MotifTokenizer.from_pretrained(tmp_path / "tok")
    for name in ("vocab", "vocab_counts", "known_motifs", "known_ids"):
        np.testing.assert_array_equal(getattr(back, name), getattr(tok, name))
    counts = sparse_counts(np.random.default_rng(6), 9, 257)
    np.testing.assert_array_equal(back.encode(counts), tok.encode(counts))
    assert "MotifTokenizer.from_pretrained" in (tmp_path / "tok" / "README.md").read_text()


def test_capped_known_motifs_give_the_same_ids_and_a_smaller_artifact(trained_tokenizer_and_counts, tmp_path):
    tok, motifs, counts, k = trained_tokenizer_and_counts
    cap = 3
    capped = MotifTokenizer.from_counts(motifs, counts, k, tok.patch_size, max_known=cap)
    oov = len(motifs) - k
    assert len(tok.known_motifs) == oov > cap == len(capped.known_motifs)
    np.testing.assert_array_equal(capped.known_motifs, tok.known_motifs[:cap])  # the most frequent ones
    assert capped.training.oov_motifs == oov and capped.training.known_motifs_kept == cap
    arrays = training_arrays(3) + training_arrays(4)  # training-like rows and never-seen ones
    for counts_array in arrays + arrays:  # the second pass is answered from the search memo
        np.testing.assert_array_equal(capped.encode(counts_array), tok.encode(counts_array))
    assert len(capped.memo) + len(capped.memo_bytewise) > 0
    # one count too large for the packed keys: only its patch takes the byte-key path
    row = arrays[0].copy()
    row[1, 2] = 250
    p_n, p_t = tok.patch_size
    mixed, plain = tok.encode(row), tok.encode(arrays[0])
    changed = np.zeros(plain.shape, bool)
    changed[1 // p_n, 2 // p_t] = True
    np.testing.assert_array_equal(mixed[~changed], plain[~changed])
    assert (
        mixed[changed][0]
        == tok.encode(row[(1 // p_n) * p_n : (1 // p_n + 1) * p_n, (2 // p_t) * p_t : (2 // p_t + 1) * p_t])[0, 0]
    )
    fresh = MotifTokenizer.from_counts(motifs, counts, k, tok.patch_size, max_known=cap)
    np.testing.assert_array_equal(fresh.encode(arrays[0]), capped.encode(arrays[0]))
    tok.save_pretrained(tmp_path / "full")
    capped.save_pretrained(tmp_path / "capped")

    def size(name):
        return (tmp_path / name / WEIGHTS_FILE).stat().st_size

    assert size("capped") < size("full")


@pytest.fixture()
def saved_tokenizer_folder(tmp_path):
    motifs, counts = count_motifs(training_arrays(7), (1, 5))
    folder = tmp_path / "tok"
    MotifTokenizer.from_counts(motifs, counts, 12, (1, 5)).save_pretrained(folder)
    return folder


def test_pickle_weights_are_refused(saved_tokenizer_folder):
    from safetensors.numpy import load_file

    arrays = load_file(str(saved_tokenizer_folder / WEIGHTS_FILE))
    (saved_tokenizer_folder / WEIGHTS_FILE).write_bytes(pickle.dumps({k: v.tolist() for k, v in arrays.items()}))
    with pytest.raises(ArtifactError, match=f"{WEIGHTS_FILE}.*pickle"):
        MotifTokenizer.from_pretrained(saved_tokenizer_folder)
    (saved_tokenizer_folder / WEIGHTS_FILE).unlink()
    (saved_tokenizer_folder / "tokenizer.pkl").write_bytes(pickle.dumps(arrays))
    with pytest.raises(ArtifactError, match="refusing pickle.*tokenizer.pkl"):
        MotifTokenizer.from_pretrained(saved_tokenizer_folder)


def test_weights_whose_header_length_starts_like_a_pickle_load(saved_tokenizer_folder):
    """A safetensors file's first byte is the low byte of its header length: 0x80 is a valid
    safetensors file (seen after train-tokenizer), not a pickle."""
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    path = saved_tokenizer_folder / WEIGHTS_FILE
    arrays = load_file(str(path))
    with safe_open(str(path), framework="numpy") as handle:
        metadata = dict(handle.metadata() or {})
    for pad in range(256):
        save_file(arrays, str(path), metadata={**metadata, "pad": "x" * pad})
        if path.read_bytes()[:1] == b"\x80":
            break
    assert path.read_bytes()[:1] == b"\x80"
    again = MotifTokenizer.from_pretrained(saved_tokenizer_folder)
    assert np.array_equal(again.vocab, arrays["vocab"])


def test_wrong_shapes_and_mismatched_config_are_refused(saved_tokenizer_folder):
    from safetensors.numpy import load_file, save_file

    good = load_file(str(saved_tokenizer_folder / WEIGHTS_FILE))
    cases = {
        "vocab has shape": {**good, "vocab": good["vocab"][:, :4].copy()},
        "must be uint8": {**good, "vocab": good["vocab"].astype(np.int16)},
        "known_motifs .* known_ids": {**good, "known_ids": good["known_ids"][:-1].copy()},
        "'vocab_counts' is missing": {k: v for k, v in good.items() if k != "vocab_counts"},
    }
    for message, arrays in cases.items():
        save_file(arrays, str(saved_tokenizer_folder / WEIGHTS_FILE))
        with pytest.raises(ArtifactError, match=message) as err:
            MotifTokenizer.from_pretrained(saved_tokenizer_folder)
        assert WEIGHTS_FILE in str(err.value)
    save_file(good, str(saved_tokenizer_folder / WEIGHTS_FILE))
    config = json.loads((saved_tokenizer_folder / CONFIG_FILE).read_text())
    (saved_tokenizer_folder / CONFIG_FILE).write_text(json.dumps({**config, "vocab_size": config["vocab_size"] + 1}))
    with pytest.raises(ArtifactError, match="vocab_size"):
        MotifTokenizer.from_pretrained(saved_tokenizer_folder)
    (saved_tokenizer_folder / CONFIG_FILE).write_text("{not json")
    with pytest.raises(ArtifactError, match=f"{CONFIG_FILE}.*JSON"):
        MotifTokenizer.from_pretrained(saved_tokenizer_folder)
    (saved_tokenizer_folder / WEIGHTS_FILE).write_bytes(b"\x00" * 64)
    (saved_tokenizer_folder / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ArtifactError, match=WEIGHTS_FILE):
        MotifTokenizer.from_pretrained(saved_tokenizer_folder)
    with pytest.raises(FileNotFoundError, match="missing: no such local folder"):
        MotifTokenizer.from_pretrained(saved_tokenizer_folder.parent / "missing")


def test_cli_train_tokenizer(tmp_path):
    from builders.cli.main import main

    motifs, counts = count_motifs(training_arrays(8), (2, 5))
    write_motif_table(tmp_path / "m", MotifTable(motifs, counts, {"patch_size": [2, 5], "pad": "drop"}))
    assert (
        main(
            [
                "train-tokenizer",
                "--motifs",
                str(tmp_path / "m"),
                "--vocab-size",
                "30",
                "--out",
                str(tmp_path / "t"),
                "--quiet",
            ]
        )
        == 0
    )
    tok = MotifTokenizer.from_pretrained(tmp_path / "t")
    assert tok.vocab_size == 30 and tok.patch_size == (2, 5)
    direct = MotifTokenizer.from_counts(motifs, counts, 30, (2, 5))
    np.testing.assert_array_equal(tok.known_ids, direct.known_ids)


LOAD_TYPO = """
from tokenizer.motif_tokenizer import MotifTokenizer, TokenizerNotFoundError
try:
    MotifTokenizer.from_pretrained("tok_typo")
except TokenizerNotFoundError as err:
    print(err)
"""


class RepoNotFoundHub:
    """A loopback Hub that knows no repo: every request gets the Hub's 404 RepoNotFound; records paths."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        owner = self
        self.requests: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def answer(self):
                owner.requests.append(self.path)
                self.send_response(404)
                self.send_header("X-Error-Code", "RepoNotFound")
                self.send_header("X-Error-Message", "Repository not found")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_HEAD = answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def load_typo(tmp_path, **env) -> str:
    """Run ``from_pretrained("tok_typo")`` in a fresh process (Hub settings are read at import)."""
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    clean.update(PYTHONPATH=str(REPO), HF_HOME=str(tmp_path / "hf_home"), **env)
    done = subprocess.run(
        [sys.executable, "-c", LOAD_TYPO], cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_missing_folder_is_named_not_reported_as_a_connection_problem(tmp_path):
    offline = load_typo(tmp_path, HF_HUB_OFFLINE="1")
    assert (
        offline.startswith("tok_typo: no such local folder") and "Hub was not asked (HF_HUB_OFFLINE is set)" in offline
    )
    hub = RepoNotFoundHub()
    try:
        online = load_typo(tmp_path, HF_ENDPOINT=hub.url)
    finally:
        hub.close()
    assert "/tok_typo/resolve/main/config.json" in hub.requests  # a Hub lookup was made
    assert online.startswith("tok_typo: no such local folder") and "not found as a Hub repo id either" in online
    assert "connection" not in online.lower()


@pytest.mark.parametrize("patch_size", [(1, 65), (8, 10)])
def test_patches_wider_than_a_packed_key_encode_and_decode(patch_size):
    """Motifs of more than 64 values are looked up bytewise: vocabulary rows round-trip exactly."""
    p_n, p_t = patch_size
    rng = np.random.default_rng(7)
    arrays = [rng.poisson(0.05, (p_n * 3, p_t * 20)).astype(np.uint8) for _ in range(3)]
    motifs, counts = count_motifs(arrays, patch_size)
    tok = MotifTokenizer.from_counts(motifs, counts, min(6, len(motifs)), patch_size)
    order = [1, tok.zero_id, 2, 1]
    row = np.concatenate([tok.vocab[i].reshape(p_n, p_t) for i in order], axis=1)
    ids, stats = tok.encode_with_stats(row)
    assert ids.tolist() == [order] and stats.lossless == len(order)
    np.testing.assert_array_equal(tok.decode(ids, shape=row.shape), row)


def test_tokenizer_card_names_the_pile_and_its_sources(tmp_path):
    """The card says which pile (repo, commit, config, splits) the motifs were counted on, and cites
    the recordings of the components counted (the attribution table's entries)."""
    from builders.storage.attribution import attributions
    from tokenizer.motif_table import MotifTable, table_metadata
    from tokenizer.motifs import count_motifs

    arrays = [np.array([[0, 1, 0, 2, 0, 0]], np.uint8)]
    motifs, counts = count_motifs(arrays, (1, 2))
    source = {
        "dataset": "user/pile",
        "repo_id": "user/pile",
        "commit": "a" * 40,
        "config": "vbn",
        "splits": ["train"],
        "source_filter": "vbn",
        "uri": "hf://datasets/user/pile@" + "a" * 40,
    }
    meta = table_metadata((1, 2), "drop", motifs, counts, sources=[source], components=["vbn"], rows=1)
    tok = MotifTokenizer.train(MotifTable(motifs, counts, meta), 2)
    tok.save_pretrained(tmp_path / "tok")
    card = (tmp_path / "tok" / "README.md").read_text()
    assert f"`user/pile@{'a' * 40}`: config `vbn`, splits train, rows with source_dataset vbn" in card
    assert "## Sources and citation" in card
    vbn = attributions()["vbn"]
    assert vbn.archive_id in card and (vbn.citation or "unknown, see the archive page") in card
    assert MotifTokenizer.from_pretrained(tmp_path / "tok").training.components == ["vbn"]
