#!/usr/bin/env python
"""Benchmark the SPARQL service through HTTP (waitress vs gunicorn, deadline accuracy) and the
curation pipeline (build, validate, reason, stats, server start-up).

Usage: ``python scripts/benchmark.py [--only pipeline|service|pages|cache|all] [--seconds S]
[--clients N] [--runs R] [--page-requests N] [--page-starts S] [--out docs/benchmarks.md]``.
The report has one delimited section per part; ``--only`` rewrites its own section and keeps
the others as they were.

Pages: the time to serve each kind of web page (the editor, a study, a diagnosis class, the
ontology's documentation, the evidence overview and its pictures, the dataset, a named graph, a
shape, an example query; one the service does not have is left out) by the production server,
as a browser asks for it: the first request after start-up (``--page-starts`` starts, median)
and then ``--page-requests`` requests in a row (median and
95th percentile). ``--only pages`` runs this part alone, in about a minute.

Cache: the example mix (every query of ``queries/`` through ``/api/queries/<name>``, one after
another, by ``wrk`` with a Lua script) against the production server (gunicorn) with the results
cache off (cold) and on (warm, after one pass that fills it), at 8 and 32 connections, rounds
interleaved, median kept. ``--only cache`` runs this part alone.

Pipeline: each command runs ``--runs`` times (default 5) in a fresh interpreter on a private
copy of the inputs; the report gives the median and the range.

Each server runs as a separate process on 127.0.0.1 (as in production); the load comes from
client threads with keep-alive connections in this process. For every server and query it
reports queries per second and latency percentiles, then the deadline test: a cross product
that would run for minutes, sent with a 2 s deadline, while a second client keeps asking a
small query. It prints the figures and writes them to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path
from typing import cast
from urllib.parse import urlencode

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))  # support.virtuoso: a Virtuoso as the tests start one

from ketamine_ed_kg.build import build  # noqa: E402
from ketamine_ed_kg.namespaces import GRAPH_ASSERTED  # noqa: E402
from ketamine_ed_kg.paths import project_paths  # noqa: E402
from ketamine_ed_kg.store.upload import load_release  # noqa: E402
from support.virtuoso import Virtuoso, store_credentials, virtuoso_server  # noqa: E402

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
QUERIES: dict[str, tuple[str, str, str]] = {
    # name: (dataset key, query, Accept)
    "ASK (tiny)": ("project", "ASK { ?s ?p ?o }", "application/sparql-results+json"),
    "labels, 100 rows JSON": ("project", f"SELECT ?s ?l WHERE {{ ?s <{RDFS_LABEL}> ?l }} LIMIT 100",
                              "application/sparql-results+json"),
    "class counts (GROUP BY)": ("project", "SELECT ?c (COUNT(?s) AS ?n) WHERE { ?s a ?c } "
                                "GROUP BY ?c ORDER BY DESC(?n)", "application/sparql-results+json"),
    "CONSTRUCT 500 triples Turtle": ("project", "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 500",
                                     "text/turtle"),
    "2,400-row SELECT JSON": ("synthetic", "SELECT ?s ?v ?w WHERE { ?s <http://example.org/v> ?v ; "
                              "<http://example.org/w> ?w } LIMIT 2400",
                              "application/sparql-results+json"),
    "2,400-row SELECT, no LIMIT (cap probe)": (
        "synthetic", "SELECT ?s ?v WHERE { ?s <http://example.org/v> ?v FILTER(?v < 2400) }",
        "application/sparql-results+json"),
    "2,400-row SELECT CSV": ("synthetic", "SELECT ?s ?v ?w WHERE { ?s <http://example.org/v> ?v ; "
                             "<http://example.org/w> ?w } LIMIT 2400", "text/csv"),
}
CROSS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def synthetic_dataset(folder: Path, subjects: int = 20000) -> Path:
    """2 triples per subject in the asserted graph: enough for a 2,400-row SELECT."""
    path = folder / "synthetic.nq"
    g = f"<{GRAPH_ASSERTED}>"
    with path.open("w", encoding="utf-8") as out:
        for i in range(subjects):
            s = f"<http://example.org/s{i}>"
            out.write(f'{s} <http://example.org/v> "{i}"^^<{XSD_INTEGER}> {g} .\n')
            out.write(f'{s} <http://example.org/w> "value {i}" {g} .\n')
    return path


class Server:
    """A server subprocess (waitress via the CLI module, or gunicorn)."""

    def __init__(self, kind: str, dataset: Path, deadline: float, extra: dict[str, str],
                 root: Path = ROOT, poll: float = 0.2) -> None:
        self.port = free_port()
        started = time.perf_counter()
        env = dict(os.environ)
        env.update({"KETAMINE_ED_KG_DATASET": str(dataset), "KETAMINE_ED_KG_PORT": str(self.port),
                    "KETAMINE_ED_KG_DEADLINE": str(deadline), "KETAMINE_ED_KG_LOG_LEVEL": "WARNING",
                    "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
                    # Cold unless a variant says otherwise: a repeated query would otherwise
                    # be answered from the results cache (measured by ``--only cache``).
                    "KETAMINE_ED_KG_RESULT_CACHE_BYTES": "0"})
        env.update(extra)
        env["KETAMINE_ED_KG_SERVER"] = kind
        # The production command itself: `ketamine-ed-kg serve` with the chosen server.
        cmd = [str(Path(sys.executable).parent / "ketamine-ed-kg"), "--root", str(root), "serve"]
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.endpoint = f"http://127.0.0.1:{self.port}/sparql"
        deadline_at = time.monotonic() + 60
        while time.monotonic() < deadline_at:
            try:
                status, _ = one_request(self.port, "ASK {}", "application/sparql-results+json")
                if status == 200:
                    self.startup_seconds = time.perf_counter() - started
                    return
            except OSError:
                time.sleep(poll)
        raise RuntimeError(f"{kind} did not start")

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server and wait for it; kill it if it has not gone after 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def one_request(port: int, query: str, accept: str, conn: http.client.HTTPConnection | None = None,
                extra: str = "", agent: str = "benchmark") -> tuple[int, bytes]:
    own = conn is None
    connection = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    path = "/sparql?" + urlencode({"query": query}) + extra
    # Each load client is its own client (User-Agent): the service's per-client limit would
    # otherwise answer 429 to all but two of them.
    connection.request("GET", path, headers={"Accept": accept, "User-Agent": agent})
    response = connection.getresponse()
    body = response.read()
    if own:
        connection.close()
    return response.status, body


def load(port: int, query: str, accept: str, seconds: float, clients: int) -> dict[str, float]:
    """Closed-loop load: ``clients`` threads, each sending the query back to back."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(index: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        mine: list[float] = []
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            status, _ = one_request(port, query, accept, conn, agent=f"benchmark-{index}")
            mine.append(time.perf_counter() - start)
            if status != 200:
                with lock:
                    errors += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    latencies.sort()
    return {"qps": len(latencies) / elapsed,
            "p50": statistics.median(latencies) * 1000,
            "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
            "n": len(latencies), "errors": errors}


