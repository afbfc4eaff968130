"""Query processes: sealed off the network by the OS, memory-capped, and self-healing.

These tests go below the query parse on purpose: a SERVICE query handed straight to a query
process (a trusted ``query`` job, which no parse inspects) must still open no connection.
"""

from __future__ import annotations

import fcntl
import http.client
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
import pytest

from ketamine_ed_kg.config import ServiceConfig, load_config
from ketamine_ed_kg.errors import KedError
from ketamine_ed_kg.formats import Format
from ketamine_ed_kg.server.pool import LOG_DIR_PREFIX, WorkerPool
from ketamine_ed_kg.server.run import LiveServer
from ketamine_ed_kg.server.state import ServiceState
from ketamine_ed_kg.store import Job, JobKind, QueryError
from support.server import Listener, gunicorn_server, request, waitress_server, write_dataset

EX = "http://example.org/"
DATA = "".join(f"<{EX}s{i}> <{EX}p> \"{i}\" .\n" for i in range(200))
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("isolation") / "dataset.nq",
                         {EX + "g": (DATA, ox.RdfFormat.N_TRIPLES)})


def pool_config(dataset: Path, **overrides: object) -> ServiceConfig:
    settings: dict[str, object] = {"dataset": dataset, "workers": 2}
    settings.update(overrides)
    return load_config(settings, environ={})


def state_of(server: LiveServer) -> ServiceState:
    found: ServiceState = server.app.extensions["ketamine_ed_kg"]
    return found


def wait_for(condition: Callable[[], object], what: str) -> None:
    """Poll ``condition`` for up to a minute; fail naming ``what``."""
    for _ in range(600):
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"never happened: {what}")


# --- layer (b): the operating system forbids the network ----------------------------------

@pytest.mark.parametrize("silent", ["", "SILENT "])
def test_service_handed_straight_to_a_query_process_opens_no_connection(
        dataset: Path, listener: Listener, silent: str) -> None:
    pool = WorkerPool(pool_config(dataset))
    try:
        query = (f"SELECT * WHERE {{ SERVICE {silent}<http://127.0.0.1:{listener.port}/sparql> "
                 "{ ?s ?p ?o } }")
        job = Job(JobKind.QUERY, query, result_format=Format.JSON)
        try:
            result = pool.run(job, time.monotonic() + 20)
            body = b"".join(result.body)
        except QueryError as exc:
            assert exc.kind == "evaluation"
            assert "ermission" in exc.message or "not permitted" in exc.message, exc.message
        else:
            assert silent, "a non-silent SERVICE that could not connect must fail"
            assert b'"bindings"' in body
        # The same worker pool still answers (no worker was lost to the refusal).
        ok = pool.run(Job(JobKind.QUERY, f"ASK {{ <{EX}s1> ?p ?o }}"), time.monotonic() + 20)
        assert b"true" in b"".join(ok.body)
    finally:
        pool.close()
    assert listener.accepted == 0


