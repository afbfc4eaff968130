"""Content negotiation rules (RFC 9110 q-values, wildcards, format= wins, browsers)."""

from __future__ import annotations

import pytest

from ketamine_ed_kg.negotiation import (
    BROWSER_GRAPH,
    BROWSER_RESULTS,
    GRAPH_TYPES,
    RESULT_TYPES,
    NotAcceptable,
    negotiate,
    parse_accept,
    quality,
)


def pick(accept: str | None, fmt: str | None = None, graph: bool = False) -> str:
    offered = GRAPH_TYPES if graph else RESULT_TYPES
    browser = BROWSER_GRAPH if graph else BROWSER_RESULTS
    return negotiate(offered, accept, fmt, browser).media_type


def test_quality_uses_most_specific_range() -> None:
    ranges = parse_accept("text/*;q=0.3, text/csv;q=0.9, */*;q=0.1")
    assert quality("text/csv", ranges) == 0.9
    assert quality("text/tab-separated-values", ranges) == 0.3
    assert quality("application/json", ranges) == 0.1


@pytest.mark.parametrize(("accept", "expected"), [
    (None, "application/sparql-results+json"),
    ("*/*", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv;q=0.2, application/sparql-results+xml;q=0.8", "application/sparql-results+xml"),
    ("application/sparql-results+json;q=0, */*", "application/sparql-results+xml"),
    ("text/*", "text/csv"),
    ("application/json", "application/json"),
])
def test_results(accept: str | None, expected: str) -> None:
    assert pick(accept) == expected


def test_browser() -> None:
    firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert pick(firefox) == "application/json"
    assert pick(firefox, graph=True) == "text/plain"


def test_format_wins() -> None:
    assert pick("application/sparql-results+xml", "csv") == "text/csv"
    assert pick(None, "text/tab-separated-values") == "text/tab-separated-values"
    assert pick("text/turtle", "jsonld", graph=True) == "application/ld+json"
    # A format of the other kind: the form's default (Fuseki); an unknown name: 406.
    assert pick(None, "ttl") == "application/sparql-results+json"
    assert pick(None, "csv", graph=True) == "text/turtle"
    with pytest.raises(NotAcceptable):
        pick(None, "png")


def test_not_acceptable_only_when_everything_is_refused() -> None:
    with pytest.raises(NotAcceptable):
        pick("*/*;q=0")
    with pytest.raises(NotAcceptable):
        pick("text/*;q=0, application/*;q=0", graph=True)
    # Nothing matches, nothing refused: the default, skipping what was refused.
    assert pick("image/png") == "application/sparql-results+json"
    assert pick("text/turtle;q=0, application/sparql-results+json", graph=True) == (
        "application/n-triples")


@pytest.mark.parametrize(("accept", "expected"), [
    ("text/turtle", "text/turtle"), ("application/rdf+xml", "application/rdf+xml"),
    ("application/n-triples, text/turtle;q=0.5", "application/n-triples"),
    ("*/*", "text/turtle"), ("application/trig", "application/trig"),
])
def test_graphs(accept: str, expected: str) -> None:
    assert pick(accept, graph=True) == expected
