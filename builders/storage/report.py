"""The build report of a built folder (``build_report.json``): the record, read and written here only.

:func:`builders.build.report.make_report` computes it from the folder's completion markers; the
build's card (:mod:`builders.build.card`), the build command and a merge of the folder read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from builders.storage.layout import REPORT
from builders.storage.marker import BuildParameters
from builders.storage.record import FolderRecord


@dataclass
class BuildReport(FolderRecord):
    """What a built folder holds, per component (``build_report.json``).

    Attributes:
        package_version: the version of this package that wrote the report.
        parameters: what the folder was built with.
        components: component name -> its summary, in registry order
            (:func:`builders.build.report.summarize_component`).
        listing_errors: component name -> why its sessions could not be listed, this run.
        selection: component name -> what the latest listing of it read and left out
            (:func:`builders.build.pipeline.selection_record`).
        this_run: what the run that returned the report did (``already_done``, ``processed``
            sessions); not written, ``None`` for a report read from a folder.
    """

    package_version: str
    parameters: BuildParameters
    components: dict[str, dict] = field(default_factory=dict)
    listing_errors: dict[str, str] = field(default_factory=dict)
    selection: dict[str, dict] = field(default_factory=dict)
    this_run: dict[str, int] | None = None

    FILE: ClassVar[str] = REPORT

    def versions(self) -> dict[str, str | None]:
        """Archive version of each component built."""
        return {name: c.get("version") for name, c in self.components.items()}

    def to_json(self) -> dict:
        return {
            "package_version": self.package_version,
            "parameters": self.parameters.to_json(),
            "components": self.components,
            "listing_errors": self.listing_errors,
            "selection": self.selection,
        }

    @classmethod
    def from_json(cls, data: dict) -> BuildReport:
        return cls(
            package_version=data["package_version"],
            parameters=BuildParameters.from_json(data["parameters"]),
            components=dict(data.get("components") or {}),
            listing_errors=dict(data.get("listing_errors") or {}),
            selection=dict(data.get("selection") or {}),
        )
