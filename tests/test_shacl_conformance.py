"""W3C SHACL Core conformance of our validation path, and a second engine as a cross-check.

The suite in ``../shared/conformance/shacl-core`` runs through
:func:`ketamine_ed_kg.validation.run_shacl`, the function ``ketamine-ed-kg validate`` uses.
Reports are compared as ``../shared/conformance/README.md`` prescribes: same ``sh:conforms``,
and the cleaned report isomorphic to the expected one.

pyrudof (an independent Rust SHACL engine) must reach the same verdict as pyshacl on every
shape fixture and on the curated graph; the one systematic difference (literal focus nodes from
``sh:targetObjectsOf``) is documented in docs/validation.md and checked here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from rdflib import BNode, Graph, Literal, Namespace
from rdflib.compare import isomorphic
from rdflib.namespace import RDF
from rdflib.term import Node

from ketamine_ed_kg.namespaces import SH
from ketamine_ed_kg.validation import run_shacl
from support.project import Curated
from support.shapes import fixture_paths, load_fixture

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")

KEPT = {SH.focusNode, SH.resultPath, SH.resultSeverity, SH.sourceConstraint,
        SH.sourceConstraintComponent, SH.sourceShape, SH.value, SH.resultMessage}
PATH_PREDICATES = {RDF.first, RDF.rest, SH.inversePath, SH.alternativePath, SH.zeroOrMorePath,
                   SH.oneOrMorePath, SH.zeroOrOnePath}


# --------------------------------------------------------------------------- W3C suite


def _entries(manifest: Path, seen: set[Path] | None = None) -> Iterator[tuple[Graph, Node, Path]]:
    seen = seen if seen is not None else set()
    if manifest in seen:
        return
    seen.add(manifest)
    graph = Graph()
    graph.parse(manifest, format="turtle", publicID=manifest.as_uri())
    for include in graph.objects(None, MF.include):
        yield from _entries(Path(str(include).removeprefix("file://")), seen)
    for entries in graph.objects(None, MF.entries):
        for entry in graph.items(entries):
            yield graph, entry, manifest


def _load(iri: Node | None) -> Graph:
    assert iri is not None, "a test action without its data or shapes graph"
    path = Path(str(iri).removeprefix("file://"))
    graph = Graph()
    graph.parse(path, format="turtle", publicID=path.as_uri())
    return graph


def _copy_path(source: Graph, node: Node, target: Graph) -> Node:
    """Copy a path structure with fresh blank nodes (a report may share one path node)."""
    if not isinstance(node, BNode):
        return node
    fresh = BNode()
    for _, p, o in source.triples((node, None, None)):
        if p in PATH_PREDICATES:
            target.add((fresh, p, _copy_path(source, o, target)))
    return fresh


def _clean(source: Graph, report: Node, keep_messages: bool) -> Graph:
    """The cleaned report of README.md: only the listed predicates, paths kept whole."""
    clean = Graph()
    clean.add((report, RDF.type, SH.ValidationReport))
    conforms = source.value(report, SH.conforms)
    assert isinstance(conforms, Literal)
    clean.add((report, SH.conforms, Literal(bool(conforms.toPython()))))
    for result in source.objects(report, SH.result):
        clean.add((report, SH.result, result))
        clean.add((result, RDF.type, SH.ValidationResult))
        for _, p, o in source.triples((result, None, None)):
            if p == SH.resultPath:
                clean.add((result, p, _copy_path(source, o, clean)))
            elif p in KEPT and (keep_messages or p != SH.resultMessage):
                clean.add((result, p, o))
    return clean


def _w3c_outcome(graph: Graph, entry: Node, engine: str = "ours") -> bool:
    action = graph.value(entry, MF.action)
    data = _load(graph.value(action, SHT.dataGraph))
    shapes = _load(graph.value(action, SHT.shapesGraph))
    expected_node = graph.value(entry, MF.result)
    if expected_node == SHT.Failure:
        try:
            run_shacl(data, shapes)
        except Exception:  # any error is the expected failure
            return True
        return False
    if engine == "ours":
        report = run_shacl(data, shapes).report
    else:  # pyshacl on its own, to explain any difference
        from pyshacl import validate

        _, report, _ = validate(data, shacl_graph=shapes)
    actual_node = report.value(predicate=RDF.type, object=SH.ValidationReport)
    assert expected_node is not None and actual_node is not None
    keep_messages = (expected_node, None, None) in graph and any(
        (r, SH.resultMessage, None) in graph for r in graph.objects(expected_node, SH.result)
    )
    expected = _clean(graph, expected_node, keep_messages)
    actual = _clean(report, actual_node, keep_messages)
    same_verdict = expected.value(expected_node, SH.conforms) == actual.value(
        actual_node, SH.conforms
    )
    return same_verdict and isomorphic(expected, actual)


def _w3c_results(shared: Path, engine: str) -> dict[str, bool]:
    manifest = shared / "conformance" / "shacl-core" / "manifest.ttl"
    results = {}
    base = manifest.parent
    for graph, entry, path in _entries(manifest):
        if (entry, RDF.type, SHT.Validate) not in graph:
            continue
        name = f"{path.parent.relative_to(base)}/{str(entry).rsplit('/', 1)[-1]}"
        results[name] = _w3c_outcome(graph, entry, engine)
    return results


@pytest.fixture(scope="module")
def w3c_ours(shared_dir: Path) -> dict[str, bool]:
    """Each test of the suite, passed or not through our validation path."""
    return _w3c_results(shared_dir, "ours")


@pytest.mark.shared
@pytest.mark.w3c
def test_w3c_shacl_core_through_the_validate_path(w3c_ours: dict[str, bool]) -> None:
    """97 of 98 pass; the one failure is the one pyshacl alone has, for the same reason.

    ``property/uniqueLang-002`` sets ``sh:uniqueLang "1"^^xsd:boolean`` and expects the
    constraint to be ignored (only ``true`` activates it). rdflib normalises literals while
    parsing, so "1"^^xsd:boolean is already "true"^^xsd:boolean when any SHACL engine on rdflib
    sees the shapes graph.
    """
    results = w3c_ours
    assert len(results) == 98
    failed = sorted(name for name, ok in results.items() if not ok)
    assert failed == ["property/uniqueLang-002"], f"{98 - len(failed)}/98 pass"


@pytest.mark.shared
@pytest.mark.w3c
def test_our_path_matches_pyshacl_alone(w3c_ours: dict[str, bool], shared_dir: Path) -> None:
    assert w3c_ours == _w3c_results(shared_dir, "pyshacl")


def test_rdflib_normalises_the_boolean_that_unique_lang_002_relies_on() -> None:
    graph = Graph()
    graph.parse(data='<urn:s> <urn:p> "1"^^<http://www.w3.org/2001/XMLSchema#boolean> .',
                format="turtle")
    (value,) = graph.objects()
    assert str(value) == "true"


# --------------------------------------------------------------------------- pyrudof


def _key(node: str) -> str:
    return "_:b" if node.startswith("_:") else node.strip("<>")


Results = set[tuple[str, str, str]]
"""(focus node, constraint component, severity) of each result."""


@dataclass(frozen=True)
class Engines:
    """The shapes and the ontology, as pyshacl (our validation path) and pyrudof see them."""

    pyrudof: ModuleType
    shapes: Graph
    ontology: Graph
    shapes_ttl: str

    def rudof(self, data: Graph) -> tuple[bool, Results]:
        """pyrudof's verdict and results on ``data`` with the ontology merged in (as pyshacl
        does)."""
        rudof = self.pyrudof.Rudof(self.pyrudof.RudofConfig())
        rudof.read_data((data + self.ontology).serialize(format="nt"),
                        self.pyrudof.RDFFormat.NTriples)
        rudof.read_shacl(self.shapes_ttl)
        report = rudof.validate_shacl()
        results = {
            (_key(str(e.focus_node)), str(e.constraint_component).strip("<>"), str(e.severity))
            for e in report
        }
        return bool(report.conforms), results

    def pyshacl(self, data: Graph) -> tuple[bool, Results, Results]:
        """pyshacl's verdict, its results on IRI/blank focus nodes, and those on literal ones."""
        run = run_shacl(data, self.shapes, self.ontology)
        keyed: Results = set()
        literal: Results = set()
        for r in run.results:
            focus = "_:b" if isinstance(r.focus, BNode) else str(r.focus)
            key = (focus, str(r.component), r.severity)
            (literal if isinstance(r.focus, Literal) else keyed).add(key)
        return run.conforms, keyed, literal


