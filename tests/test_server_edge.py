"""The HTTP edge of the public endpoint: limits, slow clients, errors, Host, HEAD, nosniff.

The production server (gunicorn with :mod:`ketamine_ed_kg.server.gunicorn_worker`) runs in a
subprocess on a free 127.0.0.1 port, with HOME somewhere nothing can be written; requests are
raw bytes on sockets, so that what the server sends is exactly what is checked. App-level
behaviour (URLs, HEAD, headers) is checked on the in-process waitress server as well.
"""

from __future__ import annotations

import http.client
import os
import runpy
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import pyoxigraph as ox
import pytest
from flask import Response
from gunicorn.config import Config
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from rdflib import Graph, URIRef

from ketamine_ed_kg.config import load_config
from ketamine_ed_kg.namespaces import GRAPH_ASSERTED, SD, VOID
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.server.gunicorn_worker import EdgeWorker, HeadBuffer, plain_error
from ketamine_ed_kg.server.run import LiveServer, gunicorn_options
from ketamine_ed_kg.server.urls import base_url_for
from support.server import (
    GunicornServer,
    gunicorn_server,
    request,
    waitress_server,
    write_dataset,
)

EX = "http://example.org/"
DATA = f"@prefix ex: <{EX}> .\n" + "".join(f"ex:s{i} ex:value {i} .\n" for i in range(50))
ASK = "/sparql?" + urlencode({"query": "ASK { ?s ?p ?o }"})
READ_TIMEOUT = 8.0
"""request_read_timeout of the gunicorn server: long enough that a normal request sent
right after the slow clients connect is answered well before their time is up."""
THREADS = 4


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("edge") / "dataset.nq",
                         {GRAPH_ASSERTED: (DATA, ox.RdfFormat.TURTLE)})


@pytest.fixture(scope="module")
def unwritable_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HOME that cannot be created, even by root (its parent is a regular file)."""
    blocker = tmp_path_factory.mktemp("home") / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    return blocker / "home"


@pytest.fixture(scope="module")
def gunicorn(dataset: Path, unwritable_home: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[GunicornServer]:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env["HOME"] = str(unwritable_home)
    log = tmp_path_factory.mktemp("gunicorn-log") / "gunicorn.log"
    with gunicorn_server(dataset, log, env=env, threads=THREADS,
                         request_read_timeout=READ_TIMEOUT, log_level="INFO") as server:
        yield server


@pytest.fixture(scope="module")
def waitress(dataset: Path) -> Iterator[LiveServer]:
    with waitress_server(dataset) as server:
        yield server


# -- raw HTTP ---------------------------------------------------------------------------------


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes
    raw: bytes = field(repr=False, default=b"")


def parse(data: bytes) -> Raw:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Raw(int(lines[0].split(" ")[1]), headers, body, data)


def read_all(sock: socket.socket, timeout: float = 60) -> bytes:
    sock.settimeout(timeout)
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def exchange(port: int, payload: bytes) -> Raw:
    """Send ``payload`` on a new connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(payload)
        return parse(read_all(sock))


def get_line(target: str, extra: bytes = b"") -> bytes:
    return (f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode()
            + extra + b"\r\n")


def assert_plain(reply: Raw, status: int) -> None:
    assert reply.status == status, reply.raw[:500]
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["connection"] == "close"
    assert int(reply.headers["content-length"]) == len(reply.body)
    assert b"<html" not in reply.body.lower()


# -- the worker's head buffer (no server) -----------------------------------------------------


def head_buffer() -> HeadBuffer:
    return HeadBuffer(line_limit=100, field_limit=50, max_fields=3, max_body=1000)


def test_head_buffer_waits_for_the_blank_line_byte_by_byte() -> None:
    buffer = head_buffer()
    request_bytes = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    for i, byte in enumerate(request_bytes):
        assert buffer.feed(bytes([byte])) is (i == len(request_bytes) - 1)
    assert buffer.error is None and buffer.take() == request_bytes


