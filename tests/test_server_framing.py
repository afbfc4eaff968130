"""How a body travels from a query process to the client: frames sent without a copy (and
whole past a socket buffer's size), a body produced whole sent with its length, and the HTTP
answer with ``Content-Length`` for such a body and chunks for a streamed one."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox

from ketamine_ed_kg.namespaces import GRAPH_ASSERTED
from ketamine_ed_kg.server.framing import Frame, recv_frame, send_frames
from ketamine_ed_kg.server.zygote import CHUNK, HEADER_AFTER, FrameWriter
from ketamine_ed_kg.store import ResultMeta
from ketamine_ed_kg.store.jobs import ResultForm
from ketamine_ed_kg.store.rowcap import CapCheck
from support.server import request, waitress_server, write_dataset

EX = "http://example.org/"


def _frames_of(send: object) -> list[tuple[Frame, bytes]]:
    """The frames ``send(sock)`` writes, read on the other end while it writes (so a body
    larger than the socket's buffer makes ``sendmsg`` send part of it at a time)."""
    ours, theirs = socket.socketpair()
    received: list[tuple[Frame, bytes]] = []

    def read() -> None:
        while True:
            kind, payload = recv_frame(theirs)
            received.append((kind, payload))
            if kind is Frame.END:
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert callable(send)
        send(ours)
    finally:
        reader.join(timeout=60)
        ours.close()
        theirs.close()
    return received


def test_send_frames_sends_every_byte_in_order() -> None:
    big = bytes(range(256)) * (3 * 4096 + 7)  # about 3 MiB: many partial sends
    frames = [(Frame.HEADER, b"{}"), (Frame.DATA, big), (Frame.DATA, b"x"),
              (Frame.DATA, memoryview(big)[5:1000].tobytes()), (Frame.END, b"")]
    assert _frames_of(lambda sock: send_frames(sock, frames)) == frames


def _header(frames: list[tuple[Frame, bytes]]) -> ResultMeta:
    kind, payload = frames[0]
    assert kind is Frame.HEADER
    return ResultMeta.from_json(payload)


def _body(frames: list[tuple[Frame, bytes]]) -> bytes:
    assert frames[-1] == (Frame.END, b"")
    assert all(kind is Frame.DATA for kind, _ in frames[1:-1])
    return b"".join(payload for _, payload in frames[1:-1])


def test_a_body_produced_whole_goes_out_with_its_length() -> None:
    """What a capped SELECT writes (one body, its length known): one header saying the
    body is complete and how long, then the body as it is."""
    body = b"r" * (3 * HEADER_AFTER + 11)

    def send(sock: socket.socket) -> None:
        writer = FrameWriter(sock)
        writer.start(ResultMeta(form=ResultForm.SOLUTIONS, length=len(body)),
                     CapCheck.decided(10, True))
        writer.write(body)
        writer.finish()

    frames = _frames_of(send)
    meta = _header(frames)
    assert meta.complete and meta.length == len(body) and meta.truncated
    assert _body(frames) == body


def test_a_streamed_body_has_no_length_until_complete() -> None:
    """A serialiser's small writes past 1 MiB: the header goes out before the end, so it
    cannot know the length; a small one is complete before its header, so it does."""
    parts = [bytes([65 + i % 26]) * (CHUNK // 3 + i) for i in range(80)]
    big = b"".join(parts)
    assert len(big) > HEADER_AFTER

    def streamed(pieces: list[bytes]) -> list[tuple[Frame, bytes]]:
        def send(sock: socket.socket) -> None:
            writer = FrameWriter(sock)
            writer.start(ResultMeta(form=ResultForm.GRAPH), None)
            for piece in pieces:
                writer.write(piece)
            writer.finish()
        return _frames_of(send)

    frames = streamed(parts)
    meta = _header(frames)
    assert not meta.complete and meta.length is None
    assert _body(frames) == big
    small = streamed(parts[:3] + [b"x" * (2 * CHUNK)] + parts[3:5])  # a large write between
    meta = _header(small)
    assert meta.complete and meta.length == len(b"".join(parts[:3])) + 2 * CHUNK + len(
        b"".join(parts[3:5]))
    assert _body(small) == b"".join(parts[:3]) + b"x" * (2 * CHUNK) + b"".join(parts[3:5])


def test_http_answer_is_sent_with_content_length_or_in_chunks(tmp_path: Path) -> None:
    """A capped SELECT (its body produced whole, here over 1 MiB) is answered with
    ``Content-Length``; the same query with the cap off streams, in chunks."""
    long = "y" * 400
    triples = "".join(f'<{EX}s{i}> <{EX}p> "{long}{i}" .\n' for i in range(4000))
    dataset = write_dataset(tmp_path / "d.nq", {GRAPH_ASSERTED: (triples, ox.RdfFormat.TURTLE)})
    query = urlencode({"query": f"SELECT ?s ?o WHERE {{ ?s <{EX}p> ?o }}"})
    with waitress_server(dataset, row_cap=3000) as srv:
        reply = request(f"{srv.endpoint}?{query}")
        assert reply.status == 200 and reply.header("x-sparql-truncated") == "true"
        assert len(reply.body) > HEADER_AFTER
        assert reply.header("content-length") == str(len(reply.body))
        assert reply.header("transfer-encoding") is None
        assert len(json.loads(reply.body)["results"]["bindings"]) == 3000
        head = request(f"{srv.endpoint}?{query}", method="HEAD")
        assert head.body == b"" and head.header("content-length") == str(len(reply.body))
    with waitress_server(dataset, row_cap=0) as srv:
        reply = request(f"{srv.endpoint}?{query}", headers={"Accept": "text/tab-separated-values"})
        assert reply.status == 200 and reply.body.count(b"\n") == 4001
        assert reply.header("transfer-encoding") == "chunked"
        assert reply.header("content-length") is None
