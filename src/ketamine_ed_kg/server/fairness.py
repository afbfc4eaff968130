"""Fair use of the query processes: a per-client concurrency limit and disconnect detection.

A few runaway queries must not starve everyone else. Each client may run
``per_client_queries`` queries at once (more get 429 at once, with Retry-After); a client is
its remote address plus its User-Agent, the key the Wikidata Query Service throttles by, so
that one tool behind a shared address does not lock out the others. The table only holds
clients that have a query running, so it is bounded by the number of running queries.

A query whose client has gone away is cancelled at once: :func:`disconnect_probe` gives the
pool a callable that says whether the client's connection is closed (gunicorn exposes the
socket; waitress a ``client_disconnected`` callable when request look-ahead is on).
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any


class TooManyQueries(Exception):
    """This client already runs its share of queries."""


class ClientLimiter:
    """Counts running queries per client; thread-safe; bounded by the running queries."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def acquire(self, client: tuple[str, str]) -> None:
        """Take a slot for ``client`` or raise TooManyQueries."""
        with self._lock:
            count = self._running.get(client, 0)
            if count >= self.limit:
                raise TooManyQueries(
                    f"this client already runs {count} queries at once (the limit is "
                    f"{self.limit}); wait for one to finish")
            self._running[client] = count + 1

    def release(self, client: tuple[str, str]) -> None:
        """Give a slot back (exactly once per acquire)."""
        with self._lock:
            count = self._running.get(client, 0) - 1
            if count > 0:
                self._running[client] = count
            else:
                self._running.pop(client, None)

    @contextmanager
    def slot(self, client: tuple[str, str]) -> Iterator[None]:
        """Hold a slot for the duration of a block."""
        self.acquire(client)
        try:
            yield
        finally:
            self.release(client)

    def running(self) -> int:
        """Queries running now, over all clients."""
        with self._lock:
            return sum(self._running.values())


def client_key(environ: Mapping[str, Any]) -> tuple[str, str]:
    """Remote address and User-Agent of the request."""
    return (str(environ.get("REMOTE_ADDR", "")),
            str(environ.get("HTTP_USER_AGENT", ""))[:200])


def disconnect_probe(environ: Mapping[str, Any]) -> Callable[[], bool] | None:
    """A callable that is True once the client has closed its connection, if one exists."""
    waitress_probe = environ.get("waitress.client_disconnected")
    if callable(waitress_probe):
        return lambda: bool(waitress_probe())
    sock = environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        return None

    def gone() -> bool:
        try:
            poller = select.poll()
            poller.register(sock, select.POLLIN | select.POLLHUP)
            if not poller.poll(0):
                return False
            return not sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except (OSError, ValueError):
            return True

    return gone


__all__ = ["ClientLimiter", "TooManyQueries", "client_key", "disconnect_probe"]