@pytest.fixture(scope="module")
def engines(shapes_graph: Graph, curated: Curated) -> Engines:
    pyrudof = pytest.importorskip("pyrudof")
    return Engines(pyrudof, shapes_graph, curated.ontology,
                   shapes_graph.serialize(format="turtle"))


@pytest.mark.pyrudof
@pytest.mark.parametrize("path", fixture_paths(), ids=lambda p: p.stem)
def test_pyrudof_gives_the_same_verdict_on_every_fixture(path: Path, engines: Engines) -> None:
    graph = load_fixture(path).graph
    ours, keyed, _ = engines.pyshacl(graph)
    theirs, their_results = engines.rudof(graph)
    assert ours == theirs
    # Beyond the verdict, the results agree except on literal focus nodes (pyrudof skips them).
    assert keyed == their_results


def _byte_length_extras(shapes: Graph, data: Graph) -> Results:
    """Results pyrudof adds because it measures sh:maxLength in UTF-8 bytes, not characters.

    SHACL defines the length as XPath fn:string-length (characters); a 199-character quote with
    two non-ASCII characters (an en dash, "ç") is 201 bytes long.
    """
    extras = set()
    for shape in shapes.subjects(SH.maxLength, None):
        path = shapes.value(shape, SH.path)
        limit = shapes.value(shape, SH.maxLength)
        assert isinstance(limit, Literal)
        for subject, value in data.subject_objects(path):
            text = str(value)
            if len(text) <= int(limit) < len(text.encode("utf-8")):
                extras.add((str(subject), str(SH.MaxLengthConstraintComponent), "Violation"))
    return extras


