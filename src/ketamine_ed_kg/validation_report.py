"""Turning validation results into something a curator can act on.

A SHACL report names nodes, not files. Curators edit files, so every result is located: the
file that defines the node (the one that types it, else the first that describes it) and the
line where its prefixed name or IRI starts a statement. Blank nodes (doses, quantities) are
shown and located through the named node that owns them, e.g.
``ked:mills-1998-regimen / kedo:hasDose / [ ]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF
from rdflib.term import Node

from .loading import new_graph
from .namespaces import SH

if TYPE_CHECKING:
    from .validation import ReportedResult, ValidationOutcome

SHAPES_NS = "https://w3id.org/ketamine-ed/shapes/"
"""Namespace of the shapes themselves (``kedsh:``); QC queries are named in it too."""

_MAX_OWNER_DEPTH = 6
_NM = new_graph().namespace_manager
_NM.bind("kedsh", SHAPES_NS)


def short(node: Node | None, graph: Graph | None = None) -> str:
    """A node as a curator writes it: a prefixed name, ``<iri>``, a literal or a path."""
    if node is None:
        return "-"
    if isinstance(node, URIRef):
        try:
            return _NM.normalizeUri(node)
        except Exception:  # rdflib raises for IRIs that cannot be split
            return f"<{node}>"
    if isinstance(node, Literal):
        return node.n3(_NM)
    if isinstance(node, BNode) and graph is not None:
        return _path_text(node, graph)
    return "[ ]"


def _path_text(node: BNode, graph: Graph) -> str:
    """Render a SHACL property path held in ``graph`` (sequence, inverse, alternative ...)."""
    if graph.value(node, RDF.first) is not None:
        return "/".join(short(p, graph) for p in Collection(graph, node))
    inverse = graph.value(node, SH.inversePath)
    if inverse is not None:
        return f"^{short(inverse, graph)}"
    alternative = graph.value(node, SH.alternativePath)
    if alternative is not None:
        return "(" + "|".join(short(p, graph) for p in Collection(graph, alternative)) + ")"
    for prop, mark in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = graph.value(node, prop)
        if inner is not None:
            return f"{short(inner, graph)}{mark}"
    return "[ ]"


class SourceIndex:
    """Which file defines each node, and on which line."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._typed: dict[Node, Path] = {}
        self._subject: dict[Node, Path] = {}
        self._object: dict[Node, Path] = {}
        self._lines: dict[Path, list[str]] = {}

    def add_file(self, path: Path, graph: Graph) -> None:
        """Record the nodes ``graph`` (parsed from ``path``) describes."""
        self._lines[path] = path.read_text(encoding="utf-8").splitlines()
        for s, p, o in graph:
            if p == RDF.type:
                self._typed.setdefault(s, path)
            self._subject.setdefault(s, path)
            self._object.setdefault(o, path)

    def _owner(self, node: Node, graph: Graph) -> tuple[Node, list[Node]]:
        """Walk from a blank node up to the named node that owns it; return it and the path."""
        steps: list[Node] = []
        current = node
        for _ in range(_MAX_OWNER_DEPTH):
            if not isinstance(current, BNode):
                break
            incoming = next(iter(graph.subject_predicates(current)), None)
            if incoming is None:
                break
            current, pred = incoming
            steps.insert(0, pred)
        return current, steps

    def _find_line(self, path: Path, node: Node, after: int = 0) -> int | None:
        tokens = [f"<{node}>"]
        if isinstance(node, URIRef):
            name = short(node)
            if not name.startswith("<"):
                tokens.insert(0, name)
        lines = self._lines.get(path, [])
        patterns = [re.compile(re.escape(t) + r"(?![\w\-]|\.[\w\-])") for t in tokens]
        for subject_only in (True, False):
            for number, text in enumerate(lines[after:], start=after + 1):
                for pattern in patterns:
                    match = pattern.search(text)
                    if match and (not subject_only or not text[: match.start()].strip()):
                        return number
        return None

    def locate(self, node: Node, graph: Graph) -> tuple[Path | None, int | None, str]:
        """The file, line and display label of ``node`` (blank nodes via their owner)."""
        owner, steps = self._owner(node, graph) if isinstance(node, BNode) else (node, [])
        file = self._typed.get(owner) or self._subject.get(owner) or self._object.get(owner)
        label = short(owner)
        if steps:
            label = " / ".join([label, *(short(s) for s in steps), "[ ]"])
        line = None
        if file is not None and isinstance(owner, URIRef):
            line = self._find_line(file, owner)
            if line is not None and steps:
                line = self._find_line(file, steps[0], after=line - 1) or line
        return file, line, label


