"""The project's error hierarchy.

Every error names what a curator or operator has to look at and what to do about it::

    KedError                      base class; carries an actionable message
    ├── DataError                 something in ontology/, graph/ or shapes/ is wrong
    │   ├── SourceParseError      a Turtle file does not parse (file, line)
    │   └── InconsistentOntologyError  HermiT found a contradiction or unsatisfiable class
    ├── BuildMissingError         the release files are absent; run ``ketamine-ed-kg build``
    ├── ConfigError               a configuration value is invalid
    ├── ReasonerUnavailableError  Java, needed by HermiT, is not installed
    ├── StoreError                the external store refused or failed a load (its message)
    ├── QueryError                a query process refused or failed a query (ErrorKind)
    ├── DeadlineExceeded          a query passed its deadline; its process was killed
    ├── Overloaded                no query process became free before the deadline
    └── ClientGone                the client went away; its query was stopped

The HTTP statuses of the query errors are in one table, ``server/errors.py``.
"""

from __future__ import annotations

from enum import StrEnum
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


class StoreError(KedError):
    """The external store (``store = "sparql"``) refused or failed a load, or holds other
    data than it should; the message is the store's, with the graph concerned."""


class ErrorKind(StrEnum):
    """Why a query process refused or failed a query (each kind has one HTTP status)."""

    SYNTAX = "syntax"
    """The query does not parse (or the parse and the engine could read it differently)."""
    LIMIT = "limit"
    """Nesting or operator chain over max_query_depth / max_operator_chain."""
    EVALUATION = "evaluation"
    """The query parses but fails while it runs."""
    UNSUPPORTED = "unsupported"
    """The engine cannot plan it, e.g. an unknown extension function."""
    ENGINE_DEFECT = "engine-defect"
    """A known defect of the query engine; the message names it and the workaround."""
    UPDATE = "update"
    """SPARQL Update on this read-only endpoint."""
    POLICY = "policy"
    """SERVICE, or a graph this store does not hold."""
    FEDERATE = "federate"
    """An allow-listed SERVICE: to be run by the federation processes."""
    NOT_ACCEPTABLE = "not-acceptable"
    """No offered format matches Accept / format=."""
    MEMORY = "memory"
    """The query went over max_query_memory and was stopped."""
    KILLED = "killed"
    """Its query process was killed from outside (operator, OOM killer)."""
    CRASH = "crash"
    """A query process died for an unknown reason: a bug."""
    INTERNAL = "internal"
    """An unexpected exception in a query process: a bug."""
    STORE_DOWN = "store-down"
    """The external store (``store = "sparql"``) cannot be reached or failed (its message)."""
    STORE_TIMEOUT = "store-timeout"
    """The external store did not answer within the query's deadline."""


class QueryError(KedError):
    """A query process refused or failed a query; ``kind`` picks the HTTP status."""

    def __init__(self, kind: ErrorKind | str, message: str) -> None:
        super().__init__(message)
        self.kind = ErrorKind(kind)
        self.message = message


class DeadlineExceeded(KedError):
    """The job did not finish before its deadline and its worker was killed."""


class Overloaded(KedError):
    """No worker became free before the deadline."""


class ClientGone(KedError):
    """The client disconnected while its query ran; the query was cancelled."""
