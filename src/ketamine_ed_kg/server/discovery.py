"""Discovery: VoID and dereferenceable IRIs (every IRI family we mint under ``BASE``).

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

from ..formats import RDF_FORMATS, Format
from ..iris import BASE, GRAPH_ASSERTED, GRAPH_ONTOLOGY, ONTOLOGY_IRI, SHAPES_NS
from ..namespaces import KED, KEDO, VOID
from ..negotiation import prefers_html
from ..store import Job, JobKind
from ..void import DATASET_IRI, TITLE, describe
from .dumps import dump_urls
from .errors import ApiError
from .linked_data import (
    describe_graph,
    dump_label,
    is_example,
    is_shape,
    named_graphs,
    query_details,
    shape_details,
    shape_rows,
    shapes,
)
from .pages import ALTERNATES, alternates, graph_rows, render_node, render_ontology
from .query import run_query
from .representation import send_graph
from .state import state
from .urls import advertised_url

bp = Blueprint("discovery", __name__)
bp.add_app_template_filter(dump_label, "dump_label")


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


def _checked(iri: str) -> str:
    """``iri`` if every segment of its path under ``BASE`` is a plain slug, else a 404: the only
    input a route places in a query (or an rdflib term) is an IRI that passed this."""
    if not all(_SLUG.fullmatch(part) for part in iri[len(BASE):].split("/")):
        raise ApiError(404, "not a term of this graph")
    return iri


def _content_location(response: Response) -> str | None:
    """The URL of the representation sent (the IRI convention: 200 with ``Content-Location``,
    docs/sparql-service.md): the request's own URL when it named ``format=``, else the URL
    naming the negotiated format."""
    here = f"{request.script_root}{request.path}"
    if request.args.get("format"):
        return f"{here}?format={request.args['format']}"
    if response.mimetype == "text/html":
        return f"{here}?format=html"
    for name, media, _ in ALTERNATES:
        if response.mimetype == media:
            return f"{here}?format={name}"
    for fmt in RDF_FORMATS:
        if response.mimetype in fmt.media_types:
            return f"{here}?format={fmt.spec.names[0]}"
    return None


def _describe(iri: str, page: Callable[[str, str], Response] = render_node,
              source: Graph | None = None, parts: tuple[object, ...] = ()) -> Response:
    """One of our IRIs, dereferenced: a web page for a browser, else its RDF, negotiated
    (``DESCRIBE`` on the store, or the concise bounded description of ``iri`` in ``source``,
    a graph the server holds itself). Both vary on Accept, link to every RDF representation
    and name the one sent in ``Content-Location``."""
    _checked(iri)
    if source is None:
        st = state()
        doc = st.fetch_json(f"ASK {{ {{ <{iri}> ?p ?o }} UNION {{ ?s ?p <{iri}> }} }}")
        if not doc.get("boolean"):
            raise ApiError(404, f"<{iri}> is not described in this graph")
    elif (URIRef(iri), None, None) not in source:
        raise ApiError(404, f"<{iri}> is not described here")
    turtle_url = f"{request.script_root}{request.path}?format=turtle"
    fmt = request.args.get("format")
    if prefers_html(request.headers.get("Accept"), fmt):
        response = page(iri, turtle_url)
    elif source is None:
        params: MultiDict[str, str] = MultiDict()
        if fmt:
            params["format"] = fmt
        response = run_query(f"DESCRIBE <{iri}>", params)
    else:
        response = send_graph(source.cbd(URIRef(iri)), *parts)
    response.vary.add("Accept")
    links = [*alternates(), (f"{request.script_root}{request.path}?format=html", "text/html", "")]
    response.headers.add("Link", ", ".join(
        f'<{url}>; rel="alternate"; type="{media}"' for url, media, _ in links))
    location = _content_location(response)
    if location is not None and response.status_code == 200:
        response.headers["Content-Location"] = location
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


@bp.route("/graph/<name>")
def named_graph(name: str) -> Response:
    """Dereference a named graph's IRI: its description (VoID counts and partitions, links to
    its content in every RDF format), not its content (``linked_data``)."""
    iri = _checked(f"{BASE}graph/{name}")
    description = describe_graph(iri) if iri in state().graphs else None
    if description is None:
        raise ApiError(404, f"<{iri}> is not a named graph of this dataset")
    parts = (advertised_url(),)
    return _describe(iri, lambda _, turtle_url: render_node(
        iri, turtle_url, graph_rows(description), parts=parts), description, parts)


@bp.route("/dataset")
@bp.route("/dataset/<path:rest>")
@bp.route("/external/<path:rest>", endpoint="external")
def dataset(rest: str | None = None) -> Response:
    """Dereference the dataset IRI (``void:Dataset``), its linksets and the external datasets
    they point to: all described in the store's VoID graph. The dataset's page also lists its
    named graphs."""
    iri = BASE + request.path.lstrip("/")
    if iri != str(DATASET_IRI):
        return _describe(iri)
    return _describe(iri, lambda _, turtle_url: render_node(
        iri, turtle_url, extra=lambda: {"graphs": named_graphs()}))


@bp.route("/shapes/<name>")
def shape(name: str) -> Response:
    """Dereference a SHACL shape's IRI (``kedsh:``): its targets and property constraints,
    from ``shapes/*.ttl`` (the shapes are not in the store)."""
    iri = _checked(SHAPES_NS + name)
    graph, digest = shapes()
    if not is_shape(iri):
        raise ApiError(404, f"<{iri}> is not one of the SHACL shapes")
    rows = shape_rows(digest)
    return _describe(iri, lambda _, turtle_url: render_node(
        iri, turtle_url, rows, lambda: {"shape": shape_details(iri, graph, rows)}, (digest,)),
        graph, (digest,))


@bp.route("/query/<name>")
def example_query(name: str) -> Response:
    """Dereference an example query's IRI (the examples graph): its text, a link that opens
    it in the editor and its answer for a browser, DESCRIBE for machines."""
    iri = _checked(f"{BASE}query/{name}")
    if not is_example(iri):
        raise ApiError(404, f"<{iri}> is not an example query")
    return _describe(iri, lambda _, turtle_url: render_node(
        iri, turtle_url, extra=lambda: {"query": query_details(iri)}))


__all__ = ["bp"]
