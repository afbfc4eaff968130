"""The SPARQL 1.1 Service Description of the endpoint (a bare GET on ``/sparql``).

Built by :func:`ketamine_ed_kg.void.describe_service`, the function the build uses for the
copy in the store (graph ``graph/service-description``), with this request's advertised URLs
and the graph sizes read from the store.
"""

from __future__ import annotations

from flask import Response, request

from ..void import TITLE, describe_service
from .representation import send_graph
from .state import state
from .urls import advertised_url


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
    endpoint = advertised_url(request.path)  # /sparql or /sparql/, as asked
    graph = describe_service(
        endpoint, _graph_counts(), title=TITLE,
        union_default_graph=cfg.union_default_graph,
        federated=bool(cfg.allowed_service_prefixes),
        void_url=advertised_url("/.well-known/void"))
    return send_graph(graph, endpoint)


__all__ = ["TITLE", "service_description"]
