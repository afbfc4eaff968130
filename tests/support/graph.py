"""Helpers shared by the tests that read the curated graph and check it against the sources."""

from __future__ import annotations

import re
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.query import ResultRow
from rdflib.term import Identifier, Node


def single(graph: Graph, subject: Node, predicate: URIRef) -> Node:
    """The single value of ``predicate`` on ``subject``; fails if there are none or several."""
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, f"{subject} {predicate}: expected one value, found {values}"
    return values[0]


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


def fold(text: str) -> str:
    """Every run of white space folded to one space: quotes are verbatim up to line breaks."""
    return re.sub(r"\s+", " ", text).strip()
