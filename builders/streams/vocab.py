"""Token ids shared by every token layout: their dtype, the raw-count vocabulary, and the fingerprint
that ties a saved token stream to the tokenizer it was made with."""

from __future__ import annotations

import hashlib

import numpy as np

#: dtype of every token id a token stream yields.
ID_DTYPE = np.int32
#: Vocabulary without a tokenizer: one id per uint8 spike count (0..255).
RAW_VOCAB = 256


def tokenizer_fingerprint(tokenizer) -> str:
    """``"<patch h>x<patch w>-<vocab size>-<12 hex digits of the vocabulary's sha256>"``, or
    ``"raw-counts"`` without a tokenizer: saved in a token stream's state, so a state resumes only
    with the tokenizer that made it."""
    if tokenizer is None:
        return "raw-counts"
    digest = hashlib.sha256(np.ascontiguousarray(tokenizer.vocab).tobytes())
    digest.update(str(tuple(tokenizer.patch_size)).encode())
    return f"{tokenizer.patch_size[0]}x{tokenizer.patch_size[1]}-{tokenizer.vocab_size}-{digest.hexdigest()[:12]}"
