"""Validating the curated graph: SHACL Core shapes, then the QC queries.

One function, :func:`run_shacl`, wraps pyshacl; the ``validate`` command, the shape-fixture
tests and the W3C SHACL Core conformance test all go through it, so a conformance pass is a
statement about the code curators actually run. :func:`validate_project` adds what a curator
needs around it: which files to load, the ontology as the ontology graph (so ``sh:class``
sees the class hierarchy), the QC queries where SHACL Core is awkward, and the file and line
of every reported node (see :mod:`ketamine_ed_kg.validation_report`).

Why ``inference="none"`` by default: pyshacl mixes the ontology graph into (a copy of) the data
graph, so ``sh:class`` and ``sh:targetClass`` already follow ``rdfs:subClassOf*`` as SHACL
requires. RDFS entailment adds nothing the shapes need, would type nodes through
``rdfs:domain`` (so a misused property would silently make a node a target of the wrong
shape), and costs several times the validation itself (measured in docs/validation.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal as TypingLiteral

import pyoxigraph as ox
from pyshacl import validate as pyshacl_validate
from rdflib import Graph, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from .errors import KedError
from .loading import load_data, load_ontology, load_shapes
from .namespaces import SH
from .paths import ProjectPaths
from .terms import from_oxigraph, to_quad
from .validation_report import SHAPES_NS

Inference = TypingLiteral["none", "rdfs"]
SEVERITIES: dict[Node, str] = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}

_DESCRIPTION_RE = re.compile(r"^#\s*description:\s?(.*)$")
_COMMENT_RE = re.compile(r"^#\s?(.*)$")


@dataclass(frozen=True)
class ShaclResult:
    """One ``sh:ValidationResult`` (or QC row), reduced to what a curator reads."""

    focus: Node
    path: Node | None
    value: Node | None
    message: str
    severity: str
    source_shape: Node | None
    component: Node | None
    node: Node | None = None
    """The result node in the report graph (None for QC rows)."""


@dataclass(frozen=True)
class ShaclRun:
    """What pyshacl returned: its verdict, its report graph and the parsed results."""

    conforms: bool
    report: Graph
    results: list[ShaclResult]


# --------------------------------------------------------------------------- SHACL


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


# --------------------------------------------------------------------------- QC queries


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


def load_qc_queries(qc_dir: Path) -> list[QcQuery]:
    """Read the QC queries; each must start with ``# description:`` comment lines."""
    queries = []
    for path in sorted(qc_dir.glob("*-violation.rq")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        description: list[str] = []
        if lines and (first := _DESCRIPTION_RE.match(lines[0])):
            description.append(first.group(1).strip())
            for line in lines[1:]:
                more = _COMMENT_RE.match(line)
                if not more:
                    break
                description.append(more.group(1).strip())
        if not description:
            raise KedError(f"{path}: a QC query must start with a '# description: ...' line")
        name = path.name.removesuffix(".rq")
        queries.append(QcQuery(name, path, " ".join(d for d in description if d), text))
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
        try:
            solutions = store.query(query.text)
        except SyntaxError as exc:
            raise KedError(f"{query.path}: the QC query does not parse: {exc}") from exc
        if not isinstance(solutions, ox.QuerySolutions):
            raise KedError(f"{query.path}: a QC query must be a SELECT query")
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


# --------------------------------------------------------------------------- project


@dataclass
class ValidationOutcome:
    """The result of validating the project (or some of its files)."""

    entries: list[ReportedResult]
    report: Graph
    files: list[Path]
    triples: int
    shapes: int
    qc_queries: int
    seconds: float
    shacl_seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def count(self, severity: str) -> int:
        """How many entries have ``severity``."""
        return sum(1 for e in self.entries if e.result.severity == severity)

    @property
    def conforms(self) -> bool:
        """True when nothing is a Violation (warnings and notes do not fail)."""
        return self.count("Violation") == 0


@dataclass(frozen=True)
class ReportedResult:
    """A result located in the curated files."""

    result: ShaclResult
    file: Path | None
    line: int | None
    node_label: str


def count_shapes(shapes: Graph) -> int:
    """Number of node shapes plus property shapes."""
    nodes = set(shapes.subjects(RDF.type, SH.NodeShape))
    nodes |= set(shapes.subjects(RDF.type, SH.PropertyShape))
    nodes |= set(shapes.objects(None, SH.property))
    return len(nodes)


def check_graph(
    data: Graph,
    ontology: Graph,
    shapes: Graph,
    queries: Sequence[QcQuery],
    inference: Inference = "none",
    timings: dict[str, float] | None = None,
) -> tuple[ShaclRun, list[ShaclResult]]:
    """SHACL, then the QC queries over data plus ontology: what ``validate`` runs on any graph.

    The shape fixtures go through this function too, so a fixture's expected results are the
    results a curator would see.
    """
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    # The ontology merged into a private copy of the data is exactly the graph pyshacl builds
    # from ``ont_graph``; building it once lets SHACL run in place and the QC queries reuse it.
    merged = data + ontology
    if inference == "none":
        run = run_shacl(merged, shapes, inplace=True)
    else:
        run = run_shacl(data, shapes, ontology, inference=inference)
    timings["shacl"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    qc_results = run_qc(merged, queries)
    timings["qc"] = time.perf_counter() - t0
    return run, qc_results


def validate_project(
    paths: ProjectPaths,
    files: Sequence[Path] | None = None,
    inference: Inference = "none",
) -> ValidationOutcome:
    """Validate the whole graph, or ``files`` with ``graph/shared`` as context.

    With ``files``, only nodes that those files define are reported: shared data is loaded so
    that links to source documents and substances resolve, but its own problems belong to a
    whole-graph run.
    """
    from .validation_report import SourceIndex, build_report_graph

    started = time.perf_counter()
    timings: dict[str, float] = {}
    shapes = load_shapes(paths)
    timings["shapes"] = time.perf_counter() - started

    if files:
        chosen = [f.resolve() for f in files]
        context = [f for f in paths.shared_graph_files() if f not in chosen]
        load = [*chosen, *context]
        report_files: set[Path] | None = set(chosen)
    else:
        load = paths.graph_files()
        report_files = None

    t0 = time.perf_counter()
    ontology = load_ontology(paths)
    index = SourceIndex(paths.root)
    index.add_file(paths.ontology_file, ontology)
    data = load_data(load, each=index.add_file)
    timings["parse"] = time.perf_counter() - t0

    qc_dir = paths.qc_queries_dir
    queries = load_qc_queries(qc_dir) if qc_dir.is_dir() else []
    run, qc_results = check_graph(data, ontology, shapes, queries, inference, timings)
    shacl_seconds = timings["shacl"]

    t0 = time.perf_counter()
    entries = []
    for result in [*run.results, *qc_results]:
        file, line, label = index.locate(result.focus, data)
        if report_files is not None and (file is None or file.resolve() not in report_files):
            continue
        entries.append(ReportedResult(result, file, line, label))
    entries.sort(key=lambda e: (str(e.file or ""), e.line or 0, e.node_label, e.result.severity,
                                str(e.result.path or "")))
    report = build_report_graph(run.report, entries)
    timings["report"] = time.perf_counter() - t0

    return ValidationOutcome(
        entries=entries,
        report=report,
        files=load,
        triples=len(data),
        shapes=count_shapes(shapes),
        qc_queries=len(queries),
        seconds=time.perf_counter() - started,
        shacl_seconds=shacl_seconds,
        timings=timings,
    )