def deadline_test(port: int, deadline: float, rounds: int = 3) -> dict[str, object]:
    """Time at which the cross product is stopped, and how a small query fares meanwhile."""
    stopped: list[float] = []
    statuses: list[int] = []
    side: list[float] = []
    for _ in range(rounds):
        done = threading.Event()

        def other(done: threading.Event = done) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            while not done.is_set():
                t0 = time.perf_counter()
                one_request(port, "ASK { ?s ?p ?o }", "application/sparql-results+json", conn)
                side.append(time.perf_counter() - t0)
                time.sleep(0.05)
            conn.close()

        helper = threading.Thread(target=other)
        t0 = time.perf_counter()
        helper.start()
        status, _ = one_request(port, CROSS, "application/sparql-results+json")
        stopped.append(time.perf_counter() - t0)
        statuses.append(status)
        done.set()
        helper.join()
    return {"deadline": deadline, "statuses": statuses, "stopped": stopped, "side": side}


def in_process(dataset: Path, query: str, accept: str, seconds: float) -> float:
    """Queries per second of pyoxigraph alone (query + native serialisation, no HTTP)."""
    store = ox.Store()
    store.load(path=str(dataset), format=ox.RdfFormat.N_QUADS)
    fmt = ox.QueryResultsFormat.CSV if accept == "text/csv" else ox.QueryResultsFormat.JSON
    n = 0
    stop_at = time.monotonic() + seconds
    start = time.monotonic()
    while time.monotonic() < stop_at:
        result = store.query(query, use_default_graph_as_union=True)
        if isinstance(result, ox.QueryTriples):
            result.serialize(format=ox.RdfFormat.TURTLE)
        else:
            result.serialize(format=fmt)
        n += 1
    return n / (time.monotonic() - start)


