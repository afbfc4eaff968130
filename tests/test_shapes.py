"""Tests of the shapes themselves, W3C-manifest style (see ``tests/support/shapes.py``).

* every fixture gives exactly its expected results (focus node, path, severity, component);
* every constraint in ``shapes/`` is violated by at least one fixture, and exercised without
  a violation by at least one conforming fixture;
* every shape has a label and a comment, every constraint a curator-facing message;
* the curated graph conforms.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from ketamine_ed_kg.namespaces import SH
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.validation import (
    QcQuery,
    ShaclResult,
    ValidationOutcome,
    check_graph,
    short,
    validate_project,
)
from support.project import Curated
from support.shapes import (
    PARAMETERS,
    ConstraintKey,
    Fixture,
    Key,
    constraints,
    covered,
    fixture_paths,
    load_fixture,
    property_shape_id,
    result_key,
)

FIXTURES = fixture_paths()


class Run(NamedTuple):
    """One fixture checked as ``ketamine-ed-kg validate`` checks a file (SHACL and QC)."""

    fixture: Fixture
    actual: frozenset[Key]
    results: tuple[ShaclResult, ...]
    report: Graph


@pytest.fixture(scope="module")
def runs(shapes_graph: Graph, curated: Curated, qc_queries: tuple[QcQuery, ...]
         ) -> dict[str, Run]:
    """Every fixture, checked once for the module, by file stem."""
    found = {}
    for path in FIXTURES:
        fixture = load_fixture(path)
        run, qc = check_graph(fixture.graph, curated.ontology, shapes_graph, qc_queries)
        results = (*run.results, *qc)
        actual = frozenset(result_key(r, run.report) for r in results)
        found[path.stem] = Run(fixture, actual, results, run.report)
    return found


def test_fixtures_exist_in_both_kinds() -> None:
    kinds = {load_fixture(p).conforms for p in FIXTURES}
    assert kinds == {True, False}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_gives_exactly_the_expected_results(path: Path, runs: dict[str, Run]) -> None:
    fixture, actual, _, _ = runs[path.stem]
    missing = sorted(fixture.expected - actual)
    unexpected = sorted(actual - fixture.expected)
    assert not missing and not unexpected, (
        f"{path.name} ({fixture.label}):\n  missing: {missing}\n  unexpected: {unexpected}"
    )
    assert fixture.conforms == (not actual)


def test_realistic_mistakes_are_caught(runs: dict[str, Run]) -> None:
    """The mistakes the issue names, each in its own fixture, each reported where it is."""
    datatype, min_count = "sh:DatatypeConstraintComponent", "sh:MinCountConstraintComponent"
    expectations = {
        "regimen-002": ("ked:dechant-undated-dose", "kedo:doseValue", datatype),
        "regimen-003": ("ked:ragnhildstveit-2021-dose", "kedo:doseUnit", min_count),
        "claim-002": ("ked:mills-1998-claim-sample", "kedo:quote", min_count),
        "study-002": ("ked:mills-1998", "kedo:hasDesign", "sh:MaxCountConstraintComponent"),
        "regimen-004": ("ked:mills-1998-regimen", "kedo:route", "sh:InConstraintComponent"),
        "participants-003": ("ked:dechant-undated-group", "kedo:hasDiagnosis",
                             "sh:ClassConstraintComponent"),
        "publication-002": ("ked:pub-timek-2024", "kedo:doi", "sh:PatternConstraintComponent"),
    }
    for stem, (focus, path, component) in expectations.items():
        actual = runs[stem].actual
        assert (focus, path, "Violation", component, "") in actual, stem


def test_warnings_for_suspicious_doses(runs: dict[str, Run]) -> None:
    ondansetron = runs["regimen-005"].actual
    assert {k[2] for k in ondansetron} == {"Warning"}
    ketamine = runs["regimen-006"].actual
    assert {k[2] for k in ketamine} == {"Warning"}


def _violated(runs: dict[str, Run]) -> set[ConstraintKey]:
    found: set[ConstraintKey] = set()
    for _, _, results, report in runs.values():
        for result in results:
            key = covered(result, report)
            if key is not None:
                found.add(key)
    return found


def test_property_shapes_are_identified_by_path_and_message(shapes_graph: Graph) -> None:
    shapes = shapes_graph
    names = [property_shape_id(shapes, p) for p in shapes.objects(None, SH.property)]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates


def test_every_constraint_has_a_violating_fixture(shapes_graph: Graph,
                                                  runs: dict[str, Run]) -> None:
    all_constraints = constraints(shapes_graph)
    assert len(all_constraints) > 250
    uncovered = sorted(all_constraints - _violated(runs))
    assert not uncovered, "constraints no fixture violates:\n" + "\n".join(map(str, uncovered))


def _instances(graph: Graph, ontology: Graph, cls: Node) -> set[Node]:
    classes = {cls} | set(ontology.transitive_subjects(RDFS.subClassOf, cls))
    return {s for c in classes for s in graph.subjects(RDF.type, c)}


def _focus_nodes(shape: Node, shapes: Graph, graph: Graph, ontology: Graph) -> set[Node]:
    nodes: set[Node] = set()
    for cls in shapes.objects(shape, SH.targetClass):
        nodes |= _instances(graph, ontology, cls)
    for prop in shapes.objects(shape, SH.targetSubjectsOf):
        nodes |= set(graph.subjects(prop, None))
    for prop in shapes.objects(shape, SH.targetObjectsOf):
        nodes |= set(graph.objects(None, prop))
    return nodes


def _first_step(shapes: Graph, path: Node, inverse: bool = False) -> set[tuple[Node, bool]]:
    """The first properties a path follows, each with whether it is followed backwards."""
    if isinstance(path, URIRef):
        return {(path, inverse)}
    first = shapes.value(path, RDF.first)
    if first is not None:
        return _first_step(shapes, first, inverse)
    inverted = shapes.value(path, SH.inversePath)
    if inverted is not None:
        return _first_step(shapes, inverted, not inverse)
    alternative = shapes.value(path, SH.alternativePath)
    if alternative is not None:
        return {s for item in shapes.items(alternative) for s in _first_step(shapes, item, inverse)}
    return set()


def _has(graph: Graph, focus: Node, step: tuple[Node, bool]) -> bool:
    prop, inverse = step
    return ((None, prop, focus) if inverse else (focus, prop, None)) in graph


def _exercised(shapes: Graph, ontology: Graph, graphs: list[Graph]) -> Iterator[ConstraintKey]:
    """Constraints that some conforming fixture applies to a node that has the property."""
    for node_shape in set(shapes.subjects(RDF.type, SH.NodeShape)):
        for graph in graphs:
            focus = _focus_nodes(node_shape, shapes, graph, ontology)
            if not focus:
                continue
            for parameter, component in PARAMETERS.items():
                if (node_shape, parameter, None) in shapes:
                    yield (short(node_shape), short(component), "")
            for prop in shapes.objects(node_shape, SH.property):
                path = shapes.value(prop, SH.path)
                assert path is not None, f"{node_shape}: a property shape without sh:path"
                steps = _first_step(shapes, path)
                if any(_has(graph, f, step) for f in focus for step in steps):
                    name = property_shape_id(shapes, prop)
                    for parameter, component in PARAMETERS.items():
                        if (prop, parameter, None) in shapes:
                            yield (name, short(component), "")


def test_every_constraint_is_exercised_by_a_conforming_fixture(shapes_graph: Graph,
                                                               curated: Curated) -> None:
    shapes, ontology = shapes_graph, curated.ontology
    conforming = [load_fixture(p) for p in FIXTURES]
    graphs = [f.graph for f in conforming if f.conforms]
    assert graphs
    # Minimum counts ("at least one") are exercised by any node that has the property.
    unexercised = sorted(constraints(shapes) - set(_exercised(shapes, ontology, graphs)))
    assert not unexercised, "constraints no conforming fixture exercises:\n" + "\n".join(
        map(str, unexercised)
    )


def test_every_shape_has_label_comment_and_messages(shapes_graph: Graph) -> None:
    shapes = shapes_graph
    node_shapes = set(shapes.subjects(RDF.type, SH.NodeShape))
    assert len(node_shapes) >= 25
    for shape in node_shapes:
        assert isinstance(shape, URIRef), "node shapes are named"
        assert shapes.value(shape, RDFS.label) is not None, f"{shape}: rdfs:label"
        assert shapes.value(shape, RDFS.comment) is not None, f"{shape}: rdfs:comment"
        if any((shape, p, None) in shapes for p in PARAMETERS):
            assert shapes.value(shape, SH.message) is not None, f"{shape}: sh:message"
        for prop in shapes.objects(shape, SH.property):
            message = shapes.value(prop, SH.message)
            assert message is not None, f"{shape} / {property_shape_id(shapes, prop)}: sh:message"
            # A message names the property it is about, so a curator knows what to edit.
            path = short(shapes.value(prop, SH.path), shapes)
            first = path.strip("()[]^").split("/")[0].split("|")[0]
            assert first in str(message) or "SKOS" in str(message), (shape, path, str(message))


def test_shapes_stay_within_shacl_core(shapes_graph: Graph) -> None:
    for predicate in (SH.sparql, SH.select, SH.ask, SH.rule, SH.js, SH.target):
        assert (None, predicate, None) not in shapes_graph, f"{predicate} is not SHACL Core"


@pytest.fixture(scope="module")
def whole_graph(sources: ProjectPaths) -> ValidationOutcome:
    return validate_project(sources)


def test_curated_graph_has_no_violations(
    whole_graph: ValidationOutcome, sources: ProjectPaths
) -> None:
    from ketamine_ed_kg.validation import render_text

    assert whole_graph.triples > 1000
    violations = [e for e in whole_graph.entries if e.result.severity == "Violation"]
    assert not violations, render_text(whole_graph, sources.root)


def test_the_printed_ondansetron_dose_is_a_warning_in_the_curated_graph(
    whole_graph: ValidationOutcome,
) -> None:
    """Seed 003 prints "4 g of sublingual ondansetron"; the graph keeps it, the shapes warn."""
    warnings = [e for e in whole_graph.entries if e.result.severity == "Warning"]
    assert any("ondansetron" in e.node_label for e in warnings)
