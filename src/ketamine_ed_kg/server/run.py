"""Running the app under a production WSGI server.

waitress is the default (see docs/benchmarks.md for the measurement behind the choice): one
process with a thread pool fits the design, because queries already run in separate, killable
worker processes and the HTTP threads only stream bytes. gunicorn is supported through
``server/gunicorn.conf.py`` at the repository root.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from waitress.server import create_server

from ..config import ServiceConfig


def waitress_options(config: ServiceConfig) -> dict[str, Any]:
    """waitress settings derived from the service configuration."""
    return {
        "threads": config.threads,
        "channel_timeout": int(config.deadline * 2 + 30),
        "max_request_body_size": config.max_request_bytes + 1024,
        "ident": "ketamine-ed-kg",
        "clear_untrusted_proxy_headers": True,
        "connection_limit": max(100, config.threads * 8),
    }


def serve(app: Any, config: ServiceConfig,
          announce: Callable[[str], None] | None = None) -> None:
    """Serve ``app`` on ``config.host:config.port`` until interrupted."""
    server = create_server(app, host=config.host, port=config.port, **waitress_options(config))
    port = server.effective_port
    if announce is not None:
        announce(f"http://{config.host}:{port}/sparql")
    try:
        server.run()
    finally:
        server.close()


class LiveServer:
    """A real waitress server on a free 127.0.0.1 port, in a background thread.

    Used by the tests and the benchmark so that every request crosses real HTTP.
    """

    def __init__(self, app: Any, config: ServiceConfig) -> None:
        options = waitress_options(config)
        self.app = app
        self.server = create_server(app, host="127.0.0.1", port=0, **options)
        self.port: int = self.server.effective_port
        self.base = f"http://127.0.0.1:{self.port}"
        self.endpoint = self.base + "/sparql"
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):
            if not self.stopping:  # closing the sockets under the loop is expected on stop
                raise

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        """Finish in-flight requests, close every channel, then wait for the loop thread.

        (The order matters: closing the server first leaves request threads writing to a
        closed trigger; this follows webtest's StopableWSGIServer.)
        """
        self.stopping = True
        server: Any = self.server
        server.task_dispatcher.shutdown(cancel_pending=False, timeout=30)
        while server._map:
            for channel in list(server._map.values()):
                if channel is server:
                    channel.close()
                else:
                    channel.handle_close()
        self.thread.join(timeout=10)


__all__ = ["LiveServer", "serve", "waitress_options"]
