"""The quality-control queries: checks SHACL Core expresses awkwardly, as SPARQL.

Each ``queries/qc/*-violation.rq`` file selects the nodes that break one rule; every row is
reported as a Violation next to the SHACL results, named ``kedsh:qc-<query name>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from ..errors import KedError
from ..namespaces import SH, SHAPES_NS
from ..terms import from_oxigraph, to_quad
from .results import ShaclResult

_DESCRIPTION_RE = re.compile(r"^#\s*description:\s?(.*)$")
_COMMENT_RE = re.compile(r"^#\s?(.*)$")


def select(store: ox.Store, path: Path, text: str, kind: str) -> ox.QuerySolutions:
    """Run the SELECT query of file ``path`` (a ``kind`` query: QC, report) on ``store``; a
    query that does not parse or is not a SELECT is an error naming the file."""
    try:
        solutions = store.query(text)
    except SyntaxError as exc:
        raise KedError(f"{path}: the {kind} query does not parse: {exc}") from exc
    if not isinstance(solutions, ox.QuerySolutions):
        raise KedError(f"{path}: a {kind} query must be a SELECT query")
    return solutions


@dataclass(frozen=True)
class QcQuery:
    """A ``queries/qc/*-violation.rq`` file: any row it returns is a violation."""

    name: str
    path: Path
    description: str
    text: str

    @property
    def iri(self) -> URIRef:
        """The IRI that names the query as the source of a result in the report graph."""
        return URIRef(f"{SHAPES_NS}qc-{self.name}")


def query_description(path: Path, lines: list[str]) -> str:
    """The ``# description:`` comment of a query file: that line and the comment lines right
    after it, joined (``lines`` starts at the description). Raises if there is none."""
    description: list[str] = []
    if lines and (first := _DESCRIPTION_RE.match(lines[0])):
        description.append(first.group(1).strip())
        for line in lines[1:]:
            more = _COMMENT_RE.match(line)
            if not more:
                break
            description.append(more.group(1).strip())
    if not description:
        raise KedError(f"{path}: the query must start with a '# description: ...' line")
    return " ".join(d for d in description if d)


def load_qc_queries(qc_dir: Path) -> list[QcQuery]:
    """Read the QC queries; each must start with ``# description:`` comment lines."""
    queries = []
    for path in sorted(qc_dir.glob("*-violation.rq")):
        text = path.read_text(encoding="utf-8")
        description = query_description(path, text.splitlines())
        name = path.name.removesuffix(".rq")
        queries.append(QcQuery(name, path, description, text))
    return queries


def to_store(graph: Graph) -> ox.Store:
    """Copy an rdflib graph into an in-memory Oxigraph store, keeping blank-node labels.

    Why: rdflib's SPARQL engine takes seconds on the QC queries' negations and property paths
    over a few thousand triples; Oxigraph takes milliseconds, and keeping the blank-node
    labels lets each row be located in the files like a SHACL result.
    """
    store = ox.Store()
    store.extend(to_quad(triple, ox.DefaultGraph()) for triple in graph)
    return store


def run_qc(graph: Graph, queries: Iterable[QcQuery]) -> list[ShaclResult]:
    """Run each QC query over ``graph``; every row becomes a Violation.

    A row names the node to fix in ``?focus`` and may add ``?path``, ``?value`` and a
    ``?message`` (otherwise the query's description is the message).
    """
    store = to_store(graph)
    results = []
    for query in queries:
        solutions = select(store, query.path, query.text, "QC")
        names = {v.value for v in solutions.variables}
        if "focus" not in names:
            raise KedError(f"{query.path}: a QC query must select ?focus")
        for row in solutions:
            bound = {name: None if row[name] is None else from_oxigraph(row[name])
                     for name in names}
            focus = bound.get("focus")
            if focus is None:
                raise KedError(f"{query.path}: a QC query must bind ?focus in every row")
            message = bound.get("message")
            results.append(
                ShaclResult(
                    focus=focus,
                    path=bound.get("path"),
                    value=bound.get("value"),
                    message=f"{query.description} {message}" if message else query.description,
                    severity="Violation",
                    source_shape=query.iri,
                    component=SH.SPARQLConstraintComponent,
                )
            )
    return results


__all__ = ["QcQuery", "load_qc_queries", "query_description", "run_qc", "to_store"]
