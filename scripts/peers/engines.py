"""The peers, one class each, with one interface: start (timed to the first query answered),
answer a :class:`~peers.workloads.Workload`, report memory (PSS), stop.

* :class:`Service`: ``ketamine-ed-kg serve`` as production runs it (gunicorn,
  ``tests/support/server.py``), queried over HTTP; with the results cache off (cold) or on, the
  row cap on or off, the embedded store or Virtuoso behind it (``store = "sparql"``).
* :class:`Raw`: pyoxigraph in process, the result serialised (JSON, N-Triples): the engine's
  limit, with no HTTP, no process hop and no row cap. It runs in a child process of its own
  (:class:`Child`) only so that a query past the budget can be killed; it times itself.
* :class:`Virtuoso`: Debian's Virtuoso 7.2 on 127.0.0.1 (``tests/support/virtuoso.py``),
  loaded with ``ketamine-ed-kg load``'s code (``store.upload.load_release``) and kept in the
  reuse folder.
* :class:`Rdflib`: rdflib's SPARQL engine, in a child process the same way.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from .measure import ROOT, pss_mib
from .prepare import Phase, Prepared
from .workloads import Workload

sys.path.insert(0, str(ROOT / "tests"))  # support/: the servers and Virtuoso the tests start

from support.server import GunicornServer, gunicorn_server  # noqa: E402
from support.virtuoso import Virtuoso as VirtuosoServer  # noqa: E402
from support.virtuoso import free_port, store_credentials  # noqa: E402

AGENT = "peers-bench"


@dataclass
class Answer:
    """One answer: its status, size, rows (solutions, triples or 1 for ASK) and whether the
    row cap cut it; ``seconds``: the time to count (a child's engine and serialisation, an
    HTTP request up to its body's last byte; the rows are counted after it), else ``None``
    (the caller's wall time)."""

    status: int
    rows: int
    nbytes: int
    truncated: bool = False
    error: str = ""
    seconds: float | None = None


def count_rows(body: bytes, form: str) -> int:
    if form == "graph":
        return sum(1 for line in body.splitlines() if line.strip())
    try:
        data = json.loads(body)
    except ValueError:
        return -1
    if "boolean" in data:
        return 1
    return len(data.get("results", {}).get("bindings", []))


class Engine:
    """The interface (see the module)."""

    name = "engine"
    start_seconds = 0.0
    only_when_cut = False
    """Run only the queries whose answer the first engine's (the service's) row cap cut."""

    def start(self) -> None:
        raise NotImplementedError

    def run(self, work: Workload) -> Answer:
        raise NotImplementedError

    def pss(self) -> float:
        return 0.0

    def stop(self) -> None:
        return None


class Http(Engine):
    """A SPARQL endpoint over HTTP: GET ``?query=``, one keep-alive connection."""

    base = ""
    conn: http.client.HTTPConnection | None = None
    budget = 60.0
    """Seconds a query may take; the client gives up after it (and the service's deadline is
    set to it)."""

    def run(self, work: Workload) -> Answer:
        path = "/sparql?" + urlencode({"query": work.text})
        for attempt in (0, 1):
            began = time.perf_counter()  # (a retry on a fresh connection is timed alone)
            if self.conn is None:
                host, port = self.base.removeprefix("http://").split(":")
                self.conn = http.client.HTTPConnection(host, int(port), timeout=self.budget + 5)
            try:
                self.conn.request("GET", path, headers={"Accept": work.accept,
                                                        "User-Agent": AGENT})
                reply = self.conn.getresponse()
                body = reply.read()
                # Timed up to the last byte read, not the row count below: raw pyoxigraph
                # (Child) times the engine and the serialisation only, so parsing the body
                # here (json.loads: 40 ms for 2.7 MB) would be charged to this side alone.
                seconds = time.perf_counter() - began
                break
            except TimeoutError:
                self.conn.close()
                self.conn = None
                return Answer(504, 0, 0, error=f"no answer within {self.budget + 5:.0f} s")
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        # Ours says so in X-SPARQL-Truncated; Virtuoso sends an SQL state with a partial
        # ("anytime") answer cut at its own time or row limit.
        truncated = (reply.getheader("X-SPARQL-Truncated") == "true"
                     or reply.getheader("X-SQL-State") is not None)
        if reply.status != 200:
            return Answer(reply.status, 0, len(body), error=body[:300].decode(errors="replace"),
                          seconds=seconds)
        return Answer(200, count_rows(body, work.form), len(body), truncated, seconds=seconds)

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Service(Http):
    """Our service under gunicorn (see the module)."""

    def __init__(self, name: str, prepared: Prepared, work: Path, *, cache: bool, budget: float,
                 row_cap: int | None = None, remote: VirtuosoEngine | None = None) -> None:
        self.name, self.prepared, self.work, self.budget = name, prepared, work, budget
        # wrk is one client: the per-client limit would otherwise answer 429 to most of it.
        self.settings: dict[str, object] = {"per_client_queries": 64, "deadline": budget}
        if not cache:
            self.settings["result_cache_bytes"] = 0
        if row_cap is not None:
            self.settings["row_cap"] = row_cap
            self.only_when_cut = row_cap == 0
        self.remote = remote
        self.stack = ExitStack()
        self.server: GunicornServer | None = None

    def start(self) -> None:
        if self.remote is not None:
            assert self.remote.server is not None
            self.settings.update(store="sparql", sparql_query_url=self.remote.server.query_url)
        log = self.work / f"{self.name.replace(' ', '-').replace(',', '')}.log"
        env = {**os.environ, "TMPDIR": str(self.work)}
        began = time.perf_counter()
        self.server = self.stack.enter_context(
            gunicorn_server(self.prepared.dataset, log, env=env, **self.settings))
        self.start_seconds = time.perf_counter() - began
        self.base = self.server.base

    def pss(self) -> float:
        return pss_mib(self.server.proc.pid) if self.server else 0.0

    def pids(self) -> list[int]:
        return [self.server.proc.pid] if self.server else []

    def stop(self) -> None:
        super().stop()
        self.stack.close()
        self.server = None


class VirtuosoEngine(Http):
    """Virtuoso 7.2 over its own endpoint (see the module)."""

    BUFFERS = 170_000
    DIRTY = 6_000

    def __init__(self, prepared: Prepared, budget: float) -> None:
        self.name, self.prepared, self.budget = "Virtuoso", prepared, budget
        self.folder = prepared.folder / "virtuoso"
        self.server: VirtuosoServer | None = None

    def _server(self) -> VirtuosoServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        return VirtuosoServer(self.folder, free_port(), free_port(), buffers=self.BUFFERS,
                              dirty=self.DIRTY)

    @property
    def loaded(self) -> bool:
        phase = self.prepared.phases.get("Virtuoso load")
        return phase is not None and phase.done

    def load(self) -> None:
        """Load the dataset unless the database already holds it (the load record says), or
        a load of it already failed (recorded with the store's message: a retry would take as
        long and fail the same way)."""
        from ketamine_ed_kg.errors import StoreError
        from ketamine_ed_kg.release import dataset_version
        from ketamine_ed_kg.store.upload import load_release, read_record

        phase = self.prepared.phases.get("Virtuoso load")
        if phase is not None and not phase.done:
            return
        server = self._server()
        server.start()
        began = time.perf_counter()
        try:
            record = read_record(server.query_url)
            if record is not None and record.tag == dataset_version(self.prepared.dataset).tag:
                return
            with store_credentials():
                report = load_release(self.prepared.dataset, query_url=server.query_url,
                                      graph_store_url=server.graph_store_url,
                                      update_url=server.update_url)
            self.prepared.phases["Virtuoso load"] = Phase(
                report.seconds, pss_mib(server.proc.pid) if server.proc else 0.0,
                note="peak column: PSS after the load; " + ", ".join(
                    f"{k} {v:.1f} s" for k, v in report.timings.items()))
        except StoreError as exc:
            self.prepared.phases["Virtuoso load"] = Phase(
                time.perf_counter() - began, pss_mib(server.proc.pid) if server.proc else 0.0,
                done=False, note="failed: " + " ".join(str(exc).split())[:240])
        finally:
            self.prepared.save()
            server.stop()

    def start(self) -> None:
        self.load()
        began = time.perf_counter()
        self.server = self._server()
        self.server.start()
        self.base = self.server.base
        self.run_first()
        self.start_seconds = time.perf_counter() - began

    def run_first(self) -> None:
        self.run(Workload("first", "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "select", "probe"))

    def pss(self) -> float:
        return pss_mib(self.server.proc.pid) if self.server and self.server.proc else 0.0

    def pids(self) -> list[int]:
        return [self.server.proc.pid] if self.server and self.server.proc else []

    def stop(self) -> None:
        super().stop()
        if self.server is not None:
            self.server.stop()
            self.server = None


CHILD = """
import io, json, sys, time
LOAD
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    began = time.perf_counter()
    try:
        body = RUN
        reply = {"seconds": time.perf_counter() - began, "bytes": len(body), "error": ""}
        if job["form"] == "graph":
            reply["rows"] = sum(1 for l in body.splitlines() if l.strip())
        elif job["form"] == "ask":
            reply["rows"] = 1
        else:
            reply["rows"] = len(json.loads(body)["results"]["bindings"])
    except Exception as exc:
        reply = {"seconds": time.perf_counter() - began, "bytes": 0, "rows": 0,
                 "error": f"{type(exc).__name__}: {exc}"[:300]}
    print(json.dumps(reply), flush=True)
"""
RAW_LOAD = """import pyoxigraph as ox
store = ox.Store()
store.load(path=sys.argv[1], format=ox.RdfFormat.N_QUADS)
def run(text, form):
    out = io.BytesIO()
    result = store.query(text, use_default_graph_as_union=True)
    if isinstance(result, ox.QueryTriples):
        result.serialize(out, format=ox.RdfFormat.N_TRIPLES)
    else:
        result.serialize(out, format=ox.QueryResultsFormat.JSON)
    return out.getvalue()
"""
RDFLIB_LOAD = """from rdflib import Dataset
data = Dataset(default_union=True)
data.parse(sys.argv[1], format="nquads")
def run(text, form):
    return data.query(text).serialize(format="nt" if form == "graph" else "json") or b""
"""


class Child(Engine):
    """An engine in a child process that times itself (engine and serialisation, not the
    pipe); a query past ``budget`` seconds is stopped by killing the child, which is started
    again for the next query."""

    load_code = ""

    def __init__(self, name: str, prepared: Prepared, budget: float) -> None:
        self.name, self.prepared, self.budget = name, prepared, budget
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        began = time.perf_counter()
        code = CHILD.replace("LOAD", self.load_code).replace("RUN", 'run(job["text"], job["form"])')
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(self.prepared.dataset)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        if not self.proc.stdout.readline():
            raise RuntimeError(f"{self.name} could not load the dataset")
        self.run(Workload("first", "ASK { ?s ?p ?o }", "ask", "probe"))
        self.start_seconds = time.perf_counter() - began

    def run(self, work: Workload) -> Answer:
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"text": work.text, "form": work.form}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], self.budget)
        if not ready:
            self.stop()
            return Answer(504, 0, 0, error=f"over the budget of {self.budget:.0f} s",
                          seconds=self.budget)
        reply = json.loads(self.proc.stdout.readline())
        if reply["error"]:
            return Answer(400, 0, 0, error=reply["error"], seconds=reply["seconds"])
        return Answer(200, reply["rows"], reply["bytes"], seconds=reply["seconds"])

    def pss(self) -> float:
        return pss_mib(self.proc.pid) if self.proc else 0.0

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self.proc = None


class Raw(Child):
    """pyoxigraph in process, the result serialised (JSON, N-Triples): the engine's limit."""

    load_code = RAW_LOAD

    def __init__(self, prepared: Prepared, budget: float) -> None:
        super().__init__("raw pyoxigraph", prepared, budget)


class Rdflib(Child):
    """rdflib's SPARQL engine over a ``Dataset`` with the default graph as the union."""

    load_code = RDFLIB_LOAD

    def __init__(self, prepared: Prepared, budget: float) -> None:
        super().__init__("rdflib", prepared, budget)


__all__ = ["Answer", "Child", "Engine", "Raw", "Rdflib", "Service", "VirtuosoEngine",
           "count_rows"]
