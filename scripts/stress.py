#!/usr/bin/env python
"""Stress the production service and write docs/reliability.md.

Usage: ``python scripts/stress.py [--quick] [--out docs/reliability.md] [--seed N]``
(``make stress``). Not part of the unit tests.

It runs ``ketamine-ed-kg build``, starts ``ketamine-ed-kg serve`` (gunicorn, the default
configuration) on a free 127.0.0.1 port in its own process group, and stops it at the end. All
traffic goes to 127.0.0.1; every loop is bounded in count and in time. The phases:

a. fuzz: at least 10,000 requests drawn by the generators of tests/test_protocol_fuzz.py
   (8 client threads, each its own User-Agent); a URL without ``timeout=`` gets
   ``timeout=2``, so a runaway seed costs 2 s rather than the 30 s deadline;
b. load: 32 clients (each its own User-Agent) for 60 s on the example queries (queries/*.ttl,
   parameters unbound) and the quality-control queries (queries/qc/*.rq);
c. runaways: 8 concurrent cross products (User-Agent ``stress-runaway``) while side queries
   (User-Agent ``stress-side``) are timed;
d. slow clients: 32 connections sending a request at 1 byte/s, while side queries are timed;
e. the memory-cap query.

RSS of every service process (the gunicorn arbiter, HTTP processes, the zygote and the query
processes: the process tree under the serve process, read from /proc) is sampled every 10 s.
The report gives requests by status, throughput, p50/p99, errors and RSS, and PASS/FAIL for the
goals: no errors under load (no 5xx other than a 503 at the deadline or the memory cap, no
connection errors), total RSS flat within 10 %, side queries' p99 under 250 ms while runaways
run. ``--quick`` runs a short version (counts and durations cut).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))  # support/ and the fuzz generators

from ketamine_ed_kg.examples import load_examples  # noqa: E402
from test_protocol_fuzz import (  # noqa: E402
    Answer,
    RandomSource,
    RawRequest,
    fuzz_request,
    send,
)

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
MEMORY_CAP = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c OPTIONAL { ?d ?e ?f "
              "OPTIONAL { ?g ?h ?i } } }")
SIDE_QUERIES = (
    "ASK { ?s ?p ?o }",
    "SELECT ?s ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l } LIMIT 20",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/ketamine-ed/ontology/Study> }",
)
JSON = "application/sparql-results+json"
HARD_CAP = 3600.0
"""No phase may run longer than this many seconds, whatever the settings."""


@dataclass
class Settings:
    fuzz_requests: int = 10_000
    fuzz_seconds: float = 1200
    fuzz_threads: int = 8
    load_clients: int = 32
    load_seconds: float = 60
    runaways: int = 8
    runaway_seconds: float = 75
    runaway_timeout: str | None = None
    slow_clients: int = 32
    slow_seconds: float = 40
    memory_rounds: int = 3
    sample_every: float = 10


QUICK = Settings(fuzz_requests=600, fuzz_seconds=120, load_clients=8, load_seconds=10,
                 runaways=8, runaway_seconds=20, runaway_timeout="8", slow_clients=8,
                 slow_seconds=15, memory_rounds=1, sample_every=2)


# --- the service ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """``ketamine-ed-kg serve`` in its own process group on a free port."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KETAMINE_ED_KG_")}
        env.update({"KETAMINE_ED_KG_HOST": "127.0.0.1", "KETAMINE_ED_KG_PORT": str(self.port)})
        command = [str(Path(sys.executable).parent / "ketamine-ed-kg"), "--root", str(ROOT),
                   "serve"]
        self.log = log
        with log.open("w", encoding="utf-8") as out:
            self.proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out,
                                         start_new_session=True)
        self.started = time.perf_counter()
        until = time.monotonic() + 180
        while time.monotonic() < until:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited ({self.proc.returncode}); see {log}")
            try:
                if query(self.port, "ASK {}", "stress-start")[0] == 200:
                    self.startup_seconds = time.perf_counter() - self.started
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the service did not answer within 180 s; see {log}")

    def stop(self) -> None:
        """SIGTERM to the service's own process group, SIGKILL if it lingers."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def query(port: int, text: str, agent: str, conn: http.client.HTTPConnection | None = None,
          extra: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, bytes]:
    """GET one query (on ``conn`` if given, kept alive)."""
    connection = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/sparql?" + urlencode({"query": text, **(extra or {})}),
                           headers={"Accept": JSON, "User-Agent": agent})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        if conn is None:
            connection.close()


# --- processes and memory ------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            "utf-8", "replace")
    except OSError:
        return None
    ppid = int(raw[raw.rindex(")") + 2:].split()[1])
    return ppid, cmdline


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def service_processes(root_pid: int) -> list[tuple[int, str, int]]:
    """(pid, role, RSS KiB) of the serve process and all its descendants."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None:
                children[found[0]].append(int(entry.name))
                commands[int(entry.name)] = found[1]
    out: list[tuple[int, str, int]] = []
    stack = [(root_pid, 0, "")]
    while stack:
        pid, depth, parent_role = stack.pop()
        command = commands.get(pid, "")
        if depth == 0:
            role = "gunicorn arbiter"
        elif parent_role in ("zygote", "query process"):
            role = "query process"  # forked by the zygote: same command line
        elif "zygote" in command:
            role = "zygote"
        elif depth == 1:
            role = "HTTP process"
        else:
            role = "other"
        out.append((pid, role, _rss_kib(pid)))
        stack += [(child, depth + 1, role) for child in children.get(pid, [])]
    return out


