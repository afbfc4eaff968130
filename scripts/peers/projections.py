"""Load time, memory and query latency projected to 50 M and 1 B triples, from the growth
curves ``make bench`` measured (docs/benchmarks-peers.json): the "Projections" table of
docs/scaling.md (issue 13).

Usage: ``python scripts/peers/projections.py [--json docs/benchmarks-peers.json]
[--out docs/scaling.md]``; ``scripts/peers_bench.py`` runs it at the end of each run.

Each curve is :func:`peers.report.series` (build or load time, PSS once loaded, the geometric
mean latency of the stress shapes, per engine). A projection starts from the engine's largest
measured point and follows two laws, because an extrapolation by 50-1000x is only as good as
the law behind it:

* **fitted**: the log-log slope over 10k-1M (:func:`peers.growth.exponent`). Below 1 it mostly
  says that fixed costs (the interpreter, a preallocated buffer pool, per-request work)
  still weigh at 1M; they stop weighing long before 1 B, so this is the optimistic figure.
* **linear**: slope 1, the pessimistic one for load time and memory (every triple costs the
  same to load and to hold); for latency it is what a query that scans its data costs, while
  an index lookup grows far slower.

Memory is also compared with the machine the run was on, to say what fits one machine.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``peers`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peers.growth import exponent  # noqa: E402
from peers.measure import ROOT  # noqa: E402
from peers.report import series  # noqa: E402

TARGETS = (50e6, 1e9)
MEASURES = (("load time", "s"), ("memory", "MiB"), ("latency", "ms"))
BEGIN = "<!-- projections:begin (written by scripts/peers/projections.py) -->"
END = "<!-- projections:end -->"


def project(points: list[tuple[float, float]], target: float) -> dict[str, float] | None:
    """The value at ``target`` triples from the largest measured point, fitted and linear."""
    slope = exponent(points)
    if slope is None:
        return None
    x, y = max(points)
    return {"from_triples": x, "from_value": y, "exponent": slope,
            "fitted": y * (target / x) ** slope, "linear": y * (target / x)}


def _quantity(value: float, unit: str) -> str:
    if unit == "s":
        for name, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
            if value >= 2 * size:
                return f"{value / size:,.1f} {name}"
        return f"{value:,.1f} s"
    if unit == "MiB":
        for name, size in (("TiB", 1024.0 ** 2), ("GiB", 1024.0)):
            if value >= size:
                return f"{value / size:,.1f} {name}"
        return f"{value:,.0f} MiB"
    return f"{value / 1000:,.1f} s" if value >= 1000 else f"{value:,.1f} ms"


def _size(triples: float) -> str:
    for name, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if triples >= size:
            return f"{triples / size:.3g} {name}"
    return f"{triples:g}"


def _over(value: float, unit: str, memory_gib: float | None) -> str:
    """A mark on a memory figure larger than the machine the benchmark ran on."""
    return " ‡" if unit == "MiB" and memory_gib and value > memory_gib * 1024 else ""


def rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per measure and engine with a fitted curve: the projections to each target."""
    found: list[dict[str, Any]] = []
    for measure, unit in MEASURES:
        for engine, points in series(data).get(measure, {}).items():
            cells = {target: project(points, target) for target in TARGETS}
            if all(cells.values()):
                found.append({"measure": measure, "unit": unit, "engine": engine,
                              "projections": cells})
    return found


def table(data: dict[str, Any]) -> str:
    """The Markdown table and what the machine holds."""
    memory_gib = data.get("environment", {}).get("machine", {}).get("memory_gib")
    lines = [f"From the run of `scripts/peers_bench.py` on {data.get('started', '?')} "
             f"(docs/benchmarks-peers.json; machine: "
             f"{data.get('environment', {}).get('machine', {}).get('cpus', '?')} cores, "
             f"{memory_gib or '?'} GiB). Each cell: **fitted** growth / linear growth, from the "
             f"largest scale measured; ‡ more memory than that machine has. \"service on "
             f"Virtuoso\" is the service's own memory (the store's is Virtuoso's row).", "",
             "| measure | engine | measured (triples) | exponent | 50 M: fitted / linear "
             "| 1 B: fitted / linear |", "|---|---|---|---:|---|---|"]
    for row in rows(data):
        unit = row["unit"]
        first = next(iter(row["projections"].values()))
        cells = []
        for target in TARGETS:
            cell = row["projections"][target]
            fitted, linear = (_quantity(cell[law], unit) + _over(cell[law], unit, memory_gib)
                              for law in ("fitted", "linear"))
            cells.append(f"**{fitted}** / {linear}")
        lines.append(f"| {row['measure']} ({unit}) | {row['engine']} | "
                     f"{_quantity(first['from_value'], unit)} ({_size(first['from_triples'])}) "
                     f"| {first['exponent']:.2f} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def write(data: dict[str, Any], out: Path) -> None:
    """Replace the text between the projection markers of ``out``."""
    text = out.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{out}: no projection markers ({BEGIN} ... {END}) to write between")
    out.write_text(pattern.sub(lambda _m: f"{BEGIN}\n{table(data)}{END}", text),
                   encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=ROOT / "docs/benchmarks-peers.json")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/scaling.md")
    args = parser.parse_args()
    write(json.loads(args.json.read_text(encoding="utf-8")), args.out)
    print(f"wrote the projections into {args.out}")


if __name__ == "__main__":
    main()
