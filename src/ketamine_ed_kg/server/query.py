"""Running one client query: from its protocol parameters to a streamed response.

Shared by ``/sparql`` (``protocol``), the dereferenceable IRIs (``discovery``) and the examples
API (``examples_api``), so every way in has the same negotiation, policy, deadline, per-client
limit, conditional requests, row-cap headers and error statuses. The query itself is parsed,
checked, negotiated and capped in a sealed query process (:mod:`ketamine_ed_kg.query_plan`):
the HTTP thread never parses a query.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from functools import lru_cache

from flask import Response, request
from pyoxigraph import NamedNode
from werkzeug.datastructures import MultiDict

from ..config import ServiceConfig
from ..errors import DeadlineExceeded, ErrorKind, KedError, QueryError
from ..formats import Format
from ..iris import PREFIXES
from ..store import Job, JobKind, JobResult, PublicRequest, RequestPolicy, ResultMeta
from .errors import ApiError, api_error, loggable
from .fairness import TooManyQueries, client_key, disconnect_probe
from .http import make_etag, not_modified, response_304, versioned
from .result_cache import HIT, MISS, Entry
from .state import ServiceState, state
from .urls import advertised_url

log = logging.getLogger("ketamine_ed_kg.server")

CONTROL_PARAMS = ("format", "output", "infer", "timeout")
"""Protocol parameters that shape the response rather than the query."""


def _param(params: MultiDict[str, str], name: str) -> str | None:
    """``params.get(name)``, without the exception werkzeug raises and catches inside it for
    a missing parameter (most of them are missing from most requests)."""
    return params[name] if name in params else None


def _deadline(params: MultiDict[str, str]) -> float:
    """Seconds this query may run: the configured deadline, lowered by ``timeout=``."""
    limit = state().config.deadline
    raw = _param(params, "timeout")
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
    raw = (_param(params, "infer") or "true").strip().lower()
    if raw not in ("true", "false", "1", "0"):
        raise ApiError(400, f"infer={raw}: expected true or false")
    return raw in ("true", "1")


@lru_cache(maxsize=8)
def policy(cfg: ServiceConfig) -> RequestPolicy:
    """The limits of ``cfg`` that a query process applies to a public query (made once per
    configuration: every query carries them)."""
    return RequestPolicy(
        row_cap=cfg.row_cap, max_depth=cfg.max_query_depth, max_chain=cfg.max_operator_chain,
        allowed_service_prefixes=cfg.allowed_service_prefixes,
        allowed_graph_prefixes=cfg.allowed_graph_prefixes,
        union_default_graph=cfg.union_default_graph, inferred_graph=cfg.inferred_graph,
        prefixes=tuple(PREFIXES.items()), engine_rewrites=cfg.store != "sparql")


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
        fmt=_param(params, "format") or _param(params, "output"), infer=_infer(params),
        default_graphs=default_graphs, named_graphs=named_graphs,
        base_iri=advertised_url(request.path))
    etag = make_etag(st.version.tag, "sparql", _policy_text(public.policy), public.query,
                     public.accept, public.fmt, public.infer, public.default_graphs,
                     public.named_graphs, public.base_iri)
    cache = st.results
    cache_key = (st.version.tag, public)
    if cache is not None:
        entry = cache.get(cache_key)
        if entry is not None:  # no query process, so no per-client slot is taken
            return _hit(st, entry, etag, seconds)
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
        result, first, own = _start(st, Job(JobKind.REQUEST, request=public), seconds, query)
    except BaseException:
        release()
        raise
    content_type = _content_type(result.meta)
    headers = _cap_headers(result.meta)
    if request.method == "HEAD":
        _drain(result, first, seconds, query)
        release()
        body: Iterator[bytes] | tuple[()] | bytes = ()
    elif result.meta.length is not None:
        # The whole body was produced before its header: read to its end now (its query
        # process goes back to the pool), it is sent with its length, as it is (no chunk
        # framing, one write). The client's slot is freed before the first byte goes out: a
        # client that has read Content-Length bytes may send its next query at once.
        try:
            body = _whole(result, first, seconds, query)
        finally:
            release()
        if cache is not None and own:
            cache.put(cache_key, body, content_type, headers, _key_size(public))
    else:
        body = _logged(itertools.chain(first, result.body), query)
        if cache is not None and own:
            body = cache.capture(cache_key, body, content_type, headers, _key_size(public))
    response = Response(body, status=200, content_type=content_type)
    if request.method == "HEAD" and result.meta.length is not None:
        response.content_length = result.meta.length  # what the same GET says
    response.call_on_close(result.close)
    response.call_on_close(release)
    _describe(response, st, headers, etag, seconds)
    if cache is not None:
        response.headers["Cache-Status"] = MISS
    return response


@lru_cache(maxsize=8)
def _policy_text(limits: RequestPolicy) -> str:
    """The policy's part of an ETag, written once (every field of the request counts, and
    the policy is the same for every request)."""
    return repr(limits)


def _hit(st: ServiceState, entry: Entry, etag: str, seconds: float) -> Response:
    """The stored answer, as the miss that stored it was sent (a 304 when the client's copy is
    current: an entry exists, so the request is valid and ``*`` or a date may match)."""
    if request.method in ("GET", "HEAD") and not_modified(request, etag, st.version.modified):
        return response_304(etag)
    response = Response(b"" if request.method == "HEAD" else entry.body, status=200,
                        content_type=entry.content_type)
    if request.method == "HEAD":
        response.headers["Content-Length"] = str(len(entry.body))
    _describe(response, st, entry.headers, etag, seconds)
    response.headers["Cache-Status"] = HIT
    return response


def _describe(response: Response, st: ServiceState, headers: tuple[tuple[str, str], ...],
              etag: str, seconds: float) -> None:
    """The headers every answer to a query carries, hit or miss."""
    versioned(response, etag, st.version.modified)
    response.headers["Vary"] = "Accept, Accept-Encoding"  # (a new response: no Vary yet)
    response.headers["X-SPARQL-Deadline"] = f"{seconds:g}"
    for name, value in headers:
        response.headers[name] = value


def _cap_headers(meta: ResultMeta) -> tuple[tuple[str, str], ...]:
    """The row-cap headers of an answer (part of the answer, so stored with it)."""
    cap = meta.cap
    if not cap:
        return ()
    headers = [("X-SPARQL-Row-Cap", str(cap)),
               ("X-SPARQL-Truncated", "true" if meta.truncated else "false")]
    if meta.truncated:
        headers.append(("Warning", f'199 - "result truncated to the first {cap} solutions '
                                   '(row cap); add LIMIT/OFFSET to page through it"'))
    return tuple(headers)


def _key_size(public: PublicRequest) -> int:
    """Bytes a cache key holds beyond what every key shares (the policy)."""
    return (len(public.query) + len(public.accept or "") + len(public.fmt or "")
            + sum(map(len, public.default_graphs + public.named_graphs))
            + len(public.base_iri or ""))


def _content_type(meta: ResultMeta) -> str:
    """Every format the service writes is text in UTF-8, and says so."""
    return (meta.media_type or Format.JSON.media_type) + "; charset=utf-8"


def _run(st: ServiceState, job: Job, seconds: float, query: str) -> tuple[JobResult, bool]:
    """Run ``job`` (moving an allow-listed federated query to the federation processes).
    The flag is True when the answer is the dataset's own (not federated): cacheable."""
    deadline = time.monotonic() + seconds
    cancelled = disconnect_probe(request.environ)
    try:
        try:
            return st.service.run(job, deadline, cancelled), True
        except QueryError as exc:
            if exc.kind is not ErrorKind.FEDERATE or st.federation is None:
                raise
            return st.federation.run(job, deadline, cancelled), False
    except KedError as exc:
        raise api_error(exc, deadline=seconds, query=query) from None


def _start(st: ServiceState, job: Job, seconds: float, query: str
           ) -> tuple[JobResult, list[bytes], bool]:
    """Run the job up to its first body chunk, so that any failure up to then still gets its
    own status (the WSGI server sends the status line with the first chunk)."""
    result, own = _run(st, job, seconds, query)
    try:
        first = [next(iter(result.body))]
    except StopIteration:
        first = []
    except KedError as exc:
        result.close()
        raise api_error(exc, deadline=seconds, query=query) from None
    return result, first, own


def _whole(result: JobResult, first: list[bytes], seconds: float, query: str) -> bytes:
    """A complete answer's body, read to its end (a failure still gets its own status: the
    status line has not gone out). One frame is returned as it came, without a copy."""
    try:
        return b"".join(itertools.chain(first, result.body))
    except KedError as exc:
        result.close()
        raise api_error(exc, deadline=seconds, query=query) from None


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
        return response_304(etag)
    since = request.if_modified_since
    if not star and (inm or since is None or st.version.modified > since):
        return None
    _run(st, Job(JobKind.CHECK, request=public), seconds, public.query)
    return response_304(etag)


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


__all__ = ["CONTROL_PARAMS", "policy", "run_query"]
