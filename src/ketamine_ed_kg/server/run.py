"""Running the app under a production WSGI server.

gunicorn is the default: measured on 2 cores (docs/benchmarks.md) it served 1.5-2x waitress's
throughput on small and medium queries, while the deadline mechanism (killing a query's worker
process) behaves the same in both. waitress stays available (``server = "waitress"``): one
process, half the memory. gunicorn runs our own worker class
(:mod:`ketamine_ed_kg.server.gunicorn_worker`): gthread with request heads read in the event
loop under a deadline, so slow clients cannot hold its threads, and plain-text errors for
malformed requests. :func:`gunicorn_options` is the one definition of the gunicorn settings;
``server/gunicorn.conf.py`` reads it for ``gunicorn -c ... server.wsgi:application``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
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
        # X-Forwarded-* headers are dropped unless the operator trusts a proxy in front
        # (forwarded_hops): then the app reads them (ProxyFix in create_app), as under gunicorn.
        "clear_untrusted_proxy_headers": not config.forwarded_hops,
        "connection_limit": max(100, config.threads * 8),
        # Read ahead one request so waitress notices a client that hung up, and the
        # ``waitress.client_disconnected`` probe can cancel its query.
        "channel_request_lookahead": 1,
    }


GUNICORN_MAX_FIELDS = 100
"""Most header fields a request may have (gunicorn's ``limit_request_fields``): 431 beyond."""


def _worker_tmp_dir() -> str | None:
    """A memory-backed folder for gunicorn's worker heartbeat file where there is one.

    The heartbeat touches a file once a second; on a disk-backed temp folder that can block
    a worker (gunicorn's documentation recommends ``/dev/shm``). The file is unlinked as soon
    as it is created, so nothing is left behind.
    """
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def gunicorn_options(config: ServiceConfig) -> dict[str, Any]:
    """gunicorn settings derived from the service configuration: the one definition, used
    by :func:`serve` and by ``server/gunicorn.conf.py``."""
    from .gunicorn_worker import edge_worker_class

    return {
        "bind": f"{config.host}:{config.port}",
        "workers": config.processes,
        # gthread with request heads read in the event loop, read deadlines and plain-text
        # errors (414, 431, 408, 400): ketamine_ed_kg.server.gunicorn_worker.
        "worker_class": edge_worker_class(config),
        "threads": config.threads,
        # The query deadline is enforced by killing query processes; an HTTP worker must
        # outlive the longest deadline (dumps may take 10 deadlines) plus streaming time.
        "timeout": int(config.deadline * 10 + 30),
        "graceful_timeout": 10,
        "preload_app": False,
        "limit_request_line": config.max_request_line,
        "limit_request_fields": GUNICORN_MAX_FIELDS,
        "limit_request_field_size": config.max_header_bytes,
        # No control socket: it would be created under $XDG_RUNTIME_DIR or ~/.gunicorn/ (and
        # log "Control server error ... Permission denied" where HOME is not writable).
        "control_socket_disable": True,
        "worker_tmp_dir": _worker_tmp_dir(),
        "accesslog": None,
        "errorlog": "-",
        "loglevel": config.log_level.lower(),
    }


def serve(config: ServiceConfig, announce: Callable[[str], None] | None = None) -> None:
    """Serve the app on ``config.host:config.port`` with the configured server until stopped.

    With gunicorn every HTTP process builds its own app (and query workers) after the fork.
    """
    url = f"http://{config.host}:{config.port}/sparql"
    if config.server == "gunicorn":
        from gunicorn.app.base import BaseApplication

        class _Application(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                for key, value in gunicorn_options(config).items():
                    self.cfg.set(key, value)
                if announce is not None:
                    self.cfg.set("when_ready", lambda _arbiter: announce(url))

            def load(self) -> Any:
                from . import create_app

                return create_app(config)

        _Application().run()
        return
    from . import close_app, create_app

    app = create_app(config)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (service managers) should stop the query workers too, like Ctrl-C.
        signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))
    try:
        _serve_waitress(app, config, announce)
    finally:
        close_app(app)


def _serve_waitress(app: Any, config: ServiceConfig,
                    announce: Callable[[str], None] | None) -> None:
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

    Used by the tests and the benchmark so that every request crosses real HTTP. The app's
    configuration is told the address it is served at, so that the URLs it advertises (which
    come from ``host:port``, never from an untrusted ``Host`` header) point at this server.
    """

    def __init__(self, app: Any, config: ServiceConfig) -> None:
        options = waitress_options(config)
        self.app = app
        self.server = create_server(app, host="127.0.0.1", port=0, **options)
        self.port: int = self.server.effective_port
        found = app.extensions.get("ketamine_ed_kg") if hasattr(app, "extensions") else None
        if found is not None:
            served = replace(found.config, host="127.0.0.1", port=self.port)
            served.__dict__.update(  # values the old configuration cached (e.g. the dataset)
                {k: v for k, v in vars(found.config).items() if k not in vars(served)})
            found.config = served
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


__all__ = ["LiveServer", "gunicorn_options", "serve", "waitress_options"]
