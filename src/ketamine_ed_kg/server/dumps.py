"""Dumps of the whole graph in every RDF format, at stable URLs.

``/download/ketamine-ed-kg.<ext>``, one URL per file extension of the RDF formats in the format
table: formats that keep graphs apart (TriG, N-Quads) keep the asserted, inferred and ontology
graphs apart; the others carry the union of the graphs (what a default query sees).
pyoxigraph writes them, streamed from a query process; ETag and Last-Modified follow the graph
version, so a client re-downloads only after a rebuild.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response

from ..errors import DeadlineExceeded, Overloaded
from ..formats import RDF_FORMATS, Format
from ..store import Job, JobKind
from .errors import ApiError
from .http import conditional, make_etag, versioned
from .state import state
from .urls import advertised_url

bp = Blueprint("dumps", __name__)

STEM = "ketamine-ed-kg"
DUMP_EXTENSIONS: dict[str, Format] = {ext: fmt for fmt in RDF_FORMATS for ext in fmt.extensions}
"""Every dump's file extension and its format."""
DUMP_DEADLINE_FACTOR = 10
"""Dumps are big but cheap: they may take this many query deadlines."""


def dump_urls() -> list[str]:
    """The advertised URL of every dump."""
    return [advertised_url(f"/download/{STEM}.{ext}") for ext in DUMP_EXTENSIONS]


@bp.route("/download/")
def index() -> Response:
    """Plain list of the dump URLs."""
    lines = [f"{url}\t{fmt.media_type}" for url, fmt in zip(dump_urls(),
                                                          DUMP_EXTENSIONS.values(), strict=True)]
    return Response("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@bp.route(f"/download/{STEM}.<ext>")
def dump(ext: str) -> Response:
    """One dump, streamed."""
    if ext not in DUMP_EXTENSIONS:
        raise ApiError(404, f"no dump with extension .{ext}; available: "
                            + ", ".join(sorted(DUMP_EXTENSIONS)))
    st = state()
    fmt = DUMP_EXTENSIONS[ext]
    etag = make_etag(st.version.tag, "dump", ext)
    cached = conditional(etag, st.version.modified)
    if cached is not None:
        return cached
    seconds = st.config.deadline * DUMP_DEADLINE_FACTOR
    try:
        result = st.service.run(Job(JobKind.DUMP, rdf_format=fmt), time.monotonic() + seconds)
    except (DeadlineExceeded, Overloaded):
        raise ApiError(503, "the dump could not be produced in time; retry later",
                       {"Retry-After": "10"}) from None
    response = Response(result.body, content_type=fmt.content_type)
    response.call_on_close(result.close)
    return versioned(response, etag, st.version.modified)


__all__ = ["DUMP_EXTENSIONS", "STEM", "bp", "dump_urls"]
