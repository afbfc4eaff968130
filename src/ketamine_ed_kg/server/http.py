"""HTTP plumbing shared by every route: CORS, gzip on streamed bodies, ETag and 304s, and
``X-Content-Type-Options: nosniff`` on every response (error responses included).

ETags derive from the served graph's version (the build digest) plus everything else that
shapes the representation, so a cache may keep a query's answer until the graph is rebuilt.
A HEAD response carries the headers the same GET would get (``Content-Encoding: gzip``, the
``-gz`` ETag) and no body; the body is never compressed, and no ``Content-Length`` is made
up from a body that is not sent.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import lru_cache

from flask import Flask, Request, Response, request
from werkzeug.http import http_date, quote_etag

from ..config import ServiceConfig

EXPOSED = ("ETag, Last-Modified, Content-Type, X-SPARQL-Row-Cap, X-SPARQL-Truncated, "
           "X-SPARQL-Deadline, Cache-Status, Vary")
COMPRESSIBLE = ("text/", "application/sparql-results", "application/json", "application/ld+json",
                "application/n-triples", "application/n-quads", "application/trig",
                "application/rdf+xml", "application/xml", "image/svg+xml")


def make_etag(version_tag: str, *parts: object) -> str:
    """A strong ETag for one representation of one graph version."""
    digest = hashlib.sha256(version_tag.encode())
    for part in parts:
        digest.update(b"\x00" + repr(part).encode())
    return digest.hexdigest()[:32]


def not_modified(req: Request, etag: str, modified: datetime) -> bool:
    """True when the client's copy is current (If-None-Match first, then If-Modified-Since)."""
    if req.if_none_match:
        return (req.if_none_match.contains(etag) or req.if_none_match.contains(etag + "-gz")
                or req.if_none_match.star_tag)
    since = req.if_modified_since
    return since is not None and modified <= since


def response_304(etag: str) -> Response:
    """A 304 Not Modified for the representation ``etag``."""
    response = Response(status=304)
    response.set_etag(etag)
    return response


def conditional(etag: str, modified: datetime) -> Response | None:
    """The 304 for the current request when the client's copy is current, else None: the
    conditional GET of every route whose representation is fixed by the graph version."""
    return response_304(etag) if not_modified(request, etag, modified) else None


def versioned(response: Response, etag: str, modified: datetime) -> Response:
    """Mark ``response`` as one representation of one graph version: its ETag and
    Last-Modified, and revalidation before a cache reuses it."""
    headers = response.headers
    headers["ETag"] = quote_etag(etag)  # (what set_etag writes, without its checks)
    headers["Last-Modified"] = _http_date(modified)
    headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    return response


@lru_cache(maxsize=16)
def _http_date(moment: datetime) -> str:
    """``Last-Modified`` of a graph version, formatted once rather than on every answer."""
    return http_date(moment)


class _Gzip:
    """Compress a (possibly streamed) body chunk by chunk, closing the source when done.

    ``source`` is the encoded body; ``original`` the response's own iterable, closed with it
    (iterating an encoding generator does not close what it wraps).
    """

    def __init__(self, source: Iterable[bytes], original: object = None) -> None:
        self.source = source
        self.original = original

    def __iter__(self) -> Iterator[bytes]:
        comp = zlib.compressobj(6, zlib.DEFLATED, 31)
        for chunk in self.source:
            out = comp.compress(chunk)
            if out:
                yield out
        yield comp.flush()

    def close(self) -> None:
        for part in (self.source, self.original):
            close = getattr(part, "close", None)
            if close is not None:
                close()


def _accepts_gzip(req: Request) -> bool:
    # Parsing Accept-Encoding is only worth it when it can name gzip (or ``*``).
    raw = req.headers.get("Accept-Encoding", "")
    if "gzip" not in raw.lower() and "*" not in raw:
        return False
    return req.accept_encodings["gzip"] > 0


def install(app: Flask, config: ServiceConfig) -> None:
    """Register the after-request hooks on ``app``."""

    @app.after_request
    def _headers(response: Response) -> Response:
        head = request.method == "HEAD"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if config.cors_origin:
            response.headers["Access-Control-Allow-Origin"] = config.cors_origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSED
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, OPTIONS"
                response.headers["Access-Control-Allow-Headers"] = (
                    request.headers.get("Access-Control-Request-Headers")
                    or "Accept, Content-Type, If-None-Match, If-Modified-Since")
                response.headers["Access-Control-Max-Age"] = "86400"
        if head:
            # The body is not sent: a length computed from it (an empty placeholder, say)
            # would be wrong. A length the route set itself stays.
            response.automatically_set_content_length = False
        if (config.gzip and response.status_code == 200
                and "Content-Encoding" not in response.headers
                and (response.mimetype or "").startswith(COMPRESSIBLE)
                and _accepts_gzip(request)):
            original = response.response
            # HEAD: the same headers as GET, but nothing is compressed (or iterated).
            source: Iterable[bytes] = () if head else response.iter_encoded()
            response.response = _Gzip(source, original)
            response.direct_passthrough = False
            response.headers["Content-Encoding"] = "gzip"
            response.headers.pop("Content-Length", None)
            response.vary.add("Accept-Encoding")
            etag, weak = response.get_etag()
            if etag:  # a different byte sequence needs a different strong validator
                response.set_etag(etag + "-gz", weak=bool(weak))
        return response


__all__ = ["conditional", "install", "make_etag", "not_modified", "response_304", "versioned"]
