"""Discovery: the SPARQL 1.1 Service Description, VoID, and dereferenceable IRIs.

Clients (Comunica, YASGUI, the SIB editor) find out what an endpoint offers from its service
description (a bare GET on ``/sparql``) and from VoID at ``/.well-known/void``. The VoID is
built by :func:`ketamine_ed_kg.void.describe`, the same function the build uses, over the
asserted and ontology graphs read back from the store.

Absolute URLs come from :func:`ketamine_ed_kg.server.urls.advertised_url`. Nothing is cached
per ``Host``: the VoID statistics are computed once and the URLs are added to a copy per
request.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, request
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD
from werkzeug.datastructures import MultiDict

from ..namespaces import KED, KEDO, PREFIXES, SD, VOID
from ..store import Job
from ..void import DATASET_IRI, describe
from . import state
from .dumps import DUMP_EXTENSIONS, STEM
from .errors import ApiError
from .http import make_etag, not_modified
from .negotiation import BROWSER_GRAPH, GRAPH_TYPES, Choice, NotAcceptable, negotiate
from .urls import advertised_url

bp = Blueprint("discovery", __name__)

FORMATS = "http://www.w3.org/ns/formats/"
RESULT_FORMAT_IRIS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
                      "SPARQL_Results_TSV", "Turtle", "N-Triples", "JSON-LD", "RDF_XML", "TriG",
                      "N-Quads", "N3")
RDFLIB_FORMATS = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld", "rdfxml": "xml",
                  "trig": "trig", "nquads": "nquads", "n3": "n3"}
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


def negotiated_graph_format() -> Choice:
    """The RDF format this request asks for (Accept or ``format=``), or a 406 ApiError."""
    try:
        return negotiate(GRAPH_TYPES, request.headers.get("Accept"),
                         request.args.get("format"), BROWSER_GRAPH)
    except NotAcceptable as exc:
        raise ApiError(406, f"{exc}; available: {', '.join(exc.offered)}") from None


def _send_graph(graph: Graph, *parts: object) -> Response:
    """Serialise a small rdflib graph in the negotiated RDF format, with ETag and 304."""
    st = state()
    choice = negotiated_graph_format()
    etag = make_etag(st.version.tag, request.path, choice, *parts)
    if not_modified(request, etag, st.version.modified):
        response = Response(status=304)
        response.set_etag(etag)
        return response
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri)
    body = graph.serialize(format=RDFLIB_FORMATS[choice.name], encoding="utf-8")
    response = Response(body, content_type=choice.media_type + "; charset=utf-8")
    response.set_etag(etag)
    response.last_modified = st.version.modified
    response.vary.add("Accept")
    response.headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    return response


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
    for name in RESULT_FORMAT_IRIS:
        g.add((service, SD.resultFormat, URIRef(FORMATS + name)))
    if cfg.union_default_graph:
        g.add((service, SD.feature, SD.UnionDefaultGraph))
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
    return _send_graph(g, str(endpoint))


@bp.route("/.well-known/void")
def void() -> Response:
    """VoID: triples, classes, properties, dumps and links to external datasets."""

    st = state()
    with st.lock:
        cached = st.cache.get("void")
    if cached is None:  # one entry, whatever the Host: the statistics, without URLs
        graphs = tuple(sorted(st.graphs - {st.config.inferred_graph}))
        nt = st.fetch_bytes(Job("query", "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
                                union_default_graph=False, default_graph=graphs,
                                named_graphs=(), rdf_format="ntriples"))
        merged = Graph()
        merged.parse(data=nt.decode("utf-8"), format="nt")
        cached = describe(merged, title=TITLE, version=st.version.version)
        with st.lock:
            st.cache["void"] = cached
    endpoint = advertised_url()
    out = Graph()
    out += cached
    out.add((DATASET_IRI, VOID.sparqlEndpoint, URIRef(endpoint)))
    for ext in DUMP_EXTENSIONS:
        out.add((DATASET_IRI, VOID.dataDump, URIRef(advertised_url(f"/download/{STEM}.{ext}"))))
    return _send_graph(out, endpoint, advertised_url("/"))


_SLUG = re.compile(r"[A-Za-z0-9._~-]+")


def _describe(iri: str) -> Response:
    from .protocol import run_query

    if not _SLUG.fullmatch(iri.rsplit("/", 1)[-1]):
        raise ApiError(404, "not a term of this graph")

    st = state()
    doc = st.fetch_json(f"ASK {{ {{ <{iri}> ?p ?o }} UNION {{ ?s ?p <{iri}> }} }}")
    if not doc.get("boolean"):
        raise ApiError(404, f"<{iri}> is not described in this graph")
    params: MultiDict[str, str] = MultiDict()
    if request.args.get("format"):
        params["format"] = request.args["format"]
    return run_query(f"DESCRIBE <{iri}>", params)


@bp.route("/resource/<slug>")
def resource(slug: str) -> Response:
    """Dereference a ``ked:`` instance IRI (DESCRIBE, content-negotiated)."""
    return _describe(str(KED[slug]))


@bp.route("/ontology/<term>")
def ontology_term(term: str) -> Response:
    """Dereference a ``kedo:`` ontology term IRI (DESCRIBE, content-negotiated)."""
    return _describe(str(KEDO[term]))


__all__ = ["bp", "service_description"]
