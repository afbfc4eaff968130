"""The gunicorn worker of the service: gthread, with the HTTP edge hardened.

gunicorn's own ``gthread`` worker hands a connection to a thread as soon as it is accepted,
and the thread then reads the request with blocking ``recv`` calls. A client that sends one
byte a second therefore holds a thread for as long as it likes, and 32 such clients (the
default number of threads) make the service unavailable (slowloris). Its errors for
malformed requests are HTML pages, and a request line over the limit gets ``400``.

:class:`EdgeWorker` changes three things, and saves some work per request:

* **Request heads are read in the event loop.** A connection goes to a thread only once its
  request line and headers have arrived in full (and, for a body with a ``Content-Length``
  within ``max_request_bytes`` and no ``Expect``, the body too), so slow clients cost a
  socket and a buffer, never a thread. The whole head must arrive within
  ``request_read_timeout`` seconds (not per ``recv``: a byte a second would reset that);
  past it the client gets ``408`` and the connection is closed. A kept-alive connection may
  stay idle for gunicorn's ``keepalive`` seconds before its next request starts. The event
  loop holds at most :data:`BUFFER_BUDGET` bytes of unfinished requests; beyond that, a
  request still arriving goes to a thread, under the deadline below.
* **Reads in a thread have a deadline too.** What a thread still reads (a chunked body, a
  body announced with ``Expect: 100-continue``, what the application leaves unread) must
  arrive within ``request_read_timeout`` of the request reaching the thread; past it the
  read ends as if the client had gone, and the connection is closed after the response.
* **Every error is plain text saying what to change**: ``414`` for a long request line
  (use POST), ``431`` for too many or too large header fields, ``408`` for a slow client,
  ``400`` (or gunicorn's ``417`` / ``501``) for anything else malformed, each with
  ``Content-Type: text/plain``, ``X-Content-Type-Options: nosniff`` and ``Connection:
  close``. After an error the connection is drained for a moment before it is closed
  ("lingering close"), so a client still sending its over-long request reads the answer
  instead of a connection reset.

A thread that has answered a kept-alive connection waits up to :data:`NEXT_REQUEST_WAIT` for
its next request and handles it itself when it arrives whole in that time (a client sending
its requests one after another then costs no hand-over to the event loop and back); anything
less goes back to the event loop, so the first point holds. The heartbeat to the arbiter and
the scan for expired connections run at most every :data:`HOUSEKEEPING_SECONDS` rather than on
every turn of the loop.

TLS, the uWSGI protocol and the PROXY protocol (none of which the service configures) are
left to gunicorn's own code paths. :func:`edge_worker_class` makes the class for one
service configuration; ``ketamine_ed_kg.server.run.gunicorn_options`` names it.
"""

from __future__ import annotations

import io
import re
import select
import selectors
import socket
import threading
import time
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.http.errors import (
    ExpectationFailed,
    ForbiddenProxyRequest,
    LimitRequestHeaders,
    LimitRequestLine,
    ParseException,
    UnsupportedTransferCoding,
)
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.exceptions import RequestTimeout

from ..config import ServiceConfig

LINGER_SECONDS = 2.0
"""How long a connection is drained after an error response before it is closed."""
RECV_BYTES = 65536
BUFFER_BUDGET = 64 << 20
"""Bytes of unfinished requests the event loop holds in all; past it, a request that is
still arriving goes to a thread (which reads the rest under its deadline), so many large,
slow requests cannot exhaust memory."""
NEXT_REQUEST_WAIT = 0.002
"""Seconds a thread waits for the next request of a kept-alive connection before handing it
back to the event loop (:meth:`EdgeWorker._next_here`)."""
HOUSEKEEPING_SECONDS = 0.1
"""At most how often the event loop tells the arbiter it is alive and looks for expired
connections: gunicorn does both on every turn of the loop (a system call and a scan of the
waiting connections per event), and every deadline involved is seconds long."""
REASONS = {400: "Bad Request", 403: "Forbidden", 408: "Request Timeout", 414: "URI Too Long",
           417: "Expectation Failed", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 501: "Not Implemented"}
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*\Z", re.DOTALL)


