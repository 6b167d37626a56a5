"""Open a pile wherever it lives: resolve a ``--dataset`` + config + splits to Parquet files.

Configs and splits come from the dataset card's YAML ``configs:``, resolved by the ``datasets``
library's own pattern code (:func:`datasets.data_files.resolve_pattern`, the same globbing
``load_dataset`` does) on the pile's filesystem: a local folder, ``huggingface_hub.HfFileSystem``
for Hub repos, or any fsspec filesystem. Nothing is downloaded here: only the card, directory
listings and (later, in :class:`~builders.pile.read.Pile`) Parquet footers and the column chunks
a job asks for.

Config rules:

- a config the card lists: its ``data_files``;
- ``None``: the card's default config (``default: true``, a config named ``default``, or the
  only one);
- on a pile whose only config is ``default`` (the reference layout, components shuffled
  together) or that has no card configs, ``all`` means every row and a component name
  (``vbn``) means the rows whose ``source_dataset`` is that name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import yaml

from builders.pile.provenance import Provenance
from builders.pile.read import Pile, PileFile
from builders.pile.reference import PileReference, parse_reference, pile_error
from builders.spec.registry import registry
from builders.storage.card import read_front_matter
from builders.storage.layout import ALL, CARD

logger = logging.getLogger(__name__)

#: The single config of the reference project's published layout.
DEFAULT = "default"


def open_pile(dataset: str | os.PathLike, config: str | None = None, splits: Sequence[str] | None = ("train",)) -> Pile:
    """The Parquet files of ``config``'s ``splits`` in ``dataset``, ready to read row group by row group.

    Args:
        dataset: a local folder, ``namespace/name[@revision]``, ``hf://datasets/...`` or an fsspec URL.
        config: a config of the card, a component name on a single-config pile, or ``None`` (default config).
        splits: split names to read; ``None`` means every split the config has.

    Raises:
        PileError: one line naming what is wrong (unknown repo or revision, no access, no such
            config or split, no Parquet file).
    """
    reference = parse_reference(dataset)
    fs, base, provenance = _filesystem(reference)
    configs = _card_configs(fs, base, reference)
    config_name, source_filter = _choose_config(configs, config, reference)
    patterns = _split_patterns(configs.get(config_name), fs, base, reference)
    wanted = list(patterns) if splits is None else list(splits)
    missing = [s for s in wanted if s not in patterns]
    if missing:
        raise pile_error(
            reference.given,
            f"config {config_name!r} has no split {', '.join(map(repr, missing))}; "
            f"it has: {', '.join(patterns) or 'none'}",
        )
    files = _resolve_files(fs, base, {s: patterns[s] for s in wanted}, reference)
    pile = Pile(
        fs=fs,
        root=fs._strip_protocol(base),
        files=files,
        source_filter=source_filter,
        source=provenance.selected(
            config=config if config is not None else config_name,
            card_config=config_name,
            splits=wanted,
            source_filter=source_filter,
            layout="single-config" if list(configs) in ([], [DEFAULT]) else "configs",
        ),
        configs=list(configs) or [DEFAULT],
        card_configs=configs,
    )
    if source_filter is not None:
        _check_filter(pile, reference)
    return pile


def _filesystem(reference: PileReference):
    """(fsspec filesystem, base path on it, where the pile is as a :class:`Provenance`) for a parsed reference."""
    if reference.kind == "local":
        from fsspec.implementations.local import LocalFileSystem

        # the folder's own name, never its path (the home and working directory stay on this machine);
        # code that needs the folder asks ``Pile.local_folder``
        return LocalFileSystem(), reference.location, Provenance(os.path.basename(reference.location))
    if reference.kind == "hub":
        return _hub_filesystem(reference)
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(reference.location)
    except (ImportError, ValueError) as exc:
        raise pile_error(
            reference.given,
            f"cannot open this URL ({exc}); install the fsspec package for its scheme (e.g. s3fs, gcsfs)",
        ) from None
    if not fs.isdir(path):
        raise pile_error(reference.given, "no such folder")
    return fs, path, Provenance(reference.given, uri=reference.location)


def _hub_filesystem(reference: PileReference):
    """Resolve a Hub repo and revision to its commit, so every file is read at the same commit."""
    from huggingface_hub import HfApi, HfFileSystem, constants
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    given = reference.given
    try:
        info = HfApi().dataset_info(reference.location, revision=reference.revision)
    except GatedRepoError:
        raise pile_error(
            given, "gated repo; accept its terms on the Hub, then log in (`hf auth login`) or set HF_TOKEN"
        ) from None
    except RepositoryNotFoundError:
        raise pile_error(
            given,
            f"no such dataset repo on {constants.ENDPOINT}, or it is private and no "
            "valid token was found (log in with `hf auth login` or set HF_TOKEN)",
        ) from None
    except RevisionNotFoundError:
        raise pile_error(given, f"the repo has no revision {reference.revision!r}") from None
    except HfHubHTTPError as exc:
        status = getattr(exc.response, "status_code", None)
        if status in (401, 403):
            raise pile_error(
                given, f"access refused (HTTP {status}); log in with `hf auth login` or set HF_TOKEN"
            ) from None
        raise pile_error(given, f"the Hub answered HTTP {status}") from None
    except OSError as exc:  # connection refused, DNS, timeouts (requests/httpx errors subclass OSError or not)
        raise pile_error(given, f"cannot reach the Hub at {constants.ENDPOINT} ({type(exc).__name__})") from None
    except Exception as exc:  # httpx transport errors do not subclass OSError
        if type(exc).__module__.startswith(("httpx", "httpcore", "requests", "urllib3")):
            raise pile_error(given, f"cannot reach the Hub at {constants.ENDPOINT} ({type(exc).__name__})") from None
        raise
    commit = info.sha
    base = f"datasets/{reference.location}@{commit}"
    if reference.subfolder:
        base += "/" + reference.subfolder
    provenance = Provenance(
        reference.given,
        uri=f"hf://{base}",
        repo_id=reference.location,
        revision=reference.revision or "main",
        commit=commit,
    )
    return HfFileSystem(), base, provenance


def _url(fs, path: str) -> str:
    """A path on ``fs`` as the URL ``datasets`` resolves patterns against."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return path if protocol in ("file", "local") else f"{protocol}://{path}"


