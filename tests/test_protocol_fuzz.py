"""Property-based fuzzing of the SPARQL protocol with raw HTTP requests.

Requests are written byte by byte on a socket (nothing is normalised away): random methods
(GET, POST, HEAD, OPTIONS), queries taken from a list of seeds (valid queries, updates, SERVICE
variants, deep nesting, huge LIMIT/OFFSET numbers) and mutated (cut, bytes inserted, ``\\xff``),
sent percent-encoded or as raw bytes in the URL or the body, with odd ``format=``, ``timeout=``
(``0.001``, ``-1``, ``nan``, ...), ``infer=`` and graph parameters, ``update=`` in the URL of a
POST, odd Content-Types and charsets, and random Accept headers.

The properties, for every response:

* the status is never a 5xx other than 503 (a deadline, the memory cap or a busy service);
* every error body (4xx, 5xx) is ``text/plain``;
* every response carries ``X-Content-Type-Options: nosniff``.

The generators are plain functions over a :class:`Source` of choices, so ``scripts/stress.py``
draws the same requests from a seeded ``random.Random`` (:class:`RandomSource`) that Hypothesis
draws here (:class:`HypothesisSource`). Hypothesis runs derandomized, without an example
database, its storage directory private (conftest.py); the example count bounds the run.
"""

from __future__ import annotations

import http.client
import random
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import quote_from_bytes

import pyoxigraph as ox
import pytest

T = TypeVar("T")

# --- what a request is made of -------------------------------------------------------------

EX = "http://example.org/"
SEEDS: tuple[str, ...] = (
    "ASK {}",
    "ASK { ?s ?p ?o }",
    f"SELECT * WHERE {{ ?s <{EX}value> ?v }} LIMIT 5",
    f"SELECT ?s ?v WHERE {{ ?s <{EX}value> ?v }} ORDER BY DESC(?v) LIMIT 3 OFFSET 2",
    "SELECT * WHERE { ?s ?p ?o } LIMIT 99999999999999999999999999999",
    "SELECT * WHERE { ?s ?p ?o } OFFSET 99999999999999999999999999999",
    "SELECT * WHERE { ?s ?p ?o } LIMIT 18446744073709551616 OFFSET 18446744073709551615",
    "SELECT * WHERE { ?s ?p ?o } LIMIT -1",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 10",
    f"DESCRIBE <{EX}s1>",
    "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c OPTIONAL { ?d ?e ?f OPTIONAL { ?g ?h ?i } } }",
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }",
    "SELECT * WHERE { sErViCe <file:///etc/passwd> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p \"SERVICE <http://127.0.0.1:9/>\" }",
    "SELECT * FROM <http://127.0.0.1:9/data.ttl> WHERE { ?s ?p ?o }",
    "SELECT * FROM NAMED <https://w3id.org/ketamine-ed/graph/asserted> "
    "WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 3",
    f"INSERT DATA {{ <{EX}a> <{EX}b> <{EX}c> }}",
    "LOAD <http://127.0.0.1:9/data.ttl>",
    "DROP ALL",
    f"DELETE WHERE {{ <{EX}s1> ?p ?o }}",
    "SELECT * WHERE { ?s ?p ?o FILTER(<http://example.org/unknownFunction>(?o)) }",
    "SELECT (REGEX(\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\", \"(a+)+$\") AS ?x) {}",
    "SELECT * WHERE { ?s <http://example.org/value> ?v FILTER(?v / 0 > 1) }",
    "SELECT ?x WHERE { BIND(\"\\uD800\" AS ?x) }",
    "PREFIX : <http://example.org/> SELECT * { :s1 (:value|^:value)* ?o } LIMIT 5",
    "",
    " ",
    "\x00",
    "SELECT",
    "{}",
)
NESTING = ("{ ", " }"), ("{ SELECT * WHERE { ", " } }"), ("(", ")"), ("OPTIONAL { ", " }")
FORMATS = ("", "json", "xml", "csv", "tsv", "ttl", "nt", "jsonld", "rdf", "nq", "trig", "n3",
           "JSON", " csv ", "application/sparql-results+json", "text/csv;charset=utf-8",
           "text/html", "image/png", "*/*", "json;q=0", "%ff", "\u00e9", "x" * 300)
TIMEOUTS = ("", "0.001", "-1", "nan", "NaN", "inf", "-inf", "0", "1e309", "1e-320", "abc",
            "1", "0.5", "2", " 1 ", "1_0", "0x10")
INFERS = ("", "true", "false", "TRUE", "0", "1", "maybe", "\u00ff")
GRAPHS = ("https://w3id.org/ketamine-ed/graph/asserted", "http://127.0.0.1:9/g", "not an iri",
          "urn:x", "", "<>", "http://example.org/\u00e9")
