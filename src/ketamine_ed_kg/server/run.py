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

import errno
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any

from waitress.server import create_server

from ..config import ServiceConfig
from ..errors import ConfigError


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


def _leave_ctrl_c_to_the_master(_worker: Any) -> None:
    """An HTTP process ignores SIGINT; its master, which gets the same Ctrl-C, stops it.

    Ctrl-C in a terminal signals every process of the foreground group. Were the HTTP
    processes to exit on it themselves, the master's own stop signal (SIGQUIT) would reach
    them halfway through their exit and print a ``SystemExit`` traceback each.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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
        "post_worker_init": _leave_ctrl_c_to_the_master,
        "worker_tmp_dir": _worker_tmp_dir(),
        "accesslog": None,
        "errorlog": "-",
        "loglevel": config.log_level.lower(),
    }


def listen(host: str, port: int) -> socket.socket:
    """The service's listening socket, bound before anything else starts.

    Binding it here, rather than inside gunicorn, turns a busy port into one message that
    names the port and the way out (gunicorn would retry for 5 s and end with "Can't connect
    to ..."), and makes port 0 (a free port, chosen by the kernel) known before the URL is
    printed. gunicorn and waitress are then handed this socket, so nothing can take the port
    in between.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is in use (another server is listening there): "
                f"choose another with --port N, or --port 0 for a free one") from exc
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def serve(config: ServiceConfig, announce: Callable[[str], None] | None = None,
          listener: socket.socket | None = None, *, quiet: bool = False) -> None:
    """Serve the app on ``listener`` (default: bound from ``config.host:config.port``) with
    the configured server until stopped; return normally when stopped by SIGINT (Ctrl-C) or
    SIGTERM. ``quiet`` (the ``serve`` command) leaves gunicorn's start and stop messages out
    unless the log level is DEBUG: ``announce`` and the caller say those things in one line.

    With gunicorn every HTTP process builds its own app (and query workers) after the fork.
    The configuration the app sees carries the port actually bound (port 0 picks one), so the
    URLs it advertises are right.
    """
    if listener is None:
        listener = listen(config.host, config.port)
    config = replace(config, port=listener.getsockname()[1])
    url = f"http://{_url_host(config.host)}:{config.port}/sparql"
    if config.server == "gunicorn":
        from gunicorn.app.base import BaseApplication

        # gunicorn adopts the descriptor (and closes it when it stops).
        options = gunicorn_options(config) | {"bind": f"fd://{listener.detach()}"}

        class _Application(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                for key, value in options.items():
                    self.cfg.set(key, value)
                if announce is not None:
                    self.cfg.set("when_ready", lambda _arbiter: announce(url))

            def load(self) -> Any:
                from . import create_app

                return create_app(config)

        if quiet and config.log_level.upper() != "DEBUG":
            _quiet_gunicorn_lifecycle()
        master = os.getpid()
        try:
            _Application().run()
        except SystemExit as exc:
            # gunicorn's arbiter exits 0 once it stopped on SIGINT or SIGTERM: a normal return.
            # Its HTTP processes are forks that exit through here too; they keep exiting.
            if os.getpid() != master or exc.code not in (0, None):
                raise
        return
    from . import close_app, create_app

    app = create_app(config)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (service managers) should stop the query workers too, like Ctrl-C.
        signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))
        # A script's background job (`serve &`) starts with SIGINT ignored, and Python then
        # installs no KeyboardInterrupt handler: `kill -INT` would do nothing, where gunicorn
        # (which sets its own handlers) stops. Stop on SIGINT either way.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        server = create_server(app, sockets=[listener], **waitress_options(config))
        try:
            if announce is not None:
                announce(url)
            server.run()
        finally:
            server.close()
    except (KeyboardInterrupt, SystemExit) as exc:
        if isinstance(exc, SystemExit) and exc.code not in (0, None):
            raise
    finally:
        close_app(app)


_LIFECYCLE = frozenset({
    "Starting gunicorn %s", "Listening at: %s (%s)", "Using worker: %s",
    "Booting worker with pid: %s", "Handling signal: %s", "Worker exiting (pid: %s)",
    "Shutting down: %s",
})
"""gunicorn's INFO messages about starting and stopping itself and its HTTP processes."""


class _LifecycleFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.INFO and record.msg in _LIFECYCLE)


def _quiet_gunicorn_lifecycle() -> None:
    """Leave gunicorn's start and stop messages out of ``serve``'s output (DEBUG keeps them).

    ``serve`` says "serving <url>" when it is ready and "stopped serving <url>" when it
    stopped; gunicorn's own lines (a "Booting worker" and a "Worker exiting" per HTTP process,
    "Handling signal: int" ...) would surround each of them with a handful of log lines.
    Warnings and errors, and every other message, still show.
    """
    logger = logging.getLogger("gunicorn.error")
    if not any(isinstance(found, _LifecycleFilter) for found in logger.filters):
        logger.addFilter(_LifecycleFilter())


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


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


__all__ = ["LiveServer", "gunicorn_options", "listen", "serve", "waitress_options"]
