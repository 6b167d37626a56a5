"""Where everything lives in a built dataset folder.

::

    <out>/README.md                              dataset card, YAML ``configs:`` per component + all
    <out>/build_report.json                      what the last build did, per component
    <out>/data/<component>/<split>-<slug>.parquet  one shard per session (all its segments)
    <out>/data/<component>/<split>-empty.parquet   schema-only shard for a split with no session
    <out>/.build/params.json                     the parameters the folder is built with (:mod:`.marker`)
    <out>/.build/<component>/<slug>.json         completion marker of a session (its statistics, :mod:`.marker`)
    <out>/.build/<component>/<slug>.parquet      a session's shard before finalize gave it a split
    <out>/.build/*.lock                          folder and component locks (:mod:`.locks`)

The marker is written after the shard has been renamed into place, so a session with a marker
is complete; reruns skip it. Under the ``sessions`` split rule a session's shard waits in
``.build`` until finalize, which knows the tokens of every session of the component, renames
it to ``data/<component>/<split>-<slug>.parquet``. ``load_dataset(out, "<component>")`` reads ``data/<component>``;
the ``all`` config reads every component folder except ``demo``.
"""

from __future__ import annotations

from pathlib import Path

from builders.spec.registry import get_component, registry
from builders.spec.split import SPLITS

#: Largest number of tokens put in one Parquet row group of a shard (keeps Arrow offsets far from
#: 2**31 and bounds reader memory); a row never spans row groups.
ROW_GROUP_TOKENS = 128_000_000

DATA_DIR = "data"
STATE_DIR = ".build"
#: The dataset card (YAML front matter with ``configs:``, then the text), at a folder's top.
CARD = "README.md"
REPORT = "build_report.json"
EMPTY = "empty"
#: The config that reads every real component, in this package's layout.
ALL = "all"


def shard_path(out: Path, component: str, split: str, slug: str) -> Path:
    return Path(out) / DATA_DIR / component / f"{split}-{slug}.parquet"


def pending_shard_path(out: Path, component: str, slug: str) -> Path:
    """Where a session's shard waits for finalize to decide its split (hidden from readers)."""
    return Path(out) / STATE_DIR / component / f"{slug}.parquet"


def empty_shard_path(out: Path, component: str, split: str) -> Path:
    return Path(out) / DATA_DIR / component / f"{split}-{EMPTY}.parquet"


def marker_path(out: Path, component: str, slug: str) -> Path:
    return Path(out) / STATE_DIR / component / f"{slug}.json"


def built_components(out: Path) -> list[str]:
    """Components with a ``data/<component>`` folder holding shards, in registry order."""
    data = Path(out) / DATA_DIR
    present = {p.name for p in data.iterdir() if p.is_dir() and any(p.glob("*.parquet"))} if data.is_dir() else set()
    return [name for name in registry() if name in present]


def split_has_rows(out: Path, component: str, split: str) -> bool:
    """Whether a component has a session shard (not just the schema-only shard) in ``split``."""
    empty = empty_shard_path(out, component, split)
    return any(p != empty for p in (Path(out) / DATA_DIR / component).glob(f"{split}-*.parquet"))


def config_components(out: Path, config: str) -> list[str]:
    """The components a config reads: itself, or every built real component for ``all``."""
    if config == ALL:
        return [c for c in built_components(out) if get_component(c).in_all]
    get_component(config)  # clear error for an unknown name
    return [config]


def shard_files(out: Path, config: str, splits: tuple[str, ...] | list[str] = ("train",)) -> list[Path]:
    """Parquet shards of ``config`` for the given splits, sorted (schema-only shards included)."""
    for split in splits:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
    files: list[Path] = []
    for component in config_components(out, config):
        for split in splits:
            files.extend(sorted((Path(out) / DATA_DIR / component).glob(f"{split}-*.parquet")))
    return files
