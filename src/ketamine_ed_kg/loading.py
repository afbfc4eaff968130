"""Reading the curated RDF files, with errors that name the file and line.

Parsing is done here once, so the builder, the validator and the reasoner report a broken
Turtle file the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from xml.sax import SAXParseException

from rdflib import Graph
from rdflib.exceptions import ParserError

from .errors import SourceParseError
from .namespaces import PREFIXES
from .paths import ProjectPaths

_LINE_RE = re.compile(r"line (\d+)", re.IGNORECASE)


def new_graph() -> Graph:
    """An empty graph with the project's prefixes bound."""
    graph = Graph()
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, override=True)
    return graph


def parse_file(path: Path, into: Graph | None = None) -> Graph:
    """Parse one RDF file (format from its suffix) and raise :class:`SourceParseError` on error."""
    graph = into if into is not None else new_graph()
    fmt = {".ttl": "turtle", ".nt": "nt", ".owl": "xml", ".rdf": "xml", ".jsonld": "json-ld"}.get(
        path.suffix, "turtle"
    )
    try:
        graph.parse(path, format=fmt)
    except (SyntaxError, ParserError, SAXParseException, ValueError) as exc:
        # rdflib's parsers signal a broken file with BadSyntax (a SyntaxError) for Turtle,
        # ParserError for N-Triples, SAXParseException for RDF/XML and ValueError for bad
        # literals or JSON; each becomes one error type that names the file and line. Other
        # exceptions (a missing file, a bug) propagate unchanged.
        text = str(exc)
        match = _LINE_RE.search(text)
        raise SourceParseError(path, int(match.group(1)) if match else None, text) from exc
    return graph


def parse_files(paths: Iterable[Path], into: Graph | None = None) -> Graph:
    """Parse several files into one graph."""
    graph = into if into is not None else new_graph()
    for path in paths:
        parse_file(path, graph)
    return graph


def source_files(paths: ProjectPaths) -> list[Path]:
    """The files a release is built from: the ontology and every curated graph file."""
    return [paths.ontology_file, *paths.graph_files()]


def sources_digest(paths: ProjectPaths) -> str:
    """A digest of every source file's name and bytes: the graph version.

    The build is redone only when this changes, and the server derives its ETag from it.
    """
    digest = hashlib.sha256()
    for path in source_files(paths):
        digest.update(str(path.relative_to(paths.root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
