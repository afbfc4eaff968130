"""Reading the ontology, the curated graph and the shapes: the one loader of the pipeline.

Every stage (``build``, ``validate``, ``reason``, ``stats``) parses its inputs through this
module, so they all read the same files (as :class:`~ketamine_ed_kg.paths.ProjectPaths` names
them) and report a broken Turtle file the same way: a
:class:`~ketamine_ed_kg.errors.SourceParseError` that names the file and line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from xml.sax import SAXParseException

import pyoxigraph as ox
from rdflib import Graph
from rdflib.exceptions import ParserError

from .errors import KedError, SourceParseError
from .formats import of_path
from .namespaces import PREFIXES
from .paths import ProjectPaths

_LINE_RE = re.compile(r"line (\d+)", re.IGNORECASE)

Progress = Callable[[str], None]
FileHook = Callable[[Path, Graph], None]
"""Called with each file and the graph parsed from it alone (see :func:`load_data`)."""


def quiet(_: str) -> None:
    """The default :data:`Progress`: say nothing (the CLI passes one that writes to stderr)."""


def new_graph() -> Graph:
    """An empty graph with the project's prefixes bound."""
    graph = Graph()
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, override=True)
    return graph


def parse_file(path: Path, into: Graph | None = None) -> Graph:
    """Parse one RDF file (format from its suffix) and raise :class:`SourceParseError` on error."""
    graph = into if into is not None else new_graph()
    try:
        graph.parse(path, format=of_path(path).spec.rdflib)
    except (SyntaxError, ParserError, SAXParseException, ValueError) as exc:
        # rdflib's parsers signal a broken file with BadSyntax (a SyntaxError) for Turtle,
        # ParserError for N-Triples, SAXParseException for RDF/XML and ValueError for bad
        # literals or JSON; each becomes one error type that names the file and line. Other
        # exceptions (a missing file, a bug) propagate unchanged.
        text = str(exc)
        match = _LINE_RE.search(text)
        raise SourceParseError(path, int(match.group(1)) if match else None, text) from exc
    return graph


def parse_quads(path: Path) -> list[ox.Quad]:
    """Every triple or quad of an RDF file (format from its suffix), with pyoxigraph: a release
    file of tens of thousands of triples in a fraction of rdflib's time. Raises
    :class:`SourceParseError` naming the file and line on a syntax error."""
    try:
        return list(ox.parse(path=path, format=of_path(path).rdf))
    except SyntaxError as exc:
        raise SourceParseError(path, exc.lineno, str(exc)) from exc


def load_ontology(paths: ProjectPaths) -> Graph:
    """The ontology, ``ontology/ketamine-ed.ttl``, in a graph of its own."""
    return parse_file(paths.ontology_file)


def load_data(files: Iterable[Path], each: FileHook | None = None) -> Graph:
    """Parse curated files into one data graph.

    With ``each``, every file is parsed into a graph of its own, handed to ``each`` and then
    merged: the validator records this way which file defines which node. Without it the files
    are parsed straight into the one graph (one copy less).
    """
    data = new_graph()
    for path in files:
        if each is None:
            parse_file(path, data)
        else:
            part = parse_file(path)
            each(path, part)
            data += part
    return data


def load_sources(paths: ProjectPaths, progress: Progress = quiet) -> tuple[Graph, Graph]:
    """Parse the ontology and every curated file; return (ontology, asserted data)."""
    progress(f"parsing {paths.ontology_file.relative_to(paths.root)}")
    ontology = load_ontology(paths)
    files = paths.graph_files()
    progress(f"parsing {len(files)} graph files")
    return ontology, load_data(files)


_shapes_cache: dict[tuple[tuple[str, int, int], ...], Graph] = {}


def load_shapes(paths: ProjectPaths) -> Graph:
    """Parse every file in ``shapes/`` once per change.

    The cache key is each file's name, modification time and size, so a long-lived process
    (the test session) re-parses only after an edit. Callers must not modify the graph.
    """
    files = paths.shape_files()
    if not files:
        raise KedError(f"{paths.shapes_dir}: no shape files (*.ttl) found")
    key = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    cached = _shapes_cache.get(key)
    if cached is None:
        cached = load_data(files)
        _shapes_cache.clear()
        _shapes_cache[key] = cached
    return cached


def source_files(paths: ProjectPaths) -> list[Path]:
    """The files a release is built from: the ontology, every curated graph file and the
    example queries (the examples graph is part of the release)."""
    return [paths.ontology_file, *paths.graph_files(), *paths.example_files()]


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
