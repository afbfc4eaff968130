#!/usr/bin/env python
"""The service against its peers, at scale (issue 14): ``make bench``.

Usage: ``python scripts/peers_bench.py [--scales curated,10k,100k,1M] [--load-only 5M]
[--runs 5] [--seconds 5] [--rounds 1] [--budget 60] [--rdflib-max 100k] [--reuse DIR]
[--out docs/benchmarks.md] [--json docs/benchmarks-peers.json] [--svg docs/growth.svg]
[--projections docs/scaling.md]``.

Per scale (a seeded synthetic graph shaped like ours, ``ketamine_ed_kg.synthetic``; "curated"
is our own graph), in one run:

1. the build, phase by phase (parse, validate, reason, write, index), time and peak RSS
   (``peers.prepare``; kept in ``--reuse DIR`` with the commit that built it, so later runs
   skip the builds: the 1M build takes about ten minutes);
2. every engine started and timed to its first answer: our service (gunicorn, results cache
   off, row cap on), the same with ``row_cap = 0``, raw pyoxigraph, Virtuoso 7.2 (loaded by
   ``ketamine-ed-kg load``'s code), the same Virtuoso asked with the dataset the service sends
   it (the release's graphs), our service on Virtuoso (``store = "sparql"``) and rdflib's
   engine up to ``--rdflib-max`` (``peers.engines``);
3. latency: every example query, the stress shapes and the UI mix, a warm-up then ``--runs``
   runs, engines interleaved (``peers.latency``); memory (PSS) of each engine afterwards;
4. throughput with wrk at 1, 8 and 32 connections: the example mix, the UI mix and the paged
   join, service cold and warm against Virtuoso (``peers.throughput``), and py-spy profiles of
   the service where a target asks for one.

Then the load-only scales (``--load-only``: generated, loaded by pyoxigraph and Virtuoso, not
built), the growth exponents and the plot (``peers.growth``), the targets (``peers.report``),
the peers section of docs/benchmarks.md and the raw data as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark import write_sections  # noqa: E402
from peers import latency, projections, throughput  # noqa: E402
from peers.engines import (  # noqa: E402
    Engine,
    Raw,
    Rdflib,
    Service,
    VirtuosoEngine,
    VirtuosoSameDataset,
)
from peers.prepare import Prepared, load_only, prepare  # noqa: E402
from peers.report import environment, growth, projection, section, targets  # noqa: E402
from peers.workloads import all_workloads, examples, paged_join, ui_mix  # noqa: E402

from ketamine_ed_kg import parser_cache  # noqa: E402
from ketamine_ed_kg.paths import project_paths  # noqa: E402
from ketamine_ed_kg.release import pin_dataset  # noqa: E402
from ketamine_ed_kg.synthetic import parse_size  # noqa: E402

CONNECTIONS = (1, 8, 32)


def log(message: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {message}", flush=True)


def scale_size(label: str) -> int:
    return 0 if label == "curated" else parse_size(label)


def rdflib_allowed(label: str, args: argparse.Namespace, done: dict[str, Any]) -> str:
    """Why rdflib is not run at this scale, or "" when it is: up to ``--rdflib-max``, and only
    while it answered every query of the scale before within the budget."""
    if scale_size(label) > parse_size(args.rdflib_max):
        return f"not run above {args.rdflib_max} (--rdflib-max)"
    for previous in reversed(list(done.values())):
        cells = [c.get("rdflib") for c in previous["latency"].values()]
        slow = [c for c in cells if c and c["status"] == 504]
        if slow:
            return f"not run: {len(slow)} queries passed the budget at {previous['label']}"
        break
    return ""


def predicted_skips(label: str, done: dict[str, Any], budget: float) -> dict[tuple[str, str], str]:
    """(workload, engine) pairs not worth running: over a tenth of the budget (or past it) at
    the scale before, ten times smaller, so at least linear growth puts them past it here."""
    skips: dict[tuple[str, str], str] = {}
    if not done:
        return skips
    previous = list(done.values())[-1]
    for work, cells in previous["latency"].items():
        for engine, cell in cells.items():
            ms = cell.get("median_ms") or cell.get("warmup_ms") or 0
            if cell["status"] == 504 or (cell["status"] == 200 and ms > budget * 100):
                skips[(work, engine)] = (f"not run: {ms / 1000:.1f} s at {previous['label']}, "
                                         f"past a tenth of the {budget:.0f} s budget")
    del label
    return skips


def run_scale(prepared: Prepared, args: argparse.Namespace, done: dict[str, Any],
              work: Path, largest: bool) -> dict[str, Any]:
    label = prepared.label
    workloads = all_workloads(project_paths(ROOT).queries_dir)
    budget = float(args.budget)
    # A reused release may predate the saved SPARQL parser: give it one as `build` does, so
    # every service start below is the start of a built release, not its first-ever start.
    parser_cache.provide(pin_dataset(prepared.dataset).parent)
    virtuoso = VirtuosoEngine(prepared, budget)
    engines: list[Engine] = [
        Service("service", prepared, work, cache=False, budget=budget),
        Service("service, row_cap=0", prepared, work, cache=False, budget=budget, row_cap=0),
        Raw(prepared, budget),
        virtuoso,
    ]
    why_not_rdflib = rdflib_allowed(label, args, done)
    if not why_not_rdflib:
        engines.append(Rdflib(prepared, budget))
    result: dict[str, Any] = {"label": label, "triples": prepared.triples,
                              "quads": prepared.quads, "counts": prepared.counts,
                              "built_by": prepared.commit, "reused": prepared.reused,
                              "rdflib": why_not_rdflib or "run", "engines": {}}
    try:
        for engine in engines:
            log(f"[{label}] starting {engine.name}")
            engine.start()
        on_virtuoso = Service("service on Virtuoso", prepared, work, cache=False, budget=budget,
                              remote=virtuoso)
        on_virtuoso.start()
        same = VirtuosoSameDataset(virtuoso, budget)  # the same server, the service's dataset
        log(f"[{label}] starting {same.name}")
        same.start()
        engines[4:4] = [same, on_virtuoso]
        for engine in engines:
            result["engines"][engine.name] = {"start_s": engine.start_seconds}
        result["phases"] = {k: vars(v) for k, v in prepared.phases.items()}
        log(f"[{label}] latency: {len(workloads)} queries x {len(engines)} engines, "
            f"{args.runs} runs")
        skips = predicted_skips(label, done, budget)
        table = latency.measure(engines, workloads, args.runs, slow=5.0,
                                budget={"rdflib": args.rdflib_total}, log=log, skips=skips)
        result["latency"] = {w: {e: c.as_json() for e, c in cells.items()}
                             for w, cells in table.items()}
        for engine in engines:
            result["engines"][engine.name]["pss_mib"] = engine.pss()
        for engine in engines[1:]:
            if engine is not virtuoso:
                engine.stop()
        service = engines[0]
        assert isinstance(service, Service)
        warm = Service("service, cache on", prepared, work, cache=True, budget=budget)
        warm.start()
        result["engines"]["service, cache on"] = {"start_s": warm.start_seconds}
        result["throughput"], result["mix_excluded"], result["profiles"] = run_throughput(
            label, table, {"service, cold": service, "service, warm": warm,
                           "Virtuoso": virtuoso}, args, work, largest)
        warm.stop()
    finally:
        for engine in engines:
            engine.stop()
    return result


def run_throughput(label: str, table: dict[str, dict[str, latency.Cell]],
                   servers: dict[str, Any], args: argparse.Namespace, work: Path,
                   largest: bool) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """wrk on the mixes (see the module). Left out of a mix: a query either server failed or
    cut (a fast error or a cut answer must not count as throughput), and one either took over
    ``--mix-max`` seconds on (a run of a few seconds cannot measure a mix that holds it: it
    would measure that query alone)."""
    failed = sorted(w for w, cells in table.items()
                    if any(cells[e].status != 200 or cells[e].truncated
                           or (cells[e].median_ms or 0) > args.mix_max * 1000
                           for e in ("service", "Virtuoso") if e in cells))
    mixes = {"example mix": [w for w in examples(project_paths(ROOT).queries_dir)
                             if w.name not in failed],
             "UI mix": [w for w in ui_mix() if w.name not in failed],
             "paged join": [paged_join()]}
    for works in mixes.values():  # a pass each: warms the processes, fills the cache
        for server in servers.values():
            for w in works:
                server.run(w)
    out: dict[str, Any] = {}
    for round_no in range(args.rounds):
        for mix, works in mixes.items():
            if not works:
                continue
            for c in CONNECTIONS:
                for variant, server in servers.items():
                    stats = throughput.run(server.base, works, args.seconds, c, work,
                                           f"{label}-{mix}".replace(" ", "-"))
                    out.setdefault(mix, {}).setdefault(variant, {}).setdefault(
                        str(c), []).append(stats)
                    log(f"[{label}] round {round_no + 1} {mix} {variant} {c} conn: "
                        f"{stats['qps']:.1f} req/s p50 {stats['p50']:.1f} p99 "
                        f"{stats['p99']:.1f} ms, errors {stats['errors']:.0f}")
    profiles: dict[str, Any] = {}
    wanted = (["example mix"] if label == "curated" else []) + (
        ["paged join", "UI mix"] if largest else [])
    for mix in wanted:
        service = servers["service, cold"]
        log(f"[{label}] profiling the service on the {mix} (py-spy, 8 connections)")
        _, profiles[mix] = throughput.profiled(service.base, mixes[mix], args.seconds, 8, work,
                                               f"{label}-{mix}-profile".replace(" ", "-"),
                                               service.pids()[0])
    return out, failed, profiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="curated,10k,100k,1M")
    parser.add_argument("--load-only", default="", help="scales generated and loaded, not built")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query and engine")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved wrk rounds")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds a query may take")
    parser.add_argument("--mix-max", type=float, default=1.0,
                        help="a query slower than this (s) on either server is left out of "
                             "the load-test mixes")
    parser.add_argument("--rdflib-max", default="100k", help="largest scale rdflib is run at")
    parser.add_argument("--rdflib-total", type=float, default=300.0,
                        help="seconds rdflib may take at one scale, all queries together")
    parser.add_argument("--validate-budget", type=float, default=300.0)
    parser.add_argument("--reuse", type=Path, default=None,
                        help="keep the built scales and Virtuoso databases here, and reuse them")
    parser.add_argument("--prepare-only", action="store_true",
                        help="build the scales and load Virtuoso into --reuse DIR, measure "
                             "nothing else (a later run reuses them)")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: redraw the section, the plot and the targets "
                             "from the JSON of the last run (--json)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "benchmarks-peers.json")
    parser.add_argument("--svg", type=Path, default=ROOT / "docs" / "growth.svg")
    parser.add_argument("--projections", type=Path, default=ROOT / "docs" / "scaling.md",
                        help="where the projections to 50 M and 1 B triples go")
    args = parser.parse_args()
    if args.report_only:
        write_report(json.loads(args.json.read_text(encoding="utf-8")), args)
        return
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    reuse = args.reuse or Path(os.environ.get("TMPDIR", "/var/tmp")) / f"peers-{os.getpid()}"
    work = reuse / "work"
    work.mkdir(parents=True, exist_ok=True)
    labels = [s for s in args.scales.split(",") if s]
    if args.prepare_only:
        for label in labels:
            VirtuosoEngine(prepare(label, scale_size(label), reuse, args.validate_budget, log),
                           args.budget).load()
        for label in [s for s in args.load_only.split(",") if s]:
            VirtuosoEngine(load_only(label, parse_size(label), reuse, log), args.budget).load()
        log(f"prepared {', '.join(labels)} {args.load_only} in {reuse}")
        return
    data: dict[str, Any] = {"started": started.isoformat(timespec="seconds"),
                            "command": "python scripts/peers_bench.py " + " ".join(sys.argv[1:]),
                            "settings": {k: (str(v) if isinstance(v, Path) else v)
                                         for k, v in vars(args).items()},
                            "scales": {}, "load_only": {}}
    try:
        for label in labels:
            log(f"[{label}] preparing")
            prepared = prepare(label, scale_size(label), reuse, args.validate_budget, log)
            data["scales"][label] = run_scale(prepared, args, data["scales"], work,
                                              label == labels[-1])
            args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
        for label in [s for s in args.load_only.split(",") if s]:
            log(f"[{label}] load only")
            data["load_only"][label] = run_load_only(label, reuse, args)
    finally:
        if args.reuse is None:
            shutil.rmtree(reuse, ignore_errors=True)
    data["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    data["load_average"] = {"before": load_before, "after": os.getloadavg()}
    data["environment"] = environment()
    write_report(data, args)


def write_report(data: dict[str, Any], args: argparse.Namespace) -> None:
    """The conclusions (growth, projection, targets) into the JSON, then the plot and the
    section, all from the measured data."""
    from peers.report import plot

    if args.reuse is not None:  # the profiles summarised again from py-spy's own files
        for label, scale in data["scales"].items():
            for mix in scale.get("profiles", {}):
                raw = args.reuse / "work" / (f"{label}-{mix}-profile".replace(" ", "-")
                                             + ".pyspy.txt")
                if raw.exists():
                    scale["profiles"][mix] = throughput.summarise(raw)
    data["growth"] = growth(data)
    data["build_projection"] = projection(data)
    data["targets"] = targets(data)
    args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
    args.svg.write_text(plot(data), encoding="utf-8")
    write_sections(args.out, {"peers": section(data)})
    projections.write(data, args.projections)
    log(f"wrote {args.json}, {args.svg}, {args.out}, {args.projections}")


def run_load_only(label: str, reuse: Path, args: argparse.Namespace) -> dict[str, Any]:
    """A scale only the stores load: generated, written as quads, loaded by pyoxigraph
    (``index``) and Virtuoso; its PSS and start time, no queries."""
    prepared = load_only(label, parse_size(label), reuse, log)
    virtuoso = VirtuosoEngine(prepared, float(args.budget))
    began = time.perf_counter()
    pss = 0.0
    virtuoso.load()
    if virtuoso.loaded:  # a failed load is reported with its message, not started
        try:
            virtuoso.start()
            pss = virtuoso.pss()
        finally:
            virtuoso.stop()
    return {"label": label, "triples": prepared.triples, "quads": prepared.quads,
            "built_by": prepared.commit, "reused": prepared.reused,
            "phases": {k: vars(v) for k, v in prepared.phases.items()},
            "virtuoso": {"start_s": virtuoso.start_seconds, "pss_mib": pss,
                         "seconds_with_load": time.perf_counter() - began}}


if __name__ == "__main__":
    main()