class Sampler(threading.Thread):
    """RSS by role every ``every`` seconds, tagged with the phase running then."""

    def __init__(self, root_pid: int, every: float) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.every = every
        self.phase = "start"
        self.samples: list[tuple[float, str, dict[str, tuple[int, int]]]] = []
        self.stopped = threading.Event()
        self.t0 = time.monotonic()

    def sample(self) -> None:
        by_role: dict[str, tuple[int, int]] = {}
        for _pid, role, rss in service_processes(self.root_pid):
            count, total = by_role.get(role, (0, 0))
            by_role[role] = (count + 1, total + rss)
        self.samples.append((time.monotonic() - self.t0, self.phase, by_role))

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            self.sample()


# --- measurements ----------------------------------------------------------------------------

@dataclass
class Tally:
    """Statuses, latencies and errors of one phase (thread-safe)."""

    name: str
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int | str, latency: float | None = None,
            error: str | None = None) -> None:
        with self.lock:
            self.statuses[str(status)] += 1
            if latency is not None:
                self.latencies.append(latency)
            if error is not None and len(self.errors) < 1000:
                self.errors.append(error)

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


def allowed_5xx(status: int, body: bytes) -> bool:
    """A 503 at the deadline or over the memory cap is an answer, not an error."""
    text = body.decode("utf-8", "replace").lower()
    return status == 503 and ("deadline" in text or "memory" in text)


def judge(tally: Tally, status: int, body: bytes, latency: float, what: str) -> None:
    error = None
    if status >= 500 and not allowed_5xx(status, body):
        error = f"{what} -> {status} {body[:200]!r}"
    tally.add(status, latency, error)


def explain_head(port: int, req: RawRequest, answer: Answer) -> bytes:
    """The body that says why a request failed. A HEAD answer has none (it carries GET's
    headers only), so a 5xx to HEAD is judged by the body of the same request sent as GET."""
    if req.method.upper() != "HEAD" or answer.status < 500:
        return answer.body
    try:
        again = send(port, RawRequest("GET", req.target, req.headers, req.body), timeout=120)
    except (OSError, http.client.HTTPException):
        return answer.body
    return again.body if again.status == answer.status else answer.body


def run_threads(count: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HARD_CAP)


# --- phases ------------------------------------------------------------------------------------

def with_timeout(req: RawRequest) -> RawRequest:
    """The same request with ``timeout=2`` in its URL when the URL has no timeout."""
    if b"timeout=" in req.target:
        return req
    joiner = b"&" if b"?" in req.target else b"?"
    return RawRequest(req.method, req.target + joiner + b"timeout=2", req.headers, req.body)


