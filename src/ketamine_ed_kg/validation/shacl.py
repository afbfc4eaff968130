"""Running pyshacl: the project's single SHACL path.

One function, :func:`run_shacl`, wraps pyshacl; the ``validate`` command, the shape-fixture
tests and the W3C SHACL Core conformance test all go through it, so a conformance pass is a
statement about the code curators actually run.

Why ``inference="none"`` by default: pyshacl mixes the ontology graph into (a copy of) the data
graph, so ``sh:class`` and ``sh:targetClass`` already follow ``rdfs:subClassOf*`` as SHACL
requires. RDFS entailment adds nothing the shapes need, would type nodes through
``rdfs:domain`` (so a misused property would silently make a node a target of the wrong
shape), and costs several times the validation itself (measured in docs/validation.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as TypingLiteral

from pyshacl import validate as pyshacl_validate
from rdflib import Graph, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from ..namespaces import SH
from .results import SEVERITIES, ShaclResult

Inference = TypingLiteral["none", "rdfs"]


@dataclass(frozen=True)
class ShaclRun:
    """What pyshacl returned: its verdict, its report graph and the parsed results."""

    conforms: bool
    report: Graph
    results: list[ShaclResult]


def _text(graph: Graph, node: Node, prop: URIRef) -> str:
    values = [str(v) for v in graph.objects(node, prop)]
    return " ".join(sorted(values))


def parse_report(report: Graph) -> list[ShaclResult]:
    """Read the results out of a pyshacl report graph."""
    results = []
    for node in report.subjects(RDF.type, SH.ValidationResult):
        severity = report.value(node, SH.resultSeverity)
        focus = report.value(node, SH.focusNode)
        if focus is None:
            continue
        results.append(
            ShaclResult(
                focus=focus,
                path=report.value(node, SH.resultPath),
                value=report.value(node, SH.value),
                message=_text(report, node, SH.resultMessage),
                severity=SEVERITIES.get(severity, str(severity)) if severity else "Violation",
                source_shape=report.value(node, SH.sourceShape),
                component=report.value(node, SH.sourceConstraintComponent),
                node=node,
            )
        )
    return results


def run_shacl(
    data: Graph,
    shapes: Graph,
    ontology: Graph | None = None,
    inference: Inference = "none",
    inplace: bool = False,
) -> ShaclRun:
    """Validate ``data`` against ``shapes`` (with ``ontology`` as pyshacl's ``ont_graph``).

    This is the single validation path of the project. ``conforms`` is SHACL's verdict (false
    when there is any result, warnings included); callers decide what fails the build.
    ``inplace`` lets pyshacl skip copying ``data``; only pass it for a graph the caller owns
    (with ``inference="rdfs"`` pyshacl would add the entailed triples to it).
    """
    conforms, report, _text_report = pyshacl_validate(
        data,
        shacl_graph=shapes,
        ont_graph=ontology,
        inference=inference,
        inplace=inplace,
        advanced=False,
        allow_infos=False,
        allow_warnings=False,
    )
    assert isinstance(report, Graph)
    return ShaclRun(bool(conforms), report, parse_report(report))


def count_shapes(shapes: Graph) -> int:
    """Number of node shapes plus property shapes."""
    nodes = set(shapes.subjects(RDF.type, SH.NodeShape))
    nodes |= set(shapes.subjects(RDF.type, SH.PropertyShape))
    nodes |= set(shapes.objects(None, SH.property))
    return len(nodes)


__all__ = ["Inference", "ShaclRun", "count_shapes", "parse_report", "run_shacl"]
