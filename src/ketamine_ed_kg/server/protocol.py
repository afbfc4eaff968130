"""``/sparql``: the W3C SPARQL 1.1 Protocol (query operation), read-only.

A request goes through: parameter extraction (GET, POST form, POST direct) → size and method
checks → lexical inspection (update? SERVICE? unknown graphs?) → content negotiation → ETag
check → the query job in a killable worker → a streamed, natively serialised body.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Response, request
from pyoxigraph import NamedNode
from werkzeug.datastructures import MultiDict

from ..security import PolicyViolation, apply_row_cap, check_policy, inspect_query
from ..store import DeadlineExceeded, Job, Overloaded, QueryError
from . import state
from .errors import ApiError
from .http import make_etag, not_modified
from .negotiation import (
    BOOLEAN_TYPES,
    BROWSER_GRAPH,
    BROWSER_RESULTS,
    GRAPH_TYPES,
    RESULT_TYPES,
    Choice,
    NotAcceptable,
    negotiate,
)

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


def _params() -> tuple[str, MultiDict[str, str]]:
    """The query string and the protocol parameters of this request."""
    if request.method == "GET":
        params: MultiDict[str, str] = MultiDict(request.args)
        if "update" in params:
            raise ApiError(403, "this endpoint is read-only: SPARQL Update is refused "
                                "(and an update may never be sent with GET)")
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
        if asked <= 0:
            raise ApiError(400, "timeout must be a positive number of seconds")
        limit = min(limit, asked)
    return limit


def _infer(params: MultiDict[str, str]) -> bool:
    raw = (params.get("infer") or "true").strip().lower()
    if raw not in ("true", "false", "1", "0"):
        raise ApiError(400, f"infer={raw}: expected true or false")
    return raw in ("true", "1")


@bp.route("/sparql", methods=["GET", "POST"])
@bp.route("/sparql/", methods=["GET", "POST"])
def sparql() -> Response:
    """The query operation (and, for a bare GET, the service description)."""
    if request.method == "GET" and not request.args:
        from .discovery import service_description

        return service_description()
    st = state()
    if request.method == "GET" and len(request.query_string) > st.config.max_request_bytes:
        raise ApiError(413, f"query string too long: the limit is "
                            f"{st.config.max_request_bytes} bytes (use POST)")
    query, params = _params()
    return run_query(query, params)


def run_query(query: str, params: MultiDict[str, str]) -> Response:
    """Check, negotiate, run and stream one query."""
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
    info = inspect_query(query)
    try:
        check_policy(info, graphs_in_store=st.graphs, extra_graphs=default_graphs + named_graphs,
                     allowed_service_prefixes=cfg.allowed_service_prefixes,
                     allowed_graph_prefixes=cfg.allowed_graph_prefixes)
    except PolicyViolation as exc:
        raise ApiError(403, str(exc)) from None
    fmt = params.get("format") or params.get("output")
    accept = request.headers.get("Accept")
    results_choice: Choice | None = None
    graph_choice: Choice | None = None
    try:
        if info.form in ("CONSTRUCT", "DESCRIBE"):
            graph_choice = negotiate(GRAPH_TYPES, accept, fmt, BROWSER_GRAPH)
        else:
            offered = BOOLEAN_TYPES if info.form == "ASK" else RESULT_TYPES
            results_choice = negotiate(offered, accept, fmt, BROWSER_RESULTS)
    except NotAcceptable as exc:
        raise ApiError(406, f"{exc}; available: {', '.join(exc.offered)}") from None
    infer = _infer(params)
    seconds = _deadline(params)
    options: dict[str, Any] = {"base_iri": cfg.public_url or request.base_url}
    if default_graphs or named_graphs:
        options["default_graph"] = default_graphs
        options["named_graphs"] = named_graphs
        options["union_default_graph"] = False
    elif info.from_graphs or info.from_named:
        options["union_default_graph"] = False
    elif not infer:
        options["default_graph"] = tuple(sorted(st.graphs - {cfg.inferred_graph}))
        options["named_graphs"] = tuple(sorted(st.graphs))
        options["union_default_graph"] = False
    else:
        options["union_default_graph"] = cfg.union_default_graph
    capped = apply_row_cap(query, info, cfg.row_cap)
    job = Job(
        "query",
        capped.text if capped else query,
        probe=capped.probe if capped else None,
        cap=capped.cap if capped else 0,
        result_format=results_choice.name if results_choice else "json",
        rdf_format=graph_choice.name if graph_choice else "turtle",
        **options,
    )
    etag = make_etag(st.version.tag, job, results_choice, graph_choice)
    if request.method == "GET" and not_modified(request, etag, st.version.modified):
        response = Response(status=304)
        response.set_etag(etag)
        return response
    started = time.monotonic()
    try:
        result = st.service.run(job, started + seconds)
    except QueryError as exc:
        if exc.kind in ("syntax", "unsupported"):
            raise ApiError(400, exc.message) from None
        log.error("query failed inside the engine: %s\nquery: %s", exc.message, query)
        raise ApiError(500, "the query engine failed on this query; this is a bug and it "
                            "has been logged") from None
    except DeadlineExceeded:
        raise ApiError(503, f"the query did not finish within its deadline of {seconds:g} s "
                            "and was stopped; make it more selective or add a LIMIT",
                       {"Retry-After": "5"}) from None
    except Overloaded:
        raise ApiError(503, "the service is busy: no query worker became free before the "
                            "deadline", {"Retry-After": "2"}) from None
    form = result.meta.get("form")
    if form == "graph":
        choice = graph_choice or negotiate(GRAPH_TYPES, accept, fmt, BROWSER_GRAPH)
    else:
        choice = results_choice or Choice("json", "application/sparql-results+json")
    media = choice.media_type
    if media.startswith("text/") or media.endswith(("json", "xml")):
        media += "; charset=utf-8"
    response = Response(_logged(result.body, query), status=200, content_type=media)
    response.call_on_close(result.close)
    response.set_etag(etag)
    response.last_modified = st.version.modified
    response.headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    response.vary.update(("Accept", "Accept-Encoding"))
    response.headers["X-SPARQL-Deadline"] = f"{seconds:g}"
    if capped is not None:
        response.headers["X-SPARQL-Row-Cap"] = str(capped.cap)
        truncated = bool(result.meta.get("truncated"))
        response.headers["X-SPARQL-Truncated"] = "true" if truncated else "false"
        if truncated:
            response.headers["Warning"] = (
                f'199 - "result truncated to the first {capped.cap} solutions (row cap); '
                'add LIMIT/OFFSET to page through it"')
    return response


def _logged(body: Any, query: str) -> Any:
    """Re-raise failures that happen after the status line went out, with a log line.

    The worker has been killed (deadline) or reported an error: the connection is cut, so the
    client sees an incomplete chunked body instead of a silently shortened result.
    """
    try:
        yield from body
    except DeadlineExceeded:
        log.warning("deadline passed while streaming; connection cut. query: %.200s", query)
        raise
    except QueryError as exc:
        log.error("query failed while streaming: %s\nquery: %.200s", exc.message, query)
        raise


__all__ = ["bp", "run_query"]
