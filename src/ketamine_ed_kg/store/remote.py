"""An external triple store (``store = "sparql"``), reached only through standard protocols.

Used by the *forwarding* query processes (``server/forwarding.py``): they are the only ones
allowed to open a connection, and only to the configured ``sparql_query_url``. They never see a
client's raw request: the sealed query processes parse it, apply the policy, the ORDER BY and
row-cap rewrites (:mod:`ketamine_ed_kg.query_plan`) and hand back a :class:`~.jobs.Job`, whose
text is sent here. A job carries no URL, so no query can point this process anywhere else.

The store is asked for the two formats every SPARQL 1.1 store must write correctly and that
Virtuoso 7.2 does (docs/external-store.md lists its deviations in the others): SPARQL Query
Results XML for SELECT/ASK and RDF/XML for CONSTRUCT/DESCRIBE. When the client asked for that
format the bytes pass through unchanged, chunk by chunk; otherwise pyoxigraph parses the
response as it streams in and writes the asked format with its native serialisers (no
per-row Python). The job's dataset is always sent explicitly (``default-graph-uri`` /
``named-graph-uri``), so the store's own system graphs are never part of an answer; the named
graphs only when the sealed parse found a ``GRAPH`` pattern (without one they cannot change
the answer, and naming them makes Virtuoso slower: a DESCRIBE took twice as long). Each
forwarding process keeps one connection to the store (:mod:`.connection`).

Failures keep the store's message and get their own kinds: the store refused the query (400
from it: ``syntax``), the store is unreachable or failed (``store-down``: 502), the store was
too slow (``store-timeout``: 504). Credentials come only from the environment.
"""

from __future__ import annotations

import http.client
import io
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox

from ..errors import ErrorKind, QueryError
from ..formats import Format
from .connection import StoreConnection
from .jobs import Job, JobKind, ResultForm, ResultMeta
from .rowcap import CapCheck, RowBound

USER_ENV = "KETAMINE_ED_KG_STORE_USER"
PASSWORD_ENV = "KETAMINE_ED_KG_STORE_PASSWORD"  # noqa: S105 - the variable's name, not a secret
EMPTY_GRAPH = "urn:ketamine-ed-kg:empty"
"""A graph no store holds: named as the only default graph, it makes the default graph empty
(the SPARQL Protocol has no other way to ask for an empty dataset)."""
CHUNK = 64 * 1024
RESULTS_TYPE = Format.XML.media_type
JSON_TYPE = Format.JSON.media_type
GRAPH_TYPE = Format.RDFXML.media_type
ACCEPT = f"{RESULTS_TYPE}, {GRAPH_TYPE};q=0.9"
"""What the store is asked for when the query's form is unknown. (Virtuoso 7.2 answers 406 to
a graph query when a results type and any RDF type but RDF/XML are both accepted, and a
results table to a graph query when JSON is preferred.)"""


def _accept(job: Job) -> str:
    """SELECT/ASK: XML when the client wants XML (passed through), else JSON, which
    pyoxigraph reads faithfully (its XML reader trims a literal's trailing whitespace);
    CONSTRUCT/DESCRIBE: RDF/XML."""
    if job.form in ("SELECT", "ASK"):
        return RESULTS_TYPE if job.result_format is Format.XML else JSON_TYPE
    if job.form in ("CONSTRUCT", "DESCRIBE"):
        return GRAPH_TYPE
    return ACCEPT
MESSAGE_CHARS = 2000
BLANK_PREFIX = b"nodeID://"
"""Virtuoso writes blank nodes as ``nodeID://b123``, which no blank node label may be (they
cannot hold ``:`` or ``/``): the prefix is removed from the stream (``b123`` stays unique)."""
TIMEOUT_STATE = "S1TAT"
"""Virtuoso's ``X-SQL-State`` for a result cut by its ``timeout`` (an "anytime" partial
result): never passed on as if complete."""