def run_service(args: argparse.Namespace) -> str:
    """The SPARQL service part: throughput, latency and deadline accuracy through HTTP."""
    paths = project_paths(ROOT)
    result = build(paths)
    datasets = {"project": paths.build_dir / "dataset.nq"}
    tmp = Path(tempfile.mkdtemp(prefix="ked-bench-"))
    datasets["synthetic"] = synthetic_dataset(tmp)
    deadline = 2.0
    variants: list[tuple[str, str, dict[str, str]]] = [
        ("waitress", "waitress", {"KETAMINE_ED_KG_WORKERS": "2", "KETAMINE_ED_KG_THREADS": "8"}),
        ("gunicorn", "gunicorn", {"KETAMINE_ED_KG_WORKERS": "2", "KETAMINE_ED_KG_THREADS": "8",
                                  "KETAMINE_ED_KG_PROCESSES": "2"}),
        ("waitress, 4 query workers", "waitress", {"KETAMINE_ED_KG_WORKERS": "4",
                                                    "KETAMINE_ED_KG_THREADS": "8"}),
        ("gunicorn, row_cap=0", "gunicorn", {"KETAMINE_ED_KG_WORKERS": "2",
                                              "KETAMINE_ED_KG_PROCESSES": "2",
                                              "KETAMINE_ED_KG_ROW_CAP": "0"}),
    ]
    table: dict[str, dict[str, dict[str, float]]] = {}
    deadlines: dict[str, dict[str, object]] = {}
    runs: dict[str, dict[str, list[dict[str, float]]]] = {}
    load_before = os.getloadavg()
    for round_no in range(args.rounds):  # interleaved rounds: noise hits every variant alike
        for label, kind, extra in variants:
            for key, dataset in datasets.items():
                server = Server(kind, dataset, deadline, extra)
                try:
                    for name, (ds_key, query, accept) in QUERIES.items():
                        if ds_key != key:
                            continue
                        one_request(server.port, query, accept)  # warm up
                        stats = load(server.port, query, accept, args.seconds, args.clients)
                        runs.setdefault(name, {}).setdefault(label, []).append(stats)
                        print(f"round {round_no + 1} {label:26} {name:40} {stats['qps']:7.1f} q/s"
                              f"  p50 {stats['p50']:6.1f} ms  p95 {stats['p95']:6.1f} ms  "
                              f"errors {stats['errors']}", flush=True)
                    if key == "synthetic" and label in ("waitress", "gunicorn"):
                        d = deadline_test(server.port, deadline, rounds=2)
                        merged = deadlines.setdefault(label, {"deadline": deadline,
                                                              "statuses": [], "stopped": [],
                                                              "side": []})
                        merged["statuses"] += d["statuses"]  # type: ignore[operator]
                        merged["stopped"] += d["stopped"]  # type: ignore[operator]
                        merged["side"] += d["side"]  # type: ignore[operator]
                        print(f"round {round_no + 1} {label:26} deadline {deadline} s: "
                              f"statuses {d['statuses']}, stopped at "
                              + ", ".join(f"{s:.3f}" for s in d["stopped"])  # type: ignore[attr-defined]
                              + " s", flush=True)
                finally:
                    server.stop()
    for name, by_label in runs.items():
        for label, samples in by_label.items():
            table.setdefault(name, {})[label] = {
                "qps": statistics.median(s["qps"] for s in samples),
                "p50": statistics.median(s["p50"] for s in samples),
                "p95": statistics.median(s["p95"] for s in samples),
                "min": min(s["qps"] for s in samples), "max": max(s["qps"] for s in samples)}
    for d in deadlines.values():
        side = sorted(cast("list[float]", d.pop("side")))
        d["side_n"] = len(side)
        d["side_p50"] = statistics.median(side) * 1000
        d["side_max"] = side[-1] * 1000
    args.load = (load_before, os.getloadavg())
    baseline = {name: in_process(datasets[ds], q, a, args.seconds / 2)
                for name, (ds, q, a) in QUERIES.items()}
    return service_section(table, deadlines, baseline, result.counts, args)