@pytest.mark.slow
def test_without_seccomp_the_service_refuses_to_start(
        dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A pyseccomp that cannot load libseccomp, as on a system without it.
    fake = tmp_path / "no-seccomp"
    fake.mkdir()
    (fake / "pyseccomp.py").write_text(
        "raise OSError('libseccomp.so.2: cannot open shared object file')\n")
    monkeypatch.setenv("PYTHONPATH", f"{fake}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    with pytest.raises(KedError, match="allow_unsandboxed"):
        WorkerPool(pool_config(dataset))
    pool = WorkerPool(pool_config(dataset, allow_unsandboxed=True))
    try:
        result = pool.run(Job(JobKind.QUERY, "ASK {}"), time.monotonic() + 20)
        assert b"true" in b"".join(result.body)
    finally:
        pool.close()


# --- healing ------------------------------------------------------------------------

@pytest.mark.deadline
def test_killed_idle_worker_is_replaced_before_the_next_client(dataset: Path) -> None:
    with waitress_server(dataset, workers=2) as server:
        pool = state_of(server).service
        assert isinstance(pool, WorkerPool)
        for pid in pool.worker_pids():
            os.kill(pid, signal.SIGKILL)
        for _ in range(4):
            reply = request(f"{server.endpoint}?" + urlencode({"query": "ASK { ?s ?p ?o }"}))
            assert reply.status == 200, reply.text
        assert pool.stats()["workers"] == 2


@pytest.mark.deadline
def test_killed_zygote_is_replaced(dataset: Path) -> None:
    with waitress_server(dataset, workers=2) as server:
        pool = state_of(server).service
        assert isinstance(pool, WorkerPool)
        os.kill(pool.zygote_pid(), signal.SIGKILL)
        wait_for(lambda: pool._zygote.poll() is not None, "the zygote died")
        # Its workers die with it (PR_SET_PDEATHSIG); every next request is served.
        for _ in range(6):
            reply = request(f"{server.endpoint}?" + urlencode({"query": "ASK { ?s ?p ?o }"}))
            assert reply.status == 200, reply.text
        assert pool.stats()["zygote_starts"] == 2


@pytest.mark.deadline
def test_worker_killed_mid_query_gives_503_and_is_replaced(dataset: Path) -> None:
    with waitress_server(dataset, workers=2, deadline=60) as server:
        pool = state_of(server).service
        assert isinstance(pool, WorkerPool)
        replies: list[int] = []
        thread = threading.Thread(target=lambda: replies.append(request(
            f"{server.endpoint}?" + urlencode({"query": RUNAWAY})).status))
        thread.start()
        wait_for(lambda: state_of(server).limiter.running() == 1, "the query started")
        time.sleep(0.5)
        busy = [pid for pid in pool.worker_pids()]
        for pid in busy:
            os.kill(pid, signal.SIGKILL)
        thread.join(timeout=60)
        assert replies == [503]
        reply = request(f"{server.endpoint}?" + urlencode({"query": "ASK { ?s ?p ?o }"}))
        assert reply.status == 200


# --- bounded resources ---------------------------------------------------------------

@pytest.mark.deadline
def test_memory_cap_stops_a_query_with_a_clear_error(dataset: Path) -> None:
    query = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c OPTIONAL { ?d ?e ?f "
             "OPTIONAL { ?g ?h ?i OPTIONAL { ?j ?k ?l } } } }")
    with waitress_server(dataset, max_query_memory=200 << 20, deadline=120) as server:
        reply = request(f"{server.endpoint}?" + urlencode({"query": query}))
        assert reply.status == 503, reply.text
        assert "max_query_memory" in reply.text
        assert (reply.header("content-type") or "").startswith("text/plain")
        again = request(f"{server.endpoint}?" + urlencode({"query": "ASK { ?s ?p ?o }"}))
        assert again.status == 200


@pytest.mark.deadline
def test_per_client_limit(dataset: Path) -> None:
    with waitress_server(dataset, per_client_queries=1, deadline=60, workers=3) as server:
        url = f"{server.endpoint}?" + urlencode({"query": RUNAWAY, "timeout": "5"})
        first: list[int] = []
        thread = threading.Thread(target=lambda: first.append(
            request(url, headers={"User-Agent": "runaway"}).status))
        thread.start()
        wait_for(lambda: state_of(server).limiter.running() == 1, "the runaway started")
        second = request(url, headers={"User-Agent": "runaway"})
        assert second.status == 429
        assert second.header("retry-after")
        other = request(f"{server.endpoint}?" + urlencode({"query": "ASK { ?s ?p ?o }"}),
                        headers={"User-Agent": "someone else"})
        assert other.status == 200
        thread.join(timeout=60)
        assert first == [503]


@pytest.mark.deadline
@pytest.mark.parametrize(("hops", "other_status"), [(1, 200), (0, 429)])
def test_per_client_limit_behind_a_proxy(dataset: Path, hops: int, other_status: int) -> None:
    """With ``forwarded_hops = 1`` (behind HAProxy) a client is its X-Forwarded-For address:
    clients sharing the proxy's address and a User-Agent are counted apart. Without it the
    header is ignored, so no client escapes its limit by sending one."""
    ask = "?" + urlencode({"query": "ASK { ?s ?p ?o }"})
    with waitress_server(dataset, per_client_queries=1, deadline=60, workers=3,
                         forwarded_hops=hops) as server:
        url = f"{server.endpoint}?" + urlencode({"query": RUNAWAY, "timeout": "5"})
        first: list[int] = []
        thread = threading.Thread(target=lambda: first.append(request(url, headers={
            "User-Agent": "browser", "X-Forwarded-For": "192.0.2.1"}).status))
        thread.start()
        wait_for(lambda: state_of(server).limiter.running() == 1, "the runaway started")
        same = request(server.endpoint + ask, headers={
            "User-Agent": "browser", "X-Forwarded-For": "192.0.2.1"})
        other = request(server.endpoint + ask, headers={
            "User-Agent": "browser", "X-Forwarded-For": "192.0.2.2"})
        thread.join(timeout=60)
        assert same.status == 429
        assert other.status == other_status, other.text
        assert first == [503]


@pytest.mark.deadline
def test_query_of_a_departed_client_is_cancelled(dataset: Path) -> None:
    with waitress_server(dataset, deadline=120) as server:
        pool = state_of(server).service
        assert isinstance(pool, WorkerPool)
        kills = pool.stats()["kills"]
        conn = socket.create_connection(("127.0.0.1", server.port))
        path = "/sparql?" + urlencode({"query": RUNAWAY})
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        wait_for(lambda: state_of(server).limiter.running() == 1, "the query started")
        conn.close()
        wait_for(lambda: pool.stats()["kills"] > kills, "the abandoned query was stopped")
        wait_for(lambda: state_of(server).limiter.running() == 0, "its slot was released")



def test_a_job_whose_worker_dies_before_reading_it_runs_on_a_fresh_one(dataset: Path) -> None:
    """A worker that dies with the job still queued to it never ran it: the job goes to a
    fresh worker (the kernel resets the socket of a process closed with unread bytes)."""
    pool = WorkerPool(pool_config(dataset, workers=1))
    try:
        [pid] = pool.worker_pids()
        sock = pool._all[pid].sock
        os.kill(pid, signal.SIGSTOP)  # alive, so handed the job, but it cannot read it
        job = Job(JobKind.QUERY, f"SELECT ?s WHERE {{ ?s <{EX}p> ?o }}",
                  result_format=Format.CSV)
        bodies: list[bytes] = []
        thread = threading.Thread(target=lambda: bodies.append(
            b"".join(pool.run(job, time.monotonic() + 60).body)))
        thread.start()
        # Bytes written to a Unix socket and not yet read by its peer (SIOCOUTQ).
        wait_for(lambda: struct.unpack("i", fcntl.ioctl(sock, termios.TIOCOUTQ, b"\0" * 4))[0],
                 "the job was sent to the stopped worker")
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=60)
        assert len(bodies) == 1 and bodies[0].count(b"\n") == 201
        assert pool.stats()["kills"] == 1
        assert pid not in pool.worker_pids()
    finally:
        pool.close()


def test_a_reader_that_stops_after_a_complete_answer_keeps_its_worker(dataset: Path) -> None:
    """A client that leaves once its query has finished (the answer complete, only its bytes
    in flight) costs no kill: the rest is read, and the same process serves the next job."""
    pool = WorkerPool(pool_config(dataset, workers=1))
    try:
        job = Job(JobKind.QUERY, f"SELECT ?s WHERE {{ ?s <{EX}p> ?o }}",
                  result_format=Format.CSV)
        result = pool.run(job, time.monotonic() + 30)
        assert result.meta.complete
        next(iter(result.body))  # the first chunk; then the reader goes away
        pids = pool.worker_pids()
        result.close()
        assert pool.stats()["kills"] == 0
        assert pool.worker_pids() == pids and pool.stats()["idle"] == 1
        again = pool.run(job, time.monotonic() + 30)
        assert b"".join(again.body).count(b"\n") == 201
        assert pool.worker_pids() == pids
    finally:
        pool.close()

# --- engine defects --------------------------------------------------------------------

MIXED = "".join(f"<{EX}m{i}> <{EX}v> {value} .\n" for i, value in enumerate(
    [*(f'"{n}"^^<http://www.w3.org/2001/XMLSchema#integer>' for n in range(25)),
     *(f'"{n}z"' for n in range(25))]))
"""Integers and strings mixed: pyoxigraph 0.5.13's ORDER BY comparator cycles on them and,
past 20 values, the process aborts (engine_defects.py)."""


def test_order_by_abort_below_the_rewrite_is_named_and_the_pool_survives(
        tmp_path: Path) -> None:
    mixed = write_dataset(tmp_path / "mixed.nq", {EX + "g": (MIXED, ox.RdfFormat.N_TRIPLES)})
    pool = WorkerPool(pool_config(mixed))
    try:
        # A trusted job skips the parse, hence the ORDER BY rewrite: the engine aborts.
        job = Job(JobKind.QUERY, f"SELECT ?o WHERE {{ ?s <{EX}v> ?o }} ORDER BY ?o",
                  result_format=Format.JSON)
        with pytest.raises(QueryError) as caught:
            b"".join(pool.run(job, time.monotonic() + 20).body)
        assert caught.value.kind == "engine-defect", caught.value.message
        assert "ORDER BY STR(?x)" in caught.value.message
        ok = pool.run(Job(JobKind.QUERY, f"ASK {{ <{EX}m1> ?p ?o }}"), time.monotonic() + 20)
        assert b"true" in b"".join(ok.body)
        assert pool.stats()["workers"] == 2
    finally:
        pool.close()


# --- the HTTP process --------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found.extend(int(p) for p in text.split())
    return found


@pytest.mark.deadline
def test_killed_http_process_is_replaced_and_its_query_processes_go(
        dataset: Path, tmp_path: Path) -> None:
    with gunicorn_server(dataset, tmp_path / "gunicorn.log", workers=2) as server:
        url = f"{server.endpoint}?" + urlencode({"query": "ASK { ?s ?p ?o }"})
        (http_process,) = _children(server.proc.pid)
        zygotes = _children(http_process)
        assert zygotes, "the HTTP process runs a zygote"
        statuses: list[int] = []
        stop = threading.Event()

        def client(name: str) -> None:
            while not stop.is_set():
                try:
                    statuses.append(request(url, headers={"User-Agent": name},
                                            timeout=30).status)
                except (OSError, http.client.HTTPException):
                    # The connection the killed process held: refused, reset, or cut
                    # mid-response (IncompleteRead).
                    statuses.append(0)

        clients = [threading.Thread(target=client, args=(f"client {i}",)) for i in range(4)]
        for thread in clients:
            thread.start()
        wait_for(lambda: len(statuses) > 20, "requests were served")
        os.kill(http_process, signal.SIGKILL)
        wait_for(lambda: [p for p in _children(server.proc.pid) if p != http_process],
                 "gunicorn started a new HTTP process")
        served = len(statuses)
        wait_for(lambda: statuses[served:].count(200) > 20, "the new process served requests")
        stop.set()
        for thread in clients:
            thread.join(timeout=60)
        # The killed process's zygote (and its query processes) died with it.
        wait_for(lambda: not any(Path(f"/proc/{z}").exists() for z in zygotes),
                 "the orphaned zygote exited")
        assert set(statuses) <= {200, 0}, sorted(set(statuses))
        assert statuses.count(0) <= 4


def test_worker_logs_of_a_killed_http_process_are_removed_by_the_next_pool(
        dataset: Path) -> None:
    """SIGKILL gives the HTTP process no chance to remove its worker-log folder (the OOM
    killer does the same); the next pool to start finds the owner gone and removes it."""
    code = ("import sys, time\n"
            "from ketamine_ed_kg.config import load_config\n"
            "from ketamine_ed_kg.server.pool import WorkerPool\n"
            "pool = WorkerPool(load_config({'dataset': sys.argv[1], 'workers': 1}, environ={}))\n"
            "print('up', flush=True)\n"
            "time.sleep(600)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(dataset)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "up\n"
        left = list(Path(tempfile.gettempdir()).glob(f"{LOG_DIR_PREFIX}{child.pid}-*"))
        assert len(left) == 1, left
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert left[0].exists()
    pool = WorkerPool(pool_config(dataset, workers=1))
    try:
        assert not left[0].exists()
        assert pool.stats()["workers"] == 1
    finally:
        pool.close()