def plain_error(status: int, message: str, cors_origin: str = "") -> bytes:
    """A complete ``HTTP/1.1`` error response with a plain-text body; the connection closes."""
    body = (message.rstrip() + "\n").encode("utf-8")
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}",
             "Connection: close",
             "Content-Type: text/plain; charset=utf-8",
             f"Content-Length: {len(body)}",
             "Cache-Control: no-store",
             "X-Content-Type-Options: nosniff"]
    if cors_origin:
        lines.append(f"Access-Control-Allow-Origin: {cors_origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class HeadBuffer:
    """The bytes of one request as they arrive, until its head is complete or over a limit.

    The limits are gunicorn's, checked the way its parser checks them, so that a request
    the parser would refuse for size is refused here without buffering more of it:
    ``line_limit`` bytes of request line (``414``), ``field_limit`` bytes per header field
    including its CRLF, at most ``max_fields`` fields (``431``). Only sizes and line ends
    are looked at; the parser still parses the request. A body announced by exactly one
    ``Content-Length`` of at most ``max_body`` bytes, without ``Transfer-Encoding`` or
    ``Expect``, is awaited as well (:attr:`wanted`).
    """

    def __init__(self, line_limit: int, field_limit: int, max_fields: int,
                 max_body: int) -> None:
        self.line_limit = line_limit
        self.field_limit = field_limit
        self.max_fields = max_fields
        self.max_body = max_body
        self.data = bytearray()
        self.error: ParseException | None = None
        self.head_end = -1
        """Offset just past the blank line that ends the head, once it has arrived."""
        self.wanted = 0
        """Body bytes to await after the head."""
        self._line_start = 0
        self._searched = 0
        self._lines = 0

    @property
    def ready(self) -> bool:
        """True once the request can go to a thread (or must be refused)."""
        if self.error is not None:
            return True
        return self.head_end >= 0 and len(self.data) - self.head_end >= self.wanted

    @property
    def head_complete(self) -> bool:
        return self.head_end >= 0

    def feed(self, chunk: bytes) -> bool:
        """Add bytes; returns :attr:`ready`."""
        self.data += chunk
        if self.head_end < 0 and self.error is None:
            self._scan()
        return self.ready

    def take(self) -> bytes:
        """Everything buffered, which is then forgotten."""
        data = bytes(self.data)
        self.data = bytearray()
        return data

    def _scan(self) -> None:
        data = self.data
        while True:
            end = data.find(b"\r\n", max(self._line_start, self._searched - 1))
            if end < 0:
                self._searched = len(data)
                pending = len(data) - self._line_start
                if self._lines == 0 and pending - 2 > self.line_limit:
                    self.error = LimitRequestLine(pending, self.line_limit)
                elif self._lines > 0 and pending > self.field_limit:
                    self.error = LimitRequestHeaders("limit request headers fields size")
                return
            length = end - self._line_start
            if self._lines == 0:
                if length > self.line_limit:
                    self.error = LimitRequestLine(length, self.line_limit)
                    return
                if length == 0:  # no request line: the parser refuses it (400)
                    self.head_end = end + 2
                    return
            elif length == 0:
                self.head_end = end + 2
                self.wanted = self._body_length()
                return
            elif length + 2 > self.field_limit:
                self.error = LimitRequestHeaders("limit request headers fields size")
                return
            elif self._lines > self.max_fields:
                self.error = LimitRequestHeaders("limit request headers fields")
                return
            self._lines += 1
            self._line_start = self._searched = end + 2

    def _body_length(self) -> int:
        lengths: list[bytes] = []
        for line in bytes(self.data[:self.head_end]).split(b"\r\n")[1:]:
            match = _HEADER.match(line)
            if match is None:
                continue
            name = match.group(1).lower()
            if name in (b"transfer-encoding", b"expect"):
                return 0
            if name == b"content-length":
                lengths.append(match.group(2))
        if len(lengths) != 1 or not lengths[0].isdigit():
            return 0
        length = int(lengths[0])
        return length if length <= self.max_body else 0


class BodyTimeout(RequestTimeout):
    """The request body did not arrive in time: the app answers ``408`` (plain text)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the request body did not arrive within {seconds:g} seconds of its "
                         "headers; send the whole request without pauses")


class _DeadlineUnreader(SocketUnreader):  # type: ignore[misc]
    """gunicorn's socket reader, with one deadline for everything a thread reads.

    Past the deadline, a read by the application (the request body) raises
    :class:`BodyTimeout`, so the app answers ``408`` rather than acting on a truncated body
    (gunicorn sets ``wsgi.input_terminated``: a short body would look complete). Any other
    read (what gunicorn discards after the response) just ends, and the connection closes.
    """

    buf: io.BytesIO
    sock: socket.socket
    mxchunk: int

    def __init__(self, sock: socket.socket, conn: EdgeConn) -> None:
        super().__init__(sock)
        self.conn = conn

    def chunk(self) -> bytes:
        remaining = self.conn.read_deadline - time.monotonic()
        if remaining > 0:
            self.sock.settimeout(remaining)
            try:
                data: bytes = self.sock.recv(self.mxchunk)
                return data
            except TimeoutError:
                pass
            finally:
                self.sock.settimeout(None)  # writes block as in gunicorn
        self.conn.timed_out = True
        if self.conn.in_app:
            raise BodyTimeout(self.conn.read_timeout)
        return b""

    def take_buffered(self) -> bytes:
        """Bytes read ahead (a pipelined next request), which are then forgotten."""
        data = self.buf.getvalue()
        self.buf = io.BytesIO()
        return data


class EdgeConn(TConn):  # type: ignore[misc]
    """A client connection with its head buffer and deadlines."""

    def __init__(self, cfg: Any, sock: socket.socket, client: Any, server: Any,
                 head: HeadBuffer) -> None:
        super().__init__(cfg, sock, client, server)
        self.head = head
        self.deadline = 0.0
        """When the event loop gives up on this connection (408, or a silent close)."""
        self.read_deadline = 0.0
        """When reads in a thread give up."""
        self.read_timeout = 0.0
        self.started = False
        """Whether a byte of the current request has arrived."""
        self.timed_out = False
        self.in_app = False
        """Whether the application is running (so a read is of the request body)."""
        self.pending = b""

    def init(self) -> None:
        fresh = not self.initialized
        super().init()
        if fresh:
            self.parser.unreader = _DeadlineUnreader(self.sock, self)
        if self.pending:
            self.parser.unreader.unread(self.pending)
            self.pending = b""


class EdgeWorker(ThreadWorker):  # type: ignore[misc]
    """gthread with request heads read in the event loop, deadlines and plain-text errors."""

    read_timeout: float = 10.0
    """Seconds for a request line and headers (and separately for the body)."""
    max_body: int = 1_000_000
    """Largest body awaited in the event loop (larger ones are refused by the app: 413)."""
    cors_origin: str = "*"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = self.cfg
        self.edge = (not cfg.is_ssl and getattr(cfg, "protocol", "http") == "http"
                     and getattr(cfg, "proxy_protocol", "off") == "off")
        self.waiting: set[EdgeConn] = set()
        self.buffered = 0
        """Bytes held by the connections in :attr:`waiting`."""
        self.lingering: dict[socket.socket, float] = {}
        self.local = threading.local()
        self._notified = 0.0
        self._swept = 0.0

    def notify(self) -> None:
        """gunicorn's heartbeat (the arbiter kills a worker silent for ``timeout`` seconds,
        minutes here), sent at most every :data:`HOUSEKEEPING_SECONDS`."""
        now = time.monotonic()
        if now - self._notified >= HOUSEKEEPING_SECONDS or not self.alive:
            self._notified = now
            super().notify()

    # -- the event loop (main thread) ------------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        if not self.edge:
            super().accept(listener)
            return
        try:
            sock, addr = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        self.nr_conns += 1
        conn = EdgeConn(self.cfg, sock, addr, listener.getsockname(), self._new_head())
        conn.read_timeout = self.read_timeout
        conn.started = True  # a new connection has read_timeout for its whole head
        self._await(conn, time.monotonic() + self.read_timeout)

    def _new_head(self) -> HeadBuffer:
        return HeadBuffer(self._line_limit(), self._field_limit(), self._max_fields(),
                          self.max_body)

    def _line_limit(self) -> int:
        limit = int(self.cfg.limit_request_line)
        return limit if 0 < limit <= 8190 else 8190

    def _field_limit(self) -> int:
        limit = int(self.cfg.limit_request_field_size)
        return limit if limit > 0 else 8190

    def _max_fields(self) -> int:
        limit = int(self.cfg.limit_request_fields)
        return limit if 0 < limit <= 32768 else 32768

    def _await(self, conn: EdgeConn, deadline: float) -> None:
        """Wait in the event loop for the rest of the request (or dispatch it if complete)."""
        if conn.head.ready:
            self._dispatch(conn)
            return
        conn.sock.setblocking(False)
        conn.deadline = deadline
        self.waiting.add(conn)
        self.buffered += len(conn.head.data)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))

    def _readable(self, conn: EdgeConn, _sock: socket.socket) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._forget(conn)
            self._close(conn)
            return
        head = conn.head
        if not conn.started:  # first byte of a kept-alive connection's next request
            conn.started = True
            conn.deadline = time.monotonic() + self.read_timeout
        complete_before = head.head_complete
        self.buffered += len(data)
        if not head.feed(data):
            if head.head_complete and not complete_before:  # the body gets its own time
                conn.deadline = time.monotonic() + self.read_timeout
            if self.buffered <= BUFFER_BUDGET:
                return
        self._forget(conn)
        if head.error is not None:
            self._refuse(conn, head.error)
        else:
            self._dispatch(conn)

    def _forget(self, conn: EdgeConn) -> None:
        if conn in self.waiting:
            self.waiting.remove(conn)
            self.buffered -= len(conn.head.data)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _dispatch(self, conn: EdgeConn) -> None:
        conn.pending = conn.head.take()
        conn.head = self._new_head()
        conn.data_ready = True  # gthread's own wait for a first byte is skipped
        self.enqueue_req(conn)

    def _refuse(self, conn: EdgeConn, error: ParseException) -> None:
        """Answer a request refused in the event loop, without a thread."""
        status, message = self.describe_error(error)
        self.log.warning("Invalid request from ip=%s: %s", _ip(conn.client), error)
        self._send_quietly(conn.sock, plain_error(status, message, self.cors_origin))
        self._linger(conn)

    def _send_quietly(self, sock: socket.socket, payload: bytes,
                      timeout: float | None = 0.0) -> None:
        try:
            sock.settimeout(timeout)
            sock.sendall(payload)
        except OSError:
            pass

    def _linger(self, conn: EdgeConn) -> None:
        """Drain what the client still sends for a moment, then close (no reset)."""
        self.nr_conns -= 1
        sock = conn.sock
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ, self._drain)
        except (OSError, ValueError, KeyError):
            util.close(sock)
            return
        self.lingering[sock] = time.monotonic() + LINGER_SECONDS

    def _drain(self, sock: socket.socket) -> None:
        try:
            while sock.recv(RECV_BYTES):
                pass
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._unlinger(sock)

    def _unlinger(self, sock: socket.socket) -> None:
        self.lingering.pop(sock, None)
        try:
            self.poller.unregister(sock)
        except (KeyError, ValueError, OSError):
            pass
        util.close(sock)

    def _close(self, conn: EdgeConn) -> None:
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """gthread's expiry of deferred connections, plus ours (at most every
        :data:`HOUSEKEEPING_SECONDS`; gthread calls it on every turn of its loop)."""
        now = time.monotonic()
        if now - self._swept < HOUSEKEEPING_SECONDS and self.alive:
            return
        self._swept = now
        super().murder_pending()
        for conn in [c for c in self.waiting if c.deadline <= now or not self.alive]:
            self._forget(conn)
            if conn.head.data and self.alive:
                self.log.info("Request from ip=%s not received within %g s",
                              _ip(conn.client), self.read_timeout)
                self._send_quietly(conn.sock, plain_error(
                    408, f"request timeout: the request line and headers must arrive within "
                         f"{self.read_timeout:g} seconds, and a body within {self.read_timeout:g}"
                         " seconds more; send the whole request without pauses",
                    self.cors_origin))
                self._linger(conn)
            else:  # idle: no request started
                self._close(conn)
        for sock in [s for s, until in self.lingering.items() if until <= now or not self.alive]:
            self._unlinger(sock)

    def finish_request(self, conn: Any, fs: Any) -> None:
        """After a thread is done with a connection (main thread)."""
        if not self.edge:
            super().finish_request(conn, fs)
            return
        try:
            result = fs.result() if not fs.cancelled() else False
            if result == "refused":
                self._linger(conn)
            elif result and self.alive and not conn.timed_out:
                # keep-alive: the next request is read in the event loop as well (with what
                # the thread read of it while it waited: _next_here)
                leftover = conn.parser.unreader.take_buffered()
                if leftover:
                    conn.head.feed(leftover)
                conn.started = bool(conn.head.data)
                if conn.head.error is not None:
                    self._refuse(conn, conn.head.error)
                    return
                deadline = self.read_timeout if conn.started else float(self.cfg.keepalive)
                self._await(conn, time.monotonic() + deadline)
            else:
                self._close(conn)
        except Exception:
            self._close(conn)

    # -- threads -----------------------------------------------------------------------------

    def handle(self, conn: Any) -> Any:
        if not self.edge:
            return super().handle(conn)
        while True:
            conn.read_deadline = time.monotonic() + self.read_timeout
            self.local.refused = False
            result = super().handle(conn)
            if self.local.refused:
                return "refused"
            if result is not True or not self.alive or conn.timed_out:
                return result
            if not self._next_here(conn):
                return result

    def _next_here(self, conn: EdgeConn) -> bool:
        """Wait up to :data:`NEXT_REQUEST_WAIT` in this thread for the next request of a
        kept-alive connection; True when it arrived whole (head, and a body the event loop
        would have awaited), so this thread handles it too.

        A client that sends its next request at once (a program, a browser fetching the next
        resource) then costs no hand-over to the event loop and back to a thread (two
        wake-ups of other threads, and their system calls, per request). The thread waits
        only briefly, and takes only a request that is complete: a slow client still costs
        no thread. Anything else (nothing yet, part of a request, a request over a limit)
        goes back to the event loop with the bytes read so far (``finish_request``).
        """
        head = conn.head
        leftover = conn.parser.unreader.take_buffered()
        if leftover:
            head.feed(leftover)
        until = time.monotonic() + NEXT_REQUEST_WAIT
        sock = conn.sock
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        while not head.ready:
            remaining = until - time.monotonic()
            if remaining <= 0 or not poller.poll(max(1, round(remaining * 1000))):
                return False
            try:
                data = sock.recv(RECV_BYTES, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return False  # the event loop finds the connection closed
            if not data:
                return False
            head.feed(data)
        if head.error is not None:
            return False
        conn.pending = head.take()
        conn.head = self._new_head()
        return True

    def handle_request(self, req: Any, conn: Any) -> Any:
        if not self.edge:
            return super().handle_request(req, conn)
        conn.in_app = True
        try:
            return super().handle_request(req, conn)
        finally:
            conn.in_app = False

    def describe_error(self, exc: BaseException) -> tuple[int, str]:
        """Status and plain-text message for a request gunicorn could not parse."""
        if isinstance(exc, LimitRequestLine):
            return 414, (f"request line too long: the limit is {self._line_limit()} bytes "
                         "for the method, URL and HTTP version; send a long query with POST "
                         "(Content-Type: application/sparql-query, or "
                         "application/x-www-form-urlencoded with query=...)")
        if isinstance(exc, LimitRequestHeaders):
            return 431, (f"request header fields too large ({exc}): send at most "
                         f"{self._max_fields()} header fields of at most "
                         f"{self._field_limit()} bytes each")
        if isinstance(exc, ExpectationFailed):
            return 417, f"{exc}: the only expectation supported is Expect: 100-continue"
        if isinstance(exc, UnsupportedTransferCoding):
            return 501, (f"{exc}: send the body with Content-Length or "
                         "Transfer-Encoding: chunked")
        if isinstance(exc, ForbiddenProxyRequest):
            return 403, f"{exc}"
        detail = str(exc)
        if len(detail) > 200:  # it may quote the whole request line
            detail = detail[:200] + "..."
        return 400, (f"malformed HTTP request ({detail}): send an HTTP/1.1 request line "
                     "(METHOD /path HTTP/1.1) and well-formed header fields")

    def handle_error(self, req: Any, client: socket.socket, addr: Any,
                     exc: BaseException) -> None:
        """gunicorn's error responses, as plain text that says what to change."""
        if isinstance(exc, ParseException):
            status, message = self.describe_error(exc)
            self.log.warning("Invalid request from ip=%s: %s", _ip(addr), exc)
        else:
            status, message = 500, ("internal server error: the HTTP server failed on this "
                                    "request; this is a bug and it has been logged")
            self.log.exception("Error handling request")
        self._send_quietly(client, plain_error(status, message, self.cors_origin),
                           self.read_timeout)
        self.local.refused = True


def _ip(addr: Any) -> str:
    return str(addr[0]) if isinstance(addr, tuple) and addr else "?"


def edge_worker_class(config: ServiceConfig) -> type[EdgeWorker]:
    """The worker class for one service configuration (gunicorn's ``worker_class``)."""
    attributes: dict[str, Any] = {
        "read_timeout": float(config.request_read_timeout),
        "max_body": int(config.max_request_bytes),
        "cors_origin": config.cors_origin,
        "__module__": __name__,
        "__doc__": EdgeWorker.__doc__,
    }
    return type("EdgeWorker", (EdgeWorker,), attributes)


__all__ = ["EdgeWorker", "HeadBuffer", "edge_worker_class", "plain_error"]
