"""Debian's HAProxy, run by a test (or a script) in front of service instances.

:func:`haproxy_balancer` writes the configuration :func:`ketamine_ed_kg.server.balancer
.haproxy_config` generates into a folder of the caller's (``tmp_path``), checks it with
``haproxy -c``, starts ``haproxy -db`` (foreground) on a free 127.0.0.1 port with an admin
socket beside the configuration, and stops it afterwards. :meth:`Balancer.servers` reads
HAProxy's own view of each instance (``show stat`` on that socket).
"""

from __future__ import annotations

import csv
import io
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ketamine_ed_kg.config import ServiceConfig
from ketamine_ed_kg.server.balancer import BACKEND, haproxy_config

from .server import free_port, stop_process

START_SECONDS = 30.0
"""How long HAProxy may take to listen (it takes milliseconds; the bound only ends a hang)."""


def haproxy_binary() -> str | None:
    """HAProxy's executable (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("haproxy")
    if found:
        return found
    return "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").is_file() else None


def check_config(binary: str, path: Path) -> subprocess.CompletedProcess[str]:
    """``haproxy -c -f path``: HAProxy's own validation of a configuration file."""
    return subprocess.run([binary, "-c", "-f", str(path)], capture_output=True, text=True,
                          timeout=60, check=False)


@dataclass
class ServerState:
    """One instance as HAProxy sees it (a row of ``show stat``)."""

    name: str
    status: str
    """``UP``, ``DOWN``, ``MAINT``, or a transition such as ``UP 1/2``."""
    check: str
    """Last check's result, e.g. ``L7OK``, ``L4CON`` (refused), ``L7RSP`` (unexpected body)."""
    sessions: int
    """Requests HAProxy sent to it in all (``stot``)."""


@dataclass
class Balancer:
    """A running HAProxy."""

    proc: subprocess.Popen[str]
    port: int
    config: Path
    socket: Path
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def servers(self) -> dict[str, ServerState]:
        """Each instance of the backend, by server name (``s1``, ``s2`` ...)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(str(self.socket))
            sock.sendall(b"show stat\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        text = b"".join(chunks).decode("utf-8").lstrip("# ")
        found = {}
        for row in csv.DictReader(io.StringIO(text)):
            if row["pxname"] == BACKEND and row["svname"] not in ("BACKEND", "FRONTEND"):
                found[row["svname"]] = ServerState(row["svname"], row["status"],
                                                   row["check_status"], int(row["stot"] or 0))
        return found

    def wait_for(self, wanted: dict[str, str], seconds: float = 60.0) -> dict[str, ServerState]:
        """Wait until each named server has the wanted status; the last states otherwise."""
        end = time.monotonic() + seconds
        while True:
            states = self.servers()
            if all(states[name].status == status for name, status in wanted.items()):
                return states
            if time.monotonic() > end:
                return states
            time.sleep(0.2)


@contextmanager
def haproxy_balancer(folder: Path, servers: Sequence[str], config: ServiceConfig | None = None,
                     release_id: str | None = None) -> Iterator[Balancer]:
    """HAProxy on a free 127.0.0.1 port in front of ``servers`` (``host:port``), until the
    block ends. The configuration, admin socket and log live in ``folder``."""
    binary = haproxy_binary()
    if binary is None:
        raise RuntimeError("HAProxy is not installed: scripts/setup.sh installs it")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    path = folder / "haproxy.cfg"
    admin = folder / "haproxy.sock"
    path.write_text(haproxy_config(config or ServiceConfig(), f"127.0.0.1:{port}", servers,
                                   release_id=release_id, stats_socket=admin),
                    encoding="utf-8")
    checked = check_config(binary, path)
    if checked.returncode != 0:
        raise RuntimeError(f"haproxy -c refused {path}:\n{checked.stdout}{checked.stderr}")
    log = folder / "haproxy.log"
    with log.open("w", encoding="utf-8") as errors:
        proc = subprocess.Popen([binary, "-db", "-f", str(path)], stdout=errors, stderr=errors,
                                text=True, start_new_session=True)
    balancer = Balancer(proc, port, path, admin, log)
    try:
        end = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None:
                raise RuntimeError("haproxy exited:\n" + log.read_text(encoding="utf-8"))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass
                if admin.exists():
                    break
            except OSError:
                pass
            if time.monotonic() > end:
                raise RuntimeError("haproxy did not listen:\n" + log.read_text(encoding="utf-8"))
            time.sleep(0.05)
        yield balancer
    finally:
        stop_process(proc, signal.SIGTERM)


__all__ = ["Balancer", "ServerState", "check_config", "haproxy_balancer", "haproxy_binary"]
