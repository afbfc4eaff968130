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

import itertools
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Blueprint, Response, request
from pyoxigraph import NamedNode
from werkzeug.datastructures import MultiDict

from ..config import ServiceConfig
from ..errors import KedError
from ..query_plan import PublicRequest, RequestPolicy
from ..store import DeadlineExceeded, Job, JobResult, QueryError
from . import ServiceState, state
from .discovery import service_description
from .errors import ApiError, api_error, loggable
from .fairness import TooManyQueries, client_key, disconnect_probe
from .http import make_etag
from .urls import advertised_url

bp = Blueprint("protocol", __name__)
log = logging.getLogger("ketamine_ed_kg.server")

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"
CONTROL_PARAMS = ("format", "output", "infer", "timeout")


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


def _deadline(params: MultiDict[str, str]) -> float:
    """Seconds this query may run: the configured deadline, lowered by ``timeout=``."""
    limit = state().config.deadline
    raw = params.get("timeout")
    if raw:
        try:
            asked = float(raw)
        except ValueError:
            raise ApiError(400, f"timeout={raw} is not a number of seconds") from None
        if not asked > 0 or asked != asked:
            raise ApiError(400, "timeout must be a positive number of seconds")
        limit = min(limit, asked)
    return limit


def _infer(params: MultiDict[str, str]) -> bool:
    raw = (params.get("infer") or "true").strip().lower()
    if raw not in ("true", "false", "1", "0"):
        raise ApiError(400, f"infer={raw}: expected true or false")
    return raw in ("true", "1")


@bp.route("/sparql", methods=["GET", "HEAD", "POST"])
@bp.route("/sparql/", methods=["GET", "HEAD", "POST"])
def sparql() -> Response:
    """The query operation (and, for a bare GET, the service description)."""
    if request.method in ("GET", "HEAD") and not request.query_string:
        return service_description()
    limit = state().config.max_request_line
    if len(request.query_string) > limit:
        raise ApiError(414, f"the URL is longer than {limit} bytes: send the query with POST "
                            "(application/x-www-form-urlencoded or application/sparql-query)")
    query, params = _params()
    return run_query(query, params)


def policy(cfg: ServiceConfig) -> RequestPolicy:
    """The limits of ``cfg`` that a query process applies to a public query."""
    return RequestPolicy(
        row_cap=cfg.row_cap, max_depth=cfg.max_query_depth, max_chain=cfg.max_operator_chain,
        allowed_service_prefixes=cfg.allowed_service_prefixes,
        allowed_graph_prefixes=cfg.allowed_graph_prefixes,
        union_default_graph=cfg.union_default_graph, inferred_graph=cfg.inferred_graph)


def run_query(query: str, params: MultiDict[str, str]) -> Response:
    """Check, run and stream one client query (planned in the query process)."""
    st = state()
    cfg = st.config
    default_graphs = tuple(params.getlist("default-graph-uri"))
    named_graphs = tuple(params.getlist("named-graph-uri"))
    for iri in default_graphs + named_graphs:
        try:
            NamedNode(iri)
        except ValueError:
            raise ApiError(400, f"default-graph-uri / named-graph-uri {iri!r} is not an "
                                "absolute IRI") from None
    seconds = _deadline(params)
    public = PublicRequest(
        query, policy(cfg), accept=request.headers.get("Accept"),
        fmt=params.get("format") or params.get("output"), infer=_infer(params),
        default_graphs=default_graphs, named_graphs=named_graphs,
        base_iri=advertised_url(request.path))
    etag = make_etag(st.version.tag, "sparql", public)
    key = client_key(request.environ)
    try:
        st.limiter.acquire(key)
    except TooManyQueries as exc:
        raise ApiError(429, str(exc), {"Retry-After": "1"}) from None
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            st.limiter.release(key)

    try:
        if request.method in ("GET", "HEAD"):
            cached = _not_modified(st, public, etag, seconds)
            if cached is not None:
                release()
                return cached
        result, first = _start(st, Job("request", request=public), seconds, query)
    except BaseException:
        release()
        raise
    if request.method == "HEAD":
        _drain(result, first, seconds, query)
        release()
        body: Any = ()
    else:
        body = _logged(itertools.chain(first, result.body), query)
    response = Response(body, status=200, content_type=_content_type(result.meta))
    response.call_on_close(result.close)
    response.call_on_close(release)
    response.set_etag(etag)
    response.last_modified = st.version.modified
    response.headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    response.vary.update(("Accept", "Accept-Encoding"))
    response.headers["X-SPARQL-Deadline"] = f"{seconds:g}"
    cap = int(result.meta.get("cap") or 0)
    if cap:
        response.headers["X-SPARQL-Row-Cap"] = str(cap)
        truncated = bool(result.meta.get("truncated"))
        response.headers["X-SPARQL-Truncated"] = "true" if truncated else "false"
        if truncated:
            response.headers["Warning"] = (
                f'199 - "result truncated to the first {cap} solutions (row cap); '
                'add LIMIT/OFFSET to page through it"')
    return response