def test_head_buffer_awaits_a_content_length_body() -> None:
    buffer = head_buffer()
    assert not buffer.feed(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab")
    assert buffer.feed(b"cde")
    chunked = head_buffer()
    assert chunked.feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    expect = head_buffer()
    assert expect.feed(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    big = head_buffer()  # over max_body: the app refuses it (413) without reading it
    assert big.feed(b"POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n")


@pytest.mark.parametrize(("data", "error"), [
    (b"GET /" + b"a" * 200, LimitRequestLine),                        # line still arriving
    (b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n", LimitRequestLine),
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 60, LimitRequestHeaders),       # field still arriving
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 60 + b"\r\n", LimitRequestHeaders),
    (b"GET / HTTP/1.1\r\n" + b"A: b\r\n" * 4, LimitRequestHeaders),    # 4 fields > 3
])
def test_head_buffer_stops_at_the_limits(data: bytes, error: type[Exception]) -> None:
    buffer = head_buffer()
    assert buffer.feed(data)
    assert isinstance(buffer.error, error)


def test_head_buffer_accepts_exactly_the_limits() -> None:
    line = b"GET /" + b"a" * (100 - len(b"GET / HTTP/1.1")) + b" HTTP/1.1"
    assert len(line) == 100
    fields = b"".join(f"X{i}: ".encode() + b"a" * (50 - 2 - 4) + b"\r\n" for i in range(3))
    buffer = head_buffer()
    assert buffer.feed(line + b"\r\n" + fields + b"\r\n")
    assert buffer.error is None


def test_plain_error_is_a_complete_response() -> None:
    reply = parse(plain_error(414, "use POST", "*"))
    assert_plain(reply, 414)
    assert reply.body == b"use POST\n"
    assert reply.headers["access-control-allow-origin"] == "*"


# -- limits on the request line and headers ---------------------------------------------------


def test_long_request_line_is_414_telling_to_use_post(gunicorn: GunicornServer) -> None:
    reply = exchange(gunicorn.port, get_line("/sparql?query=" + "a" * 9000))
    assert_plain(reply, 414)
    assert b"POST" in reply.body and b"8190" in reply.body


def test_huge_request_line_is_answered_not_reset(gunicorn: GunicornServer) -> None:
    # 4 MB: the server answers after 8 KB and drains the rest, so the client can read it.
    reply = exchange(gunicorn.port, get_line("/sparql?query=" + "a" * 4_000_000))
    assert_plain(reply, 414)


def test_request_line_within_the_limit_is_served(gunicorn: GunicornServer) -> None:
    query = quote("ASK {} #") + "a" * 8000
    target = f"/sparql?query={query}"
    assert len(f"GET {target} HTTP/1.1") <= 8190
    reply = exchange(gunicorn.port, get_line(target))
    assert reply.status == 200, reply.raw[:300]


def test_large_header_field_is_431(gunicorn: GunicornServer) -> None:
    reply = exchange(gunicorn.port, get_line(ASK, b"X-Big: " + b"a" * 20000 + b"\r\n"))
    assert_plain(reply, 431)
    assert b"16384" in reply.body


def test_header_field_within_the_limit_is_served(gunicorn: GunicornServer) -> None:
    reply = exchange(gunicorn.port, get_line(ASK, b"X-Big: " + b"a" * 16000 + b"\r\n"))
    assert reply.status == 200


def test_too_many_header_fields_is_431(gunicorn: GunicornServer) -> None:
    fields = b"".join(b"X-F%d: y\r\n" % i for i in range(101))
    reply = exchange(gunicorn.port, get_line(ASK, fields))
    assert_plain(reply, 431)
    assert b"100 header fields" in reply.body


@pytest.mark.parametrize(("payload", "status"), [
    (b"GET /sparql HTTP/1.1\r\nNo colon\r\n\r\n", 400),
    (b"this is not http\r\n\r\n", 400),
    (b"GET /sparql HTTP/7.5\r\nHost: x\r\n\r\n", 400),
    (b"\r\n\r\n", 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)) + b"\r\n\r\n", 400),
    (b"GET /sparql HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
    (b"GET /sparql HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400),
    (b"GET /sparql HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
    (b"POST /sparql HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    (b"POST /sparql HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    (b"POST /sparql HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
    (b"POST /sparql HTTP/1.1\r\nTransfer-Encoding: br\r\n\r\n", 501),
    (b"POST /sparql HTTP/1.1\r\nExpect: magic\r\nContent-Length: 0\r\n\r\n", 417),
])
def test_malformed_requests_get_plain_text_errors(gunicorn: GunicornServer, payload: bytes,
                                                  status: int) -> None:
    reply = exchange(gunicorn.port, payload)
    assert_plain(reply, status)
    assert len(reply.body) > 20  # a sentence, not just a status


def test_keep_alive_and_pipelined_requests(gunicorn: GunicornServer) -> None:
    one = f"GET {ASK} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    last = get_line(ASK)
    with socket.create_connection(("127.0.0.1", gunicorn.port), timeout=60) as sock:
        sock.sendall(one + one + last)  # three requests in one write
        data = read_all(sock)
    assert data.count(b"HTTP/1.1 200 OK") == 3
    # and one after another on a kept-alive connection (read by each response's own framing:
    # every answer here is complete before its header, so misses and results-cache hits
    # alike are sent with Content-Length)
    with socket.create_connection(("127.0.0.1", gunicorn.port), timeout=60) as sock:
        for _ in range(2):
            sock.sendall(one)
            response = http.client.HTTPResponse(sock)
            response.begin()
            assert response.status == 200 and b"true" in response.read()
            assert not response.will_close


def test_slow_next_request_on_a_kept_alive_connection_holds_no_thread(
        gunicorn: GunicornServer) -> None:
    """A thread waits a moment for the next request of a kept-alive connection, but takes
    only a whole one: connections whose next request stops half-way, twice as many as there
    are threads, leave the service answering, and each is answered once it sends the rest."""
    one = f"GET {ASK} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    socks = [socket.create_connection(("127.0.0.1", gunicorn.port), timeout=60)
             for _ in range(2 * THREADS)]
    try:
        for sock in socks:
            sock.sendall(one)
            response = http.client.HTTPResponse(sock)
            response.begin()
            assert response.status == 200 and b"true" in response.read()
            sock.sendall(one[:20])  # the next request, at once, but only its start
        for _ in range(3):
            assert request(gunicorn.base + ASK, timeout=60).status == 200
        assert not select.select(socks, [], [], 0)[0]  # none answered (or cut) meanwhile
        for sock in socks:
            sock.sendall(one[20:])
            response = http.client.HTTPResponse(sock)
            response.begin()
            assert response.status == 200 and b"true" in response.read()
    finally:
        for sock in socks:
            sock.close()


def test_posts_with_and_without_expect(gunicorn: GunicornServer) -> None:
    body = b"ASK { ?s ?p ?o }"
    head = (b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/sparql-query\r\nContent-Length: %d\r\n" % len(body))
    assert exchange(gunicorn.port, head + b"\r\n" + body).status == 200
    with socket.create_connection(("127.0.0.1", gunicorn.port), timeout=60) as sock:
        sock.sendall(head + b"Expect: 100-continue\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        assert b"HTTP/1.1 200 OK" in read_all(sock)


def test_oversized_body_is_413_without_waiting_for_it(gunicorn: GunicornServer) -> None:
    head = (b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/sparql-query\r\nContent-Length: 5000000\r\n\r\n")
    reply = exchange(gunicorn.port, head)
    assert reply.status == 413
    assert reply.headers["content-type"].startswith("text/plain")


# -- slow clients -----------------------------------------------------------------------------


@dataclass
class Slow:
    """A client that sends part of a request, then a byte at a time, until answered."""

    kind: str
    sock: socket.socket
    trickle: bytes
    reply: bytes | None = None


def open_slow(port: int, kind: str) -> Slow:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    if kind == "head":
        sock.sendall(b"GET " + ASK.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        return Slow(kind, sock, b"a")
    if kind == "body":
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/sparql-query\r\nContent-Length: 1000\r\n\r\n")
        return Slow(kind, sock, b" ")
    if kind == "chunked":  # read in a thread, under the same deadline
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/sparql-query\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n1000\r\nASK")
        return Slow(kind, sock, b" ")
    if kind == "expect":  # read in a thread; what came is a valid query, but not all of it
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                     b"Content-Type: application/sparql-query\r\nContent-Length: 100\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"ASK { ?s ?p ?o }")
        return Slow(kind, sock, b"")
    return Slow(kind, sock, b"")  # idle: connects and sends nothing


def answered(slow: Slow) -> bool:
    readable, _, _ = select.select([slow.sock], [], [], 0)
    return bool(readable)


def trickle(clients: list[Slow], stop: threading.Event) -> None:
    """A byte every 0.25 s on every unanswered client, until each one is answered or cut."""
    while not stop.is_set() and any(c.reply is None for c in clients):
        for client in clients:
            if client.reply is not None:
                continue
            if answered(client):
                client.reply = read_all(client.sock)
                continue
            if client.trickle:
                try:
                    client.sock.sendall(client.trickle)
                except OSError:
                    client.reply = read_all(client.sock)
        stop.wait(0.25)


@pytest.mark.deadline
def test_slow_clients_neither_block_the_service_nor_stay(gunicorn: GunicornServer) -> None:
    kinds = ["head"] * 32 + ["body"] * 4 + ["idle"] * 8 + ["chunked", "expect"]
    clients = [open_slow(gunicorn.port, kind) for kind in kinds]
    stop = threading.Event()
    worker = threading.Thread(target=trickle, args=(clients, stop), daemon=True)
    try:
        worker.start()
        # 47 slow connections against 4 threads (2 of them held by the bodies read in
        # threads): a normal request is still answered...
        for _ in range(3):
            assert request(gunicorn.base + ASK, timeout=60).status == 200
        # ...while every slow client is still waiting (none was cut to make room).
        assert [c.kind for c in clients if c.reply is not None or answered(c)] == []
        # Then each one is cut at request_read_timeout: 408 if it had started a request.
        worker.join(timeout=READ_TIMEOUT * 10)
        assert not worker.is_alive()
    finally:
        stop.set()
        for client in clients:
            client.sock.close()
    for client in clients:
        assert client.reply is not None
        if client.kind == "idle":
            assert client.reply == b""
        elif client.kind in ("chunked", "expect"):  # read in a thread: 408, the query not run
            reply = parse(client.reply)
            assert reply.status == 408, client.reply[:300]
            assert reply.headers["content-type"].startswith("text/plain")
            assert b"request body did not arrive" in reply.body
        else:
            assert_plain(parse(client.reply), 408)
            assert b"request_read_timeout" not in client.reply  # says seconds, not a setting
            assert f"{READ_TIMEOUT:g} seconds".encode() in client.reply
    assert request(gunicorn.base + ASK, timeout=60).status == 200


# -- gunicorn settings ------------------------------------------------------------------------


def test_no_control_socket_and_nothing_written_to_home(gunicorn: GunicornServer,
                                                       unwritable_home: Path) -> None:
    assert request(gunicorn.base + ASK).status == 200
    log = gunicorn.log.read_text(encoding="utf-8")
    assert "Using worker: EdgeWorker" in log
    assert "Control" not in log and "control socket" not in log.lower()
    assert "Permission denied" not in log
    assert not unwritable_home.exists()


def test_gunicorn_conf_is_gunicorn_options(sources: ProjectPaths,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("KETAMINE_ED_KG_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KETAMINE_ED_KG_PORT", "5099")
    monkeypatch.setenv("KETAMINE_ED_KG_REQUEST_READ_TIMEOUT", "3.5")
    monkeypatch.setenv("KETAMINE_ED_KG_MAX_HEADER_BYTES", "9000")
    namespace = runpy.run_path(str(sources.root / "server" / "gunicorn.conf.py"))
    expected = gunicorn_options(load_config())
    cfg = Config()
    for key, value in expected.items():
        assert key in cfg.settings, key
        if key == "worker_class":
            assert issubclass(namespace[key], EdgeWorker)
            assert namespace[key].read_timeout == 3.5
        else:
            assert namespace[key] == value, key
        cfg.set(key, namespace[key])  # gunicorn's own validation accepts every value
    assert cfg.bind == ["127.0.0.1:5099"]
    assert cfg.limit_request_line == 8190
    assert cfg.limit_request_field_size == 9000
    assert cfg.limit_request_fields == 100
    assert cfg.control_socket_disable is True
    assert issubclass(cfg.worker_class, EdgeWorker)


# -- advertised URLs and the Host header -------------------------------------------------------


def test_base_url_rules() -> None:
    plain = load_config({"port": 5000}, environ={})
    assert base_url_for(plain, "evil.example", "http://evil.example/") == "http://127.0.0.1:5000"
    trusting = load_config({"trusted_hosts": ["kg.example.org"]}, environ={})
    assert base_url_for(trusting, "KG.example.org", "https://KG.example.org/") == (
        "https://KG.example.org")
    assert base_url_for(trusting, "kg.example.org:1", "http://kg.example.org:1/") == (
        "http://127.0.0.1:5000")
    public = load_config({"public_url": "https://w3id.org/ketamine-ed/sparql",
                          "trusted_hosts": ["kg.example.org"]}, environ={})
    assert base_url_for(public, "kg.example.org", "http://kg.example.org/") == (
        "https://w3id.org/ketamine-ed")
    ipv6 = load_config({"host": "::1", "port": 8080}, environ={})
    assert base_url_for(ipv6) == "http://[::1]:8080"


def _urls(text: str, fmt: str = "turtle") -> set[str]:
    return {str(t) for triple in Graph().parse(data=text, format=fmt) for t in triple
            if isinstance(t, URIRef)}


@pytest.mark.parametrize("path", ["/sparql", "/.well-known/void"])
def test_untrusted_host_is_never_reflected(gunicorn: GunicornServer, path: str) -> None:
    for host in ("evil.example", "127.0.0.1:1"):
        reply = request(gunicorn.base + path, headers={"Host": host, "Accept": "text/turtle"})
        assert reply.status == 200
        assert host.encode() not in reply.body
        assert f"{gunicorn.endpoint}" in _urls(reply.text)


def test_void_cache_is_not_keyed_by_host(waitress: LiveServer) -> None:
    state = waitress.app.extensions["ketamine_ed_kg"]
    for i in range(30):
        reply = request(waitress.base + "/.well-known/void",
                        headers={"Host": f"h{i}.example", "Accept": "text/turtle"})
        assert reply.status == 200
        graph = Graph().parse(data=reply.text, format="turtle")
        dataset = URIRef("https://w3id.org/ketamine-ed/dataset")
        assert graph.value(dataset, VOID.sparqlEndpoint) == URIRef(waitress.endpoint)
        assert all(str(d).startswith(waitress.base + "/download/")
                   for d in graph.objects(dataset, VOID.dataDump))
    assert not [key for key in state.cache if "example" in str(key)]
    assert len(state.cache) <= 3


@pytest.mark.slow
def test_trusted_host_and_public_url(dataset: Path) -> None:
    with waitress_server(dataset, trusted_hosts=("kg.example.org",)) as server:
        reply = request(server.endpoint, headers={"Host": "kg.example.org",
                                                  "Accept": "text/turtle"})
        graph = Graph().parse(data=reply.text, format="turtle")
        assert URIRef("http://kg.example.org/sparql") in set(graph.objects(None, SD.endpoint))
        other = request(server.endpoint, headers={"Host": "kg.example.org.evil",
                                                  "Accept": "text/turtle"})
        assert b"evil" not in other.body
    with waitress_server(dataset, public_url="https://w3id.org/ketamine-ed/sparql",
                         trusted_hosts=("kg.example.org",)) as server:
        reply = request(server.base + "/.well-known/void",
                        headers={"Host": "kg.example.org", "Accept": "text/turtle"})
        urls = _urls(reply.text)
        assert "https://w3id.org/ketamine-ed/sparql" in urls
        assert "https://w3id.org/ketamine-ed/download/ketamine-ed-kg.ttl" in urls
        assert not [u for u in urls if "kg.example.org" in u or "127.0.0.1" in u]


# -- nosniff and HEAD -------------------------------------------------------------------------


@pytest.mark.slow
def test_every_response_says_nosniff(dataset: Path) -> None:
    with waitress_server(dataset) as server:
        def boom() -> Response:
            raise RuntimeError("a bug, for the test")

        server.app.add_url_rule("/boom", view_func=boom)
        cases = [
            ("GET", ASK, {}, 200),
            ("GET", "/sparql?query=NOT+SPARQL", {}, 400),
            ("GET", "/no/such/page", {}, 404),
            ("DELETE", "/sparql", {}, 405),
            ("GET", ASK, {"Accept": "*/*;q=0"}, 406),
            ("GET", "/.well-known/void", {}, 200),
            ("OPTIONS", "/sparql", {"Origin": "http://a.example"}, 200),
            ("GET", "/boom", {}, 500),
        ]
        for method, path, headers, status in cases:
            reply = request(server.base + path, method=method, headers=headers)
            assert reply.status == status, (method, path, reply.text)
            assert reply.header("X-Content-Type-Options") == "nosniff", (method, path)
            if status >= 400:
                assert (reply.header("Content-Type") or "").startswith("text/plain")
        etag = request(server.base + ASK).header("ETag")
        cached = request(server.base + ASK, headers={"If-None-Match": etag or ""})
        assert cached.status == 304
        assert cached.header("X-Content-Type-Options") == "nosniff"


@pytest.mark.parametrize("gzip", [True, False])
@pytest.mark.parametrize("path", [ASK, "/.well-known/void", "/sparql",
                                  "/download/ketamine-ed-kg.nt"])
def test_head_has_the_headers_of_get_and_no_body(gunicorn: GunicornServer, path: str,
                                                 gzip: bool) -> None:
    headers = {"Accept-Encoding": "gzip" if gzip else "identity", "Connection": "close"}
    line = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    got = {}
    for method in ("GET", "HEAD"):
        payload = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{line}\r\n".encode()
        got[method] = exchange(gunicorn.port, payload)
    get, head = got["GET"], got["HEAD"]
    assert head.status == get.status == 200
    assert head.body == b""
    for name in ("content-type", "content-encoding", "etag", "vary",
                 "x-content-type-options"):
        assert head.headers.get(name) == get.headers.get(name), name
    assert head.headers.get("content-length") == get.headers.get("content-length")
    assert (get.headers.get("content-encoding") == "gzip") is gzip