@pytest.mark.pyrudof
def test_pyrudof_gives_the_same_verdict_on_the_curated_graph(curated: Curated,
                                                             engines: Engines) -> None:
    data = curated.data
    ours, keyed, literal = engines.pyshacl(data)
    theirs, their_results = engines.rudof(data)
    assert ours == theirs
    assert not literal
    # The only difference: pyrudof's byte-counting sh:maxLength (see docs/validation.md).
    assert their_results - keyed == _byte_length_extras(engines.shapes, data)
    assert keyed - their_results == set()


@pytest.mark.pyrudof
def test_literal_focus_nodes_are_the_known_difference(engines: Engines) -> None:
    """pyrudof 0.3.35 drops literal objects of sh:targetObjectsOf from the focus nodes.

    SHACL 2.1.3.4 makes every object a focus node, literals included; pyshacl follows it.
    """
    graph = Graph()
    graph.parse(data="""
        @prefix kedo: <https://w3id.org/ketamine-ed/ontology/> .
        @prefix ked: <https://w3id.org/ketamine-ed/resource/> .
        ked:x kedo:followUpDuration "7-24 months" .
    """, format="turtle")
    _, keyed, literal = engines.pyshacl(graph)
    _, theirs = engines.rudof(graph)
    assert {k[0] for k in literal} == {"7-24 months"}
    assert keyed == theirs == set()
