"""MotifTokenizer: spike counts -> a grid of motif ids from a fixed vocabulary of K motifs.

Training (from a motif table, see :mod:`tokenizer.motif_table`): the K most frequent motifs
form the vocabulary and map to themselves (ids 0..K-1, most frequent first). The silent
(all-zero) motif is always in the vocabulary (it replaces the K-th motif if it is not among
the K most frequent) and only the silent motif maps to it. Every other motif, seen in training
or not, maps to the non-silent vocabulary motif with the highest cosine similarity
(:func:`tokenizer.nearest.nearest_by_cosine`). The mapping of the table's most frequent
out-of-vocabulary motifs (up to ``max_known``, default :data:`DEFAULT_MAX_KNOWN`) is computed at
training time and stored; any other motif is searched when encoding meets it first, and the answer
is remembered for the rest of the process (:class:`tokenizer.search_memo.SearchMemo`). The
artifact therefore stays small (about ``max_known x (p_n*p_t + 4)`` bytes beyond the vocabulary)
whatever the size of the training table.

``encode`` pads a row with zeros to whole patches and returns an int32 ``(n_patch_rows,
n_patch_cols)`` id grid (patch rows = ceil(n_neurons / p_n), patch columns = ceil(n_time_bins
/ p_t)); ``decode`` turns ids back into counts and crops to ``shape``. A patch is encoded
losslessly when it is itself a vocabulary motif; ``stats`` accumulates how many were.

Saved artifact (``save_pretrained`` / ``from_pretrained`` / ``push_to_hub``)::

    config.json                     format, patch_size, vocab_size, zero_id, training summary
    motif_tokenizer.safetensors     vocab uint8 (K, p_n*p_t), vocab_counts int64 (K,),
                                    known_motifs uint8 (M, p_n*p_t), known_ids int32 (M,)
    README.md                       model card

No pickle is read or written: a folder offering pickled weights is refused.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from huggingface_hub import ModelHubMixin, hf_hub_download

from builders.errors import NeuralPileError
from builders.storage.atomic import atomic_path, write_text_atomic
from builders.storage.attribution import sources_section
from builders.storage.card import card_text, write_card
from builders.storage.ownership import claim_output_folder, owned_output_folder
from tokenizer.motif_table import MotifTable, read_motif_table
from tokenizer.motifs import sort_motifs
from tokenizer.nearest import CosineCandidates, nearest_by_cosine
from tokenizer.patches import PatchKeys, as_counts, check_patch_size, grid_shape, patch_matrix
from tokenizer.search_memo import SearchMemo
from tokenizer.training import TrainingSummary

WEIGHTS_FILE = "motif_tokenizer.safetensors"
CONFIG_FILE = "config.json"
FORMAT = "neural-pile-motif-tokenizer"
FORMAT_VERSION = 1
ID_DTYPE = np.int32
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".joblib", ".ckpt")
#: Out-of-vocabulary motifs stored with a saved tokenizer (the most frequent; ~15 MB for 1x10).
DEFAULT_MAX_KNOWN = 1 << 20
ARRAYS = {"vocab": np.uint8, "vocab_counts": np.int64, "known_motifs": np.uint8, "known_ids": np.int32}
#: Key of the patch size in the weights' metadata: the shape the flat motifs were cut to, which
#: ``config.json`` must repeat (a 2x5 and a 1x10 vocabulary have arrays of the same shape).
PATCH_KEY = "patch_size"
#: What :func:`builders.storage.ownership.claim_output_folder` records for a tokenizer folder.
OUT_KIND = "motif tokenizer"


def claim_tokenizer_folder(path) -> Path:
    """Create or reclaim a folder for ``save_pretrained``; refuse a non-empty folder that is not a tokenizer.

    ``save_pretrained`` keeps the ``ModelHubMixin`` contract (it writes into any folder, and the
    mixin deletes an existing ``config.json`` first), so jobs that save into a folder a user names
    call this before anything else.
    """
    return claim_output_folder(path, OUT_KIND, earlier=(WEIGHTS_FILE,))


def owned_tokenizer_folder(path):
    """:func:`claim_tokenizer_folder`, holding the folder's lock for the block (a job's whole run)."""
    return owned_output_folder(path, OUT_KIND, earlier=(WEIGHTS_FILE,))


def check_vocab_size(vocab_size: int, motifs: np.ndarray) -> int:
    """``vocab_size`` (K ids) as an int, if a table of these distinct ``motifs`` can give it: K is
    in ``[2, M]``, M the distinct motifs counting the silent one (added when absent). The one rule
    and message of every way to train, checked before anything is written."""
    motifs = np.asarray(motifs)
    available = len(motifs) + (0 if len(motifs) and (~motifs.any(axis=1)).any() else 1)
    k = int(vocab_size)
    if not 2 <= k <= available:
        raise VocabularyError(
            f"vocab_size must be in [2, {available}] for this table ({len(motifs)} distinct motifs), got {vocab_size}"
        )
    return k


class VocabularyError(NeuralPileError, ValueError):
    """A vocabulary size, vocabulary or id grid a tokenizer cannot have or decode (the message names it)."""


class ArtifactError(NeuralPileError, ValueError):
    """A saved tokenizer is corrupt, mismatched or unsafe (the message names the file)."""


class TokenizerNotFoundError(NeuralPileError, FileNotFoundError):
    """Neither a local folder nor a Hub repo holds the tokenizer asked for (the message says which was tried)."""


@dataclass
class EncodeStats:
    """What encoding did, in patches.

    Attributes:
        patches: patches encoded (padding included).
        lossless: patches that are vocabulary motifs (decode gives them back exactly).
        searched: patches whose motif was not known from training (cosine search at encode).
    """

    patches: int = 0
    lossless: int = 0
    searched: int = 0

    @property
    def lossless_fraction(self) -> float:
        return self.lossless / self.patches if self.patches else 1.0

    def __add__(self, other: EncodeStats) -> EncodeStats:
        return EncodeStats(self.patches + other.patches, self.lossless + other.lossless, self.searched + other.searched)


class _Lookup:
    """Sorted motif keys with their vocabulary id and whether the motif is itself in the vocabulary."""

    def __init__(self, keys: np.ndarray, ids: np.ndarray, in_vocab: np.ndarray):
        order = np.argsort(keys, kind="stable")
        self.keys, self.ids, self.in_vocab = keys[order], ids[order], in_vocab[order]

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(hit mask, ids of the hits, in-vocabulary flags of the hits)``."""
        if not len(self.keys):
            empty = np.zeros(0, dtype=ID_DTYPE)
            return np.zeros(len(keys), bool), empty, empty.astype(bool)
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        hit = self.keys[pos] == keys
        return hit, self.ids[pos[hit]], self.in_vocab[pos[hit]]


