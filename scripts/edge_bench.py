#!/usr/bin/env python
"""Benchmark the HTTP edge of the SPARQL service: slow clients and over-long request lines.

Usage: ``python scripts/edge_bench.py [--seconds S] [--slow N] [--no-stock]``. Prints one
Markdown section (:func:`edge_section` returns it, for the benchmark report).

The production server (``ketamine_ed_kg.server.run.serve``: gunicorn, 1 process x 32
threads by default) runs as a subprocess on 127.0.0.1 over a small generated dataset. For
each server a normal client sends ``ASK`` queries back to back, each on a new connection,
for ``--seconds`` first alone and then while ``--slow`` connections send their request one
byte a second (reconnecting whenever the server cuts them, as an attacker would). Then one
client sends a 16 MB request line, and the server's CPU time for it is read from /proc.
``--no-stock`` skips the comparison with gunicorn's own gthread worker under the settings
the service had before (``limit_request_line = 0``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ketamine_ed_kg.config import load_config  # noqa: E402
from ketamine_ed_kg.namespaces import GRAPH_ASSERTED  # noqa: E402

ASK = "/sparql?" + urlencode({"query": "ASK { ?s ?p ?o }"})
CLIENT_TIMEOUT = 15.0
"""Seconds the normal client waits for an answer before it counts the request as failed."""
LONG_LINE = 16 << 20

_SERVE = """
import json, sys
from ketamine_ed_kg.config import load_config
from ketamine_ed_kg.server import run
settings, stock = json.loads(sys.argv[1]), sys.argv[2] == "stock"
if stock:  # gunicorn's own gthread worker, with the settings the service had before
    edge_options = run.gunicorn_options
    def stock_options(config):
        options = edge_options(config)
        options.update(worker_class="gthread", limit_request_line=0, limit_request_fields=100,
                       limit_request_field_size=8190)
        return options
    run.gunicorn_options = stock_options
run.serve(load_config(settings, environ={}), announce=lambda url: print(url, flush=True))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def small_dataset(folder: Path, subjects: int = 500) -> Path:
    path = folder / "edge.nq"
    with path.open("w", encoding="utf-8") as out:
        for i in range(subjects):
            out.write(f'<http://example.org/s{i}> <http://example.org/v> "{i}" '
                      f"<{GRAPH_ASSERTED}> .\n")
    return path


