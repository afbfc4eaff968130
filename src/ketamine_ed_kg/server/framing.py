"""Length-prefixed frames over a stream socket, shared by the server, zygote and workers.

A frame is one type byte (:class:`Frame`), a 4-byte big-endian length and the payload. The
payloads are the typed contract of :mod:`ketamine_ed_kg.store.jobs`: a
:class:`~ketamine_ed_kg.store.jobs.Job` (a client's in the compact form of
``encode_client_job``, any other pickled), a :class:`~ketamine_ed_kg.store.jobs.ResultMeta` or a
:class:`~ketamine_ed_kg.store.jobs.Failure` as JSON, or raw body bytes.
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import Enum

_HEAD = struct.Struct(">cI")


class Frame(Enum):
    """Frame types. Server → worker: JOB (pickled) or REQUEST. Worker → server: HEADER,
    DATA..., END;
    or FAIL (before any data), FAIL_LATE (after data went out), PLANNED (a check job's plan).
    Server → zygote: CONFIG, SPAWN; zygote → server: READY, or FAIL at start-up."""

    JOB = b"J"
    REQUEST = b"Q"
    """A client's request job in the compact form of ``store.jobs.encode_client_job``."""
    HEADER = b"H"
    DATA = b"D"
    END = b"E"
    FAIL = b"F"
    FAIL_LATE = b"X"
    PLANNED = b"P"
    CONFIG = b"C"
    SPAWN = b"S"
    READY = b"R"


class PeerGone(Exception):
    """The other end closed the socket."""


class BadFrame(Exception):
    """A frame type this side does not know: the peer is not speaking the protocol."""


def encode_frame(kind: Frame, payload: bytes = b"") -> bytes:
    """One frame as bytes on the wire."""
    return _HEAD.pack(kind.value, len(payload)) + payload


def send_frame(sock: socket.socket, kind: Frame, payload: bytes = b"") -> None:
    """Send one frame (blocking)."""
    sock.sendall(encode_frame(kind, payload))


def send_frames(sock: socket.socket, frames: Iterable[tuple[Frame, bytes]]) -> None:
    """Send several frames with one write: the end of a small answer (its header, body and
    end) is then one system call on each side of the socket instead of three.

    The payloads go out as they are (``sendmsg`` gathers them), never joined into a copy: a
    body of megabytes is one frame, and each copy of it cost milliseconds on a busy machine.
    """
    buffers: list[bytes | memoryview] = []
    for kind, payload in frames:
        buffers.append(_HEAD.pack(kind.value, len(payload)))
        if payload:
            buffers.append(payload)
    _send_gathered(sock, buffers)


IOV_MAX = 1024
"""Buffers one ``sendmsg`` takes at most (Linux's ``UIO_MAXIOV``)."""


def _send_gathered(sock: socket.socket, buffers: list[bytes | memoryview]) -> None:
    """``sendall`` of the concatenation of ``buffers``, without making it: ``sendmsg`` may
    send part of them, so the rest is sent from where it stopped."""
    views = [memoryview(b) for b in buffers]
    first = 0
    while first < len(views):
        sent = sock.sendmsg(views[first:first + IOV_MAX])
        while first < len(views) and sent >= len(views[first]):
            sent -= len(views[first])
            first += 1
        if sent:
            views[first] = views[first][sent:]


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise PeerGone("peer closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


_FRAMES = {frame.value: frame for frame in Frame}
"""Frame types by their byte (a dict look-up: ``Frame(kind)`` costs several times as much)."""


def _frame(kind: bytes) -> Frame:
    frame = _FRAMES.get(kind)
    if frame is None:
        raise BadFrame(f"unknown frame type {kind!r}")
    return frame


def recv_frame(sock: socket.socket) -> tuple[Frame, bytes]:
    """Receive one frame; honours the socket's timeout (raises ``TimeoutError``)."""
    kind, size = _HEAD.unpack(_recv_exact(sock, _HEAD.size))
    return _frame(kind), _recv_exact(sock, size) if size else b""


READ_AHEAD = 256 * 1024
"""Bytes a :class:`FrameReader` asks for at once, beyond what the frame at hand still needs."""


class FrameReader:
    """The frames of one socket, read with as few system calls as the peer's writes allow.

    :func:`recv_frame` costs two ``recv`` calls per frame (its head, then its payload), and
    with a timeout each is a ``poll`` and a ``recv``. A peer that writes several frames at
    once (a query process sends the header, body and end of a small answer in one write) is
    read here with one ``recv``: the bytes past the frame at hand stay in :attr:`buffer` for
    the next call. Not thread-safe: one reader per socket, used by one thread at a time.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def ready(self) -> bool:
        """True when a whole frame is already buffered (no system call needed for it)."""
        buffer = self.buffer
        if len(buffer) < _HEAD.size:
            return False
        size: int = _HEAD.unpack_from(buffer)[1]
        return len(buffer) >= _HEAD.size + size

    def recv_frame(self) -> tuple[Frame, bytes]:
        """The next frame; honours the socket's timeout (raises ``TimeoutError``)."""
        buffer = self.buffer
        while True:
            have = len(buffer)
            if have >= _HEAD.size:
                kind, size = _HEAD.unpack_from(buffer)
                end = _HEAD.size + size
                if have >= end:
                    payload = bytes(memoryview(buffer)[_HEAD.size:end]) if size else b""
                    del buffer[:end]  # (O(1) at the front of a bytearray)
                    return _frame(kind), payload
                missing = end - have
                if size > READ_AHEAD:  # a large frame: the rest of it without the buffer
                    start = bytes(memoryview(buffer)[_HEAD.size:])
                    buffer.clear()
                    return _frame(kind), start + _recv_exact(self.sock, missing)
            else:
                missing = _HEAD.size - have
            chunk = self.sock.recv(max(missing, READ_AHEAD))
            if not chunk:
                raise PeerGone("peer closed the connection")
            buffer += chunk


@dataclass(frozen=True)
class ZygoteSettings:
    """What the pool tells a new zygote (CONFIG frame): how to load the store and run jobs."""

    dataset: str
    store: str
    """``memory`` or ``disk`` (config.store)."""
    store_path: str | None
    seal: bool
    """Seal the query processes off the network (False only for the federation pool)."""
    allow_unsandboxed: bool
    memory: int
    """Address-space cap of each query process in bytes (0: none)."""
    log_dir: str
    """Where each query process writes its standard error (read if it dies)."""
    graphs: list[str] | None = None
    """``store = "sparql"``: the graphs the external store serves (from its load record);
    the zygote then loads no store."""
    sparql_query_url: str = ""
    """``store = "sparql"``: where the forwarding (unsealed) processes send planned queries."""

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, payload: bytes) -> ZygoteSettings:
        return cls(**json.loads(payload))


@dataclass(frozen=True)
class Ready:
    """The zygote's answer once it holds the store (READY frame)."""

    graphs: list[str]
    sealed: bool

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, payload: bytes) -> Ready:
        return cls(**json.loads(payload))
