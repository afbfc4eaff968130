"""Where the service's time per query goes over raw pyoxigraph's (issue 14, "per query").

Runs every workload on four engines, interleaved round by round, medians kept:

* ``service``: ``ketamine-ed-kg serve`` under gunicorn (results cache off, row cap on), over
  HTTP, as ``make bench`` runs it;
* ``raw``: pyoxigraph in process, the query as the client sent it, serialised (``Raw``);
* ``raw, planned``: the same child, on the text the query process really runs (the plan's
  lookahead or query: ORDER BY rewrite and row-cap LIMIT applied);
* ``raw, planned, no ORDER rewrite``: the plan with ``engine_rewrites`` off, so the ORDER BY
  rewrite's own cost is the difference between the two planned columns.

So ``service - raw, planned`` is the service's own cost (HTTP, framing, the process hop,
parse and plan), and ``raw, planned - raw`` the cost of the rewrites in the engine.

``python -m peers.gap DATASET [--runs N] [--only NAME...]`` from ``scripts/``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from ketamine_ed_kg.config import ServiceConfig
from ketamine_ed_kg.query_plan import plan_request
from ketamine_ed_kg.server.query import policy
from ketamine_ed_kg.server.zygote import release_object_kinds
from ketamine_ed_kg.store.jobs import PublicRequest

from .engines import Engine, Raw, Service
from .latency import measure
from .measure import ROOT
from .prepare import Prepared
from .workloads import JSON, NTRIPLES, Workload, all_workloads


class Planned(Raw):
    """Raw pyoxigraph on the text the service's query process runs for a workload."""

    def __init__(self, prepared: Prepared, budget: float, name: str, rewrites: bool,
                 record: bool = True) -> None:
        super().__init__(prepared, budget)
        self.name = name
        pol = policy(ServiceConfig())
        self.policy = replace(pol, engine_rewrites=rewrites)
        self.kinds = release_object_kinds(prepared.dataset) if record else {}

    def run(self, work: Workload) -> object:  # type: ignore[override]
        accept = NTRIPLES if work.form == "graph" else JSON
        plan = plan_request(PublicRequest(work.text, self.policy, accept=accept),
                            set(), sealed=True, object_kinds=self.kinds)
        text = plan.job.lookahead or plan.job.query
        return super().run(replace(work, text=text))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path, help="a prepared scale (reuse/<label>)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--before", type=Path, default=None,
                        help="the same scale without the release's object-kinds record")
    args = parser.parse_args()
    prepared = Prepared.load(args.folder)
    assert prepared is not None, "not a prepared scale"
    budget = 60.0
    work = Path(tempfile.mkdtemp(prefix="gap-"))
    engines: list[Engine] = [
        Service("service", prepared, work, cache=False, budget=budget),
        Raw(prepared, budget),
        Planned(prepared, budget, "raw, planned", True),
        Planned(prepared, budget, "raw, planned, no record", True, record=False),
        Planned(prepared, budget, "raw, planned, no ORDER rewrite", False),
    ]
    if args.before:
        before = Prepared.load(args.before)
        assert before is not None
        engines.insert(1, Service("service, no record", before, work, cache=False,
                                  budget=budget))
    loads = all_workloads(ROOT / "queries")
    if args.only:
        loads = [w for w in loads if any(o in w.name for o in args.only)]
    for engine in engines:
        engine.start()
    try:
        table = measure(engines, loads, args.runs, log=print)
    finally:
        for engine in engines:
            engine.stop()
    out = {name: {e: c.as_json() for e, c in cells.items()} for name, cells in table.items()}
    if args.out:
        args.out.write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"load average {os.getloadavg()}")
    show(out)


def show(out: dict[str, dict[str, dict[str, object]]]) -> None:
    """The medians per workload and engine, and service / raw."""
    names = list(next(iter(out.values())))
    raw = names.index("raw pyoxigraph")
    print(f"{'query':40} {'rows':>6} " + " ".join(f"{n[-14:]:>14}" for n in names) + "  ratio")
    for name, cells in out.items():
        meds = [cells[n]["median_ms"] for n in names]
        ratio = (meds[0] / meds[raw]) if meds[0] and meds[raw] else float("nan")
        print(f"{name[:40]:40} {cells['raw pyoxigraph']['rows']:>6} "
              + " ".join(f"{m:>14.1f}" if m is not None else f"{'-':>14}" for m in meds)
              + f"  {ratio:.2f}")


if __name__ == "__main__":
    main()
