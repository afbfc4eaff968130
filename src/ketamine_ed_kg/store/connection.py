"""One persistent HTTP/1.1 connection from a forwarding process to the external store.

Why: a forwarding process sends one query after another to the same URL, and opening a
connection for each (a TCP handshake, urllib's opener and handlers built again, a
``Connection: close`` answer read to the end of the stream) was a fixed cost on every query,
large next to the store's own time on the short queries a web page sends. Virtuoso 7.2 keeps
an idle connection open for a while and then closes it (measured: it keeps about ten), so a
connection found closed before any byte of an answer arrived is opened again once; a query is
read-only, so sending it again is harmless.

What it keeps from urllib's behaviour in :class:`~.remote.Endpoint`: it connects to the
configured host and port only (``http.client`` reads no proxy from the environment) and never
follows a redirect (``http.client`` does not: a 3xx is a status like any other, which the
caller refuses). A store that asks for credentials (401) is asked through urllib from then on
(:class:`~.remote.RemoteStore`): Digest needs its handshake.
"""

from __future__ import annotations

import http.client
import select
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

STALE = (http.client.RemoteDisconnected, http.client.BadStatusLine, BrokenPipeError,
         ConnectionResetError, ConnectionAbortedError)
"""What sending on (or reading the status from) a connection the store has closed raises."""


QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
"""Linux's option to acknowledge received segments at once (absent elsewhere)."""


class StoreConnection:
    """A keep-alive connection to one URL, reused while every answer is read to its end."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.conn: http.client.HTTPConnection | None = None
        self.opened = 0
        """Connections opened so far (for tests and the benchmark)."""
        self.active: http.client.HTTPResponse | None = None
        """The answer on the kept connection not yet given back (:meth:`release`)."""
        self.one_offs: dict[http.client.HTTPResponse, http.client.HTTPConnection] = {}
        """Answers on connections of their own (:meth:`_one_off`), with those connections."""

    def post(self, body: bytes, headers: Mapping[str, str],
             timeout: float) -> http.client.HTTPResponse:
        """POST ``body`` to the URL; the response, whatever its status.

        Raises ``OSError`` (``TimeoutError`` among them) or ``http.client.HTTPException``.

        While an earlier answer on the kept connection is still being read (the row cap's
        probe is sent in the middle of the answer it probes), this request goes on a
        connection of its own, closed after its answer: writing on the kept one would find
        it readable and close it under the answer being read.
        """
        if self.active is not None:
            return self._one_off(body, headers, timeout)
        for attempt in (0, 1):
            reused = self._usable()
            conn = self._open(timeout)
            try:
                conn.request("POST", self.path, body=body, headers=dict(headers))
                self.active = conn.getresponse()
                self.ack_quickly(self.active)
                return self.active
            except STALE:
                self.close()
                if not reused or attempt:
                    raise
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def release(self, response: http.client.HTTPResponse) -> None:
        """Done with ``response``: keep the connection only if the answer was read to its end
        and the store did not ask to close; otherwise unread bytes would begin the next
        answer. (The end: ``http.client`` closes a chunked response at its last chunk, but
        ``read1`` leaves one with a ``Content-Length`` open at length 0.)"""
        if response is not self.active:
            self._close_one_off(response)
            return
        self.active = None
        if not (response.isclosed() or response.length == 0) or response.will_close:
            self.close()
        response.close()

    def ack_quickly(self, response: http.client.HTTPResponse) -> None:
        """Acknowledge the store's next segments of ``response`` at once (Linux
        ``TCP_QUICKACK``; call it before each read, the kernel leaves the mode by itself).

        Why: on a kept connection nothing closes the answer, so the store's last small
        segment waits for the acknowledgement of the one before (Nagle's algorithm, on the
        store's side) while this side delays that acknowledgement (up to 40 ms): measured on
        Virtuoso 7.2, a 100-row answer took 52 ms through the service against 7 ms
        directly, and 8.6 ms with this."""
        conn = self.conn if response is self.active else self.one_offs.get(response)
        sock = conn.sock if conn is not None else None
        if sock is not None and QUICKACK is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
            except OSError:
                pass

    def discard(self, response: http.client.HTTPResponse) -> None:
        """Done with a ``response`` that is not read to its end (a failure status): its
        connection is not kept. Only its own: a one-off request's failure leaves the kept
        connection, and the answer being read on it, alone."""
        if response is not self.active:
            self._close_one_off(response)
            return
        self.close()
        response.close()

    def _close_one_off(self, response: http.client.HTTPResponse) -> None:
        response.close()
        conn = self.one_offs.pop(response, None)
        if conn is not None:
            conn.close()

    def _one_off(self, body: bytes, headers: Mapping[str, str],
                 timeout: float) -> http.client.HTTPResponse:
        """POST on a new connection, closed when its answer is given back (it asks the store
        to close it too: ``Connection: close``)."""
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = kind(self.host, self.port, timeout=timeout)
        try:
            conn.request("POST", self.path, body=body,
                         headers={**headers, "Connection": "close"})
            response = conn.getresponse()
        except BaseException:
            conn.close()
            raise
        self.opened += 1
        self.one_offs[response] = conn
        self.ack_quickly(response)
        return response

    def close(self) -> None:
        self.active = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _usable(self) -> bool:
        """True when an open connection is kept; one the store closed while idle (readable:
        its end of stream, or stray bytes) is dropped here rather than written to."""
        conn = self.conn
        if conn is None or conn.sock is None:
            self.conn = None
            return False
        if select.select([conn.sock], [], [], 0)[0]:
            self.close()
            return False
        return True

    def _open(self, timeout: float) -> http.client.HTTPConnection:
        if self.conn is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self.conn = kind(self.host, self.port, timeout=timeout)
            self.conn.connect()  # (http.client sets TCP_NODELAY on it)
            self.opened += 1
        else:
            self.conn.timeout = timeout
            if self.conn.sock is not None:
                self.conn.sock.settimeout(timeout)
        return self.conn


__all__ = ["StoreConnection"]
