"""What a ``--dataset`` string names: a local folder, a Hub dataset repo, or an fsspec URL.

=====================================  ============================================================
given                                  meaning
=====================================  ============================================================
``neural_pile_rodent``, ``/data/p``    a local folder (checked first: an existing folder wins)
``user/neural-pile-rodent``            a Hub dataset repo at ``main``
``user/neural-pile-rodent@v1.0``       the same repo at a branch, tag or commit
``hf://datasets/user/repo[@rev][/p]``  a Hub dataset repo (optionally a sub-folder), fsspec style
``s3://bucket/pile``, ``gs://...``     any fsspec URL whose filesystem package is installed
=====================================  ============================================================
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from builders.errors import NeuralPileError

#: A Hub repo id: ``namespace/name`` with the characters the Hub allows.
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_HF_URL = re.compile(r"^hf://datasets/(?P<repo>[^/@]+/[^/@]+)(?:@(?P<rev>[^/]+))?(?:/(?P<sub>.*))?$")


class PileError(NeuralPileError, ValueError):
    """A pile cannot be opened or read; the message is one line naming the dataset, config or file."""


def pile_error(given: str, detail: str) -> PileError:
    """A :class:`PileError` about the pile ``given`` (the ``dataset`` argument): ``pile <given>: <detail>``."""
    return PileError(f"pile {given}: {detail}" if given else f"pile: {detail}", argument="dataset", label="pile")


@dataclass(frozen=True)
class PileReference:
    """A parsed ``--dataset``.

    Attributes:
        given: the string as the user gave it (recorded in outputs).
        kind: ``"local"``, ``"hub"`` or ``"url"``.
        location: absolute folder (local), repo id (hub) or URL (url).
        revision: Hub branch, tag or commit (``None``: the repo's default, ``main``).
        subfolder: path inside a Hub repo holding the pile (``""``: its root).
    """

    given: str
    kind: str
    location: str
    revision: str | None = None
    subfolder: str = ""


def parse_reference(dataset: str | os.PathLike) -> PileReference:
    """Classify ``dataset`` (see the module table); raises :class:`PileError` for an empty one."""
    given = os.fspath(dataset)
    if not given.strip():
        raise pile_error("", "empty; give a folder, a Hub repo id (namespace/name[@revision]) or a URL")
    expanded = os.path.expanduser(given)
    if os.path.isdir(expanded):
        return PileReference(given, "local", os.path.abspath(expanded))
    match = _HF_URL.match(given)
    if match:
        return PileReference(given, "hub", match["repo"], match["rev"], (match["sub"] or "").strip("/"))
    if "://" in given:
        if given.startswith("file://"):
            return parse_reference(given[len("file://") :])
        return PileReference(given, "url", given.rstrip("/"))
    repo, _, revision = given.partition("@")
    if _REPO_ID.match(repo) and not os.path.exists(expanded):
        return PileReference(given, "hub", repo, revision or None)
    raise pile_error(given, "no such folder, and not a Hub repo id (namespace/name[@revision]) or a URL")
