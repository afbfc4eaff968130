"""Finding where a reported node is written, and how a curator writes it.

A SHACL report names nodes, not files. Curators edit files, so every result is located: the
file that defines the node (the one that types it, else the first that describes it) and the
line where its prefixed name or IRI starts a statement. Blank nodes (doses, quantities) are
shown and located through the named node that owns them, e.g.
``ked:mills-1998-regimen / kedo:hasDose / [ ]``.
"""

from __future__ import annotations

import re
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF
from rdflib.term import Node

from ..loading import new_graph
from ..namespaces import SH, SHAPES_NS

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


__all__ = ["SourceIndex", "short"]