@dataclass(frozen=True)
class Endpoint:
    """One configured URL of the store, with the credentials from the environment."""

    url: str

    def open(self, data: bytes | None, headers: Mapping[str, str], timeout: float,
             method: str = "POST", query: str = "") -> Any:
        """Send one request to this URL (``query``: its query string); return the response.

        No redirects are followed and no proxy from the environment is used: the process
        connects to the configured host and nowhere else. Raises :class:`QueryError`.
        """
        url = self.url + ("&" if "?" in self.url else "?") + query if query else self.url
        request = urllib.request.Request(url, data=data, headers=dict(headers), method=method)
        try:
            if data and len(data) > CHUNK:
                _authorize(request, timeout)
            return _opener(self.url).open(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise _http_failure(self.url, exc.code, _read_message(exc)) from None
        except TimeoutError:
            raise _too_slow(self.url) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise _too_slow(self.url) from None
            raise QueryError(ErrorKind.STORE_DOWN, f"the external store at {self.url} cannot "
                                                   f"be reached: {exc.reason}") from None
        except (OSError, ValueError) as exc:  # e.g. the connection reset while reading
            raise QueryError(ErrorKind.STORE_DOWN, f"the external store at {self.url} "
                                                   f"failed: {exc}") from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect from the store is an error, never followed (it could point anywhere)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _credentials() -> bool:
    return os.environ.get(USER_ENV) is not None and os.environ.get(PASSWORD_ENV) is not None


def _opener(url: str) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({}),
                                                  _NoRedirect()]
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user is not None and password is not None:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, url, user, password)
        # Digest (Virtuoso's *-auth endpoints) is tried before Basic (urllib's handler order).
        handlers += [urllib.request.HTTPDigestAuthHandler(passwords),
                     urllib.request.HTTPBasicAuthHandler(passwords)]
    return urllib.request.build_opener(*handlers)


def _authorize(request: urllib.request.Request, timeout: float) -> None:
    """Digest-authorise a large request before sending it: urllib would send the body once
    without credentials, and a store that answers 401 and closes at once (Virtuoso) breaks
    the pipe mid-body. A body-less GET fetches the challenge; urllib's own digest handler
    computes the header."""
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user is None or password is None:
        return
    probe = urllib.request.Request(request.full_url, method="GET")
    try:
        urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect()).open(
            probe, timeout=timeout).close()
        return  # no authentication asked for
    except urllib.error.HTTPError as exc:
        challenge = exc.headers.get("WWW-Authenticate", "") if exc.code == 401 else ""
        exc.close()
    scheme, _, rest = challenge.partition(" ")
    if scheme.lower() != "digest":
        return
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, request.full_url, user, password)
    fields = urllib.request.parse_keqv_list(urllib.request.parse_http_list(rest))
    header = urllib.request.HTTPDigestAuthHandler(passwords).get_authorization(request, fields)
    if header:
        request.add_unredirected_header("Authorization", "Digest " + header)


def _read_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read(MESSAGE_CHARS * 4)
    except OSError:
        body = b""
    text = body.decode("utf-8", "replace").strip()
    return text[:MESSAGE_CHARS] or (exc.reason if isinstance(exc.reason, str) else "")


def _http_failure(url: str, status: int, message: str) -> QueryError:
    if status == 400:
        return QueryError(ErrorKind.SYNTAX, f"the external store refused the query: {message}")
    if status in (408, 504):
        return _too_slow(url, message)
    return QueryError(ErrorKind.STORE_DOWN, f"the external store at {url} answered "
                                            f"{status}: {message}")


def _too_slow(url: str, message: str = "") -> QueryError:
    detail = f": {message}" if message else ""
    return QueryError(ErrorKind.STORE_TIMEOUT, f"the external store at {url} did not answer "
                                               f"within the query's deadline{detail}")


