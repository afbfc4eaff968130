"""A real Virtuoso 7.2 (Debian's ``virtuoso-t``) for the ``external_store`` tests.

:class:`Virtuoso` writes a ``virtuoso.ini`` into a temporary folder (database, logs, free
ports on 127.0.0.1), starts ``virtuoso-t +foreground``, waits until its SPARQL endpoint
answers, and stops it. It can be stopped and started again on the same ports and database
(the outage test). The configuration is the one docs/external-store.md recommends for a
store behind this service: no sponger, no external query or XSLT sources, no OS calls, no
DAV pages, a result-row limit above the service's row cap. (The public ``/sparql`` account,
``SPARQL``, has neither the ``SPARQL_SPONGE`` nor the ``SPARQL_UPDATE`` role in a database
Virtuoso 7.2 creates: a test checks that it refuses ``define get:soft`` and updates.)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ketamine_ed_kg.store.remote import PASSWORD_ENV, USER_ENV

VIRTUOSO = shutil.which("virtuoso-t") or "/usr/bin/virtuoso-t"
USER = "dba"
PASSWORD = "dba"  # noqa: S105 - the default password of a database Virtuoso creates afresh
START_TIMEOUT = 120.0

INI = """\
; Generated for one test session (tests/support/virtuoso.py); see docs/external-store.md.
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
MaxClientConnections = 16
CheckpointInterval = 60
CaseMode = 2
; No file or OS access from SQL: only the database's own folder.
AllowOSCalls = 0
DirsAllowed = {dir}
; 8 KiB pages: 10000 buffers are 80 MB, enough for the tests' graphs; a benchmark at scale
; passes more (scripts/peers/engines.py).
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
ThreadsPerQuery = 2
; One update operation (the load's switch) may log this much: 1.5 GB (the default, 50 MB, is
; exceeded by a switch of 1 M triples).
TransactionAfterImageLimit = 1500000000

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}/www
MaxClientConnections = 16
ServerThreads = 16
; No DAV pages, no HTTP proxy.
EnabledDavVSP = 0
HTTPProxyEnabled = 0
Charset = UTF-8

[SPARQL]
; Above the service's row cap (10000) and its probe, so Virtuoso never cuts a result itself.
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 120
MaxQueryCostEstimationTime = 0
; No query text or XSLT fetched from a URL a request names.
ExternalQuerySource = 0
ExternalXsltSource = 0
"""

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Virtuoso:
    """One Virtuoso server on 127.0.0.1 (see the module)."""

    folder: Path
    http_port: int
    sql_port: int
    proc: subprocess.Popen[bytes] | None = None
    buffers: int = 10000
    """``NumberOfBuffers`` (8 KiB pages in memory)."""
    dirty: int = 6000
    """``MaxDirtyBuffers``: 130000 stalled a load of 1 M triples; 6000 loads it in 39 s."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def query_url(self) -> str:
        return self.base + "/sparql"

    @property
    def graph_store_url(self) -> str:
        return self.base + "/sparql-graph-crud-auth"

    @property
    def update_url(self) -> str:
        return self.base + "/sparql-auth"

    def settings(self) -> dict[str, str]:
        """The service's configuration for this store."""
        return {"store": "sparql", "sparql_query_url": self.query_url,
                "graph_store_url": self.graph_store_url,
                "sparql_update_url": self.update_url}

    def write_ini(self) -> Path:
        (self.folder / "www").mkdir(parents=True, exist_ok=True)
        ini = self.folder / "virtuoso.ini"
        ini.write_text(INI.format(dir=self.folder, sql_port=self.sql_port,
                                  http_port=self.http_port, buffers=self.buffers,
                                  dirty=self.dirty), encoding="utf-8")
        return ini

    def start(self) -> None:
        """Start (or restart) the server and wait until its SPARQL endpoint answers."""
        ini = self.write_ini()
        log = (self.folder / "stdout.log").open("ab")
        self.proc = subprocess.Popen([VIRTUOSO, "+configfile", str(ini), "+foreground"],
                                     cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited ({self.proc.returncode}): "
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.query_url + "?query=ASK%7B%7D",
                                            timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"virtuoso-t did not answer within {START_TIMEOUT} s: "
                           f"{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 30 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        """Stop the server at once (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self) -> str:
        path = self.folder / "virtuoso.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"


@contextmanager
def virtuoso_server(folder: Path) -> Iterator[Virtuoso]:
    """A started Virtuoso in ``folder``; stopped afterwards."""
    server = Virtuoso(folder, free_port(), free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextmanager
def store_credentials(user: str = USER, password: str = PASSWORD) -> Iterator[None]:
    """The store's credentials in this process's environment (where the service and the
    loader read them), removed afterwards."""
    saved: Mapping[str, str | None] = {k: os.environ.get(k) for k in (USER_ENV, PASSWORD_ENV)}
    os.environ[USER_ENV], os.environ[PASSWORD_ENV] = user, password
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


__all__ = ["Virtuoso", "free_port", "store_credentials", "virtuoso_server"]
