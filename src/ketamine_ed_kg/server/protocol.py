"""``/sparql``: the W3C SPARQL 1.1 Protocol (query operation), read-only.

A request goes through: parameter extraction (GET, HEAD, POST form, POST direct) → size,
encoding and method checks → ETag check → the per-client limit → a ``request`` job in a
sealed, killable query process, which parses the query for real, refuses what the endpoint
does not allow (update, SERVICE, unknown graphs, over-deep nesting), negotiates the format,
applies the row cap and runs it (:mod:`ketamine_ed_kg.query_plan`) → a streamed, natively
serialised body. The HTTP thread never parses a query: no input can make it spend unbounded
CPU, and all work on a query counts against the query's deadline.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from ..negotiation import prefers_html
from .editor import editor_page
from .errors import ApiError
from .query import run_query
from .service_description import service_description
from .state import state

bp = Blueprint("protocol", __name__)

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"


def _charset_ok() -> None:
    charset = request.mimetype_params.get("charset")
    if charset and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise ApiError(415, f"charset={charset} is not supported: send the request in UTF-8")


def _check_query_string() -> None:
    """400 for a URL whose parameters are not UTF-8 once percent-decoded (never a 500)."""
    for part in request.query_string.split(b"&"):
        try:
            unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "the URL's parameters are not valid UTF-8: percent-encode the "
                                "query as UTF-8 (e.g. %C3%A9 for \u00e9)") from None


def _params() -> tuple[str, MultiDict[str, str]]:
    """The query string and the protocol parameters of this request."""
    _check_query_string()
    if "update" in request.args:
        raise ApiError(403, "this endpoint is read-only: SPARQL Update is refused "
                            "(and an update may never be sent in the URL)")
    if request.method in ("GET", "HEAD"):
        params: MultiDict[str, str] = MultiDict(request.args)
        queries = params.getlist("query")
    else:
        mimetype = request.mimetype
        if not mimetype:
            raise ApiError(415, "POST needs a Content-Type: application/x-www-form-urlencoded "
                                "(query=...) or application/sparql-query (the query as body)")
        if mimetype == UPDATE:
            raise ApiError(403, "this endpoint is read-only: SPARQL Update is refused")
        params = MultiDict(request.args)
        if mimetype == FORM:
            _charset_ok()
            raw = request.get_data(cache=True)
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(400, "the form body is not valid UTF-8") from None
            form = request.form
            if "update" in form:
                raise ApiError(403, "this endpoint is read-only: SPARQL Update is refused")
            for key, values in form.lists():
                for value in values:
                    params.add(key, value)
            queries = params.getlist("query")
        elif mimetype == DIRECT:
            _charset_ok()
            if "query" in params:
                raise ApiError(400, "a direct POST carries the query as its body, "
                                    "not as a query= parameter as well")
            try:
                queries = [request.get_data(cache=True).decode("utf-8")]
            except UnicodeDecodeError:
                raise ApiError(400, "the query body is not valid UTF-8") from None
        else:
            raise ApiError(415, f"Content-Type {mimetype} is not supported: use {FORM} "
                                f"or {DIRECT}")
    if not queries:
        raise ApiError(400, "missing query parameter (a GET with no parameters at all returns "
                            "the service description)")
    if len(queries) > 1:
        raise ApiError(400, f"exactly one query parameter is allowed, got {len(queries)}")
    return queries[0], params


@bp.route("/sparql", methods=["GET", "HEAD", "POST"])
@bp.route("/sparql/", methods=["GET", "HEAD", "POST"])
def sparql() -> Response:
    """The query operation (and, for a bare GET, the service description, or the query
    editor for a browser)."""
    if request.method in ("GET", "HEAD") and not request.query_string:
        response = (editor_page() if prefers_html(request.headers.get("Accept"))
                    else service_description())
        response.vary.add("Accept")
        return response
    limit = state().config.max_request_line
    if len(request.query_string) > limit:
        raise ApiError(414, f"the URL is longer than {limit} bytes: send the query with POST "
                            "(application/x-www-form-urlencoded or application/sparql-query)")
    query, params = _params()
    return run_query(query, params)


__all__ = ["bp"]
