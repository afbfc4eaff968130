"""The forwarding processes' kept connection to the external store (store/connection.py).

Against a real HTTP/1.1 server on 127.0.0.1 (the standard library's, which can be told to
close a connection or answer a redirect; the Virtuoso tests in test_external_store.py run the
same code against the real store): one connection serves query after query; an answer not
read to its end, or a connection the server closed while idle, costs a new connection and never
a wrong or failed answer; a redirect is refused, never followed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ketamine_ed_kg.errors import ErrorKind, QueryError
from ketamine_ed_kg.store.connection import StoreConnection
from ketamine_ed_kg.store.jobs import Job, JobKind
from ketamine_ed_kg.store.remote import RemoteStore
from support.server import Listener

ANSWER = b'{"head": {"vars": ["x"]}, "results": {"bindings": [' + b", ".join(
    b'{"x": {"type": "literal", "value": "%d"}}' % n for n in range(2000)) + b"]}}"


@dataclass
class Behaviour:
    """What the server does: close after each answer, or redirect; what it saw."""

    close_after: bool = False
    drop_reuse: bool = False
    """Close a connection, unanswered, when a second request comes on it (a store that timed
    it out just as the request was sent)."""
    redirect_to: str = ""
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise
    behaviour: Behaviour

    def setup(self) -> None:
        super().setup()
        self.behaviour.connections += 1
        self.served = 0

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.behaviour.requests.append(body)
        self.served += 1
        if self.behaviour.drop_reuse and self.served > 1:
            self.close_connection = True
            return
        if self.behaviour.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.behaviour.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)
        # Closing without "Connection: close" is what a store's idle time-out looks like.
        self.close_connection = self.behaviour.close_after

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture()
def store_server() -> Iterator[tuple[str, Behaviour]]:
    behaviour = Behaviour()
    handler = type("BoundHandler", (Handler,), {"behaviour": behaviour})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sparql", behaviour
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def post(connection: StoreConnection, text: str, read: int | None = None) -> bytes:
    response = connection.post(text.encode(), {"Content-Type": "text/plain"}, timeout=10)
    if read is None:
        data = b"".join(iter(lambda: response.read1(4096), b""))
    else:
        data = response.read1(read)
    connection.release(response)
    return data


def test_one_connection_serves_query_after_query(store_server: tuple[str, Behaviour]) -> None:
    url, behaviour = store_server
    connection = StoreConnection(url)
    try:
        assert [post(connection, f"q{n}") for n in range(5)] == [ANSWER] * 5
        assert behaviour.connections == 1 and connection.opened == 1
        assert behaviour.requests == [f"q{n}".encode() for n in range(5)]
    finally:
        connection.close()


def test_an_answer_left_unread_is_never_read_as_the_next(
        store_server: tuple[str, Behaviour]) -> None:
    url, behaviour = store_server
    connection = StoreConnection(url)
    try:
        assert len(post(connection, "first", read=100)) == 100
        assert post(connection, "second") == ANSWER
        assert behaviour.connections == 2
    finally:
        connection.close()


def test_a_request_sent_while_an_answer_is_read_leaves_that_answer_whole(
        store_server: tuple[str, Behaviour]) -> None:
    """The row cap's probe is sent in the middle of the answer it probes: it goes on a
    connection of its own, and the answer being read is neither cut nor mixed with the
    probe's; the kept connection serves the next query."""
    url, behaviour = store_server
    connection = StoreConnection(url)
    try:
        first = connection.post(b"query", {"Content-Type": "text/plain"}, timeout=10)
        head = first.read1(100)
        assert post(connection, "probe") == ANSWER
        failed = connection.post(b"failing probe", {"Content-Type": "text/plain"}, timeout=10)
        connection.discard(failed)
        rest = b"".join(iter(lambda: first.read1(4096), b""))
        assert head + rest == ANSWER
        connection.release(first)
        assert post(connection, "next") == ANSWER
        assert behaviour.connections == 3, "the kept one, and one per request sent meanwhile"
    finally:
        connection.close()


def test_a_connection_the_store_closed_is_opened_again(
        store_server: tuple[str, Behaviour]) -> None:
    url, behaviour = store_server
    behaviour.close_after = True
    connection = StoreConnection(url)
    try:
        for n in range(3):
            assert post(connection, f"q{n}") == ANSWER
            time.sleep(0.05)  # the server's close reaches this end
        assert behaviour.connections == 3
        assert behaviour.requests == [b"q0", b"q1", b"q2"]  # each sent once
    finally:
        connection.close()


def test_a_connection_closed_as_the_query_is_sent_is_retried_once(
        store_server: tuple[str, Behaviour]) -> None:
    url, behaviour = store_server
    behaviour.drop_reuse = True
    connection = StoreConnection(url)
    try:
        assert post(connection, "q0") == ANSWER
        assert post(connection, "q1") == ANSWER  # dropped on the kept connection, sent again
        assert behaviour.requests == [b"q0", b"q1", b"q1"]
        assert behaviour.connections == 2
    finally:
        connection.close()


def test_a_redirect_is_refused_not_followed(store_server: tuple[str, Behaviour],
                                           listener: Listener) -> None:
    url, behaviour = store_server
    behaviour.redirect_to = f"http://127.0.0.1:{listener.port}/elsewhere"
    store = RemoteStore(url, ["urn:g"])
    try:
        with pytest.raises(QueryError) as caught:
            store.send(Job(JobKind.QUERY, form="SELECT"), "SELECT * {}", time.monotonic() + 10)
        assert caught.value.kind is ErrorKind.STORE_DOWN
        assert "answered 302" in caught.value.message
    finally:
        store.close()
    assert listener.accepted == 0


def test_a_store_that_is_not_there_is_store_down(listener: Listener) -> None:
    port = listener.port
    listener.close()
    store = RemoteStore(f"http://127.0.0.1:{port}/sparql", ["urn:g"])
    with pytest.raises(QueryError) as caught:
        store.send(Job(JobKind.QUERY, form="SELECT"), "SELECT * {}", time.monotonic() + 10)
    assert caught.value.kind is ErrorKind.STORE_DOWN
    assert "cannot be reached" in caught.value.message
