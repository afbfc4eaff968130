"""Real SPARQL clients against the live server: SPARQLWrapper and rdflib's SPARQLStore.

Both send their own Accept headers and request shapes, which is what these tests check: the
endpoint must serve them without any client-specific configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from xml.dom.minidom import Document

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, POST, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from ketamine_ed_kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY
from ketamine_ed_kg.server.run import LiveServer
from support.graph import select
from support.server import waitress_server, write_dataset

EX = "http://example.org/"
DATA = (f"@prefix ex: <{EX}> .\n"
        "ex:ketamine ex:label \"ketamine\"@en ; ex:dose 0.5 .\n"
        "ex:esketamine ex:label \"esketamine\"@en ; ex:enantiomerOf ex:ketamine .\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    dataset: Path = write_dataset(tmp_path_factory.mktemp("clients") / "d.nq", {
        GRAPH_ASSERTED: (DATA, ox.RdfFormat.TURTLE),
        GRAPH_INFERRED: (f"<{EX}esketamine> <{EX}related> <{EX}ketamine> .",
                         ox.RdfFormat.N_TRIPLES),
        GRAPH_ONTOLOGY: (f"<{EX}label> <{EX}kind> <{EX}Annotation> .", ox.RdfFormat.N_TRIPLES),
    })
    with waitress_server(dataset) as srv:
        yield srv


SELECT_LABELS = f"SELECT ?s ?l WHERE {{ ?s <{EX}label> ?l }} ORDER BY ?l"


@pytest.mark.parametrize("fmt", [JSON, XML])
def test_sparqlwrapper_select(server: LiveServer, fmt: str) -> None:
    client = SPARQLWrapper(server.endpoint)
    client.setQuery(SELECT_LABELS)
    client.setReturnFormat(fmt)
    result = client.queryAndConvert()
    if fmt == JSON:
        assert isinstance(result, dict)
        labels = [b["l"]["value"] for b in result["results"]["bindings"]]
    else:
        assert isinstance(result, Document)
        labels = [n.firstChild.nodeValue if n.firstChild else None
                  for n in result.getElementsByTagName("literal")]
    assert labels == ["esketamine", "ketamine"]


def test_sparqlwrapper_csv_and_post(server: LiveServer) -> None:
    client = SPARQLWrapper(server.endpoint)
    client.setMethod(POST)
    client.setQuery(SELECT_LABELS)
    client.setReturnFormat(CSV)
    text = client.queryAndConvert()
    assert isinstance(text, bytes)
    lines = text.decode().splitlines()[1:]
    assert lines == [f"{EX}esketamine,esketamine", f"{EX}ketamine,ketamine"]


def test_sparqlwrapper_ask_and_construct(server: LiveServer) -> None:
    client = SPARQLWrapper(server.endpoint)
    client.setQuery(f"ASK {{ <{EX}esketamine> <{EX}enantiomerOf> <{EX}ketamine> }}")
    client.setReturnFormat(JSON)
    answer = client.queryAndConvert()
    assert isinstance(answer, dict) and answer["boolean"] is True
    client.setQuery(f"CONSTRUCT WHERE {{ <{EX}ketamine> ?p ?o }}")
    client.setReturnFormat(TURTLE)
    body = client.queryAndConvert()
    assert isinstance(body, bytes)
    graph = Graph().parse(data=body, format="turtle")
    assert (URIRef(f"{EX}ketamine"), URIRef(f"{EX}label"), Literal("ketamine", lang="en")) in graph
    assert len(graph) == 2


def test_sparqlwrapper_sees_a_bad_query_as_bad(server: LiveServer) -> None:
    client = SPARQLWrapper(server.endpoint)
    client.setQuery("SELECT * WHERE { ?s ?p }")
    client.setReturnFormat(JSON)
    with pytest.raises(QueryBadFormed):
        client.queryAndConvert()


def test_rdflib_sparqlstore(server: LiveServer) -> None:
    store = SPARQLStore(server.endpoint, returnFormat="json")
    graph = Graph(store=store)
    rows = select(graph, SELECT_LABELS)
    assert [str(row[1]) for row in rows] == ["esketamine", "ketamine"]
    ask = graph.query(f"ASK {{ <{EX}esketamine> <{EX}related> <{EX}ketamine> }}")
    assert ask.askAnswer is True
    triples = list(graph.triples((URIRef(f"{EX}ketamine"), None, None)))
    assert len(triples) == 2
    graph.close()


def test_rdflib_sparqlstore_xml_default(server: LiveServer) -> None:
    store = SPARQLStore(server.endpoint)
    graph = Graph(store=store)
    constructed = graph.query(f"CONSTRUCT WHERE {{ <{EX}esketamine> ?p ?o }}")
    assert constructed.graph is not None and len(constructed.graph) == 3
    graph.close()
