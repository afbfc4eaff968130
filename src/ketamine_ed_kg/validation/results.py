"""What validation produces, shared by every step of it.

The SHACL run, the QC queries, the locator and the report all speak in these types; keeping
them in a module that imports none of those steps is what lets each step import the types
without importing the others (validation and its report used to import each other).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph
from rdflib.term import Node

from ..namespaces import SH

SEVERITIES: dict[Node, str] = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


@dataclass(frozen=True)
class ShaclResult:
    """One ``sh:ValidationResult`` (or QC row), reduced to what a curator reads."""

    focus: Node
    path: Node | None
    value: Node | None
    message: str
    severity: str
    source_shape: Node | None
    component: Node | None
    node: Node | None = None
    """The result node in the report graph (None for QC rows)."""


@dataclass(frozen=True)
class ReportedResult:
    """A result located in the curated files."""

    result: ShaclResult
    file: Path | None
    line: int | None
    node_label: str


@dataclass
class ValidationOutcome:
    """The result of validating the project (or some of its files)."""

    entries: list[ReportedResult]
    report: Graph
    files: list[Path]
    triples: int
    shapes: int
    qc_queries: int
    seconds: float
    shacl_seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    quotes_checked: int = 0
    """Quotes compared with a source text (``validate --source-texts``)."""
    texts_checked: dict[str, Path] = field(default_factory=dict)
    """Source IRI -> the text file its quotes were checked against."""
    texts_unchecked: dict[str, str] = field(default_factory=dict)
    """Source IRI -> why its quotes could not be checked (no text file found)."""
    records_unchecked: dict[str, str] = field(default_factory=dict)
    """Registry record IRI -> why its quotes were not checked (a record has no text copy)."""

    def count(self, severity: str) -> int:
        """How many entries have ``severity``."""
        return sum(1 for e in self.entries if e.result.severity == severity)

    @property
    def conforms(self) -> bool:
        """True when nothing is a Violation (warnings and notes do not fail)."""
        return self.count("Violation") == 0


__all__ = ["SEVERITIES", "ReportedResult", "ShaclResult", "ValidationOutcome"]