class Server:
    """``serve()`` in a subprocess (its own session, so that it can be stopped as a whole)."""

    def __init__(self, dataset: Path, stock: bool, log: Path) -> None:
        self.port = free_port()
        settings = {"dataset": str(dataset), "port": self.port, "host": "127.0.0.1",
                    "log_level": "WARNING"}
        env = {k: v for k, v in os.environ.items() if not k.startswith("KETAMINE_ED_KG_")}
        env["PYTHONPATH"] = str(ROOT / "src")
        with log.open("w", encoding="utf-8") as errors:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _SERVE, json.dumps(settings),
                 "stock" if stock else "edge"],
                stdout=subprocess.PIPE, stderr=errors, text=True, env=env, cwd=ROOT,
                start_new_session=True)
        assert self.proc.stdout is not None
        if not self.proc.stdout.readline().strip():
            raise RuntimeError("the server did not start: " + log.read_text()[-2000:])
        status = one_request(self.port, timeout=120)
        if status != 200:
            raise RuntimeError(f"the server answers {status}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and all its descendants (Linux /proc)."""
        tick = os.sysconf("SC_CLK_TCK")
        parents: dict[int, int] = {}
        times: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            times[int(entry.name)] = int(fields[11]) + int(fields[12])
        tree = {self.proc.pid}
        grew = True
        while grew:
            found = {pid for pid, parent in parents.items() if parent in tree} - tree
            grew = bool(found)
            tree |= found
        return sum(times.get(pid, 0) for pid in tree) / tick

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def one_request(port: int, timeout: float = CLIENT_TIMEOUT) -> int:
    """One normal query on a new connection; its status, or 0 when it failed or timed out."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", ASK, headers={"Accept": "application/sparql-results+json"})
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


class SlowClients:
    """``count`` connections that send a request one byte a second, reconnecting when cut."""

    PREFIX = b"GET " + ASK.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.count = count
        self.cut = 0
        self.answers: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.selector = selectors.DefaultSelector()
        self.socks: dict[socket.socket, int] = {}

    def _open(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.setblocking(False)
        self.socks[sock] = 0
        self.selector.register(sock, selectors.EVENT_READ)

    def _close(self, sock: socket.socket, answer: bytes) -> None:
        self.selector.unregister(sock)
        del self.socks[sock]
        sock.close()
        self.cut += 1
        status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "closed"
        self.answers[status] = self.answers.get(status, 0) + 1

    def _run(self) -> None:
        for _ in range(self.count):
            self._open()
        next_byte = time.monotonic()
        while not self.stop.is_set():
            for key, _ in self.selector.select(timeout=max(0.0, next_byte - time.monotonic())):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    answer = sock.recv(65536)
                except OSError:
                    answer = b""
                self._close(sock, answer)
                self._open()
            if time.monotonic() >= next_byte:
                next_byte += 1.0
                for sock, sent in list(self.socks.items()):
                    data = self.PREFIX[sent:sent + 1] or b"a"  # one byte a second, never done
                    try:
                        sock.send(data)
                        self.socks[sock] = sent + 1
                    except OSError:
                        self._close(sock, b"")
                        self._open()
        for sock in list(self.socks):
            sock.close()

    def __enter__(self) -> SlowClients:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def normal_client(port: int, seconds: float) -> dict[str, float]:
    """Queries back to back for ``seconds``: latency percentiles of the answered ones."""
    latencies: list[float] = []
    failed = 0
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        start = time.perf_counter()
        status = one_request(port)
        elapsed = time.perf_counter() - start
        if status == 200:
            latencies.append(elapsed)
        else:
            failed += 1
    latencies.sort()
    if not latencies:
        return {"n": 0, "failed": failed, "p50": float("nan"), "p99": float("nan")}
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return {"n": len(latencies), "failed": failed,
            "p50": statistics.median(latencies) * 1000, "p99": p99 * 1000}


def long_line(server: Server) -> dict[str, object]:
    """A 16 MB GET request line: the status, the time to the answer, the server's CPU."""
    before = server.cpu_seconds()
    start = time.perf_counter()
    status = "none"
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=120) as sock:
            sock.sendall(b"GET /sparql?query=" + b"a" * LONG_LINE + b" HTTP/1.1\r\n"
                         b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = sock.recv(100)
            status = answer.split(b" ", 2)[1].decode() if answer else "closed"
    except OSError as exc:
        status = f"error ({type(exc).__name__})"
    elapsed = time.perf_counter() - start
    time.sleep(0.5)  # let the server finish whatever it still does with the request
    return {"status": status, "seconds": elapsed, "cpu": server.cpu_seconds() - before}


def measure(dataset: Path, stock: bool, seconds: float, slow: int,
            folder: Path) -> dict[str, object]:
    server = Server(dataset, stock, folder / ("stock.log" if stock else "edge.log"))
    try:
        alone = normal_client(server.port, seconds)
        with SlowClients(server.port, slow) as clients:
            time.sleep(2.0)  # every slow connection has started its request
            attacked = normal_client(server.port, seconds)
        line = long_line(server)
        return {"alone": alone, "attacked": attacked, "cut": clients.cut,
                "answers": dict(clients.answers), "line": line}
    finally:
        server.stop()


def _ms(value: float) -> str:
    return "–" if value != value else f"{value:.1f}"


def edge_section(seconds: float = 20.0, slow: int = 32, stock: bool = True) -> str:
    """Run the measurements and return them as a Markdown section."""
    config = load_config(environ={})
    labels = [("EdgeWorker (ours)", False)] + ([("stock gthread, before", True)] if stock else [])
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        folder = Path(tmp)
        dataset = small_dataset(folder)
        for label, is_stock in labels:
            results[label] = measure(dataset, is_stock, seconds, slow, folder)
    lines = [
        "## HTTP edge: slow clients and long request lines",
        "",
        f"gunicorn {version('gunicorn')}, {config.processes} HTTP process x {config.threads} "
        f"threads (the defaults), {config.workers} query processes; Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs. A normal client sends "
        f"`ASK {{ ?s ?p ?o }}` back to back, each on a new connection (timeout "
        f"{CLIENT_TIMEOUT:g} s), for {seconds:g} s, alone and then while {slow} connections "
        "send their request line and headers one byte a second (reconnecting when cut); "
        f"request_read_timeout = {config.request_read_timeout:g} s.",
        "",
        "| server | slow connections | answered | failed | p50 ms | p99 ms "
        "| slow connections cut (answers) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, _ in labels:
        result = results[label]
        for phase, slow_label in (("alone", "0"), ("attacked", f"{slow} @ 1 B/s")):
            row = result[phase]
            assert isinstance(row, dict)
            cut = "–"
            if phase == "attacked":
                answers = result["answers"]
                assert isinstance(answers, dict)
                detail = ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())) or "none"
                cut = f"{result['cut']} ({detail})"
            lines.append(f"| {label} | {slow_label} | {row['n']:.0f} | {row['failed']:.0f} | "
                         f"{_ms(row['p50'])} | {_ms(row['p99'])} | {cut} |")
    lines += ["", f"A {LONG_LINE >> 20} MB GET request line:", "",
              "| server | status | answered after s | server CPU s |", "|---|---|---|---|"]
    for label, _ in labels:
        line = results[label]["line"]
        assert isinstance(line, dict)
        lines.append(f"| {label} | {line['status']} | {line['seconds']:.2f} | "
                     f"{line['cpu']:.2f} |")
    lines += ["", "EdgeWorker reads request heads in the event loop under one deadline per "
              "request, so slow clients hold no thread; it answers a request line over "
              f"{config.max_request_line} bytes with 414 after reading about that much."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--slow", type=int, default=32)
    parser.add_argument("--no-stock", action="store_true")
    args = parser.parse_args()
    print(edge_section(args.seconds, args.slow, not args.no_stock), end="")


if __name__ == "__main__":
    main()
