"""Error responses: the right status and a readable plain-text body.

Each failure the protocol knows about raises :class:`ApiError` with its status; failures that
come from the store are turned into one by :func:`api_error`, through the one table
:data:`STATUS_BY_KIND`. Anything else is a bug: it is logged with its traceback and answered
with a 500, never disguised as a 400.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..errors import ClientGone, DeadlineExceeded, ErrorKind, KedError, Overloaded, QueryError
from ..negotiation import prefers_html
from .pages import render_not_found

log = logging.getLogger("ketamine_ed_kg.server")

STATUS_BY_KIND: dict[ErrorKind, int] = {
    ErrorKind.SYNTAX: 400,          # the query does not parse
    ErrorKind.LIMIT: 400,           # nesting or operator chain over the configured caps
    ErrorKind.EVALUATION: 400,      # the query parses but fails while it runs
    ErrorKind.UNSUPPORTED: 400,     # e.g. an unknown extension function
    ErrorKind.ENGINE_DEFECT: 400,   # a known defect of the query engine; the message names it
    ErrorKind.UPDATE: 403,          # SPARQL Update on this read-only endpoint
    ErrorKind.POLICY: 403,          # SERVICE, or a graph this store does not hold
    ErrorKind.FEDERATE: 403,        # an allow-listed SERVICE, but no federation processes run
    ErrorKind.NOT_ACCEPTABLE: 406,  # no offered format matches Accept / format=
    ErrorKind.MEMORY: 503,          # the query went over max_query_memory and was stopped
    ErrorKind.KILLED: 503,          # its query process was killed from outside (operator, OOM)
    ErrorKind.CRASH: 500,           # a query process died for an unknown reason: a bug
    ErrorKind.INTERNAL: 500,        # an unexpected exception in a query process: a bug
}
"""HTTP status for each ``QueryError.kind`` (SPARQL 1.1 Protocol: 400 for a query the
service will not run as sent, 500 only for the service's own failures)."""

LOG_QUERY_CHARS = 2048


def loggable(text: str) -> str:
    """A query as one log line: at most 2 KiB, newlines and control characters escaped."""
    head = json.dumps(text[:LOG_QUERY_CHARS], ensure_ascii=False)[1:-1]
    if len(text) > LOG_QUERY_CHARS:
        head += f"... ({len(text)} characters in all)"
    return head


def api_error(exc: KedError, *, deadline: float, query: str = "") -> ApiError:
    """The response for a failure reported by the query service."""
    if isinstance(exc, DeadlineExceeded):
        return ApiError(503, f"the query did not finish within its deadline of {deadline:g} s "
                             "and was stopped; make it more selective or add a LIMIT",
                        {"Retry-After": "5"})
    if isinstance(exc, Overloaded):
        return ApiError(503, f"the service is busy: {exc}", {"Retry-After": "2"})
    if isinstance(exc, ClientGone):
        return ApiError(503, str(exc))
    if isinstance(exc, QueryError):
        status = STATUS_BY_KIND[exc.kind]
        if status == 503:
            return ApiError(503, exc.message,
                            {"Retry-After": "5"} if exc.kind is ErrorKind.KILLED else None)
        if status >= 500:
            log.error("query failed inside the engine (%s): %s\nquery: %s", exc.kind,
                      exc.message[-4000:], loggable(query))
            return ApiError(500, "the query engine failed on this query; this is a bug and it "
                                 "has been logged")
        return ApiError(status, exc.message)
    log.error("query service failure: %s\nquery: %s", exc, loggable(query))
    return ApiError(500, "internal server error: this is a bug and it has been logged")


class ApiError(Exception):
    """A request the service answers with an error status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Plain-text error body: what went wrong and, where it helps, what to do instead."""
    response = Response(message.rstrip() + "\n", status=status,
                        mimetype="text/plain", headers=headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_found_page(message: str) -> Response | None:
    """For a browser (it prefers ``text/html``), the 404 as a web page that says what was not
    found and links to the editor and the ontology; None for every other client, which keeps
    the plain-text body."""
    if not prefers_html(request.headers.get("Accept"), request.args.get("format")):
        return None
    return render_not_found(message)


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(ApiError)
    def _api(exc: ApiError) -> Response:
        page = _not_found_page(exc.message) if exc.status == 404 else None
        if page is not None:
            return page
        response = error_response(exc.status, exc.message, exc.headers)
        if exc.status == 404:
            response.vary.add("Accept")
        return response

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> Response:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return error_response(413, f"request body too large: the limit is {limit} bytes")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        if exc.code == 404:
            page = _not_found_page("no page or IRI of this service has this address.")
            if page is not None:
                return page
        response = exc.get_response()
        out = error_response(exc.code or 500, f"{exc.code} {exc.name}: {exc.description}")
        for key in ("Allow", "Retry-After"):
            if key in response.headers:
                out.headers[key] = response.headers[key]
        return out

    @app.errorhandler(Exception)
    def _bug(exc: Exception) -> Response:
        log.exception("internal error while serving a request")
        return error_response(500, "internal server error: this is a bug and it has been logged")


__all__ = ["STATUS_BY_KIND", "ApiError", "api_error", "error_response", "loggable", "register"]
