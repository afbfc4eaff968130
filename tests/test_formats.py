"""The format table (formats.py): one entry per format, and everything drawn from it."""

from __future__ import annotations

import pickle
from pathlib import Path

import pyoxigraph as ox
import pytest

from ketamine_ed_kg.errors import ErrorKind
from ketamine_ed_kg.formats import (
    BOOLEAN_FORMATS,
    RDF_FORMATS,
    RESULT_FORMATS,
    Format,
    by_extension,
    by_name,
)
from ketamine_ed_kg.negotiation import (
    BROWSER_GRAPH,
    BROWSER_RESULTS,
    GRAPH_TYPES,
    RESULT_TYPES,
    negotiate,
)
from ketamine_ed_kg.server.dumps import DUMP_EXTENSIONS
from ketamine_ed_kg.server.errors import STATUS_BY_KIND


def test_names_and_extensions_are_unambiguous() -> None:
    for kind in (RESULT_FORMATS, RDF_FORMATS):
        names = [n for f in kind for n in f.spec.names]
        assert len(names) == len(set(names))
    extensions = [e for f in RDF_FORMATS for e in f.extensions]
    assert len(extensions) == len(set(extensions))
    assert {f.media_type for f in Format} == {f.spec.engine.media_type.split(";")[0]
                                               for f in Format}


@pytest.mark.parametrize("fmt", list(Format), ids=lambda f: f.name)
def test_every_format_is_offered_by_each_name_and_media_type(fmt: Format) -> None:
    offered, browser = ((RESULT_TYPES, BROWSER_RESULTS) if fmt.is_results
                        else (GRAPH_TYPES, BROWSER_GRAPH))
    assert negotiate(offered, fmt.media_type, None, browser).format is fmt
    for name in fmt.spec.names:
        assert by_name(name.upper(), RESULT_FORMATS if fmt.is_results else RDF_FORMATS) is fmt
        assert negotiate(offered, None, name, browser).format is fmt
    for media in fmt.media_types:
        chosen = negotiate(offered, None, media, browser)
        assert chosen.media_type == media
    assert fmt.iri.startswith("http://www.w3.org/ns/formats/")
    assert pickle.loads(pickle.dumps(fmt)) is fmt  # a Job names it across processes


def test_pyoxigraph_writes_and_reads_every_rdf_format() -> None:
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://e/s"), ox.NamedNode("http://e/p"), ox.Literal("o"),
                      ox.NamedNode("http://e/g")))
    for fmt in RDF_FORMATS:
        if fmt.spec.per_graph:
            body = store.dump(format=fmt.rdf)
        else:
            body = store.dump(format=fmt.rdf, from_graph=ox.NamedNode("http://e/g"))
        assert body is not None
        assert len(list(ox.parse(body, format=fmt.rdf))) == 1, fmt
        assert by_extension(fmt.extensions[0]) is fmt


def test_dumps_cover_every_rdf_format_and_results_carry_rows() -> None:
    assert set(DUMP_EXTENSIONS.values()) == set(RDF_FORMATS)
    assert all(f.spec.row_marker[0] for f in RESULT_FORMATS)
    assert set(BOOLEAN_FORMATS) == {Format.JSON, Format.XML}


def test_every_error_kind_has_a_status() -> None:
    """A kind missing from the table would be a KeyError, a 500, for a client's mistake."""
    assert set(STATUS_BY_KIND) == set(ErrorKind)


@pytest.mark.parametrize(("accept", "fmt"), [("application/x-trig", Format.TRIG),
                                             ("text/x-nquads", Format.NQUADS)])
def test_pre_registration_media_types_that_jena_clients_send(accept: str, fmt: Format) -> None:
    """Added as one table entry each (the aliases of TRIG and NQUADS): Jena's RIOT still
    reads and asks for the media types used before TriG and N-Quads were registered."""
    chosen = negotiate(GRAPH_TYPES, accept, None, BROWSER_GRAPH)
    assert (chosen.format, chosen.media_type) == (fmt, accept)
    # The canonical type still wins a tie, and is what */* gets.
    both = f"{accept}, {fmt.media_type}"
    assert negotiate(GRAPH_TYPES, both, None, BROWSER_GRAPH).media_type == fmt.media_type


def test_the_documented_table_is_the_format_table() -> None:
    """docs/sparql-service.md lists, for each format, exactly its media types and names."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "sparql-service.md").read_text(
        encoding="utf-8")
    rows = {cells[2].strip().split(",")[0]: cells for cells in
            (line.split("|") for line in doc.splitlines() if line.startswith("| "))
            if len(cells) > 3}
    for fmt in Format:
        cells = rows[f"`{fmt.media_type}`"]
        assert cells[2].strip() == ", ".join(f"`{m}`" for m in fmt.media_types), cells
        assert cells[3].strip() == ", ".join(f"`{n}`" for n in fmt.spec.names), cells
