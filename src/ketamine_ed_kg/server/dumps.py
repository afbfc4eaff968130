"""Dumps of the whole graph in every RDF format, at stable URLs.

``/download/ketamine-ed-kg.<ext>``: triple formats (Turtle, N-Triples, JSON-LD, RDF/XML, N3)
carry the union of the graphs (what a default query sees); quad formats (TriG, N-Quads) keep
the asserted, inferred and ontology graphs apart. pyoxigraph writes them, streamed from a
worker; ETag and Last-Modified follow the graph version, so a client re-downloads only after a
rebuild.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, request

from ..store import DeadlineExceeded, Job, Overloaded
from . import state
from .errors import ApiError
from .http import make_etag, not_modified
from .urls import advertised_url

bp = Blueprint("dumps", __name__)

STEM = "ketamine-ed-kg"
DUMP_EXTENSIONS: dict[str, tuple[str, str]] = {
    "ttl": ("turtle", "text/turtle"),
    "nt": ("ntriples", "application/n-triples"),
    "jsonld": ("jsonld", "application/ld+json"),
    "rdf": ("rdfxml", "application/rdf+xml"),
    "owl": ("rdfxml", "application/rdf+xml"),
    "n3": ("n3", "text/n3"),
    "trig": ("trig", "application/trig"),
    "nq": ("nquads", "application/n-quads"),
}
DUMP_DEADLINE_FACTOR = 10
"""Dumps are big but cheap: they may take this many query deadlines."""


@bp.route("/download/")
def index() -> Response:
    """Plain list of the dump URLs."""
    lines = [f"{advertised_url(f'/download/{STEM}.{ext}')}\t{media}" for ext, (_, media) in
             DUMP_EXTENSIONS.items()]
    return Response("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@bp.route(f"/download/{STEM}.<ext>")
def dump(ext: str) -> Response:
    """One dump, streamed."""
    if ext not in DUMP_EXTENSIONS:
        raise ApiError(404, f"no dump with extension .{ext}; available: "
                            + ", ".join(sorted(DUMP_EXTENSIONS)))
    st = state()
    name, media = DUMP_EXTENSIONS[ext]
    etag = make_etag(st.version.tag, "dump", ext)
    if not_modified(request, etag, st.version.modified):
        response = Response(status=304)
        response.set_etag(etag)
        return response
    seconds = st.config.deadline * DUMP_DEADLINE_FACTOR
    try:
        result = st.service.run(Job("dump", rdf_format=name), time.monotonic() + seconds)
    except (DeadlineExceeded, Overloaded):
        raise ApiError(503, "the dump could not be produced in time; retry later",
                       {"Retry-After": "10"}) from None
    response = Response(result.body, content_type=media + "; charset=utf-8")
    response.call_on_close(result.close)
    response.set_etag(etag)
    response.last_modified = st.version.modified
    response.headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    return response


__all__ = ["DUMP_EXTENSIONS", "STEM", "bp"]
