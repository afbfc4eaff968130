"""The SPARQL 1.1 Service Description of the endpoint (a bare GET on ``/sparql``).

It says what a client may send and get back: the query language, every result format of the
format table, the prefixes a query may use without declaring them (``sh:declare``), the
dataset's graphs with their sizes, and where the VoID is.
"""

from __future__ import annotations

from flask import Response, request
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from ..formats import Format
from ..iris import PREFIXES
from ..namespaces import SD, SH, VOID
from .representation import send_graph
from .state import state
from .urls import advertised_url

TITLE = "ketamine-ed-kg: ketamine treatment of eating disorders"


def _graph_counts() -> dict[str, int]:
    """Triples per named graph, asked once from the store and cached."""
    st = state()
    with st.lock:
        cached = st.cache.get("graph_counts")
    if cached is None:
        doc = st.fetch_json("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } "
                            "GROUP BY ?g", union_default_graph=False)
        cached = {b["g"]["value"]: int(b["n"]["value"]) for b in doc["results"]["bindings"]}
        with st.lock:
            st.cache["graph_counts"] = cached
    return dict(cached)


def service_description() -> Response:
    """SPARQL 1.1 Service Description of this endpoint."""
    st = state()
    cfg = st.config
    endpoint = URIRef(advertised_url(request.path))  # /sparql or /sparql/, as asked
    g = Graph()
    g.bind("sd", SD)
    g.bind("void", VOID)
    service = BNode("service")
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, endpoint))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, DCTERMS.title, Literal(TITLE + " (SPARQL endpoint)", lang="en")))
    for fmt in Format:
        g.add((service, SD.resultFormat, URIRef(fmt.iri)))
    if cfg.union_default_graph:
        g.add((service, SD.feature, SD.UnionDefaultGraph))
    # Prefixes every query may use undeclared, as SIB endpoints declare theirs (SHACL).
    for prefix, namespace in PREFIXES.items():
        declaration = BNode(f"prefix-{prefix}")
        g.add((service, SH.declare, declaration))
        g.add((declaration, SH.prefix, Literal(prefix)))
        g.add((declaration, SH.namespace, Literal(namespace, datatype=XSD.anyURI)))
    if cfg.allowed_service_prefixes:
        g.add((service, SD.feature, SD.BasicFederatedQuery))
    counts = _graph_counts()
    dataset = BNode("dataset")
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    default = BNode("default")
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    if cfg.union_default_graph:
        g.add((default, VOID.triples, Literal(sum(counts.values()), datatype=XSD.integer)))
    for name in sorted(counts):
        named = BNode()
        inner = BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(name)))
        g.add((named, SD.graph, inner))
        g.add((inner, RDF.type, SD.Graph))
        g.add((inner, VOID.triples, Literal(counts[name], datatype=XSD.integer)))
    void_url = URIRef(advertised_url("/.well-known/void"))
    g.add((dataset, RDF.type, VOID.Dataset))
    g.add((dataset, DCTERMS.source, void_url))
    return send_graph(g, str(endpoint))


__all__ = ["TITLE", "service_description"]