ACCEPTS = (None, "", "*/*", "application/sparql-results+json", "application/sparql-results+xml",
           "text/csv", "text/tab-separated-values", "text/turtle", "application/ld+json",
           "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "image/png",
           "application/json;q=0", "text/*;q=0.5, */*;q=abc", "text/csv;q=2", ";;;,,,",
           "application/sparql-results+json;q=0.1, text/csv;q=0.1", "x" * 2000)
CONTENT_TYPES = (None, "application/x-www-form-urlencoded", "application/sparql-query",
                 "application/sparql-update", "text/plain", "multipart/form-data; boundary=x",
                 "application/x-www-form-urlencoded; charset=latin1",
                 "application/sparql-query; charset=utf-16", "application/sparql-query;charset=",
                 "APPLICATION/SPARQL-QUERY", "application/json", "\xff/\xff", "")
METHODS = ("GET", "GET", "GET", "POST", "POST", "POST", "HEAD", "OPTIONS")
PATHS = ("/sparql", "/sparql", "/sparql", "/sparql/")


class Source(Protocol):
    """Where the generators get their choices from."""

    def choice(self, options: Sequence[T]) -> T: ...

    def integer(self, low: int, high: int) -> int: ...

    def blob(self, max_size: int) -> bytes: ...


class RandomSource:
    """Choices from a seeded ``random.Random`` (scripts/stress.py)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def blob(self, max_size: int) -> bytes:
        return bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, max_size)))


@dataclass
class RawRequest:
    """Exactly the bytes to send."""

    method: str
    target: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes | None = None

    def wire(self) -> bytes:
        lines = [self.method.encode() + b" " + self.target + b" HTTP/1.1",
                 b"Host: 127.0.0.1", b"Connection: close"]
        lines += [name + b": " + value for name, value in self.headers]
        if self.body is not None:
            lines.append(b"Content-Length: " + str(len(self.body)).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + (self.body or b"")


def mutate(text: bytes, src: Source) -> bytes:
    """Leave ``text`` alone, cut it, insert random bytes or ``\\xff``, or repeat a piece."""
    how = src.choice(("keep", "keep", "cut", "insert", "xff", "repeat", "nest"))
    at = src.integer(0, len(text))
    if how == "cut":
        return text[:at]
    if how == "insert":
        return text[:at] + src.blob(8) + text[at:]
    if how == "xff":
        return text[:at] + b"\xff" + text[at:]
    if how == "repeat":
        return text[:at] + text[at:at + 20] * src.integer(2, 50) + text[at:]
    if how == "nest":
        opening, closing = src.choice(NESTING)
        depth = src.choice((10, 150, 250, 1000, 5000))
        inner = b"?s ?p ?o" if opening.startswith(("{", "O")) else b"1"
        body = opening.encode() * depth + inner + closing.encode() * depth
        return b"SELECT * WHERE { " + body + b" }" if opening != "(" else (
            b"SELECT * WHERE { ?s ?p ?o FILTER" + body + b" }")
    return text


def encode_value(value: bytes, src: Source) -> bytes:
    """Percent-encode ``value`` (as a browser would), or put it in raw (no CR, LF or space,
    which would make another request rather than an odd one)."""
    if src.choice((True, True, False)):
        return quote_from_bytes(value, safe=b"").encode()
    return bytes(b for b in value if b not in b"\r\n \t#")


def fuzz_request(src: Source) -> RawRequest:
    """One random request to ``/sparql``."""
    method = src.choice(METHODS)
    query = mutate(src.choice(SEEDS).encode("utf-8"), src)
    params: list[tuple[bytes, bytes]] = []
    for name, values in (("format", FORMATS), ("output", FORMATS), ("timeout", TIMEOUTS),
                         ("infer", INFERS), ("default-graph-uri", GRAPHS),
                         ("named-graph-uri", GRAPHS)):
        if src.integer(0, 5) == 0:
            params.append((name.encode(), src.choice(values).encode("utf-8")))
    if src.integer(0, 15) == 0:
        params.append((b"update", b"DROP ALL"))
    if src.integer(0, 20) == 0:
        params.append((b"query", b"ASK {}"))  # a second query
    headers: list[tuple[bytes, bytes]] = []
    accept = src.choice(ACCEPTS)
    if accept is not None:
        headers.append((b"Accept", accept.encode("utf-8")))
    body: bytes | None = None
    url_params = list(params)
    if method == "POST":
        ctype = src.choice(CONTENT_TYPES)
        if ctype is not None:
            headers.append((b"Content-Type", ctype.encode("latin-1")))
        if ctype and "form" in ctype.lower():
            form = [(b"query", query)] + [p for p in params if src.choice((True, False))]
            body = b"&".join(k + b"=" + encode_value(v, src) for k, v in form)
        else:
            body = query
        if src.integer(0, 30) == 0:
            body += b" " * src.choice((60_000, 200_000))  # over max_request_bytes
        if src.integer(0, 6) == 0:
            url_params.append((b"update", b"INSERT DATA { <a:a> <a:a> <a:a> }"))
    elif src.choice((True, True, True, False)):
        url_params.insert(src.integer(0, len(url_params)), (b"query", query))
    target = src.choice(PATHS).encode()
    if url_params:
        target += b"?" + b"&".join(k + b"=" + encode_value(v, src) for k, v in url_params)
    if src.integer(0, 40) == 0:
        target += b"&pad=" + b"a" * src.choice((9000, 20000))  # over max_request_line
    return RawRequest(method, target, headers, body)


@dataclass
class Answer:
    """What came back: the status, headers (lower-case names) and as much body as arrived."""

    status: int
    headers: dict[str, str]
    body: bytes
    error: str | None = None
    """Set when the connection broke before the body ended."""


def send(port: int, req: RawRequest, timeout: float = 300) -> Answer:
    """Send ``req`` to 127.0.0.1:``port`` on a fresh connection and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(req.wire())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413, 431) and close before reading everything
        response = http.client.HTTPResponse(sock, method=req.method)
        response.begin()
        headers = {k.lower(): v for k, v in response.getheaders()}
        try:
            body, error = response.read(), None
        except (http.client.IncompleteRead, ConnectionResetError) as exc:
            body, error = b"", f"{type(exc).__name__}: {exc}"
        return Answer(response.status, headers, body, error)