def phase_fuzz(port: int, s: Settings, seed: int) -> tuple[Tally, collections.Counter[str]]:
    tally = Tally("a. fuzz")
    properties: collections.Counter[str] = collections.Counter()
    source = RandomSource(seed)
    lock = threading.Lock()
    issued = 0
    stop_at = time.monotonic() + min(s.fuzz_seconds, HARD_CAP)

    def next_request() -> RawRequest | None:
        nonlocal issued
        with lock:
            if issued >= s.fuzz_requests or time.monotonic() > stop_at:
                return None
            issued += 1
            return with_timeout(fuzz_request(source))

    def client(i: int) -> None:
        agent = (b"User-Agent", f"stress-fuzz-{i}".encode())
        while (req := next_request()) is not None:
            req.headers.append(agent)
            t0 = time.perf_counter()
            try:
                answer: Answer = send(port, req, timeout=120)
            except (OSError, http.client.HTTPException) as exc:
                tally.add("connection error", error=f"{req.wire()[:200]!r}: {exc!r}")
                continue
            latency = time.perf_counter() - t0
            judge(tally, answer.status, explain_head(port, req, answer), latency,
                  repr(req.wire()[:300]))
            ctype = answer.headers.get("content-type", "")
            if answer.status >= 400 and not ctype.startswith("text/plain"):
                properties["error body not text/plain"] += 1
            if answer.headers.get("x-content-type-options") != "nosniff":
                properties["no X-Content-Type-Options: nosniff"] += 1
            if answer.error is not None:
                properties["body cut"] += 1

    t0 = time.monotonic()
    run_threads(s.fuzz_threads, client)
    tally.seconds = time.monotonic() - t0
    return tally, properties


def example_mix() -> list[str]:
    texts = [e.query for e in load_examples(ROOT / "queries")]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "queries" / "qc").glob("*.rq"))]
    return texts


