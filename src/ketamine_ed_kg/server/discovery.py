"""Discovery: VoID and dereferenceable IRIs.

Clients (Comunica, YASGUI, the SIB editor) find out what an endpoint offers from its service
description (a bare GET on ``/sparql``: ``service_description``) and from VoID at
``/.well-known/void``. The VoID is
built by :func:`ketamine_ed_kg.void.describe`, the same function the build uses, over the
asserted and ontology graphs read back from the store.

Absolute URLs come from :func:`ketamine_ed_kg.server.urls.advertised_url`. Nothing is cached
per ``Host``: the VoID statistics are computed once and the URLs are added to a copy per
request.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Blueprint, Response, request
from rdflib import Graph, URIRef
from werkzeug.datastructures import MultiDict

from ..formats import Format
from ..iris import GRAPH_ASSERTED, GRAPH_ONTOLOGY, ONTOLOGY_IRI
from ..namespaces import KED, KEDO, VOID
from ..negotiation import prefers_html
from ..store import Job, JobKind
from ..void import DATASET_IRI, TITLE, describe
from .dumps import dump_urls
from .errors import ApiError
from .pages import render_node, render_ontology
from .query import run_query
from .representation import send_graph
from .state import state
from .urls import advertised_url

bp = Blueprint("discovery", __name__)


@bp.route("/.well-known/void")
def void() -> Response:
    """VoID: triples, classes, properties, dumps and links to external datasets."""

    st = state()
    with st.lock:
        cached = st.cache.get("void")
    if cached is None:  # one entry, whatever the Host: the statistics, without URLs
        # The curated data and the ontology: not the inferred graph, nor the discovery graphs
        # (VoID, examples, service description) that describe them.
        graphs = tuple(g for g in (GRAPH_ASSERTED, GRAPH_ONTOLOGY) if g in st.graphs)
        nt = st.fetch_bytes(Job(JobKind.QUERY, "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
                                union_default_graph=False, default_graph=graphs,
                                named_graphs=(), rdf_format=Format.NTRIPLES))
        merged = Graph()
        merged.parse(data=nt.decode("utf-8"), format="nt")
        cached = describe(merged, title=TITLE, version=st.version.version)
        with st.lock:
            st.cache["void"] = cached
    endpoint = advertised_url()
    out = Graph()
    out += cached
    out.add((DATASET_IRI, VOID.sparqlEndpoint, URIRef(endpoint)))
    for url in dump_urls():
        out.add((DATASET_IRI, VOID.dataDump, URIRef(url)))
    return send_graph(out, endpoint, advertised_url("/"))


_SLUG = re.compile(r"[A-Za-z0-9._~-]+")


def _describe(iri: str, page: Callable[[str, str], Response] = render_node) -> Response:
    """A web page for a browser, else DESCRIBE (RDF, content-negotiated); both vary on Accept
    and link to the Turtle."""
    if not _SLUG.fullmatch(iri.rsplit("/", 1)[-1]):
        raise ApiError(404, "not a term of this graph")

    st = state()
    doc = st.fetch_json(f"ASK {{ {{ <{iri}> ?p ?o }} UNION {{ ?s ?p <{iri}> }} }}")
    if not doc.get("boolean"):
        raise ApiError(404, f"<{iri}> is not described in this graph")
    turtle_url = f"{request.script_root}{request.path}?format=turtle"
    fmt = request.args.get("format")
    if prefers_html(request.headers.get("Accept"), fmt):
        response = page(iri, turtle_url)
    else:
        params: MultiDict[str, str] = MultiDict()
        if fmt:
            params["format"] = fmt
        response = run_query(f"DESCRIBE <{iri}>", params)
    response.vary.add("Accept")
    response.headers.add("Link", f'<{turtle_url}>; rel="alternate"; type="text/turtle"')
    return response


@bp.route("/resource/<slug>")
def resource(slug: str) -> Response:
    """Dereference a ``ked:`` instance IRI (DESCRIBE, content-negotiated)."""
    return _describe(str(KED[slug]))


@bp.route("/ontology")
def ontology() -> Response:
    """Dereference the ontology IRI: its documentation for a browser (every class and
    property with its definition), DESCRIBE for machines."""
    return _describe(ONTOLOGY_IRI, lambda _, turtle_url: render_ontology(turtle_url))


@bp.route("/ontology/<term>")
def ontology_term(term: str) -> Response:
    """Dereference a ``kedo:`` ontology term IRI (DESCRIBE, content-negotiated)."""
    return _describe(str(KEDO[term]))


__all__ = ["bp"]
