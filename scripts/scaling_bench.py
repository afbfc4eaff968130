#!/usr/bin/env python
"""Throughput of one example query through HAProxy with 1, 2 and 3 service instances.

Usage: ``python scripts/scaling_bench.py [--seconds S] [--connections C] [--rounds R]
[--out docs/scaling.md]``.

It builds the release (as ``scripts/benchmark.py`` does), then for each pool size starts that
many production instances (gunicorn, ``tests/support/server.py``), each on its own 127.0.0.1
port with 2 query processes, puts Debian's HAProxy in front with the configuration
``ketamine_ed_kg.server.balancer`` generates (``tests/support/haproxy.py``), and loads it with
``wrk`` (keep-alive connections, ``--latency``, a 30 s timeout so a slow answer counts as slow,
not as an error). One instance without HAProxy is measured too, to show what the balancer
costs. Rounds are interleaved, so that noise from other work on the machine hits every pool
size alike; the table gives the median over rounds and the range.

``wrk`` is one client (one address, no User-Agent), so the instances are started with
``per_client_queries`` raised to 64: the per-client limit would otherwise answer 429 to most
of the load (docs/scaling.md says how the limit sees clients behind a balancer).

The table is written between the ``scaling-bench`` markers of ``docs/scaling.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))  # support/: the servers and HAProxy the tests start

from ketamine_ed_kg.build import build  # noqa: E402
from ketamine_ed_kg.config import ServiceConfig  # noqa: E402
from ketamine_ed_kg.paths import project_paths  # noqa: E402
from support.haproxy import haproxy_balancer  # noqa: E402
from support.server import gunicorn_server, request  # noqa: E402

EXAMPLE = "/api/queries/002_studies_by_route"
"""The example query the replica test streams: studies by route of administration (CSV)."""
START = "<!-- scaling-bench:start -->"
END = "<!-- scaling-bench:end -->"
SETTINGS = {"workers": 2, "threads": 8, "per_client_queries": 64, "result_cache_bytes": 0}
"""``result_cache_bytes = 0``: one query repeated would otherwise be answered from the results
cache after its first run, measuring the cache rather than the pool (benchmark.py ``--only
cache`` measures the cache)."""
SIZES = ("1, direct", "1", "2", "3")
"""Pool sizes measured; "1, direct" is one instance without HAProxy."""


def wrk(url: str, seconds: int, connections: int, accept: str = "text/csv",
        script: Path | None = None) -> dict[str, float]:
    """One wrk run: requests per second, latency percentiles (ms), and every non-200.
    ``script``: a wrk Lua script choosing each request (benchmark.py's example mix)."""
    binary = shutil.which("wrk") or "/usr/bin/wrk"
    done = subprocess.run(
        # wrk needs at least one connection per thread.
        [binary, f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout",
         "30s", "--latency", "-H", f"Accept: {accept}",
         *(["-s", str(script)] if script else []), url],
        capture_output=True, text=True, check=True, timeout=seconds + 120)
    out = done.stdout

    def ms(label: str) -> float:
        found = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if found is None:
            raise RuntimeError(f"no {label} latency in wrk's output:\n{out}")
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if rate is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    return {"qps": float(rate.group(1)), "requests": float(total.group(1)),
            "p50": ms("50%"), "p99": ms("99%"),
            "errors": float(bad.group(1) if bad else 0)
            + (sum(int(g) for g in errors.groups()) if errors else 0)}


def measure(dataset: Path, size: str, work: Path, args: argparse.Namespace) -> dict[str, float]:
    """Start the pool, check every instance answers, load it, stop it."""
    count = int(size.split(",")[0])
    env = {**os.environ, "TMPDIR": str(work)}
    with ExitStack() as stack:
        servers = [stack.enter_context(gunicorn_server(
            dataset, work / f"instance-{size}-{i}.log", env=env, **SETTINGS))
            for i in range(count)]
        if size.endswith("direct"):
            base = servers[0].base
        else:
            config = ServiceConfig(workers=SETTINGS["workers"], threads=SETTINGS["threads"],
                                   per_client_queries=SETTINGS["per_client_queries"])
            balancer = stack.enter_context(haproxy_balancer(
                work / f"haproxy-{size}", [f"127.0.0.1:{s.port}" for s in servers], config))
            wanted = {f"s{i}": "UP" for i in range(1, count + 1)}
            states = balancer.wait_for(wanted)
            if any(states[name].status != "UP" for name in wanted):
                raise RuntimeError(f"instances not up: {states}")
            base = balancer.base
        reply = request(base + EXAMPLE, headers={"Accept": "text/csv"})
        if reply.status != 200:
            raise RuntimeError(f"{EXAMPLE}: {reply.status} {reply.text[:300]}")
        return wrk(base + EXAMPLE, args.seconds, args.connections)


def section(table: dict[str, list[dict[str, float]]], args: argparse.Namespace,
            load: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} by `scripts/scaling_bench.py` "
        f"(`--seconds {args.seconds} --connections {args.connections} --rounds {args.rounds}`).",
        f"Machine: **{os.cpu_count()} CPU cores** ({platform.machine()}), shared with other "
        f"work (load average {load[0][0]:.1f} before, {load[1][0]:.1f} after). Every "
        "instance, HAProxy and wrk run on these same cores, so more instances cannot add "
        "CPU: the table shows what the balancer and the extra processes cost here, not the "
        "gain of adding machines.",
        "",
        f"Query: `GET {EXAMPLE}` (`Accept: text/csv`), {args.connections} keep-alive "
        "connections from wrk (2 threads). Each instance: gunicorn, 1 HTTP process, "
        f"{SETTINGS['threads']} threads, {SETTINGS['workers']} query processes. Median over "
        "rounds (range in brackets).",
        "",
        "| instances | through | requests/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|",
    ]
    for size in SIZES:
        runs = table[size]
        qps = [r["qps"] for r in runs]
        lines.append(
            f"| {size.split(',')[0]} | {'direct' if 'direct' in size else 'HAProxy'} "
            f"| {statistics.median(qps):.0f} ({min(qps):.0f}–{max(qps):.0f}) "
            f"| {statistics.median(r['p50'] for r in runs):.1f} "
            f"| {statistics.median(r['p99'] for r in runs):.1f} "
            f"| {sum(r['errors'] for r in runs):.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "scaling.md")
    args = parser.parse_args()
    result = build(project_paths(ROOT))
    dataset = result.release / "dataset.nq"
    table: dict[str, list[dict[str, float]]] = {size: [] for size in SIZES}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ked-scaling-") as tmp:
        for round_no in range(args.rounds):
            for size in SIZES:
                stats = measure(dataset, size, Path(tmp), args)
                table[size].append(stats)
                print(f"round {round_no + 1} instances {size:10} {stats['qps']:7.1f} req/s  "
                      f"p50 {stats['p50']:6.1f} ms  p99 {stats['p99']:6.1f} ms  "
                      f"errors {stats['errors']:.0f}", flush=True)
    text = section(table, args, (load_before, os.getloadavg()))
    doc = args.out.read_text(encoding="utf-8")
    if START not in doc or END not in doc:
        raise SystemExit(f"{args.out} has no {START} ... {END} markers")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    args.out.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