class _Body(io.RawIOBase):
    """The store's response as a file, replaying what was peeked and watching the deadline."""

    def __init__(self, response: Any, head: bytes, deadline: float, url: str,
                 connection: StoreConnection | None = None) -> None:
        super().__init__()
        self.response = response
        self.connection = connection
        """The kept connection the response came on (None: urllib's, closed after it)."""
        self.head = head
        self.deadline = deadline
        self.url = url
        self.failure: QueryError | None = None
        self.tail = b""
        """The end of the last chunk that could begin :data:`BLANK_PREFIX`."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size] = self.head[:size]
            self.head = self.head[size:]
            return size
        data = self.chunk(len(buffer))
        size = min(len(buffer), len(data))
        buffer[:size] = data[:size]
        self.head = data[size:]  # (the chunk may be longer: a held partial prefix)
        return size

    def chunk(self, size: int = CHUNK) -> bytes:
        """The next bytes of the response (b"" at its end); raises QueryError."""
        if self.head:
            head, self.head = self.head, b""
            return head
        while True:
            raw = self._read(size)
            if not raw:
                data, self.tail = self.tail, b""
                return data
            data = (self.tail + raw).replace(BLANK_PREFIX, b"")
            keep = next((n for n in range(len(BLANK_PREFIX) - 1, 0, -1)
                         if data.endswith(BLANK_PREFIX[:n])), 0)
            self.tail = data[len(data) - keep:] if keep else b""
            data = data[:len(data) - keep] if keep else data
            if data:
                return data

    def _read(self, size: int) -> bytes:
        if time.monotonic() > self.deadline:
            self.failure = _too_slow(self.url)
            raise self.failure
        if self.connection is not None:
            self.connection.ack_quickly(self.response)
        try:
            data: bytes = self.response.read1(size)
        except TimeoutError:
            self.failure = _too_slow(self.url)
            raise self.failure from None
        except (OSError, ValueError) as exc:
            self.failure = QueryError(ErrorKind.STORE_DOWN, f"the external store at "
                                                            f"{self.url} failed mid-answer: "
                                                            f"{exc}")
            raise self.failure from None
        return data

    def chunks(self) -> Iterator[bytes]:
        while True:
            data = self.chunk()
            if not data:
                return
            yield data

    def finish(self) -> None:
        """Done with the response: its connection is kept for the next job only if the
        answer was read to its end."""
        if self.connection is not None:
            self.connection.release(self.response)
        else:
            self.response.close()


def prologue(job: Job) -> str:
    """BASE and the undeclared prefixes a query may use, written before its text (what
    pyoxigraph's ``base_iri=`` and ``prefixes=`` do for the embedded store)."""
    lines = [f"BASE <{job.base_iri}>"] if job.base_iri else []
    lines += [f"PREFIX {name}: <{iri}>" for name, iri in job.prefixes]
    return "".join(line + "\n" for line in lines)


class RemoteStore:
    """Runs jobs on the external store, writing the asked format to a sink (the frame writer
    of a forwarding process), like :class:`~.oxigraph.OxigraphStore` does."""

    def __init__(self, query_url: str, graphs: Sequence[str]) -> None:
        self.endpoint = Endpoint(query_url)
        self.connection = StoreConnection(query_url)
        self.authenticating = False
        """The store asked for credentials: every request then goes through urllib (Digest
        needs its handshake), a connection each."""
        self.graphs = sorted(graphs)

    def graph_names(self) -> list[str]:
        return list(self.graphs)

    def close(self) -> None:
        """Close the kept connection (a forwarding process keeps it until it exits)."""
        self.connection.close()

    def dataset_params(self, job: Job) -> list[tuple[str, str]]:
        """The job's RDF dataset as protocol parameters (always explicit: see the module)."""
        if job.default_graph is not None or job.named_graphs is not None:
            default, named = list(job.default_graph or ()), list(job.named_graphs or ())
        elif job.union_default_graph:
            default, named = self.graphs, self.graphs
        elif job.query_dataset:
            return []  # the query's FROM / FROM NAMED
        else:
            default, named = [], self.graphs
        if not job.graph_patterns:
            named = []  # no GRAPH pattern: the named graphs cannot change the answer
        return ([("default-graph-uri", g) for g in default or [EMPTY_GRAPH]]
                + [("named-graph-uri", g) for g in named or [EMPTY_GRAPH]])

    def send(self, job: Job, text: str, deadline: float) -> _Body:
        """POST ``text`` (with the job's prologue and dataset); the response, checked."""
        seconds = max(0.05, deadline - time.monotonic())
        form = [("query", prologue(job) + text), *self.dataset_params(job),
                ("timeout", str(int(seconds * 1000)))]  # the store stops its own work too
        data = urlencode(form).encode()
        headers = {"Accept": _accept(job), "Content-Type": "application/x-www-form-urlencoded"}
        response = None if self.authenticating else self._post(data, headers, seconds)
        if response is None:
            self.authenticating = True
            body = _Body(self.endpoint.open(data, headers, timeout=seconds), b"", deadline,
                         self.endpoint.url)
        else:
            body = _Body(response, b"", deadline, self.endpoint.url, self.connection)
        if body.response.headers.get("X-SQL-State", "").strip() == TIMEOUT_STATE:
            body.finish()
            raise _too_slow(self.endpoint.url, body.response.headers.get("X-SQL-Message", ""))
        return body

    def _post(self, data: bytes, headers: Mapping[str, str], seconds: float) -> Any:
        """POST on the kept connection; a status other than 2xx is the store's failure, but
        for a 401 when there are credentials to answer it with (then None)."""
        url = self.endpoint.url
        try:
            response = self.connection.post(data, headers, timeout=seconds)
        except TimeoutError:
            raise _too_slow(url) from None
        except OSError as exc:
            raise QueryError(ErrorKind.STORE_DOWN, f"the external store at {url} cannot be "
                                                   f"reached: {exc}") from None
        except http.client.HTTPException as exc:
            raise QueryError(ErrorKind.STORE_DOWN, f"the external store at {url} "
                                                   f"failed: {exc!r}") from None
        if not 200 <= response.status < 300:
            try:
                raw = response.read(MESSAGE_CHARS * 4)
            except (OSError, http.client.HTTPException):
                raw = b""
            self.connection.discard(response)
            if response.status == 401 and _credentials():
                return None
            message = raw.decode("utf-8", "replace").strip()[:MESSAGE_CHARS] or response.reason
            raise _http_failure(url, response.status, message)
        return response

    def execute(self, job: Job, start: Callable[[ResultMeta, CapCheck | None], None],
                sink: Any) -> None:
        """Run ``job``: call ``start`` once the form of the result is known, write the body."""
        # A little before the pool's kill, so a slow store is reported as such (504).
        seconds = job.seconds or 60.0
        deadline = time.monotonic() + max(0.05, seconds - min(1.0, seconds * 0.1))
        if job.kind is JobKind.DUMP:
            self._dump(job, deadline, start, sink)
            return
        if job.kind is not JobKind.QUERY:
            raise QueryError(ErrorKind.INTERNAL, f"a store runs no {job.kind} job")
        body = self.send(job, job.query, deadline)
        try:
            self._write(job, body, deadline, start, sink)
        finally:
            body.finish()

    def _write(self, job: Job, body: _Body, deadline: float,
               start: Callable[[ResultMeta, CapCheck | None], None], sink: Any) -> None:
        media = body.response.headers.get_content_type()
        probe = job.probe

        def past_cap() -> bool:
            assert probe is not None
            reply = self.send(job, probe, deadline)
            try:
                parsed = (_parse_graph(reply) if media == GRAPH_TYPE
                          else _parse_results(reply, media))
                return any(True for _ in parsed)
            finally:
                reply.finish()

        if media in (RESULTS_TYPE, JSON_TYPE):
            head = _peek_form(body)
            if head == ResultForm.BOOLEAN:
                start(ResultMeta(form=ResultForm.BOOLEAN), None)
            else:
                start(ResultMeta(form=ResultForm.SOLUTIONS),
                      CapCheck(past_cap, job.cap, RowBound(job.result_format))
                      if probe else None)
            if job.result_format is Format.XML and media == RESULTS_TYPE:
                _copy(body, sink)
            else:
                _translate(body, lambda: _parse_results(body, media).serialize(
                    sink, format=job.result_format.results))
        elif media == GRAPH_TYPE:
            start(ResultMeta(form=ResultForm.GRAPH),
                  CapCheck(past_cap, job.cap) if probe else None)
            if job.rdf_format is Format.RDFXML:
                _copy(body, sink)
            else:
                _translate(body, lambda: ox.serialize(_parse_graph(body), sink,
                                                      job.rdf_format.rdf))
        else:
            raise QueryError(ErrorKind.STORE_DOWN, f"the external store at "
                                                   f"{self.endpoint.url} answered with "
                                                   f"{media!r}, not {ACCEPT}")

    def _dump(self, job: Job, deadline: float,
              start: Callable[[ResultMeta, CapCheck | None], None], sink: Any) -> None:
        """Every graph, in one RDF format (quads for the per-graph formats)."""
        start(ResultMeta(), None)
        quads = job.rdf_format.spec.per_graph
        text = ("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }" if quads
                else "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
        body = self.send(Job(JobKind.QUERY), text, deadline)
        try:
            if quads:
                items: Iterator[Any] = (
                    ox.Quad(row["s"], row["p"], row["o"], row["g"])
                    for row in _parse_results(body, RESULTS_TYPE))
            else:
                items = iter(_parse_graph(body))
            _translate(body, lambda: ox.serialize(items, sink, job.rdf_format.rdf))
        finally:
            body.finish()


def _peek_form(body: _Body) -> ResultForm:
    """Read the results document (XML or JSON) up to where it says boolean or solutions."""
    seen = b""
    marks = (b"<results", b"<boolean", b'"bindings"', b'"boolean"')
    while not any(mark in seen for mark in marks):
        data = body.chunk()
        if not data:
            break
        seen += data
    body.head = seen
    return (ResultForm.BOOLEAN if b"<boolean" in seen or b'"boolean"' in seen
            else ResultForm.SOLUTIONS)


def _parse_results(body: _Body, media: str) -> Any:
    fmt = ox.QueryResultsFormat.JSON if media == JSON_TYPE else ox.QueryResultsFormat.XML
    return ox.parse_query_results(io.BufferedReader(body, CHUNK), format=fmt)


def _parse_graph(body: _Body) -> Any:
    return ox.parse(io.BufferedReader(body, CHUNK), format=ox.RdfFormat.RDF_XML)


def _copy(body: _Body, sink: Any) -> None:
    for data in body.chunks():
        sink.write(data)


def _translate(body: _Body, run: Callable[[], Any]) -> None:
    """Run a pyoxigraph parse-and-serialise over ``body``; a failure reading the store keeps
    its own kind (pyoxigraph re-raises what the file raised, or wraps it in OSError)."""
    try:
        run()
    except QueryError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        if body.failure is not None:
            raise body.failure from None
        raise QueryError(ErrorKind.STORE_DOWN, f"the external store's answer could not be "
                                               f"read: {exc}") from None


__all__ = ["EMPTY_GRAPH", "Endpoint", "PASSWORD_ENV", "RemoteStore", "USER_ENV", "prologue"]