def phase_load(port: int, s: Settings) -> Tally:
    tally = Tally(f"b. load ({s.load_clients} clients, example queries)")
    mix = example_mix()
    stop_at = time.monotonic() + min(s.load_seconds, HARD_CAP)

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        n = i
        while time.monotonic() < stop_at:
            text = mix[n % len(mix)]
            n += 1
            t0 = time.perf_counter()
            try:
                status, body = query(port, text, f"stress-mix-{i}", conn)
            except (OSError, http.client.HTTPException) as exc:
                tally.add("connection error", error=f"mix query {n % len(mix)}: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                continue
            judge(tally, status, body, time.perf_counter() - t0, f"mix query {n % len(mix)}")
        conn.close()

    t0 = time.monotonic()
    run_threads(s.load_clients, client)
    tally.seconds = time.monotonic() - t0
    return tally


def side_queries(port: int, tally: Tally, done: threading.Event, agent: str) -> None:
    """One side client: small queries back to back until ``done``, each timed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    n = 0
    bound = time.monotonic() + HARD_CAP
    while not done.is_set() and time.monotonic() < bound:
        text = SIDE_QUERIES[n % len(SIDE_QUERIES)]
        n += 1
        t0 = time.perf_counter()
        try:
            status, body = query(port, text, agent, conn)
        except (OSError, http.client.HTTPException) as exc:
            tally.add("connection error", error=f"side query: {exc!r}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            continue
        judge(tally, status, body, time.perf_counter() - t0, f"side query {text!r}")
        time.sleep(0.05)
    conn.close()


def phase_runaways(port: int, s: Settings) -> tuple[Tally, Tally]:
    runaway = Tally(f"c. runaways ({s.runaways} x cross product)")
    side = Tally("c. side queries while runaways run")
    stop_at = time.monotonic() + min(s.runaway_seconds, HARD_CAP)
    done = threading.Event()
    extra = {"timeout": s.runaway_timeout} if s.runaway_timeout else None

    def run_away(_: int) -> None:
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            try:
                status, body = query(port, RUNAWAY, "stress-runaway", extra=extra, timeout=300)
            except (OSError, http.client.HTTPException) as exc:
                runaway.add("connection error", error=f"runaway: {exc!r}")
                continue
            judge(runaway, status, body, time.perf_counter() - t0, "runaway")
            if status == 429:
                time.sleep(1)  # Retry-After

    sides = [threading.Thread(target=side_queries, args=(port, side, done, "stress-side"),
                              daemon=True)]
    t0 = time.monotonic()
    for t in sides:
        t.start()
    time.sleep(0.5)
    run_threads(s.runaways, run_away)
    done.set()
    for t in sides:
        t.join(HARD_CAP)
    runaway.seconds = side.seconds = time.monotonic() - t0
    return runaway, side


def phase_slow(port: int, s: Settings) -> tuple[Tally, Tally]:
    slow = Tally(f"d. slow clients ({s.slow_clients} x 1 byte/s)")
    side = Tally("d. side queries while slow clients trickle")
    stop_at = time.monotonic() + min(s.slow_seconds, HARD_CAP)
    done = threading.Event()
    request_bytes = ("GET /sparql?" + urlencode({"query": "ASK {}"}) + " HTTP/1.1\r\n"
                     "Host: 127.0.0.1\r\nUser-Agent: stress-slow\r\n\r\n").encode()

    def trickle(_: int) -> None:
        t0 = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                for byte in request_bytes:
                    if time.monotonic() > stop_at:
                        slow.add("gave up (phase over)", time.monotonic() - t0)
                        return
                    try:
                        sock.sendall(bytes([byte]))
                    except OSError:
                        break  # the server closed the connection: what we want to see
                    time.sleep(1)
                sock.settimeout(5)
                try:
                    head = sock.recv(64)
                except OSError:
                    head = b""
            if head.startswith(b"HTTP/1."):
                slow.add(f"answered {head[9:12].decode('ascii', 'replace')}",
                         time.monotonic() - t0)
            else:
                slow.add("closed by the server", time.monotonic() - t0)
        except OSError as exc:
            slow.add("connection error", error=f"slow client: {exc!r}")

    side_thread = threading.Thread(target=side_queries,
                                   args=(port, side, done, "stress-side"), daemon=True)
    t0 = time.monotonic()
    side_thread.start()
    run_threads(s.slow_clients, trickle)
    done.set()
    side_thread.join(HARD_CAP)
    slow.seconds = side.seconds = time.monotonic() - t0
    return slow, side


def phase_memory(port: int, s: Settings) -> Tally:
    tally = Tally("e. memory-cap query")
    t0 = time.monotonic()
    for _ in range(s.memory_rounds):
        start = time.perf_counter()
        try:
            status, body = query(port, MEMORY_CAP, "stress-memory", timeout=300)
        except (OSError, http.client.HTTPException) as exc:
            tally.add("connection error", error=f"memory-cap query: {exc!r}")
            continue
        judge(tally, status, body, time.perf_counter() - start, "memory-cap query")
        tally.errors.append(f"(answer: {status} {body[:200].decode('utf-8', 'replace')!r})")
    tally.seconds = time.monotonic() - t0
    return tally


# --- the report --------------------------------------------------------------------------------

def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.0f}"


def real_errors(tally: Tally) -> list[str]:
    return [e for e in tally.errors if not e.startswith("(answer:")]


def report(tallies: list[Tally], properties: collections.Counter[str], sampler: Sampler,
           service: Service, s: Settings, quick: bool, seed: int, note: str
           ) -> tuple[str, bool]:
    under_load = [t for t in tallies if not t.name.startswith("d. slow clients")]
    errors = [e for t in under_load for e in real_errors(t)]
    connection_errors = sum(t.statuses.get("connection error", 0) for t in under_load)
    totals = [sum(v[1] for v in by_role.values()) for _, _, by_role in sampler.samples]
    warm = [total for (_, phase, _), total in zip(sampler.samples, totals, strict=True)
            if phase == "b. load"]
    baseline = warm[0] if warm else (totals[0] if totals else 0)
    final = totals[-1] if totals else 0
    growth = (final - baseline) / baseline * 100 if baseline else float("nan")
    runaway_side = next(t for t in tallies if t.name.startswith("c. side"))
    p99_side = runaway_side.percentile(0.99)
    goals = [
        ("0 errors under load (no 5xx other than a 503 at the deadline or the memory cap, "
         "no connection errors)", not errors and connection_errors == 0,
         f"{len(errors)} error responses, {connection_errors} connection errors"),
        ("RSS of all service processes flat within 10 % (the sample after every phase has "
         "ended vs the first one in the load phase)", baseline > 0 and abs(growth) <= 10,
         f"{baseline / 1024:.0f} MiB -> {final / 1024:.0f} MiB ({growth:+.1f} %)"),
        ("side queries p99 < 250 ms while runaways run", p99_side < 250,
         f"p99 {_ms(p99_side)} ms over {len(runaway_side.latencies)} side queries"),
    ]
    lines = [
        "# Reliability under stress",
        "",
        "Written by `scripts/stress.py` (`make stress`)" + (" with `--quick` (a short trial "
        "run: counts and durations cut)" if quick else "") + f", seed {seed}. The service is "
        "the production one: `ketamine-ed-kg serve` (gunicorn, default configuration) over "
        "the dataset of `ketamine-ed-kg build`, on 127.0.0.1; the load comes from this "
        "machine." + (f" {note}" if note else ""),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; service start-up {service.startup_seconds:.1f} s.",
        "",
        "## Goals",
        "",
        "| goal | result | measured |",
        "|---|---|---|",
    ]
    lines += [f"| {goal} | {'PASS' if ok else 'FAIL'} | {measured} |"
              for goal, ok, measured in goals]
    lines += [
        "",
        "## Phases",
        "",
        "| phase | requests | seconds | requests/s | p50 ms | p99 ms | by status |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for t in tallies:
        rate = t.count / t.seconds if t.seconds else 0.0
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(t.statuses.items()))
        lines.append(f"| {t.name} | {t.count} | {t.seconds:.0f} | {rate:.1f} | "
                     f"{_ms(t.percentile(0.5))} | {_ms(t.percentile(0.99))} | {statuses} |")
    lines += [
        "",
        "What each phase sends: (a) requests drawn by the generators of "
        "`tests/test_protocol_fuzz.py` (random methods, mutated queries, raw bytes, odd "
        "parameters, Content-Types and Accept headers), `timeout=2` added to URLs without one; "
        f"(b) the {len(example_mix())} example and quality-control queries, one User-Agent "
        "per client; (c) `" + RUNAWAY + "` from every runaway client (one User-Agent, so the "
        "per-client limit answers 429 beyond its share) while one side client asks small "
        "queries; (d) connections that send a request one byte a second; (e) `" + MEMORY_CAP
        + "`.",
        "",
        "## Fuzz properties",
        "",
    ]
    if properties:
        lines += [f"* {name}: {count} responses" for name, count in sorted(properties.items())]
    else:
        lines.append("* every error body text/plain, every response with nosniff, no body cut")
    lines += ["", "## Errors", ""]
    shown = [e for t in tallies for e in t.errors][:40]
    if shown:
        lines += ["```"] + [e.replace("\n", " ")[:400] for e in shown] + ["```"]
    else:
        lines.append("None.")
    lines += [
        "",
        f"## RSS of the service processes (sampled every {s.sample_every:g} s)",
        "",
        "| t (s) | phase | total MiB | by role (processes: MiB) |",
        "|---:|---|---:|---|",
    ]
    for (t_s, phase, by_role), total in zip(sampler.samples, totals, strict=True):
        roles = "; ".join(f"{role} ({count}): {rss / 1024:.0f}"
                          for role, (count, rss) in sorted(by_role.items()))
        lines.append(f"| {t_s:.0f} | {phase} | {total / 1024:.0f} | {roles} |")
    return "\n".join(lines) + "\n", all(ok for _, ok, _ in goals)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (trials)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.md")
    parser.add_argument("--seed", type=int, default=20260417)
    parser.add_argument("--note", default="", help="a sentence for the report's header, e.g. "
                        "which version of the service ran")
    parser.add_argument("--log", type=Path, default=None,
                        help="the service's log (default: build/stress-service.log)")
    args = parser.parse_args(argv)
    s = QUICK if args.quick else Settings()
    cli = str(Path(sys.executable).parent / "ketamine-ed-kg")
    subprocess.run([cli, "--root", str(ROOT), "build"], check=True, cwd=ROOT,
                   timeout=HARD_CAP)
    log = args.log or ROOT / "build" / "stress-service.log"
    service = Service(log)
    sampler = Sampler(service.proc.pid, s.sample_every)
    tallies: list[Tally] = []
    try:
        for text in example_mix()[:5]:  # warm up before the first sample
            query(service.port, text, "stress-warmup")
        sampler.sample()
        sampler.start()

        def phase(name: str, run: Callable[[], object]) -> None:
            sampler.phase = name
            print(f"{name} ...", flush=True)
            run()

        properties: collections.Counter[str] = collections.Counter()

        def fuzz() -> None:
            tally, found = phase_fuzz(service.port, s, args.seed)
            tallies.append(tally)
            properties.update(found)

        phase("a. fuzz", fuzz)
        phase("b. load", lambda: tallies.append(phase_load(service.port, s)))
        phase("c. runaways", lambda: tallies.extend(phase_runaways(service.port, s)))
        phase("d. slow clients", lambda: tallies.extend(phase_slow(service.port, s)))
        phase("e. memory cap", lambda: tallies.append(phase_memory(service.port, s)))
        sampler.phase = "end"
        time.sleep(min(s.sample_every, 10))
        sampler.stopped.set()
        sampler.join(HARD_CAP)
        sampler.sample()
    finally:
        sampler.stopped.set()
        service.stop()
    text, passed = report(tallies, properties, sampler, service, s, args.quick, args.seed,
                          args.note)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    print(json.dumps({"passed": passed, "report": str(args.out)}))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