def service_section(table: dict[str, dict[str, dict[str, float]]],
                    deadlines: dict[str, dict[str, object]], baseline: dict[str, float],
                    counts: dict[str, int], args: argparse.Namespace) -> str:
    """The Markdown of the service section (``--only service``)."""
    labels = ["waitress", "gunicorn", "waitress, 4 query workers", "gunicorn, row_cap=0"]
    lines = [
        "## SPARQL service",
        "",
        f"- Machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, pyoxigraph {version('pyoxigraph')}, "
        f"waitress {version('waitress')}, gunicorn {version('gunicorn')}.",
        f"- Project dataset: {sum(counts.values()) - counts.get('studies', 0)} triples "
        f"({', '.join(f'{k} {v}' for k, v in counts.items())}); "
        "synthetic dataset: 40,000 triples.",
        f"- Load: {args.clients} closed-loop client threads with keep-alive, "
        f"{args.seconds:g} s per query, on the same machine as the server "
        "(so the client competes for the 2 cores).",
        "- Servers, each started by `ketamine-ed-kg serve`: waitress = 1 process, 8 HTTP "
        "threads, 2 query worker processes; gunicorn = 2 gthread processes x 8 threads, each "
        "with its own 2 query workers (4 in all; hence the 'waitress, 4 query workers' column). "
        "`row_cap=0` switches the row cap (and its probe query) off. Deadline 2 s.",
        "- Last column: pyoxigraph alone in this process (query + native serialisation, no "
        "HTTP, no worker process), the ceiling for one core.",
        "",
        "### Throughput and latency through HTTP",
        "",
        f"Median of {args.rounds} interleaved rounds: q/s [min-max over rounds] (p50 / p95 ms). "
        f"Load average before/after the run: {args.load[0][0]:.1f} / {args.load[1][0]:.1f} "
        "(other work shared the machine, so single figures are noisy; compare within a row).",
        "",
        "| query | " + " | ".join(f"{label}" for label in labels)
        + " | pyoxigraph in-process q/s |",
        "|---|" + "---|" * (len(labels) + 1),
    ]
    for name in QUERIES:
        cells = []
        for label in labels:
            s = table.get(name, {}).get(label)
            cells.append(f"{s['qps']:.0f} [{s['min']:.0f}-{s['max']:.0f}] "
                         f"({s['p50']:.1f} / {s['p95']:.1f})" if s else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {baseline[name]:.0f} |")
    lines += ["", "### Deadline accuracy", "",
              "A cross product (`" + CROSS + "`, about 10^16 solutions on the synthetic "
              "dataset: it would run for hours) sent with the 2 s deadline, twice per round, "
              "while a "
              "second client keeps sending `ASK { ?s ?p ?o }`.", "",
              "| server | statuses | stopped after (s) | side query: n, p50, max (ms) |",
              "|---|---|---|---|"]
    for label, d in deadlines.items():
        stopped = ", ".join(f"{s:.3f}" for s in d["stopped"])  # type: ignore[attr-defined]
        lines.append(f"| {label} | {d['statuses']} | {stopped} | {d['side_n']}, "
                     f"{d['side_p50']:.1f}, {d['side_max']:.1f} |")
    lines += ["", "### Choice", "", choice_text(table)]
    return "\n".join(lines)


def choice_text(table: dict[str, dict[str, dict[str, float]]]) -> str:
    ratios = sorted(table[name]["gunicorn"]["qps"] / table[name]["waitress"]["qps"]
                    for name in table if "gunicorn" in table[name] and "waitress" in table[name])
    median = statistics.median(ratios)
    probe = table.get("2,400-row SELECT, no LIMIT (cap probe)", {})
    probe_cost = ""
    if "gunicorn" in probe and "gunicorn, row_cap=0" in probe:
        on, off = probe["gunicorn"]["qps"], probe["gunicorn, row_cap=0"]["qps"]
        probe_cost = (f" Row cap: a 2,400-row query without its own LIMIT ran at {on:.0f} q/s "
                      f"with the cap on and {off:.0f} with it off (ratio {on / off:.2f}): the "
                      "result stayed below the cap, which the worker saw by counting solutions "
                      "in the serialised bytes, so no probe query ran. Only a result that may "
                      "reach the cap (or exceeds the 1 MiB header buffer) pays for a probe that "
                      "evaluates the query again; a LIMIT at or below the cap skips it, and "
                      "`row_cap = 0` turns the cap off.")
    winner = "gunicorn" if median >= 1.0 else "waitress"
    return (f"gunicorn / waitress throughput ratio per query: "
            f"{', '.join(f'{r:.2f}' for r in ratios)} (median {median:.2f}). Both stop a query "
            "at its deadline the same way and equally on time (the query's worker process is "
            "killed; table above), so throughput decides: "
            f"**{winner}** is the production server of `ketamine-ed-kg serve`. gunicorn runs two "
            "HTTP processes, so the Flask and streaming work uses both cores, where waitress's "
            "single process is bound by one interpreter lock; the price is memory (each "
            "gunicorn process loads its own copy of the store). `server = \"waitress\"` "
            "remains for small machines." + probe_cost)


# --------------------------------------------------------------------------- pipeline

STUDY_FILE = "graph/studies/mills-1998.ttl"
"""The study file ``validate FILE`` is timed on: the largest study file."""

_PRELUDE = """
import json, sys, time
from pathlib import Path
from typing import cast
from ketamine_ed_kg.paths import project_paths
paths = project_paths(Path(sys.argv[1]))
"""

# Each step runs in a fresh interpreter, as the CLI does, so no cache (parsed shapes, a warm
# JVM) carries over from one run to the next. The child times the call itself and prints one
# JSON line; the parent times the whole process (interpreter start-up and imports included).
PIPELINE_STEPS: dict[str, tuple[str, str]] = {
    "build --force": ("rdflib parse + inference + four serialisations + N-Quads", """
from ketamine_ed_kg.build import build
t0 = time.perf_counter()
result = build(paths, force=True)
seconds = time.perf_counter() - t0
detail = f"{sum(result.counts.values()) - result.counts.get('studies', 0)} triples written"
"""),
    "validate (whole graph)": ("`validate_project`: shapes + QC queries, every graph file", """
from ketamine_ed_kg.validation import validate_project
t0 = time.perf_counter()
outcome = validate_project(paths)
seconds = time.perf_counter() - t0
detail = (f"{outcome.triples} triples, {outcome.count('Violation')} violations, "
          f"{outcome.count('Warning')} warnings")
"""),
    f"validate {STUDY_FILE}": ("`validate_project` on one file, graph/shared as context", f"""
from ketamine_ed_kg.validation import validate_project
t0 = time.perf_counter()
outcome = validate_project(paths, [paths.root / "{STUDY_FILE}"])
seconds = time.perf_counter() - t0
detail = f"{{outcome.triples}} triples, {{outcome.count('Violation')}} violations"
"""),
    "reason --ontology-only": ("HermiT on the ontology (`reasoning.reason`, JVM included)", """
from ketamine_ed_kg.reasoning import reason
t0 = time.perf_counter()
result = reason(paths, include_data=False)
seconds = time.perf_counter() - t0
detail = (f"{result.triples} triples, consistent {result.consistent}, "
          f"HermiT alone {result.timings['hermit']:.2f} s")
"""),
    "reason (ontology + graph)": ("HermiT on ontology + curated graph (`reasoning.reason`)", """
from ketamine_ed_kg.reasoning import reason
t0 = time.perf_counter()
result = reason(paths)
seconds = time.perf_counter() - t0
detail = (f"{result.triples} triples, consistent {result.consistent}, "
          f"HermiT alone {result.timings['hermit']:.2f} s")
"""),
    "stats": ("parse ontology + graph, count instances per class", """
from ketamine_ed_kg.loading import load_sources
from ketamine_ed_kg.stats import class_counts
t0 = time.perf_counter()
ontology, data = load_sources(paths)
rows = class_counts(ontology, data)
seconds = time.perf_counter() - t0
detail = f"{len(rows)} classes with instances"
"""),
}
_REPORT = """
print(json.dumps({"seconds": seconds, "detail": detail}))
"""


def snapshot(folder: Path) -> Path:
    """A private copy of the inputs, so concurrent edits to graph/ cannot change a run midway."""
    root = folder / "checkout"
    for name in ("ontology", "graph", "shapes", "queries"):
        shutil.copytree(ROOT / name, root / name)
    return root


def run_step(code: str, root: Path) -> tuple[float, float, str]:
    """One step in a fresh interpreter: (seconds of the call, seconds of the process, detail)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PRELUDE + code + _REPORT, str(root)],
                          env=env, cwd=root, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"step failed:\n{done.stderr[-3000:]}")
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    return float(payload["seconds"]), wall, str(payload["detail"])


def spread(samples: list[float]) -> str:
    """Median [min-max] in seconds."""
    return f"{statistics.median(samples):.2f} [{min(samples):.2f}-{max(samples):.2f}]"


def run_pipeline(args: argparse.Namespace) -> str:
    """The curation pipeline part: each command ``args.runs`` times, then server start-up."""
    tmp = Path(tempfile.mkdtemp(prefix="ked-bench-pipeline-"))
    root = snapshot(tmp)
    load_before = os.getloadavg()
    rows: list[tuple[str, str, list[float], list[float], str]] = []
    for name, (what, code) in PIPELINE_STEPS.items():
        calls: list[float] = []
        walls: list[float] = []
        detail = ""
        for run_no in range(args.runs):
            call, wall, detail = run_step(code, root)
            calls.append(call)
            walls.append(wall)
            print(f"run {run_no + 1} {name:42} call {call:6.2f} s  process {wall:6.2f} s  "
                  f"({detail})", flush=True)
        rows.append((name, what, calls, walls, detail))
    dataset = root / "build" / "dataset.nq"
    startups: dict[str, list[float]] = {}
    for run_no in range(args.runs):
        for kind in ("gunicorn", "waitress"):
            server = Server(kind, dataset, 2.0, {}, root=root, poll=0.01)
            try:
                startups.setdefault(kind, []).append(server.startup_seconds)
            finally:
                server.stop()
            print(f"run {run_no + 1} serve ({kind}) answered after "
                  f"{startups[kind][-1]:.2f} s", flush=True)
    load_after = os.getloadavg()
    shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        "## Curation pipeline",
        "",
        f"Each command on a private copy of ontology/, graph/, shapes/ and queries/, {args.runs} "
        "runs, each in a fresh Python process (as the CLI runs it: no cached shapes, a new JVM "
        "for HermiT). \"call\" times the library function the command runs; \"process\" adds "
        "interpreter start-up and imports. Median [min-max] in seconds. "
        f"Load average before/after: {load_before[0]:.1f} / {load_after[0]:.1f}.",
        "",
        f"- Machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, rdflib {version('rdflib')}, "
        f"pyshacl {version('pyshacl')}, owlready2 {version('owlready2')} (HermiT), "
        f"pyoxigraph {version('pyoxigraph')}.",
        "",
        "| command | what | call (s) | process (s) | last run |",
        "|---|---|---|---|---|",
    ]
    for name, what, calls, walls, detail in rows:
        lines.append(f"| `{name}` | {what} | {spread(calls)} | {spread(walls)} | {detail} |")
    for kind, samples in startups.items():
        lines.append(f"| `serve` ({kind}) | start-up until `/sparql` answers `ASK {{}}` "
                     f"(dataset already built) | - | {spread(samples)} | polled every 10 ms |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- pages

BROWSER_HEADERS = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                   "Accept-Encoding": "gzip, deflate", "User-Agent": "benchmark-pages"}
PAGES: tuple[tuple[str, str], ...] = (
    # (kind of page, path)
    ("query editor", "/"),
    ("a study", "/resource/mills-1998"),
    ("a diagnosis class", "/ontology/AnorexiaNervosa"),
    ("ontology documentation", "/ontology"),
    ("evidence overview", "/evidence"),
    ("evidence picture: dose and sessions", "/evidence/dose-and-sessions.svg"),
    ("evidence picture: diagnoses", "/evidence/diagnoses-by-study.svg"),
    ("the dataset", "/dataset"),
    ("a named graph", "/graph/asserted"),
    ("a SHACL shape", "/shapes/StudyShape"),
    ("an example query", "/query/001_table1_ketamine_studies"),
)
"""The pages timed; one that is not an HTML or SVG page on this service is left out (said so in
the report)."""
PAGE_TARGET_MS = 100.0


def page_request(conn: http.client.HTTPConnection, path: str) -> tuple[int, str, float, int]:
    """(status, content type, seconds, bytes) of one GET as a browser sends it."""
    t0 = time.perf_counter()
    conn.request("GET", path, headers=BROWSER_HEADERS)
    response = conn.getresponse()
    body = response.read()
    return (response.status, response.getheader("Content-Type") or "",
            time.perf_counter() - t0, len(body))


def _is_page(status: int, content_type: str) -> bool:
    return status == 200 and content_type.startswith(("text/html", "image/svg+xml"))


def run_pages(args: argparse.Namespace) -> str:
    """The pages part: first request after start-up, then repeated requests, per page."""
    paths = project_paths(ROOT)
    build(paths)
    dataset = paths.build_dir / "dataset.nq"
    load_before = os.getloadavg()
    cold: dict[str, list[float]] = {}
    served: dict[str, tuple[int, str]] = {}
    warm: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    for start_no in range(args.page_starts):
        server = Server("gunicorn", dataset, 10.0, {})
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
            for _, path in PAGES:  # each page's first request after start-up
                status, content_type, seconds, size = page_request(conn, path)
                served[path] = (status, content_type)
                if _is_page(status, content_type):
                    cold.setdefault(path, []).append(seconds)
                    sizes[path] = size
            print(f"start {start_no + 1}: first requests "
                  + ", ".join(f"{p} {cold[p][-1] * 1000:.0f} ms" for _, p in PAGES if p in cold),
                  flush=True)
            if start_no == args.page_starts - 1:  # then the same pages again and again
                for _, path in PAGES:
                    if path not in cold:
                        continue
                    samples = warm.setdefault(path, [])
                    for _ in range(args.page_requests):
                        status, _, seconds, _ = page_request(conn, path)
                        assert status == 200, f"{path}: {status}"
                        samples.append(seconds)
                    print(f"{path:40} median {statistics.median(samples) * 1000:6.1f} ms  "
                          f"p95 {percentile(samples, 95) * 1000:6.1f} ms", flush=True)
            conn.close()
        finally:
            server.stop()
    load_after = os.getloadavg()
    lines = [
        "## Web pages",
        "",
        "The time to serve each kind of web page, as a browser asks for it (`Accept: text/html`, "
        "gzip, keep-alive, no validator so every page is rendered and sent), by "
        "`ketamine-ed-kg serve` with its defaults (gunicorn, 1 HTTP process) on the project's "
        f"dataset, client on the same machine. \"First request\": the page's first request after "
        f"start-up (the editor is asked first, then the others in the order below), median of "
        f"{args.page_starts} starts [min-max]. \"Repeated\": {args.page_requests} requests in a "
        "row after that, one at a time. The target is well under "
        f"{PAGE_TARGET_MS:.0f} ms per page. Load average before/after: {load_before[0]:.1f} / "
        f"{load_after[0]:.1f} (2 shared cores: single figures are noisy).",
        "",
        f"- Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"flask {version('flask')}, gunicorn {version('gunicorn')}, "
        f"vl-convert-python {version('vl-convert-python')}.",
        "",
        "| page | path | first request (ms) | repeated: median (ms) | repeated: p95 (ms) "
        "| size (bytes, gzip) |",
        "|---|---|---|---|---|---|",
    ]
    missing = []
    for kind, path in PAGES:
        if path not in warm:
            status, content_type = served.get(path, (0, ""))
            missing.append(f"`{path}` ({kind}: {status} {content_type.split(';')[0]})")
            continue
        first = cold[path]
        lines.append(f"| {kind} | `{path}` | {statistics.median(first) * 1000:.0f} "
                     f"[{min(first) * 1000:.0f}-{max(first) * 1000:.0f}] | "
                     f"{statistics.median(warm[path]) * 1000:.1f} | "
                     f"{percentile(warm[path], 95) * 1000:.1f} | {sizes[path]} |")
    lines += [
        "",
        "Reading the numbers: a page is fixed by the graph version, so each HTTP process keeps "
        "the pages it rendered by ETag (`pages.send_page`, the last 256) and the repeated "
        "requests only send them; the first request renders the page (a study's or a class's "
        "runs its SELECTs, the ontology's documentation links hundreds of terms). The first "
        "request of the overview runs its three "
        "example queries (Table 1's is the heaviest of the library); the first picture's starts "
        "the drawing process (Python, vl-convert and its JavaScript engine, Vega), which draws "
        "both pictures, so the second picture's first request finds it drawn. A browser "
        "revalidating a page it holds gets a 304 (ETag from the graph version).",
    ]
    if missing:
        lines += ["", "Not timed (not a page on this service yet): " + ", ".join(missing) + "."]
    over = [p for p in warm if percentile(warm[p], 95) * 1000 >= PAGE_TARGET_MS]
    lines += ["", (f"Repeated requests: every page's p95 is under {PAGE_TARGET_MS:.0f} ms."
                   if not over else
                   f"Repeated requests over {PAGE_TARGET_MS:.0f} ms at p95: "
                   + ", ".join(f"`{p}`" for p in over) + ".")]
    return "\n".join(lines)


MIX_ACCEPT = "text/csv, text/turtle;q=0.9, application/sparql-results+json;q=0.8"
"""What the example mix asks for: CSV for a table, Turtle for a graph, JSON for ASK."""


def mix_script(paths: list[str], folder: Path) -> Path:
    """A wrk Lua script that sends ``paths`` in turn (each wrk thread from its own start)."""
    items = ", ".join(json.dumps(p) for p in paths)
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "mix.lua"
    script.write_text(
        f"paths = {{{items}}}\n"
        "i = 0\n"
        "function setup(thread) thread:set('i', math.random(#paths) - 1) end\n"
        "function request()\n"
        "  i = i % #paths + 1\n"
        "  return wrk.format('GET', paths[i])\n"
        "end\n", encoding="utf-8")
    return script


VIRTUOSO_COLD = "Virtuoso, same mix"
"""The reference row: the example texts sent straight to Virtuoso's /sparql (no cache)."""


def start_virtuoso(dataset: Path, folder: Path) -> tuple[ExitStack, Virtuoso | None]:
    """A Virtuoso 7.2 holding ``dataset`` (loaded by ``ketamine-ed-kg load``'s code), as the
    external-store tests start one, and the stack that stops it; no server where
    ``virtuoso-t`` is not installed."""
    stack = ExitStack()
    if shutil.which("virtuoso-t") is None:
        print("virtuoso-t not installed: no Virtuoso row")
        return stack, None
    try:
        server = stack.enter_context(virtuoso_server(folder / "virtuoso"))
        stack.enter_context(store_credentials())
        load_release(dataset, query_url=server.query_url,
                     graph_store_url=server.graph_store_url, update_url=server.update_url)
    except BaseException:
        stack.close()
        raise
    return stack, server


def print_run(round_no: int, label: str, connections: int, stats: dict[str, float]) -> None:
    print(f"round {round_no + 1} {label:18} {connections:3} connections "
          f"{stats['qps']:8.1f} req/s  p50 {stats['p50']:7.2f} ms  "
          f"p99 {stats['p99']:7.2f} ms  errors {stats['errors']:.0f}", flush=True)


def run_cache(args: argparse.Namespace) -> str:
    """Cold against warm throughput of the example mix (results cache off / on)."""
    from scaling_bench import wrk  # scripts/ is on sys.path when this script runs

    from ketamine_ed_kg.examples import load_examples

    paths = project_paths(ROOT)
    result = build(paths)
    dataset = paths.build_dir / "dataset.nq"
    mix = [f"/api/queries/{e.name}" for e in load_examples(paths.queries_dir)]
    tmp = Path(tempfile.mkdtemp(prefix="ked-cache-bench-"))
    script = mix_script(mix, tmp)
    common = {"KETAMINE_ED_KG_PER_CLIENT_QUERIES": "64"}  # wrk is one client
    variants = {"cold (cache off)": {**common, "KETAMINE_ED_KG_RESULT_CACHE_BYTES": "0"},
                "warm (cache on)": {**common,
                                    "KETAMINE_ED_KG_RESULT_CACHE_BYTES": str(64 << 20)}}
    connections = (8, 32)
    seconds = max(1, round(args.seconds))
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    hits: dict[str, int] = {}
    virtuoso_stack, virtuoso = start_virtuoso(dataset, tmp)
    virtuoso_mix = [f"/sparql?{urlencode({'query': e.query})}"
                    for e in load_examples(paths.queries_dir)]
    virtuoso_script = mix_script(virtuoso_mix, tmp / "virtuoso")
    if virtuoso is not None:  # its compiled-query cache filled, as the service's warm-up
        wrk(virtuoso.base + virtuoso_mix[0], 2, max(connections), accept=MIX_ACCEPT,
            script=virtuoso_script)
    load_before = os.getloadavg()
    with virtuoso_stack:  # stopped whatever happens
        for round_no in range(args.rounds):
            for label, extra in variants.items():
                server = Server("gunicorn", dataset, 30.0, extra)
                try:
                    base = f"http://127.0.0.1:{server.port}"
                    for _ in range(2):  # warm up the processes; fills the cache when it is on
                        seen = 0
                        for path in mix:
                            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                            conn.request("GET", path, headers={"Accept": MIX_ACCEPT})
                            response = conn.getresponse()
                            response.read()
                            if response.status != 200:
                                raise RuntimeError(f"{path}: {response.status}")
                            seen += "hit" in (response.getheader("Cache-Status") or "")
                            conn.close()
                    hits[label] = seen
                    # Then every query process and HTTP thread, not only the ones a single client
                    # meets: a short unmeasured run at the highest concurrency.
                    wrk(base + mix[0], 2, max(connections), accept=MIX_ACCEPT, script=script)
                    for c in connections:
                        stats = wrk(base + mix[0], seconds, c, accept=MIX_ACCEPT, script=script)
                        runs.setdefault((label, c), []).append(stats)
                        print_run(round_no, label, c, stats)
                finally:
                    server.stop()
            if virtuoso is not None:
                for c in connections:
                    stats = wrk(virtuoso.base + virtuoso_mix[0], seconds, c, accept=MIX_ACCEPT,
                                script=virtuoso_script)
                    runs.setdefault((VIRTUOSO_COLD, c), []).append(stats)
                    print_run(round_no, VIRTUOSO_COLD, c, stats)
    load_after = os.getloadavg()
    labels = {label for label, _c in runs}
    shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        "## Results cache: the example mix, cold and warm",
        "",
        f"Every example query ({len(mix)}, `/api/queries/<name>` in turn, `Accept: {MIX_ACCEPT}`)"
        f" against `ketamine-ed-kg serve` (gunicorn, 1 HTTP process, {os.cpu_count()} cores, "
        "default workers and threads, `per_client_queries = 64` since wrk is one client), "
        f"curated graph ({sum(result.counts.values()):,} quads). `wrk -t2 --latency`, "
        f"{seconds} s per run, {args.rounds} rounds with cold and warm interleaved; the table "
        "gives the **median** over rounds (and the range of req/s). Before the measured runs "
        "each server answered the mix twice in a row and then for 2 s at "
        f"{max(connections)} connections (unmeasured), so every query process has seen the "
        "mix. The machine is shared with other work (the client too runs on it): compare rows "
        "of one run, not runs of different days. "
        f"Load average before / after: {load_before[0]:.2f} / {load_after[0]:.2f}.",
        "",
        f"Warm: the cache (`result_cache_bytes = {64 << 20}`) was filled by one pass over the "
        f"mix; the second pass was served from it for {hits.get('warm (cache on)', 0)} of "
        f"{len(mix)} queries (`Cache-Status: ketamine-ed-kg; hit`). Cold: "
        "`result_cache_bytes = 0`: every request is planned (parse and checks, or the query "
        "process's plan cache) and evaluated by a query process.",
        "",
        (f"{VIRTUOSO_COLD}: the same {len(mix)} query texts sent straight to a Virtuoso 7.2 "
         "(`virtuoso-t`, started and configured as the external-store tests start it: "
         "16 HTTP threads) holding the same release (loaded by `ketamine-ed-kg load`'s "
         "code), `GET /sparql?query=...` with the same `Accept`, in the same rounds; "
         "its non-200 answers are the example queries it refuses "
         "(docs/external-store.md, deviations)." if VIRTUOSO_COLD in labels
         else "No Virtuoso row: `virtuoso-t` is not installed."),
        "",
        "| variant | connections | req/s (median) | range | p50 ms | p99 ms | non-200 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (label, c), samples in runs.items():
        qps = [s["qps"] for s in samples]
        lines.append(
            f"| {label} | {c} | {statistics.median(qps):,.0f} | {min(qps):,.0f}-{max(qps):,.0f} "
            f"| {statistics.median(s['p50'] for s in samples):.2f} "
            f"| {statistics.median(s['p99'] for s in samples):.2f} "
            f"| {sum(s['errors'] for s in samples):.0f} |")
    for c in connections:
        cold = statistics.median(s["qps"] for s in runs[("cold (cache off)", c)])
        warm = statistics.median(s["qps"] for s in runs[("warm (cache on)", c)])
        lines.append("")
        line = f"At {c} connections: warm / cold **{warm / cold:.1f}×**"
        if (VIRTUOSO_COLD, c) in runs:
            other = statistics.median(s["qps"] for s in runs[(VIRTUOSO_COLD, c)])
            line += f"; cold / Virtuoso **{cold / other:.2f}×**"
        lines.append(line + ".")
    lines.append("")
    lines.append(f"Command: `python scripts/benchmark.py --only cache --seconds {args.seconds:g} "
                 f"--rounds {args.rounds}`.")
    return "\n".join(lines)


def percentile(samples: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))]


