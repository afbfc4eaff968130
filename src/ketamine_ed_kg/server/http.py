"""HTTP plumbing shared by every route: CORS, gzip on streamed bodies, ETag and 304s.

ETags derive from the served graph's version (the build digest) plus everything else that
shapes the representation, so a cache may keep a query's answer until the graph is rebuilt.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime

from flask import Flask, Request, Response, request

from ..config import ServiceConfig

EXPOSED = ("ETag, Last-Modified, Content-Type, X-SPARQL-Row-Cap, X-SPARQL-Truncated, "
           "X-SPARQL-Deadline, Vary")
COMPRESSIBLE = ("text/", "application/sparql-results", "application/json", "application/ld+json",
                "application/n-triples", "application/n-quads", "application/trig",
                "application/rdf+xml", "application/xml")


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


class _Gzip:
    """Compress a (possibly streamed) body chunk by chunk, closing the source when done."""

    def __init__(self, source: Iterable[bytes]) -> None:
        self.source = source

    def __iter__(self) -> Iterator[bytes]:
        comp = zlib.compressobj(6, zlib.DEFLATED, 31)
        for chunk in self.source:
            out = comp.compress(chunk)
            if out:
                yield out
        yield comp.flush()

    def close(self) -> None:
        close = getattr(self.source, "close", None)
        if close is not None:
            close()


def _accepts_gzip(req: Request) -> bool:
    return req.accept_encodings["gzip"] > 0


def install(app: Flask, config: ServiceConfig) -> None:
    """Register the after-request hooks on ``app``."""

    @app.after_request
    def _headers(response: Response) -> Response:
        if config.cors_origin:
            response.headers["Access-Control-Allow-Origin"] = config.cors_origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSED
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                response.headers["Access-Control-Allow-Headers"] = (
                    request.headers.get("Access-Control-Request-Headers")
                    or "Accept, Content-Type, If-None-Match, If-Modified-Since")
                response.headers["Access-Control-Max-Age"] = "86400"
        if (config.gzip and response.status_code == 200 and request.method != "HEAD"
                and "Content-Encoding" not in response.headers
                and (response.mimetype or "").startswith(COMPRESSIBLE)
                and _accepts_gzip(request)):
            response.response = _Gzip(response.iter_encoded())
            response.direct_passthrough = False
            response.headers["Content-Encoding"] = "gzip"
            response.headers.pop("Content-Length", None)
            response.vary.add("Accept-Encoding")
            etag, weak = response.get_etag()
            if etag:  # a different byte sequence needs a different strong validator
                response.set_etag(etag + "-gz", weak=bool(weak))
        return response


__all__ = ["install", "make_etag", "not_modified"]
