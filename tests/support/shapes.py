"""Reading the shape fixtures in ``tests/shapes/`` and the constraints in ``shapes/``.

Each fixture is one W3C-style ``sht:Validate`` test in a single Turtle file: the data, and a
manifest entry whose ``mf:result`` is the expected ``sh:ValidationReport`` (``sh:conforms`` and
one ``sh:result`` per expected problem, giving focus node, path, severity and constraint
component; QC rows also give the query as ``sh:sourceShape``). As in the W3C suite the data
graph is the file itself (``sht:dataGraph <>``); the shapes graph is ``shapes/``, with the
ontology as the ontology graph, through :func:`ketamine_ed_kg.validation.check_graph`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from ketamine_ed_kg.namespaces import SH
from ketamine_ed_kg.validation import SEVERITIES, ShaclResult, short

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")
FIXTURE_DIR = Path(__file__).parents[1] / "shapes"

Key = tuple[str, str, str, str, str]
"""(focus, path, severity, component, QC query or "")."""

# Parameters of SHACL Core constraint components (one parameter each is enough to name them).
PARAMETERS: dict[URIRef, URIRef] = {
    SH["class"]: SH.ClassConstraintComponent,
    SH.datatype: SH.DatatypeConstraintComponent,
    SH.nodeKind: SH.NodeKindConstraintComponent,
    SH.minCount: SH.MinCountConstraintComponent,
    SH.maxCount: SH.MaxCountConstraintComponent,
    SH.minExclusive: SH.MinExclusiveConstraintComponent,
    SH.minInclusive: SH.MinInclusiveConstraintComponent,
    SH.maxExclusive: SH.MaxExclusiveConstraintComponent,
    SH.maxInclusive: SH.MaxInclusiveConstraintComponent,
    SH.minLength: SH.MinLengthConstraintComponent,
    SH.maxLength: SH.MaxLengthConstraintComponent,
    SH.pattern: SH.PatternConstraintComponent,
    SH.languageIn: SH.LanguageInConstraintComponent,
    SH.uniqueLang: SH.UniqueLangConstraintComponent,
    SH.equals: SH.EqualsConstraintComponent,
    SH.disjoint: SH.DisjointConstraintComponent,
    SH.lessThan: SH.LessThanConstraintComponent,
    SH.lessThanOrEquals: SH.LessThanOrEqualsConstraintComponent,
    SH["not"]: SH.NotConstraintComponent,
    SH["and"]: SH.AndConstraintComponent,
    SH["or"]: SH.OrConstraintComponent,
    SH.xone: SH.XoneConstraintComponent,
    SH.node: SH.NodeConstraintComponent,
    SH.qualifiedValueShape: SH.QualifiedMinCountConstraintComponent,
    SH.closed: SH.ClosedConstraintComponent,
    SH.hasValue: SH.HasValueConstraintComponent,
    SH["in"]: SH.InConstraintComponent,
}


@dataclass(frozen=True)
class Fixture:
    """One fixture file: its graph, label and expected report."""

    path: Path
    graph: Graph
    label: str
    conforms: bool
    expected: frozenset[Key]


def fixture_paths() -> list[Path]:
    """Every fixture, in a stable order."""
    return sorted(FIXTURE_DIR.glob("*.ttl"))


def load_fixture(path: Path) -> Fixture:
    """Parse a fixture with its own file URL as base, as the W3C manifests are read."""
    graph = Graph()
    graph.parse(path, format="turtle", publicID=path.as_uri())
    tests = list(graph.subjects(RDF.type, SHT.Validate))
    assert len(tests) == 1, f"{path.name}: one sht:Validate entry expected, found {len(tests)}"
    test = tests[0]
    action = graph.value(test, MF.action)
    assert graph.value(action, SHT.dataGraph) == URIRef(path.as_uri()), f"{path.name}: dataGraph <>"
    report = graph.value(test, MF.result)
    conforms_literal = graph.value(report, SH.conforms)
    assert isinstance(conforms_literal, Literal), f"{path.name}: mf:result needs sh:conforms"
    expected = set()
    for result in graph.objects(report, SH.result):
        focus = graph.value(result, SH.focusNode)
        assert focus is not None, f"{path.name}: every expected result needs sh:focusNode"
        path_node = graph.value(result, SH.resultPath)
        severity = graph.value(result, SH.resultSeverity)
        component = graph.value(result, SH.sourceConstraintComponent)
        assert severity is not None and component is not None, f"{path.name}: severity/component"
        is_qc = component == SH.SPARQLConstraintComponent
        qc = graph.value(result, SH.sourceShape) if is_qc else None
        expected.add((
            short(focus),
            short(path_node, graph) if path_node is not None else "-",
            SEVERITIES[severity],
            short(component),
            short(qc) if qc is not None else "",
        ))
    label = str(graph.value(test, RDFS.label) or path.stem)
    return Fixture(path, graph, label, bool(conforms_literal.toPython()), frozenset(expected))


def result_key(result: ShaclResult, report: Graph) -> Key:
    """The comparable key of an actual result."""
    qc = result.source_shape if result.component == SH.SPARQLConstraintComponent else None
    return (
        short(result.focus),
        short(result.path, report) if result.path is not None else "-",
        result.severity,
        short(result.component),
        short(qc) if qc is not None else "",
    )


# --------------------------------------------------------------------------- constraints

ConstraintKey = tuple[str, str, str]
"""(shape: IRI of a node shape, or "path | message" of a property shape; component; "")."""


def _message(shapes: Graph, shape: Node) -> str:
    return " ".join(sorted(str(m) for m in shapes.objects(shape, SH.message)))


def property_shape_id(shapes: Graph, shape: Node) -> str:
    """A property shape is named by its path and message (blank nodes have no stable name)."""
    return f"{short(shapes.value(shape, SH.path), shapes)} | {_message(shapes, shape)}"


def constraints(shapes: Graph) -> set[ConstraintKey]:
    """Every top-level constraint: a node shape's own parameters and its property shapes'."""
    found: set[ConstraintKey] = set()
    for node_shape in set(shapes.subjects(RDF.type, SH.NodeShape)):
        for parameter, component in PARAMETERS.items():
            if (node_shape, parameter, None) in shapes:
                found.add((short(node_shape), short(component), ""))
        for prop in shapes.objects(node_shape, SH.property):
            name = property_shape_id(shapes, prop)
            for parameter, component in PARAMETERS.items():
                if (prop, parameter, None) in shapes:
                    found.add((name, short(component), ""))
    return found


def covered(result: ShaclResult, report: Graph) -> ConstraintKey | None:
    """The constraint an actual SHACL result comes from (None for QC rows)."""
    if result.component == SH.SPARQLConstraintComponent or result.component is None:
        return None
    shape = result.source_shape
    if isinstance(shape, URIRef):
        return (short(shape), short(result.component), "")
    path = short(result.path, report) if result.path is not None else "-"
    return (f"{path} | {result.message}", short(result.component), "")


def list_items(graph: Graph, node: Node) -> list[Node]:
    """The members of an RDF list."""
    return list(Collection(graph, node))
