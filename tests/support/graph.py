"""Helpers shared by the tests that check curated figures against the sources."""

from __future__ import annotations

from typing import Any

from rdflib import Graph, Literal, URIRef


def one(graph: Graph, subject: Any, predicate: URIRef) -> Any:
    """The single value of ``predicate`` on ``subject`` as a Python value (fails if not one)."""
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, f"{subject} has {len(values)} values for {predicate}"
    value = values[0]
    return value.toPython() if isinstance(value, Literal) else value
