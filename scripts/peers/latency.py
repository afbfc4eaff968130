"""Latency: every workload on every engine, a warm-up then ``runs`` timed runs, the engines
interleaved round by round (round 1: every query on every engine, then round 2, ...), so that
noise from other work on the shared machine falls on all of them alike; the median is kept.

An engine whose warm-up fails (or passes the budget: status 504) is not timed on that query
(its status and message are kept).
A query whose warm-up takes longer than ``slow`` seconds is not run again: the warm-up is its
one run (five runs of a 20 s query on every engine would not fit the run, and such a query
gains nothing from warming). An engine past its total ``budget`` for a scale is not run on the
queries left, and an engine marked ``only_when_cut`` (the service with ``row_cap = 0``) runs
only the queries whose answer the service's row cap cut. The report says all of this.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field

from .engines import Answer, Engine
from .workloads import Workload


@dataclass
class Cell:
    """One (workload, engine): its answer and timed runs (ms)."""

    status: int = 0
    rows: int = 0
    nbytes: int = 0
    truncated: bool = False
    error: str = ""
    warmup_ms: float = 0.0
    runs_ms: list[float] = field(default_factory=list)
    skipped: str = ""

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.runs_ms) if self.runs_ms else None

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "median_ms": self.median_ms}


def timed(engine: Engine, work: Workload) -> tuple[Answer, float]:
    began = time.perf_counter()
    answer = engine.run(work)
    wall = time.perf_counter() - began
    return answer, (answer.seconds if answer.seconds is not None else wall) * 1000


def measure(engines: list[Engine], workloads: list[Workload], runs: int, *,
            slow: float = 5.0, budget: dict[str, float] | None = None,
            log: object = print, skips: dict[tuple[str, str], str] | None = None
            ) -> dict[str, dict[str, Cell]]:
    """``{workload name: {engine name: Cell}}`` (see the module); ``skips``: (workload,
    engine) pairs not to run, with the reason."""
    say = log if callable(log) else print
    spent = {e.name: 0.0 for e in engines}
    limit = budget or {}
    table: dict[str, dict[str, Cell]] = {w.name: {} for w in workloads}
    wanted: dict[tuple[str, str], int] = {}

    def over(engine: Engine) -> bool:
        return spent[engine.name] > limit.get(engine.name, float("inf"))

    for work in workloads:
        for engine in engines:
            cell = table[work.name].setdefault(engine.name, Cell())
            first = table[work.name].get(engines[0].name)
            if getattr(engine, "only_when_cut", False) and not (first and first.truncated):
                cell.skipped = "not run: the service's answer was not cut"
                continue
            if (work.name, engine.name) in (skips or {}):
                cell.skipped = (skips or {})[(work.name, engine.name)]
                continue
            if over(engine):
                cell.skipped = f"not run: past its budget of {limit[engine.name]:.0f} s here"
                continue
            answer, ms = timed(engine, work)
            spent[engine.name] += ms / 1000
            cell.status, cell.rows, cell.nbytes = answer.status, answer.rows, answer.nbytes
            cell.truncated, cell.error, cell.warmup_ms = answer.truncated, answer.error, ms
            if answer.status != 200:
                cell.skipped = "failed"
                continue
            if ms > slow * 1000:
                cell.runs_ms.append(ms)
                cell.skipped = f"one run: the warm-up took over {slow:g} s"
            else:
                wanted[(work.name, engine.name)] = runs
        say(f"  warm-up {work.name}: " + ", ".join(
            f"{e.name} {table[work.name][e.name].warmup_ms:.0f} ms" for e in engines))
    for round_no in range(runs):
        order = engines[round_no % len(engines):] + engines[:round_no % len(engines)]
        for work in workloads:
            for engine in order:
                cell = table[work.name][engine.name]
                if wanted.get((work.name, engine.name), 0) <= len(cell.runs_ms):
                    continue
                if over(engine):
                    cell.skipped = cell.skipped or (
                        f"runs cut: past its budget of {limit[engine.name]:.0f} s here")
                    continue
                answer, ms = timed(engine, work)
                spent[engine.name] += ms / 1000
                if answer.status == 200:
                    cell.runs_ms.append(ms)
        say(f"  round {round_no + 1}/{runs} done")
    return table


__all__ = ["Cell", "measure"]
