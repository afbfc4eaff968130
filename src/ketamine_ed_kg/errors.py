"""The project's error hierarchy.

Every error names what a curator or operator has to look at and what to do about it::

    KedError                      base class; carries an actionable message
    ├── DataError                 something in ontology/, graph/ or shapes/ is wrong
    │   ├── SourceParseError      a Turtle file does not parse (file, line)
    │   └── InconsistentOntologyError  HermiT found a contradiction or unsatisfiable class
    ├── BuildMissingError         the release files are absent; run ``ketamine-ed-kg build``
    ├── ConfigError               a configuration value is invalid
    └── ReasonerUnavailableError  Java, needed by HermiT, is not installed
"""

from __future__ import annotations

from pathlib import Path


class KedError(Exception):
    """Base class of every error the project raises on purpose."""


class DataError(KedError):
    """Curated data is wrong; the message names the file and node to fix."""


class SourceParseError(DataError):
    """A Turtle (or other RDF) file could not be parsed."""

    def __init__(self, path: Path, line: int | None, detail: str) -> None:
        self.path = path
        self.line = line
        self.detail = detail
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: syntax error: {detail}")


class InconsistentOntologyError(DataError):
    """HermiT found the ontology (plus data) inconsistent, or some classes unsatisfiable."""


class BuildMissingError(KedError):
    """The build output the command needs is missing."""


class ConfigError(KedError):
    """A configuration value is invalid."""


class ReasonerUnavailableError(KedError):
    """The reasoner cannot run (HermiT needs a Java runtime)."""
