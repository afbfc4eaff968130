"""Helpers shared by the tests that check curated figures against the sources."""

from __future__ import annotations

from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.query import ResultRow
from rdflib.term import Identifier


def one(graph: Graph, subject: Any, predicate: URIRef) -> Any:
    """The single value of ``predicate`` on ``subject`` as a Python value (fails if not one)."""
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, f"{subject} has {len(values)} values for {predicate}"
    value = values[0]
    return value.toPython() if isinstance(value, Literal) else value


def select(graph: Graph, query: str, **bindings: Identifier) -> list[ResultRow]:
    """The rows of the SELECT ``query`` on ``graph``, its variables bound by ``bindings``
    (rdflib types a query's results as rows, booleans or triples; a SELECT gives rows)."""
    rows: list[ResultRow] = []
    for row in graph.query(query, initBindings=bindings):
        assert isinstance(row, ResultRow), f"not a row of a SELECT: {row!r}"
        rows.append(row)
    return rows