def _content_type(meta: dict[str, Any]) -> str:
    media = str(meta.get("media_type") or "application/sparql-results+json")
    if media.startswith("text/") or media.endswith(("json", "xml")):
        media += "; charset=utf-8"
    return media


def _run(st: ServiceState, job: Job, seconds: float, query: str) -> JobResult:
    """Run ``job`` (moving an allow-listed federated query to the federation processes)."""
    deadline = time.monotonic() + seconds
    cancelled = disconnect_probe(request.environ)
    try:
        try:
            return st.service.run(job, deadline, cancelled)
        except QueryError as exc:
            if exc.kind != "federate" or st.federation is None:
                raise
            return st.federation.run(job, deadline, cancelled)
    except KedError as exc:
        raise api_error(exc, deadline=seconds, query=query) from None


def _start(st: ServiceState, job: Job, seconds: float, query: str
           ) -> tuple[JobResult, list[bytes]]:
    """Run the job up to its first body chunk, so that any failure up to then still gets its
    own status (the WSGI server sends the status line with the first chunk)."""
    result = _run(st, job, seconds, query)
    try:
        first = [next(iter(result.body))]
    except StopIteration:
        first = []
    except KedError as exc:
        result.close()
        raise api_error(exc, deadline=seconds, query=query) from None
    return result, first


def _drain(result: JobResult, first: list[bytes], seconds: float, query: str) -> None:
    """HEAD: read the body to its end (keeping the worker) and send none of it."""
    try:
        for _chunk in result.body:
            pass
    except KedError as exc:
        raise api_error(exc, deadline=seconds, query=query) from None
    del first


def _not_modified(st: ServiceState, public: PublicRequest, etag: str,
                  seconds: float) -> Response | None:
    """A 304 when the client's copy is current, else None.

    A concrete ETag names one earlier 200, so it matches without work. ``If-None-Match: *``
    and ``If-Modified-Since`` match only an existing representation, so the query is first
    checked (parsed and planned, not run) by a query process: an invalid query never gets 304.
    """
    inm = request.if_none_match
    star = bool(inm and inm.star_tag)  # (werkzeug's contains() is True for any tag then)
    if inm and not star and (inm.contains(etag) or inm.contains(etag + "-gz")):
        return _304(etag)
    since = request.if_modified_since
    if not star and (inm or since is None or st.version.modified > since):
        return None
    _run(st, Job("check", request=public), seconds, public.query)
    return _304(etag)


def _304(etag: str) -> Response:
    response = Response(status=304)
    response.set_etag(etag)
    return response


def _logged(body: Iterator[bytes], query: str) -> Iterator[bytes]:
    """Re-raise failures that happen after the status line went out, with a log line.

    The worker has been killed (deadline) or reported an error: the connection is cut, so the
    client sees an incomplete chunked body instead of a silently shortened result.
    """
    try:
        yield from body
    except DeadlineExceeded:
        log.warning("deadline passed while streaming; connection cut. query: %s",
                    loggable(query))
        raise
    except QueryError as exc:
        log.error("query failed while streaming: %s\nquery: %s", exc.message[-2000:],
                  loggable(query))
        raise


__all__ = ["bp", "policy", "run_query"]
