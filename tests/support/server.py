"""Helpers for the server tests (no tests here): datasets, live servers, raw HTTP, a listener.

Every server test talks to a real waitress server on a free 127.0.0.1 port, built by
``create_app`` over a dataset written for the test, so requests cross real HTTP and real
worker processes.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox

from ketamine_ed_kg.config import load_config
from ketamine_ed_kg.server import close_app, create_app
from ketamine_ed_kg.server.run import LiveServer


def write_dataset(target: Path, graphs: Mapping[str, tuple[str | bytes | Path, ox.RdfFormat]]
                  ) -> Path:
    """Write an N-Quads file with one named graph per entry (graph IRI -> data, format)."""
    quads: list[ox.Quad] = []
    for graph, (data, fmt) in graphs.items():
        if isinstance(data, Path):
            parsed = ox.parse(path=str(data), format=fmt, base_iri=data.as_uri())
        else:
            parsed = ox.parse(data, format=fmt)
        for item in parsed:
            quads.append(ox.Quad(item.subject, item.predicate, item.object, ox.NamedNode(graph)))
    ox.serialize(quads, str(target), format=ox.RdfFormat.N_QUADS)
    return target


@contextmanager
def waitress_server(dataset: Path, **overrides: Any) -> Iterator[LiveServer]:
    """A real waitress server over ``create_app`` for ``dataset``; stopped afterwards."""
    settings: dict[str, Any] = {"dataset": dataset, "workers": 2, "threads": 8}
    settings.update(overrides)
    config = load_config(settings, environ={})
    app = create_app(config)
    server = LiveServer(app, config)
    try:
        with server:
            yield server
    finally:
        close_app(app)


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@dataclass
class Reply:
    """A raw HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def request(url: str, method: str = "GET", body: bytes | str | None = None,
            headers: Mapping[str, str] | None = None, timeout: float = 120) -> Reply:
    """Send exactly this request (no client-side magic) and read the whole response."""
    parts = urlsplit(url)
    if parts.hostname is None:
        raise ValueError(f"no host in {url!r}")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    payload = body.encode("utf-8") if isinstance(body, str) else body
    try:
        conn.request(method, path, body=payload, headers=dict(headers or {}))
        response = conn.getresponse()
        data = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    if found.get("content-encoding") == "gzip":
        data = gzip.decompress(data)
    return Reply(response.status, found, data)


_SERVE = """
import json, sys
from ketamine_ed_kg.config import load_config
from ketamine_ed_kg.server.run import serve
serve(load_config(json.loads(sys.argv[1]), environ={}),
      announce=lambda url: print("serving", url, flush=True))
"""


@dataclass
class GunicornServer:
    """The production server (``ketamine_ed_kg.server.run.serve``, gunicorn) in a subprocess."""

    proc: subprocess.Popen[str]
    port: int
    log: Path
    """Its standard error (gunicorn's log)."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return self.base + "/sparql"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn_server(dataset: Path, log: Path, env: Mapping[str, str] | None = None,
                    **overrides: Any) -> Iterator[GunicornServer]:
    """Run the real gunicorn-served app on a free 127.0.0.1 port until the block ends.

    ``overrides`` are service settings (JSON values); ``env`` replaces the subprocess's
    environment (``KETAMINE_ED_KG_*`` variables are always left out); gunicorn's log goes
    to ``log``. The block starts once the app answers; the server is stopped (SIGTERM, then
    SIGKILL) afterwards.
    """
    port = free_port()
    settings: dict[str, Any] = {"dataset": str(dataset), "workers": 2, "port": port,
                                "host": "127.0.0.1", "log_level": "WARNING"}
    settings.update(overrides)
    base_env = dict(os.environ if env is None else env)
    clean = {k: v for k, v in base_env.items() if not k.startswith("KETAMINE_ED_KG_")}
    with log.open("w", encoding="utf-8") as errors:
        proc = subprocess.Popen([sys.executable, "-c", _SERVE, json.dumps(settings)],
                                stdout=subprocess.PIPE, stderr=errors, text=True, env=clean,
                                start_new_session=True)
    server = GunicornServer(proc, port, log)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != f"serving {server.endpoint}":
            raise RuntimeError(f"gunicorn did not start ({line!r}):\n"
                               + log.read_text(encoding="utf-8")[-4000:])
        # The announcement comes before the HTTP process has loaded the app: wait for it.
        reply = request(server.endpoint + "?query=ASK%7B%7D", timeout=120)
        if reply.status != 200:
            raise RuntimeError(f"gunicorn answers {reply.status}: {reply.text[:500]}")
        yield server
    finally:
        stop_process(proc, signal.SIGTERM)


def stop_process(proc: subprocess.Popen[str], sig: int) -> None:
    """Send ``sig``; kill the process if it is still there after 30 s; close its output."""
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


__all__ = ["GunicornServer", "Listener", "Reply", "free_port", "gunicorn_server", "request",
           "stop_process", "waitress_server", "write_dataset"]