def _copy_closure(source: Graph, node: Node, target: Graph) -> None:
    """Copy ``node``'s triples and those of the blank nodes it reaches (paths, details)."""
    stack = [node]
    seen: set[Node] = set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        for _, p, o in source.triples((current, None, None)):
            target.add((current, p, o))
            if isinstance(o, BNode):
                stack.append(o)


def build_report_graph(shacl_report: Graph, entries: Iterable[ReportedResult]) -> Graph:
    """An ``sh:ValidationReport`` holding exactly the reported entries (SHACL and QC).

    ``sh:conforms`` keeps SHACL's meaning: false when there is any result at all, warnings
    included. (The command's exit status only counts violations.)
    """
    report = new_graph()
    root = BNode()
    report.add((root, RDF.type, SH.ValidationReport))
    count = 0
    for entry in entries:
        count += 1
        result = entry.result
        if result.node is not None:
            _copy_closure(shacl_report, result.node, report)
            report.add((root, SH.result, result.node))
            continue
        node = BNode()
        report.add((root, SH.result, node))
        report.add((node, RDF.type, SH.ValidationResult))
        report.add((node, SH.focusNode, result.focus))
        report.add((node, SH.resultSeverity, SH[result.severity]))
        report.add((node, SH.resultMessage, Literal(result.message)))
        if result.source_shape is not None:
            report.add((node, SH.sourceShape, result.source_shape))
        if result.component is not None:
            report.add((node, SH.sourceConstraintComponent, result.component))
        if result.path is not None:
            report.add((node, SH.resultPath, result.path))
        if result.value is not None:
            report.add((node, SH.value, result.value))
    report.add((root, SH.conforms, Literal(count == 0)))
    return report


def render_text(outcome: ValidationOutcome, root: Path) -> str:
    """The report a curator reads: grouped by file, then node; one entry per problem."""
    out: list[str] = []
    current_file: Path | None | str = ""
    current_node = ""
    for entry in outcome.entries:
        if entry.file != current_file:
            current_file = entry.file
            current_node = ""
            name = _relative(entry.file, root) if entry.file else "(node not defined in any file)"
            out.append("" if not out else "")
            out.append(name)
        if entry.node_label != current_node:
            current_node = entry.node_label
            where = ""
            if entry.file and entry.line:
                where = f"{_relative(entry.file, root)}:{entry.line}"
            out.append(f"  {entry.node_label}" + (f"  ({where})" if where else ""))
        result = entry.result
        path = short(result.path, outcome.report) if result.path is not None else "-"
        value = short(result.value, outcome.report) if result.value is not None else "-"
        out.append(f"    {result.severity:<10}path: {path}   value: {value}")
        out.append(f"              {result.message}")
    violations, warnings, infos = (outcome.count(s) for s in ("Violation", "Warning", "Info"))
    verdict = "conforms" if outcome.conforms else "does NOT conform"
    if out:
        out.append("")
    out.append(
        f"{verdict}: {violations} violation(s), {warnings} warning(s), {infos} note(s); "
        f"{outcome.triples} triples in {len(outcome.files)} file(s) checked against "
        f"{outcome.shapes} shapes and {outcome.qc_queries} QC queries in {outcome.seconds:.2f} s"
    )
    return "\n".join(out) + "\n"


def _relative(path: Path | None, root: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