class MotifTokenizer(
    ModelHubMixin,
    library_name="neural-pile-rodent",
    tags=["neuroscience", "spike-counts", "tokenizer", "motifs"],
):
    """Fixed-vocabulary tokenizer of ``p_n x p_t`` spike-count motifs.

    Args:
        vocab: uint8 ``(K, p_n * p_t)`` vocabulary motifs; id ``i`` is ``vocab[i]``. Exactly one
            row is silent; rows are distinct; K >= 2.
        patch_size: ``(p_n, p_t)`` neurons x time bins.
        vocab_counts: training count (patches) of each vocabulary motif.
        known_motifs: uint8 ``(M, p_n * p_t)`` out-of-vocabulary motifs with a precomputed id.
        known_ids: int ``(M,)`` vocabulary id of each known motif.
        training: what the tokenizer was trained on (:class:`~tokenizer.training.TrainingSummary`).
    """

    def __init__(
        self,
        vocab: np.ndarray,
        patch_size: tuple[int, int],
        vocab_counts: np.ndarray | None = None,
        known_motifs: np.ndarray | None = None,
        known_ids: np.ndarray | None = None,
        training: TrainingSummary | None = None,
    ):
        self.patch_size = check_patch_size(patch_size)
        width = self.patch_size[0] * self.patch_size[1]
        vocab = np.ascontiguousarray(vocab)
        if vocab.dtype != np.uint8 or vocab.ndim != 2 or vocab.shape[1] != width:
            raise VocabularyError(
                f"vocab must be uint8 (K, {width}) for patch size {self.patch_size}, got {vocab.dtype} {vocab.shape}"
            )
        if len(vocab) < 2:
            raise VocabularyError("a vocabulary needs the silent motif and at least one non-silent motif (K >= 2)")
        silent = np.flatnonzero(~vocab.any(axis=1))
        if len(silent) != 1:
            raise VocabularyError(
                f"vocab must hold the silent (all-zero) motif exactly once, found it {len(silent)} times"
            )
        self.vocab = vocab
        self.zero_id = int(silent[0])
        self.vocab_counts = (
            np.zeros(len(vocab), np.int64) if vocab_counts is None else np.asarray(vocab_counts, np.int64)
        )
        if self.vocab_counts.shape != (len(vocab),):
            raise VocabularyError(f"vocab_counts must have shape ({len(vocab)},), got {self.vocab_counts.shape}")
        known_motifs = np.zeros((0, width), np.uint8) if known_motifs is None else np.ascontiguousarray(known_motifs)
        known_ids = np.zeros(0, ID_DTYPE) if known_ids is None else np.asarray(known_ids)
        if known_motifs.dtype != np.uint8 or known_motifs.ndim != 2 or known_motifs.shape[1] != width:
            raise VocabularyError(
                f"known_motifs must be uint8 (M, {width}), got {known_motifs.dtype} {known_motifs.shape}"
            )
        if known_ids.shape != (len(known_motifs),) or not np.issubdtype(known_ids.dtype, np.integer):
            raise VocabularyError(
                f"known_ids must be integers of shape ({len(known_motifs)},), got {known_ids.dtype} {known_ids.shape}"
            )
        if len(known_ids) and (known_ids.min() < 0 or known_ids.max() >= len(vocab)):
            raise VocabularyError(f"known_ids must lie in [0, {len(vocab)})")
        self.known_motifs = known_motifs
        self.known_ids = known_ids.astype(ID_DTYPE, copy=False)
        self.training = training or TrainingSummary()
        self._build_lookup()
        self.stats = EncodeStats()
        #: cosine-search answers of this process, by packed key and by bytes (never saved)
        self.memo = SearchMemo()
        self.memo_bytewise = SearchMemo()
        self._cosine: CosineCandidates | None = None  # the vocabulary prepared for the search, on first use

    # ------------------------------------------------------------------ lookup
    def _build_lookup(self) -> None:
        """Sorted keys of every known motif (vocabulary first) -> id and in-vocabulary flag.

        Packed keys cover the known motifs whose values fit the packing; the bytewise table
        (every known motif) is built the first time an array with larger values is encoded.
        """
        self._codec = PatchKeys(self.vocab.shape[1])
        self._known = np.concatenate([self.vocab, self.known_motifs])
        self._known_ids = np.concatenate([np.arange(len(self.vocab), dtype=ID_DTYPE), self.known_ids])
        fits = self._known.max(axis=1) < self._codec.limit if self._codec.bits else np.zeros(len(self._known), bool)
        self._packed = _Lookup(
            self._codec.packed(self._known[fits]), self._known_ids[fits], np.flatnonzero(fits) < len(self.vocab)
        )
        self._bytewise: _Lookup | None = None
        if len(np.unique(self._codec.bytewise(self._known))) != len(self._known):
            raise VocabularyError("a motif appears twice among the vocabulary and known motifs")

    def _bytewise_lookup(self) -> _Lookup:
        if self._bytewise is None:
            self._bytewise = _Lookup(
                self._codec.bytewise(self._known), self._known_ids, np.arange(len(self._known)) < len(self.vocab)
            )
        return self._bytewise

    @property
    def vocab_size(self) -> int:
        """K, the number of ids."""
        return int(len(self.vocab))

    @property
    def lossless_fraction(self) -> float:
        """Share of all patches encoded so far that decode exactly (see :attr:`stats`)."""
        return self.stats.lossless_fraction

    def reset_stats(self) -> None:
        self.stats = EncodeStats()

    # ------------------------------------------------------------------ encode / decode
    def encode(self, counts: np.ndarray) -> np.ndarray:
        """uint8 ``(n_neurons, n_time_bins)`` counts -> int32 ``(n_patch_rows, n_patch_cols)`` ids."""
        ids, stats = self.encode_with_stats(counts)
        self.stats = self.stats + stats
        return ids

    def encode_with_stats(self, counts: np.ndarray) -> tuple[np.ndarray, EncodeStats]:
        """Like :meth:`encode`, also returning this call's :class:`EncodeStats` (``stats`` untouched).

        Patches whose values fit the packed keys are looked up by packed key; the few others (a
        count too large for the packing) by bytes, so one large count does not slow a whole row.
        """
        counts = as_counts(counts)
        g_n, g_t = grid_shape(counts.shape, self.patch_size, "zero")
        patches = patch_matrix(counts, self.patch_size, "zero")
        codec = self._codec
        if codec.packable(patches):
            ids, stats = self._encode_patches(patches, packed=True)
        else:
            fits = patches.max(axis=1) < codec.limit if codec.bits else np.zeros(len(patches), bool)
            ids = np.empty(len(patches), dtype=ID_DTYPE)
            ids[fits], small = self._encode_patches(patches[fits], packed=True)
            ids[~fits], large = self._encode_patches(patches[~fits], packed=False)
            stats = small + large
        return ids.reshape(g_n, g_t), stats

    def _encode_patches(self, patches: np.ndarray, packed: bool) -> tuple[np.ndarray, EncodeStats]:
        codec = self._codec
        if packed:
            keys, lookup, to_patches, memo = codec.packed(patches), self._packed, codec.unpacked, self.memo
            busy = np.flatnonzero(keys)
        else:
            keys, lookup, to_patches, memo = (
                codec.bytewise(patches),
                self._bytewise_lookup(),
                codec.from_bytewise,
                self.memo_bytewise,
            )
            busy = np.flatnonzero(patches.any(axis=1))
        ids = np.full(len(keys), self.zero_id, dtype=ID_DTYPE)
        lossless = len(keys) - len(busy)
        searched = 0
        if len(busy):
            busy_keys = keys[busy]
            hit, found, exact = lookup.find(busy_keys)
            ids[busy[hit]] = found
            lossless += int(np.count_nonzero(exact))
            missed = busy[~hit]
            searched = len(missed)
            if searched:
                unseen, inverse = np.unique(busy_keys[~hit], return_inverse=True)
                ids[missed] = self._search(unseen, to_patches, memo)[inverse.ravel()]
        return ids, EncodeStats(len(keys), lossless, searched)

    def _search(self, unseen: np.ndarray, to_patches, memo: SearchMemo) -> np.ndarray:
        """Ids of distinct unknown motif keys: remembered answers, else the cosine search (then remembered)."""
        hit, ids = memo.find(unseen)
        if not hit.all():
            new = unseen[~hit]
            if self._cosine is None:
                self._cosine = CosineCandidates(self.vocab, self.zero_id)
            found = nearest_by_cosine(to_patches(new), self.vocab, self.zero_id, prepared=self._cosine).astype(ID_DTYPE)
            ids[~hit] = found
            memo.add(new, found)
        return ids

    def decode(self, ids: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
        """Id grid -> uint8 counts, cropped to ``shape`` (n_neurons, n_time_bins) if given."""
        ids = np.asarray(ids)
        if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
            raise VocabularyError(
                f"ids must be a 2-D integer grid (patch rows, patch cols), got {ids.dtype} {ids.shape}"
            )
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise VocabularyError(f"ids must lie in [0, {self.vocab_size}), got {ids.min()}..{ids.max()}")
        p_n, p_t = self.patch_size
        g_n, g_t = ids.shape
        counts = self.vocab[ids.ravel()].reshape(g_n, g_t, p_n, p_t).transpose(0, 2, 1, 3).reshape(g_n * p_n, g_t * p_t)
        if shape is None:
            return counts
        n, t = (int(v) for v in shape)
        if grid_shape((n, t), self.patch_size, "zero") != (g_n, g_t):
            raise VocabularyError(
                f"shape {(n, t)} does not fit an id grid of {ids.shape} with patch size {self.patch_size}"
            )
        return np.ascontiguousarray(counts[:n, :t])

    # ------------------------------------------------------------------ training
    @classmethod
    def from_counts(
        cls,
        motifs,
        counts,
        vocab_size: int,
        patch_size,
        *,
        assign=nearest_by_cosine,
        training: TrainingSummary | None = None,
        max_known: int | None = DEFAULT_MAX_KNOWN,
    ):
        """Tokenizer of the ``vocab_size`` most frequent motifs of a ``(motifs, counts)`` table.

        Args:
            max_known: out-of-vocabulary motifs whose ids are precomputed and saved, the most
                frequent first (None: all of them); the others are searched when met.
            assign: ``assign(queries, vocab, zero_id) -> ids``; maps the table's other motifs
                (default :func:`nearest_by_cosine`; a Ray job passes a parallel version).

        Raises:
            ValueError: the table has fewer distinct motifs (the silent one counted even if
                absent) than ``vocab_size``.
        """
        patch_size = check_patch_size(patch_size)
        k = int(vocab_size)
        motifs, counts = sort_motifs(np.asarray(motifs, np.uint8), np.asarray(counts, np.int64))
        silent = np.flatnonzero(~motifs.any(axis=1))
        check_vocab_size(k, motifs)
        chosen = np.arange(k)
        if not len(silent):
            vocab = np.concatenate([motifs[: k - 1], np.zeros((1, motifs.shape[1]), np.uint8)])
            vocab_counts = np.concatenate([counts[: k - 1], [0]])
            rest = np.arange(k - 1, len(motifs))
        else:
            if silent[0] >= k:
                chosen = np.concatenate([np.arange(k - 1), silent[:1]])
            vocab, vocab_counts = motifs[chosen], counts[chosen]
            rest = np.setdiff1d(np.arange(len(motifs)), chosen)
        n_rest = len(rest)
        if max_known is not None:
            rest = rest[: max(0, int(max_known))]  # ``rest`` is in table order: most frequent first
        known = motifs[rest]
        zero_id = int(np.flatnonzero(~vocab.any(axis=1))[0])
        known_ids = np.asarray(assign(known, vocab, zero_id), dtype=ID_DTYPE) if len(known) else np.zeros(0, ID_DTYPE)
        total = int(counts.sum())
        summary = (training or TrainingSummary()).with_coverage(
            in_vocab_share=float(vocab_counts.sum() / total) if total else 1.0,
            known_share=float(counts[rest].sum() / total) if total else 0.0,
            oov_motifs=int(n_rest),
            known_motifs_kept=int(len(rest)),
        )
        return cls(
            vocab, patch_size, vocab_counts=vocab_counts, known_motifs=known, known_ids=known_ids, training=summary
        )

    @classmethod
    def train(
        cls, motif_table, vocab_size: int, *, assign=nearest_by_cosine, max_known: int | None = DEFAULT_MAX_KNOWN
    ):
        """Tokenizer of the ``vocab_size`` most frequent motifs of a motif table (folder or MotifTable)."""
        table = motif_table if isinstance(motif_table, MotifTable) else read_motif_table(motif_table)
        training = TrainingSummary.from_table(table.metadata)
        return cls.from_counts(
            table.motifs,
            table.counts,
            vocab_size,
            table.patch_size,
            assign=assign,
            training=training,
            max_known=max_known,
        )

    # ------------------------------------------------------------------ persistence
    def config(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "patch_size": list(self.patch_size),
            "vocab_size": self.vocab_size,
            "motif_width": int(self.vocab.shape[1]),
            "zero_id": self.zero_id,
            "known_motifs": int(len(self.known_motifs)),
            "id_dtype": np.dtype(ID_DTYPE).name,
            "training": self.training.to_json(),
        }

    def _save_pretrained(self, save_directory: Path) -> None:
        from safetensors.numpy import save_file

        save_directory = Path(save_directory)
        arrays = {
            "vocab": self.vocab,
            "vocab_counts": self.vocab_counts,
            "known_motifs": self.known_motifs,
            "known_ids": self.known_ids,
        }

        with atomic_path(save_directory / WEIGHTS_FILE) as tmp:
            save_file(
                {k: np.ascontiguousarray(v, dtype=ARRAYS[k]) for k, v in arrays.items()},
                str(tmp),
                metadata={"format": FORMAT, PATCH_KEY: patch_label(self.patch_size)},
            )
        write_text_atomic(save_directory / CONFIG_FILE, json.dumps(self.config(), indent=2, sort_keys=True) + "\n")
        write_card(save_directory, *_model_card_parts(self))

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        """Load from a saved folder or a Hub repo id (see ``huggingface_hub.ModelHubMixin``).

        Raises:
            TokenizerNotFoundError: no such local folder, and (for a name that can be a repo id)
                no such Hub repo, or the Hub could not be asked; the message says which.
            ArtifactError: the folder or repo holds no valid tokenizer.
        """
        name = str(pretrained_model_name_or_path)
        looks_local = (
            isinstance(pretrained_model_name_or_path, Path) or name.startswith((".", "/", "~")) or name.count("/") > 1
        )
        if looks_local or os.path.isdir(name):
            name = os.path.expanduser(name)
            if not os.path.isdir(name):
                raise TokenizerNotFoundError(f"{name}: no such local folder (a path, so the Hub was not asked)")
            read_config(Path(name) / CONFIG_FILE)  # a clear error before the mixin parses it
            return super().from_pretrained(name, **kwargs)
        from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, OfflineModeIsEnabled

        try:
            return super().from_pretrained(name, **kwargs)
        except (EntryNotFoundError, HfHubHTTPError, OfflineModeIsEnabled) as err:
            raise TokenizerNotFoundError(hub_lookup_failure(name, err)) from None

    @classmethod
    def _from_pretrained(
        cls, *, model_id, revision, cache_dir, force_download, local_files_only, token, **_config_values
    ):
        if os.path.isdir(model_id):
            config_path, weights_path = Path(model_id) / CONFIG_FILE, Path(model_id) / WEIGHTS_FILE
            refuse_pickles(Path(model_id))
        else:
            fetch = dict(
                repo_id=model_id,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                local_files_only=local_files_only,
                token=token,
            )
            config_path = Path(hf_hub_download(filename=CONFIG_FILE, **fetch))
            weights_path = Path(hf_hub_download(filename=WEIGHTS_FILE, **fetch))
        return load_artifact(cls, config_path, weights_path)


def hub_lookup_failure(name: str, err: Exception) -> str:
    """One line saying that ``name`` is no local folder and what the Hub lookup found."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{name}: no such local folder (from {os.getcwd()})"
    if isinstance(err, LocalEntryNotFoundError) and constants.HF_HUB_OFFLINE:
        return f"{where}, and the Hub was not asked (HF_HUB_OFFLINE is set)"
    status = getattr(getattr(err.__cause__, "response", None), "status_code", None)
    if isinstance(err, LocalEntryNotFoundError) and status == 404:
        return f"{where}, and not found on the Hub at {constants.ENDPOINT} either (404)"
    if isinstance(err, LocalEntryNotFoundError):
        return f"{where}, and the Hub at {constants.ENDPOINT} could not be reached to look it up as a repo id"
    if isinstance(err, RepositoryNotFoundError):
        return f"{where}, and not found as a Hub repo id either (or it is private: log in with `hf auth login`)"
    if isinstance(err, RevisionNotFoundError):
        return f"{where}; the Hub repo {name} exists but not at the requested revision"
    if isinstance(err, EntryNotFoundError):
        return f"{where}; the Hub repo {name} holds no {CONFIG_FILE} / {WEIGHTS_FILE} (not a MotifTokenizer)"
    return f"{where}, and looking it up on the Hub failed ({type(err).__name__}: {str(err).splitlines()[0]})"


def refuse_pickles(folder: Path) -> None:
    """Raise if the folder lacks safetensors weights but offers a pickle-based file instead."""
    if (folder / WEIGHTS_FILE).exists():
        return
    offered = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if offered:
        raise ArtifactError(f"{folder}: refusing pickle-based file(s) {offered}; expected {WEIGHTS_FILE} (safetensors)")
    raise ArtifactError(f"{folder / WEIGHTS_FILE}: missing (not a saved MotifTokenizer folder)")


def read_config(path: Path) -> dict:
    if not path.is_file():
        raise ArtifactError(f"{path}: missing (not a saved MotifTokenizer folder)")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtifactError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ArtifactError(f"{path}: not a MotifTokenizer config (format must be {FORMAT!r})")
    if config.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: format_version {config.get('format_version')!r} is not supported (expected {FORMAT_VERSION})"
        )
    return config


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The tokenizer arrays of a safetensors file, checked for names, dtypes and ranks."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if not path.is_file():
        raise ArtifactError(f"{path}: missing")
    with open(path, "rb") as fh:
        head = fh.read(9)
    # safetensors: an 8-byte little-endian header length, then the JSON header ("{"); a pickle
    # starts with 0x80 and a protocol byte, a zip with "PK\x03\x04" (whatever the header length's
    # bytes happen to be, only a file without the "{" is refused here)
    if head[8:9] != b"{":
        what = "a pickle / zip archive" if head[:1] == b"\x80" or head[:2] == b"PK" else "no safetensors header"
        raise ArtifactError(f"{path}: holds {what}, not safetensors; refusing to load it")
    try:
        arrays = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ArtifactError(f"{path}: not a readable safetensors file ({err})") from err
    for name, dtype in ARRAYS.items():
        if name not in arrays:
            raise ArtifactError(f"{path}: array {name!r} is missing")
        arr = arrays[name]
        rank = 2 if name in ("vocab", "known_motifs") else 1
        if arr.dtype != dtype or arr.ndim != rank:
            raise ArtifactError(
                f"{path}: array {name!r} must be {np.dtype(dtype).name} with {rank} dims, got {arr.dtype} {arr.shape}"
            )
    return arrays


def patch_label(patch_size) -> str:
    """``"2x5"``: a patch size as stored in the weights' metadata."""
    return f"{int(patch_size[0])}x{int(patch_size[1])}"


def weights_metadata(path: Path) -> dict[str, str]:
    """The string metadata of a safetensors file (read from its header)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        return dict(handle.metadata() or {})


def load_artifact(cls, config_path: Path, weights_path: Path) -> MotifTokenizer:
    """Build a tokenizer from its config and weights, every mismatch named by file."""
    config = read_config(config_path)
    arrays = read_arrays(weights_path)
    try:
        p_n, p_t = check_patch_size(config.get("patch_size"))
    except ValueError as err:
        raise ArtifactError(f"{config_path}: {err}") from err
    stored = weights_metadata(weights_path).get(PATCH_KEY)
    if stored is not None and stored != patch_label((p_n, p_t)):
        raise ArtifactError(
            f"{config_path}: patch_size [{p_n}, {p_t}] does not match the {stored} patches stored in "
            f"{weights_path.name} (was the config edited?)"
        )
    vocab = arrays["vocab"]
    if vocab.shape != (config.get("vocab_size"), p_n * p_t):
        raise ArtifactError(
            f"{weights_path}: vocab has shape {vocab.shape} but {config_path.name} says vocab_size "
            f"{config.get('vocab_size')} and patch size {p_n}x{p_t} (expected ({config.get('vocab_size')}, {p_n * p_t}))"
        )
    if arrays["known_motifs"].shape[1] != p_n * p_t or len(arrays["known_motifs"]) != len(arrays["known_ids"]):
        raise ArtifactError(
            f"{weights_path}: known_motifs {arrays['known_motifs'].shape} / known_ids {arrays['known_ids'].shape} do not match"
        )
    try:
        tok = cls(
            vocab,
            (p_n, p_t),
            vocab_counts=arrays["vocab_counts"],
            known_motifs=arrays["known_motifs"],
            known_ids=arrays["known_ids"],
            training=TrainingSummary.from_json(config.get("training")),
        )
    except ValueError as err:
        raise ArtifactError(f"{weights_path}: {err}") from err
    if tok.zero_id != config.get("zero_id"):
        raise ArtifactError(
            f"{weights_path}: silent motif is id {tok.zero_id} but {config_path.name} says {config.get('zero_id')}"
        )
    return tok


def _trained_on(training: TrainingSummary) -> list[str]:
    """The card lines naming the pile the motifs were counted on, and its sources and citations."""
    if not training.sources:
        return []
    lines = ["", "## Trained on", ""]
    for source in training.sources:
        selected = f", rows with source_dataset {source.source_filter}" if source.source_filter else ""
        lines.append(f"- `{source.label()}`: config `{source.config}`, splits {', '.join(source.splits)}{selected}")
    lines += ["", sources_section(list(training.components or []), pile=training.sources[0].label()).rstrip()]
    return lines


#: The YAML front matter of a tokenizer's model card (a model card has no dataset ``configs:``).
MODEL_CARD_FRONT = {
    "library_name": "neural-pile-rodent",
    "tags": ["neuroscience", "spike-counts", "tokenizer", "motifs"],
}


def _or_unknown(value) -> str:
    return "unknown" if value is None else str(value)


def model_card(tok: MotifTokenizer) -> str:
    """The README.md saved next to the tokenizer."""
    return card_text(*_model_card_parts(tok))


def _model_card_parts(tok: MotifTokenizer) -> tuple[dict, str]:
    """(front matter, body) of the tokenizer's model card."""
    p_n, p_t = tok.patch_size
    t = tok.training
    share = t.in_vocab_share
    lines = [
        "",
        f"# Motif tokenizer: {p_n} neuron x {p_t} time bins, {tok.vocab_size:,} ids",
        "",
        "Turns binned spike counts (uint8, neurons x 20 ms bins) into a grid of ids, one per "
        f"{p_n} x {p_t} patch. Ids 0..{tok.vocab_size - 1} are the most frequent motifs of the training "
        "counts, most frequent first; the silent (all-zero) motif is id "
        f"{tok.zero_id}. Any other motif is replaced by the vocabulary motif with the highest cosine "
        "similarity (never by the silent one), so decoding it is lossy.",
        "",
        "```python",
        "from neural_pile_rodent import MotifTokenizer",
        'tok = MotifTokenizer.from_pretrained("<this folder or repo id>")',
        "ids = tok.encode(counts)                 # (n_neurons, n_time_bins) uint8 -> id grid",
        "back = tok.decode(ids, shape=counts.shape)",
        "print(tok.lossless_fraction)             # share of encoded patches that decode exactly",
        "```",
        "",
        "## Training counts",
        "",
        f"- dataset: {_or_unknown(t.dataset)}, configs: {_or_unknown(t.configs)}, splits: {_or_unknown(t.splits)}",
        f"- rows: {_or_unknown(t.rows)}, patches: {_or_unknown(t.total_patches)}, distinct motifs: {_or_unknown(t.unique_motifs)}",
        f"- edge patches when counting: {_or_unknown(t.pad)}",
    ]
    if share is not None:
        lines.append(f"- share of training patches that are vocabulary motifs (lossless): {100 * share:.3f}%")
    lines += _trained_on(t)
    lines += [
        "",
        "## Token ids for a model (`token_stream`)",
        "",
        "`neural_pile_rodent.token_stream(..., tokenizer=tok)` turns windows of `n_neurons` neurons into packed "
        "sequences in time-major order: for each time step of "
        f"{p_t} bin(s), the separator, then one id per {p_n}-neuron patch from the first neuron to the last.",
        "",
        "| ids | meaning |",
        "|:--|:--|",
        f"| 0 .. {tok.vocab_size - 1} | motifs (id {tok.zero_id} is the silent motif) |",
        f"| {tok.vocab_size} | separator, before each time step |",
        "",
        f"- embedding size (`vocab_size` of the model config): **{tok.vocab_size + 1}**",
        f"- tokens per time step: `n_neurons / {p_n} + 1`; sequences are packed across windows, so there "
        "is no padding id; `labels` are `input_ids` shifted by one, except at padding: a window of a row with "
        f'fewer than `n_neurons` neurons (`pad="zero"`) holds {p_n}-neuron patches with no neuron of the row, '
        f"whose `input_ids` are the silent motif's id {tok.zero_id} and whose `labels` are **-100**, the index "
        "torch's `cross_entropy` ignores, so the loss never counts neurons that do not exist "
        "(`eval_tokens` also gives -100 to the steps past a row's end).",
        "",
        "## Files",
        "",
        f"- `{WEIGHTS_FILE}`: `vocab` uint8 (K, {p_n * p_t}), `vocab_counts` int64 (K,), `known_motifs` uint8 "
        f"(M, width) and `known_ids` int32 (M,): the precomputed ids of the {len(tok.known_motifs):,} most frequent "
        f"training motifs outside the vocabulary (of {len(tok.known_motifs) if t.oov_motifs is None else t.oov_motifs:,}); any other "
        "motif is mapped by the cosine search when it is first met.",
        f"- `{CONFIG_FILE}`: patch size, vocabulary size, silent id and the training summary.",
        "",
    ]
    return MODEL_CARD_FRONT, "\n".join(lines)
