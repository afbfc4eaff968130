"""The W3C SPARQL 1.1 service-description tests, against the live server.

``../shared/conformance/sparql11/service-description/manifest.ttl`` names three tests with no
data: a GET on the endpoint with no query returns RDF, that RDF has an ``sd:endpoint`` triple
matching the endpoint URL, and it conforms to the Service Description vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF

from ketamine_ed_kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY
from ketamine_ed_kg.server.run import LiveServer
from support.server import request, waitress_server, write_dataset

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
# Terms of the SPARQL 1.1 Service Description vocabulary (W3C Recommendation, section 3).
SD_CLASSES = {"Service", "Feature", "Language", "Function", "Aggregate", "EntailmentRegime",
              "EntailmentProfile", "GraphCollection", "Dataset", "Graph", "NamedGraph"}
SD_PROPERTIES = {"endpoint", "feature", "defaultEntailmentRegime", "entailmentRegime",
                 "defaultSupportedEntailmentProfile", "supportedEntailmentProfile",
                 "extensionFunction", "extensionAggregate", "languageExtension",
                 "supportedLanguage", "propertyFeature", "defaultDataset", "availableGraphs",
                 "resultFormat", "inputFormat", "defaultGraph", "namedGraph", "name", "graph"}
SD_INSTANCES = {"SPARQL10Query", "SPARQL11Query", "SPARQL11Update", "DereferencesURIs",
                "UnionDefaultGraph", "RequiresDataset", "EmptyGraphs", "BasicFederatedQuery"}
RDF_ACCEPTS = ["text/turtle", "application/rdf+xml", "application/n-triples",
               "application/ld+json", None, "*/*"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    triple = "<http://example.org/s> <http://example.org/p> <http://example.org/o> .\n"
    dataset = write_dataset(tmp_path_factory.mktemp("sd") / "d.nq", {
        g: (triple, ox.RdfFormat.N_TRIPLES)
        for g in (GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY)})
    with waitress_server(dataset) as srv:
        yield srv


def _manifest_names(shared: Path) -> list[str]:
    path = shared / "conformance/sparql11/service-description/manifest.ttl"
    graph = Graph().parse(path, format="turtle", publicID=path.as_uri())
    head = graph.value(URIRef(path.as_uri()), MF.entries)
    assert head is not None, f"{path}: no mf:entries"
    return [str(t).rsplit("#", 1)[-1] for t in Collection(graph, head)
            if graph.value(t, RDF.type) == MF.ServiceDescriptionTest]


def _fetch(server: LiveServer, accept: str | None) -> tuple[Graph, str]:
    reply = request(server.endpoint, headers={"Accept": accept} if accept else {})
    assert reply.status == 200
    media = (reply.header("content-type") or "").split(";")[0]
    fmt = {"text/turtle": "turtle", "application/rdf+xml": "xml",
           "application/n-triples": "nt", "application/ld+json": "json-ld"}[media]
    if fmt == "json-ld":  # rdflib's JSON-LD parser warns on this Python; read via pyoxigraph
        nt = ox.serialize(ox.parse(reply.body, format=ox.RdfFormat.JSON_LD),
                          format=ox.RdfFormat.N_TRIPLES)
        assert nt is not None
        return Graph().parse(data=nt.decode(), format="nt"), media
    return Graph().parse(data=reply.text, format=fmt), media


def check(name: str, graph: Graph, endpoint: str) -> None:
    """One manifest test, by name."""
    services = list(graph.subjects(RDF.type, SD.Service))
    if name == "returns-rdf":
        assert len(graph) > 0
    elif name == "has-endpoint-triple":
        assert (services[0], SD.endpoint, URIRef(endpoint)) in graph
    elif name == "conforms-to-schema":
        assert len(services) == 1
        service = services[0]
        languages = set(graph.objects(service, SD.supportedLanguage))
        assert languages and languages <= {SD[n] for n in SD_INSTANCES}
        for s, p, o in graph:
            for term in (s, p, o):
                if isinstance(term, URIRef) and str(term).startswith(str(SD)):
                    local = str(term)[len(str(SD)):]
                    assert local in SD_CLASSES | SD_PROPERTIES | SD_INSTANCES, term
            if p == RDF.type and str(o).startswith(str(SD)):
                assert str(o)[len(str(SD)):] in SD_CLASSES
        for endpoint_iri in graph.objects(service, SD.endpoint):
            assert isinstance(endpoint_iri, URIRef)
        for named in graph.objects(None, SD.namedGraph):
            assert isinstance(graph.value(named, SD.name), URIRef)
        for dataset in graph.objects(service, SD.defaultDataset):
            assert (dataset, RDF.type, SD.Dataset) in graph
    else:  # pragma: no cover - a new test in the manifest
        pytest.fail(f"unknown service-description test {name}")


@pytest.mark.shared
@pytest.mark.w3c
@pytest.mark.parametrize("accept", RDF_ACCEPTS)
def test_w3c_service_description(shared_dir: Path, server: LiveServer, accept: str | None
                                 ) -> None:
    names = _manifest_names(shared_dir)
    assert names == ["has-endpoint-triple", "returns-rdf", "conforms-to-schema"]
    graph, _ = _fetch(server, accept)
    for name in names:
        check(name, graph, server.endpoint)


def test_named_graphs_and_counts_are_described(server: LiveServer) -> None:
    graph, media = _fetch(server, "text/turtle")
    assert media == "text/turtle"
    names = {str(graph.value(n, SD.name)) for n in graph.objects(None, SD.namedGraph)}
    assert names == {GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY}
    service = next(graph.subjects(RDF.type, SD.Service))
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph
    formats = {str(o).rsplit("/", 1)[-1] for o in graph.objects(service, SD.resultFormat)}
    assert {"SPARQL_Results_JSON", "SPARQL_Results_CSV", "Turtle", "N-Quads"} <= formats
    void_triples = Namespace("http://rdfs.org/ns/void#").triples
    counts = [graph.value(g, void_triples) for n in graph.objects(None, SD.namedGraph)
              for g in graph.objects(n, SD.graph)]
    assert counts == [Literal(1)] * 3


def test_sd_on_trailing_slash_path(server: LiveServer) -> None:
    reply = request(server.endpoint + "/", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=reply.text, format="turtle")
    assert (None, SD.endpoint, URIRef(server.endpoint + "/")) in graph
