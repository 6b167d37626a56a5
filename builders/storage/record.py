"""A JSON record kept at one place inside an output folder: where it is, reading it, writing it.

The records of a built or merged folder (:class:`~builders.storage.marker.BuildParameters`,
:class:`~builders.storage.report.BuildReport`, :class:`~builders.jobs.merge.MergeParameters`) are
dataclasses that give their file and their JSON form; this mixin gives them the one way to find,
read and atomically write that file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Self

from builders.storage.atomic import write_json_atomic


class FolderRecord:
    """Mixin of a record stored at :attr:`FILE` (relative to the output folder) as JSON.

    A subclass defines ``FILE``, ``to_json() -> dict`` and the classmethod ``from_json(data)``,
    which raises :class:`ValueError` (or ``KeyError``/``TypeError``) for data that is not its record.
    """

    FILE: ClassVar[str]

    def to_json(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_json(cls, data: Any) -> Self:
        raise NotImplementedError

    @classmethod
    def path(cls, out: Path) -> Path:
        """Where the record of the folder ``out`` is."""
        return Path(out) / cls.FILE

    @classmethod
    def read(cls, out: Path) -> Self | None:
        """The record of the folder ``out``; ``None`` when the folder holds none.

        Raises:
            ValueError: the file is not valid JSON or not this record.
        """
        path = cls.path(out)
        if not path.exists():
            return None
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    def write(self, out: Path) -> Path:
        """Write the record into the folder ``out`` atomically; return its path."""
        path = self.path(out)
        write_json_atomic(path, self.to_json())
        return path