# --------------------------------------------------------------------------- the report

SECTIONS = ("service", "pipeline", "pages", "cache", "peers")
WRITERS = {name: f"scripts/benchmark.py --only {name}" for name in SECTIONS[:4]}
WRITERS["peers"] = "scripts/peers_bench.py"
"""Which command rewrites each section (the peers benchmark is a script of its own)."""
_BEGIN = "<!-- begin section: {} (rewritten by {}) -->"
_END = "<!-- end section: {} -->"
_HEADER = """# Benchmarks

Written by `scripts/benchmark.py` (`make bench-service`: the service, the pipeline, the pages
and the results cache on the curated graph) and `scripts/peers_bench.py` (`make bench`: the
service against its peers on synthetic graphs up to 1M triples). Each section holds the numbers
of the last run of its own part: `--only service`, `--only pipeline`, `--only pages` or
`--only cache` rewrites that section, `scripts/peers_bench.py` the peers section, and the others
are kept as they were.
"""


def read_sections(text: str) -> dict[str, str]:
    """The delimited sections of an existing report.

    A report written before the sections were delimited holds the service part alone; it is
    kept, with its headings moved one level down, as the service section.
    """
    found: dict[str, str] = {}
    for name in SECTIONS:
        begin, end = _BEGIN.format(name, WRITERS[name]), _END.format(name)
        if begin in text and end in text:
            found[name] = text.split(begin, 1)[1].split(end, 1)[0].strip("\n")
    if not found and text.startswith("# SPARQL service benchmarks"):
        body = text.split("\n", 1)[1]
        body = "\n".join(("#" + line if line.startswith("## ") else line)
                         for line in body.splitlines())
        found["service"] = "## SPARQL service\n" + body.strip("\n")
    return found


