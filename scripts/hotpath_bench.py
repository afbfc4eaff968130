#!/usr/bin/env python
"""What the service adds to a small query, and the cold example mix's throughput, for two or
more checkouts of the code in one interleaved run (issue 14: the per-request path).

Usage: ``python scripts/hotpath_bench.py --variant before=/path/to/old/src --variant
after=src [--rounds 3] [--requests 400] [--seconds 5]``.

Each variant is the production command (``ketamine-ed-kg serve``, gunicorn, results cache off,
``per_client_queries = 64``) run with ``PYTHONPATH`` at the variant's ``src`` folder, on the
curated release (``build/dataset.nq``). The variants run at once and take turns, after a
warm-up (the mix twice, then 2 s of ``wrk`` at 32 connections). Per round: ``--requests``
sequential requests of each small query on one kept-alive connection per variant, variants
alternating request by request (the added latency is the service's median / p99 minus raw
pyoxigraph's median, timed in this process: query and JSON serialisation; the server's CPU
per request is read from ``/proc`` for the HTTP process and its query processes), then
``wrk`` (Debian's) over the example mix at 8 and 32 connections, as ``benchmark.py --only
cache`` runs it, variants alternating run by run. Medians over rounds are printed, with the
load average. The machine is shared: compare variants of one run only.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark import MIX_ACCEPT, free_port, mix_script, stop_process  # noqa: E402
from scaling_bench import wrk  # noqa: E402

from ketamine_ed_kg.examples import load_examples  # noqa: E402
from ketamine_ed_kg.iris import PREFIXES  # noqa: E402
from ketamine_ed_kg.paths import project_paths  # noqa: E402

JSON = "application/sparql-results+json"


def small_queries(queries_dir: Path) -> dict[str, str]:
    """The small queries timed one by one: the smallest ASK and an example raw pyoxigraph
    answers in well under a millisecond."""
    examples = {e.name: e.query for e in load_examples(queries_dir)}
    return {"ASK {}": "ASK {}", "015_regulatory_events": examples["015_regulatory_events"]}


class Service:
    """``ketamine-ed-kg serve`` with one variant's code."""

    def __init__(self, src: Path, dataset: Path) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env.update({"KETAMINE_ED_KG_DATASET": str(dataset),
                    "KETAMINE_ED_KG_PORT": str(self.port),
                    "KETAMINE_ED_KG_LOG_LEVEL": "WARNING",
                    "KETAMINE_ED_KG_RESULT_CACHE_BYTES": "0",
                    "KETAMINE_ED_KG_PER_CLIENT_QUERIES": "64",
                    "KETAMINE_ED_KG_SERVER": "gunicorn",
                    "PYTHONPATH": str(src)})
        cmd = [str(Path(sys.executable).parent / "ketamine-ed-kg"), "--root", str(ROOT), "serve"]
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        until = time.monotonic() + 90
        while time.monotonic() < until:
            try:
                if self.get("/sparql?" + urlencode({"query": "ASK {}"}), JSON)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the service with {src} did not start")

    def get(self, path: str, accept: str,
            conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", path, headers={"Accept": accept})
            reply = conn.getresponse()
            return reply.status, reply.read()
        finally:
            if own:
                conn.close()

    def stop(self) -> None:
        stop_process(self.proc)


def raw_ms(store: ox.Store, text: str, runs: int) -> float:
    """Median ms of raw pyoxigraph: the query and its JSON serialisation."""
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        result = store.query(text, use_default_graph_as_union=True, prefixes=PREFIXES)
        assert not isinstance(result, ox.QueryTriples), "the bench sends SELECT and ASK only"
        out = io.BytesIO()
        result.serialize(out, format=ox.QueryResultsFormat.JSON)
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def latencies(service: Service, text: str, runs: int) -> list[float]:
    """ms of ``runs`` sequential requests on one kept-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=60)
    path = "/sparql?" + urlencode({"query": text})
    samples = []
    try:
        for _ in range(runs):
            began = time.perf_counter()
            status, _body = service.get(path, JSON, conn)
            samples.append((time.perf_counter() - began) * 1000)
            if status != 200:
                raise RuntimeError(f"{text[:40]}: status {status}")
    finally:
        conn.close()
    return samples


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def cpu_seconds(root: int) -> float:
    """User and system CPU seconds of process ``root`` and every descendant (``/proc``)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        stats[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", required=True,
                        help="LABEL=SRC: a label and the src folder of one checkout")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write every sample here")
    args = parser.parse_args()
    variants = {label: Path(src).resolve() for label, src in
                (v.split("=", 1) for v in args.variant)}
    paths = project_paths(ROOT)
    dataset = paths.build_dir / "dataset.nq"
    mix = [f"/api/queries/{e.name}" for e in load_examples(paths.queries_dir)]
    script = mix_script(mix, Path(tempfile.mkdtemp(prefix="ked-hotpath-")))
    small = small_queries(paths.queries_dir)
    store = ox.Store()
    store.load(path=str(dataset), format=ox.RdfFormat.N_QUADS)
    raw = {name: raw_ms(store, text, args.requests) for name, text in small.items()}
    load_before = os.getloadavg()
    lat: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    qps: dict[tuple[str, int], list[dict[str, float]]] = {}
    # Every variant runs at once and they take turns, request by request for the latency and
    # run by run for wrk: the machine is shared, and turns see the same load.
    services = {label: Service(src, dataset) for label, src in variants.items()}
    try:
        for label, service in services.items():
            base = f"http://127.0.0.1:{service.port}"
            for _ in range(2):
                for path in mix:
                    status, _ = service.get(path, MIX_ACCEPT)
                    if status != 200:
                        raise RuntimeError(f"{label} {path}: {status}")
            wrk(base + mix[0], 2, 32, accept=MIX_ACCEPT, script=script)
        for round_no in range(args.rounds):
            for name, text in small.items():
                conns = {label: http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
                         for label, s in services.items()}
                path = "/sparql?" + urlencode({"query": text})
                for label, service in services.items():
                    for _ in range(20):  # this connection's thread and worker warm
                        service.get(path, JSON, conns[label])
                used = {label: cpu_seconds(s.proc.pid) for label, s in services.items()}
                for _ in range(args.requests):
                    for label, service in services.items():
                        began = time.perf_counter()
                        status, _body = service.get(path, JSON, conns[label])
                        lat.setdefault((label, name), []).append(
                            (time.perf_counter() - began) * 1000)
                        if status != 200:
                            raise RuntimeError(f"{label} {name}: status {status}")
                for label, service in services.items():
                    conns[label].close()
                    cpu.setdefault((label, name), []).append(
                        (cpu_seconds(service.proc.pid) - used[label]) * 1000 / args.requests)
                    samples = lat[(label, name)][-args.requests:]
                    print(f"round {round_no + 1} {label:10} {name:24} median "
                          f"{statistics.median(samples):6.2f} ms  p99 {pct(samples, 99):6.2f} ms"
                          f"  server CPU {cpu[(label, name)][-1]:.2f} ms/request"
                          f"  (raw {raw[name]:.2f} ms)", flush=True)
            for c in (8, 32):
                for label, service in services.items():
                    base = f"http://127.0.0.1:{service.port}"
                    stats = wrk(base + mix[0], args.seconds, c, accept=MIX_ACCEPT, script=script)
                    qps.setdefault((label, c), []).append(stats)
                    print(f"round {round_no + 1} {label:10} mix at {c:2} connections "
                          f"{stats['qps']:7.1f} req/s  p50 {stats['p50']:6.2f} ms  "
                          f"p99 {stats['p99']:6.2f} ms  errors {stats['errors']:.0f}",
                          flush=True)
    finally:
        for service in services.values():
            service.stop()
    load_after = os.getloadavg()
    print(f"\nload average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print("added latency (service minus raw pyoxigraph median), all rounds pooled; server CPU "
          "per request (HTTP and query processes), median of rounds:")
    for name in small:
        for label in variants:
            samples = lat[(label, name)]
            print(f"  {name:24} {label:10} median +{statistics.median(samples) - raw[name]:.2f}"
                  f" ms  p99 +{pct(samples, 99) - raw[name]:.2f} ms  CPU "
                  f"{statistics.median(cpu[(label, name)]):.2f} ms  (raw {raw[name]:.2f} ms)")
    print("example mix, median of rounds (req/s):")
    for c in (8, 32):
        for label in variants:
            runs = [s["qps"] for s in qps[(label, c)]]
            print(f"  {c:2} connections {label:10} {statistics.median(runs):7.1f} "
                  f"(range {min(runs):.0f}-{max(runs):.0f}), p99 "
                  f"{statistics.median(s['p99'] for s in qps[(label, c)]):.2f} ms")
    if args.json:
        args.json.write_text(json.dumps({
            "raw_ms": raw, "latency_ms": {f"{k[0]}|{k[1]}": v for k, v in lat.items()},
            "cpu_ms": {f"{k[0]}|{k[1]}": v for k, v in cpu.items()},
            "wrk": {f"{k[0]}|{k[1]}": v for k, v in qps.items()},
            "load": [load_before, load_after]}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
