"""Length-prefixed frames over a stream socket, shared by the server, zygote and workers.

A frame is one type byte, a 4-byte big-endian length and the payload. Frame types:
``J`` job (pickled :class:`~ketamine_ed_kg.store.Job`), ``H`` header (JSON metadata), ``D``
data, ``E`` end, ``F`` failure before any data, ``X`` failure after data was sent, ``S``
spawn request, ``R`` ready, ``C`` config.
"""

from __future__ import annotations

import socket
import struct

_HEAD = struct.Struct(">cI")


class PeerGone(Exception):
    """The other end closed the socket."""


def send_frame(sock: socket.socket, kind: bytes, payload: bytes = b"") -> None:
    """Send one frame (blocking)."""
    sock.sendall(_HEAD.pack(kind, len(payload)) + payload)


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


def recv_frame(sock: socket.socket) -> tuple[bytes, bytes]:
    """Receive one frame; honours the socket's timeout (raises ``TimeoutError``)."""
    kind, size = _HEAD.unpack(_recv_exact(sock, _HEAD.size))
    return kind, _recv_exact(sock, size) if size else b""