def write_sections(out: Path, new: dict[str, str]) -> None:
    """Replace the sections in ``new``, keep the others, and write the report."""
    old = read_sections(out.read_text(encoding="utf-8")) if out.exists() else {}
    merged = {**old, **new}
    parts = [_HEADER]
    for name in SECTIONS:
        if name in merged:
            parts.append(f"{_BEGIN.format(name, WRITERS[name])}\n{merged[name]}\n"
                         f"{_END.format(name)}\n")
    out.write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {out} ({', '.join(new)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("pipeline", "service", "pages", "cache", "all"),
                        default="all",
                        help="which part to run; only its section of the report is rewritten")
    parser.add_argument("--seconds", type=float, default=4.0, help="load duration per query")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median kept)")
    parser.add_argument("--runs", type=int, default=5, help="runs per pipeline command")
    parser.add_argument("--page-requests", type=int, default=200,
                        help="repeated requests per page (pages part)")
    parser.add_argument("--page-starts", type=int, default=3,
                        help="server starts whose first requests are timed (pages part)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    sections: dict[str, str] = {}
    if args.only in ("pipeline", "all"):
        sections["pipeline"] = run_pipeline(args)
    if args.only in ("service", "all"):
        sections["service"] = run_service(args)
    if args.only in ("pages", "all"):
        sections["pages"] = run_pages(args)
    if args.only in ("cache", "all"):
        sections["cache"] = run_cache(args)
    write_sections(args.out, sections)


if __name__ == "__main__":
    main()