def _card_configs(fs, base: str, reference: PileReference) -> dict[str, dict]:
    """``{config_name: params}`` from the card's YAML, in card order; ``{}`` when there is none."""
    from datasets.utils.metadata import MetadataConfigs

    card_path = f"{base}/{CARD}"
    try:
        with fs.open(card_path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = read_front_matter(text)
        configs = MetadataConfigs.from_dataset_card_data(data)
        configs.get_default_config_name()  # several defaults is an error of the card
    except (yaml.YAMLError, ValueError) as exc:
        raise pile_error(reference.given, f"{CARD} has an invalid `configs:` block ({exc})") from None
    return dict(configs)


def _default_config(configs: dict[str, dict]) -> str | None:
    from datasets.utils.metadata import MetadataConfigs

    return MetadataConfigs(configs).get_default_config_name()


def _choose_config(configs: dict[str, dict], config: str | None, reference: PileReference) -> tuple[str, str | None]:
    """(card config to read, source_dataset filter or None)."""
    if not configs:  # no card configs: datasets infers one default config from file names
        if config in (None, ALL, DEFAULT):
            return DEFAULT, None
        return DEFAULT, config
    if config is None:
        name = _default_config(configs)
        if name is None:
            raise pile_error(reference.given, f"no default config; name one of its configs: {', '.join(configs)}")
        return name, None
    if config in configs:
        return config, None
    if list(configs) == [DEFAULT]:  # the reference layout: rows are selected by source_dataset
        return DEFAULT, (None if config == ALL else config)
    raise pile_error(reference.given, f"no config {config!r}; this pile holds: {', '.join(configs)}")


def _check_filter(pile: Pile, reference: PileReference) -> None:
    """A component name selects rows unless the footers' statistics rule out every row group; anything
    else, or such a component, must be a ``source_dataset`` value of the pile (read from that one small
    column only then)."""
    if pile.source_filter in registry() and pile.row_groups():
        return
    values = pile.source_values()
    if pile.source_filter not in values:
        raise pile_error(
            reference.given,
            f"config {pile.source_filter!r} matches nothing; configs: "
            f"{', '.join(pile.configs)}; source_dataset values: {', '.join(values) or 'none'}",
        )


def _split_patterns(params: dict | None, fs, base: str, reference: PileReference) -> dict[str, list[str]]:
    """``{split: [patterns]}`` of a config (inferred from file names when the card has no configs)."""
    from datasets.data_files import get_data_patterns, sanitize_patterns
    from datasets.exceptions import DataFilesNotFoundError

    data_files = (params or {}).get("data_files")
    if data_files is not None:
        return sanitize_patterns(data_files)
    data_dir = (params or {}).get("data_dir")
    root = f"{base}/{data_dir}" if data_dir else base
    try:
        # split names as plain strings (datasets gives NamedSplit keys, which JSON and YAML refuse)
        return {str(split): list(found) for split, found in get_data_patterns(_url(fs, root)).items()}
    except (DataFilesNotFoundError, FileNotFoundError):
        raise pile_error(
            reference.given, f"no data files found (no `configs:` in {CARD} and no train/test files)"
        ) from None


def _resolve_files(fs, base: str, patterns: dict[str, list[str]], reference: PileReference) -> list[PileFile]:
    """Every Parquet file of each split, in split then name order, with its size in bytes."""
    from datasets.data_files import resolve_pattern

    files: list[PileFile] = []
    for split, split_patterns in patterns.items():
        paths: list[str] = []
        for pattern in split_patterns:
            try:
                found = resolve_pattern(pattern, _url(fs, base), allowed_extensions=[".parquet"])
            except FileNotFoundError:
                found = []
            paths.extend(p for p in found if p not in paths)
        for path in sorted(paths):
            files.append(PileFile(path=fs._strip_protocol(path), split=split, size=0))
    if not files:
        raise pile_error(reference.given, f"no Parquet files for split(s) {', '.join(patterns)}")
    sizes = _sizes(fs, [f.path for f in files])
    return [PileFile(f.path, f.split, sizes.get(f.path, 0)) for f in files]


def _sizes(fs, paths: list[str]) -> dict[str, int]:
    """Sizes in bytes, from one listing per folder (cheap on remote filesystems)."""
    sizes: dict[str, int] = {}
    for folder in sorted({p.rsplit("/", 1)[0] for p in paths}):
        for entry in fs.ls(folder, detail=True):
            sizes[fs._strip_protocol(entry["name"])] = int(entry.get("size") or 0)
    return sizes