def violations(req: RawRequest, answer: Answer) -> list[str]:
    """The properties of the module docstring that ``answer`` breaks (nosniff apart)."""
    found = []
    if answer.status >= 500 and answer.status != 503:
        found.append(f"status {answer.status}")
    ctype = answer.headers.get("content-type", "")
    if answer.status >= 400 and not ctype.startswith("text/plain"):
        found.append(f"error {answer.status} with Content-Type {ctype!r}")
    return found


def describe(req: RawRequest, answer: Answer) -> str:
    return (f"{req.wire()[:600]!r}\n-> {answer.status} {answer.headers.get('content-type')!r} "
            f"{answer.body[:300]!r} {answer.error or ''}")


# --- the tests -------------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ketamine_ed_kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED  # noqa: E402
from support.server import GunicornServer, gunicorn_server, write_dataset  # noqa: E402

MAX_EXAMPLES = 1500

pytestmark = pytest.mark.fuzz


class HypothesisSource:
    """Choices drawn by Hypothesis (so failures shrink)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def choice(self, options: Sequence[T]) -> T:
        return self.data.draw(st.sampled_from(options))

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def blob(self, max_size: int) -> bytes:
        return self.data.draw(st.binary(max_size=max_size))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GunicornServer]:
    """The production server (gunicorn with our edge worker), as the public meets it."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    asserted = "".join(f"<{EX}s{i}> <{EX}value> {i} .\n" for i in range(60))
    dataset = write_dataset(folder / "dataset.nq", {
        GRAPH_ASSERTED: (asserted, ox.RdfFormat.TURTLE),
        GRAPH_INFERRED: (f"<{EX}s1> a <{EX}Thing> .\n", ox.RdfFormat.TURTLE),
    })
    with gunicorn_server(dataset, folder / "gunicorn.log", deadline=1.5, row_cap=50,
                         max_request_bytes=50_000, workers=2, threads=8,
                         per_client_queries=4) as live:
        yield live


@settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_5xx_but_503_and_errors_are_plain_text(server: GunicornServer,
                                                    data: st.DataObject) -> None:
    req = fuzz_request(HypothesisSource(data))
    answer = send(server.port, req)
    assert violations(req, answer) == [], describe(req, answer)


def _sample(seed: int, count: int) -> Iterator[RawRequest]:
    src = RandomSource(seed)
    for _ in range(count):
        yield fuzz_request(src)


def test_every_response_says_nosniff(server: GunicornServer) -> None:
    missing = []
    for req in _sample(7, 150):
        answer = send(server.port, req)
        if answer.headers.get("x-content-type-options") != "nosniff":
            missing.append(describe(req, answer))
    assert missing == [], f"{len(missing)} responses without nosniff, e.g.\n{missing[0]}"


def test_generators_are_reproducible() -> None:
    first = [r.wire() for r in _sample(11, 50)]
    assert first == [r.wire() for r in _sample(11, 50)]
    assert len(set(first)) > 40
