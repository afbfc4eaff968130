"""Small RDF graphs as responses: the service description, VoID and the examples graph.

They are built with rdflib (a few hundred triples), negotiated among the RDF formats of the
format table, serialised with rdflib's writer for that format, and cached by clients until the
graph version changes.
"""

from __future__ import annotations

from flask import Response, request
from rdflib import Graph

from ..namespaces import PREFIXES
from ..negotiation import BROWSER_GRAPH, GRAPH_TYPES, Choice, NotAcceptable, negotiate
from .errors import ApiError
from .http import conditional, make_etag, versioned
from .state import state


def negotiated_graph_format() -> Choice:
    """The RDF format this request asks for (Accept or ``format=``), or a 406 ApiError."""
    try:
        return negotiate(GRAPH_TYPES, request.headers.get("Accept"),
                         request.args.get("format"), BROWSER_GRAPH)
    except NotAcceptable as exc:
        raise ApiError(406, f"{exc}; available: {', '.join(exc.offered)}") from None


def serialize(graph: Graph, choice: Choice) -> bytes:
    """``graph`` in the negotiated format, with the project's prefixes."""
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri)
    body: bytes = graph.serialize(format=choice.format.spec.rdflib, encoding="utf-8")
    return body


def send_graph(graph: Graph, *parts: object) -> Response:
    """Serialise a small rdflib graph in the negotiated RDF format, with ETag and 304.
    ``parts``: whatever else shapes the representation (advertised URLs)."""
    st = state()
    choice = negotiated_graph_format()
    etag = make_etag(st.version.tag, request.path, choice, *parts)
    cached = conditional(etag, st.version.modified)
    if cached is not None:
        return cached
    response = Response(serialize(graph, choice), content_type=choice.content_type)
    response.vary.add("Accept")
    return versioned(response, etag, st.version.modified)


__all__ = ["negotiated_graph_format", "send_graph", "serialize"]
