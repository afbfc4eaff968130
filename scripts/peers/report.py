"""The run's conclusions: environment, growth exponents, the issue's targets (each with its
measured ratio, met or missed, and for a miss the measured reason), the plot and the Markdown
section. Everything here reads the run's JSON only, so a report can be redrawn from it.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from importlib.metadata import version
from typing import Any

from .growth import Series, exponent, svg
from .measure import ROOT
from .tables import section_text
from .workloads import STRESS, UI_SHAPES

PEERS = ("service", "raw pyoxigraph", "Virtuoso", "Virtuoso, same dataset", "service on Virtuoso",
         "rdflib")
SAME = "Virtuoso, same dataset"
"""Virtuoso asked with the service's dataset: what the service on Virtuoso is held to."""


def _first_line(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except OSError:
        return "absent"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[1 if cmd[0].endswith("virtuoso-t") and len(lines) > 1 else 0] if lines else ""


def environment() -> dict[str, Any]:
    meminfo = open("/proc/meminfo", encoding="utf-8").readline().split()
    cpu = next((line.split(":", 1)[1].strip() for line in
                open("/proc/cpuinfo", encoding="utf-8") if line.startswith("model name")), "")
    return {
        "machine": {"cpus": os.cpu_count(), "cpu": cpu,
                    "memory_gib": round(int(meminfo[1]) / 1024 / 1024, 1),
                    "kernel": platform.release(), "python": platform.python_version()},
        "versions": {"pyoxigraph": version("pyoxigraph"), "rdflib": version("rdflib"),
                     "gunicorn": version("gunicorn"), "flask": version("flask"),
                     "virtuoso": _first_line(["virtuoso-t", "-?"]),
                     "wrk": _first_line(["wrk", "-v"]),
                     "py-spy": _first_line([str(ROOT / ".venv/bin/py-spy"), "--version"]),
                     "commit": _first_line(["git", "-C", str(ROOT), "rev-parse", "HEAD"])},
    }


def median_of(cell: dict[str, Any] | None) -> float | None:
    return None if not cell else cell.get("median_ms")


def geomean_stress(scale: dict[str, Any], engine: str) -> tuple[float | None, int]:
    """Geometric mean of an engine's medians over the stress shapes it answered (and how
    many); a shape past the budget counts as the budget (a lower bound for that engine)."""
    values = []
    for name in STRESS:
        cell = scale["latency"].get(name, {}).get(engine)
        if cell is None:
            continue
        if cell.get("median_ms"):
            values.append(cell["median_ms"])
        elif cell.get("status") == 504:
            values.append(cell["warmup_ms"])
    return (statistics.geometric_mean(values) if values else None), len(values)


def series(data: dict[str, Any]) -> dict[str, Series]:
    """Load time (s), memory (PSS, MiB) and latency (geometric mean of the stress shapes, ms)
    per engine against the triples it holds."""
    load: Series = {}
    memory: Series = {}
    lat: Series = {}
    scales = [*data["scales"].values()]
    for scale in scales:
        x = float(scale["quads"])
        phases = scale.get("phases", {})
        for name, value in (("service (build)", phases.get("build (whole)", {}).get("seconds")),
                            ("raw pyoxigraph (index)", phases.get("index", {}).get("seconds")),
                            ("Virtuoso (load)", phases.get("Virtuoso load", {}).get("seconds")),
                            ("rdflib (parse)", scale["engines"].get("rdflib", {}).get("start_s"))):
            if value:
                load.setdefault(name, []).append((x, value))
        for engine in PEERS:
            pss = scale["engines"].get(engine, {}).get("pss_mib")
            if pss:
                memory.setdefault(engine, []).append((x, pss))
            mean, count = geomean_stress(scale, engine)
            if mean and count == len(STRESS):
                lat.setdefault(engine, []).append((x, mean))
    for extra in data.get("load_only", {}).values():
        x = float(extra["quads"])
        index = extra["phases"].get("index", {}).get("seconds")
        if index:
            load.setdefault("raw pyoxigraph (index)", []).append((x, index))
        loaded = extra["phases"].get("Virtuoso load", {})
        virt = loaded.get("seconds") if loaded.get("done") else None  # a failed load: no point
        if virt:
            load.setdefault("Virtuoso (load)", []).append((x, virt))
        if extra["virtuoso"].get("pss_mib"):
            memory.setdefault("Virtuoso", []).append((x, extra["virtuoso"]["pss_mib"]))
    return {"load time": load, "memory": memory, "latency": lat}


def growth(data: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Fitted exponents (log-log slope, 10k to 1M) per measure and engine."""
    return {measure: {name: exponent(points) for name, points in by_engine.items()}
            for measure, by_engine in series(data).items()}


def projection(data: dict[str, Any], target: float = 5e6) -> dict[str, Any]:
    """The build at ``target`` asserted triples, extrapolated from the fitted growth of its
    time and peak RSS (10k to 1M): why the largest scale is load-only here."""
    points: dict[str, list[tuple[float, float]]] = {"seconds": [], "peak_rss_mib": []}
    largest: dict[str, Any] | None = None
    for scale in data["scales"].values():
        whole = scale.get("phases", {}).get("build (whole)")
        if whole and scale["label"] != "curated":
            for key in points:
                points[key].append((float(scale["quads"]), whole[key]))
            largest = scale
    if largest is None:
        return {}
    x = float(largest["quads"]) * target / max(1.0, float(largest["triples"]))
    found: dict[str, Any] = {"triples": target}
    for key, pts in points.items():
        slope = exponent(pts)
        last = pts[-1][1]
        found[key] = None if slope is None else last * (x / pts[-1][0]) ** slope
        found[f"{key}_exponent"] = slope
    return found


def plot(data: dict[str, Any]) -> str:
    found = series(data)
    return svg([("Load / build time", "s", found["load time"]),
                ("Memory (PSS, loaded)", "MiB", found["memory"]),
                ("Latency (geo. mean, 7 shapes)", "ms", found["latency"])],
               f"scripts/peers_bench.py, {data['started']}: log-log, triples in all graphs. "
               "Load: the service's build, pyoxigraph's index, Virtuoso's load, rdflib's "
               "parse (5M: load only)")


# ----------------------------------------------------------------------------- targets

def _target(name: str, measured: str, ratio: float | None, met: bool | None,
            reason: str = "") -> dict[str, Any]:
    return {"target": name, "measured": measured, "ratio": ratio,
            "met": met, "reason": "" if met else reason}


def per_query(data: dict[str, Any]) -> dict[str, Any]:
    """At every scale, service <= 1.2 x raw + 2 ms with the row cap on; a result the cap cut
    is not compared (never counted as a win) but listed."""
    compared = met = 0
    worst: tuple[float, str] = (0.0, "")
    misses: list[str] = []
    cut: list[str] = []
    for label, scale in data["scales"].items():
        for work, cells in scale["latency"].items():
            svc, raw = cells.get("service"), cells.get("raw pyoxigraph")
            if not svc or not raw or not svc.get("median_ms") or not raw.get("median_ms"):
                continue
            if svc["truncated"]:
                cut.append(f"{label} {work}")
                continue
            compared += 1
            ratio = svc["median_ms"] / raw["median_ms"]
            ok = svc["median_ms"] <= 1.2 * raw["median_ms"] + 2
            met += ok
            if ratio > worst[0]:
                worst = (ratio, f"{label} {work}")
            if not ok:
                misses.append(f"{label} `{work}` {svc['median_ms']:.1f} vs "
                              f"{raw['median_ms']:.1f} ms")
    hop = [cells["service"]["median_ms"] - cells["raw pyoxigraph"]["median_ms"]
           for scale in data["scales"].values() for cells in scale["latency"].values()
           if cells.get("service", {}).get("median_ms")
           and cells.get("raw pyoxigraph", {}).get("median_ms")
           and cells["raw pyoxigraph"]["median_ms"] < 5]
    reason = ""
    if misses:
        reason = (f"{len(misses)} misses: " + "; ".join(misses[:8])
                  + ("; …" if len(misses) > 8 else "")
                  + (f". On queries raw answers in under 5 ms the service adds a median "
                     f"{statistics.median(hop):.1f} ms (HTTP, the hop to a query process, "
                     "parse and plan)" if hop else ""))
    return _target("Per query: service <= 1.2x raw pyoxigraph + 2 ms, row cap on, every scale",
                   f"{met}/{compared} within; worst {worst[0]:.2f}x ({worst[1]}); "
                   f"{len(cut)} cut by the cap, not compared", worst[0] or None,
                   compared > 0 and met == compared, reason)


def _qps(scale: dict[str, Any] | None, mix: str, variant: str, conns: str) -> float | None:
    runs = (scale or {}).get("throughput", {}).get(mix, {}).get(variant, {}).get(conns)
    return statistics.median(r["qps"] for r in runs) if runs else None


def _profile_text(profile: dict[str, Any] | None) -> str:
    if not profile or not profile.get("busy"):
        return "no profile"
    cats = ", ".join(f"{k} {v:.0%}" for k, v in list(profile["busy"].items())[:5])
    procs = ", ".join(f"{k} {v:.0%}" for k, v in profile.get("processes", {}).items())
    waiting = 1 - profile["busy_samples"] / profile["samples"]
    return (f"py-spy, {profile['busy_samples']} busy samples of {profile['samples']} "
            f"({waiting:.0%} blocked waiting): {cats} (all samples by process: {procs})")


def _against_virtuoso(scale: dict[str, Any] | None, variant: str
                      ) -> list[tuple[str, float, float, float]]:
    """(connections, service req/s, Virtuoso req/s, ratio) on the example mix at 8 and 32."""
    rows = []
    for c in ("8", "32"):
        ours, theirs = (_qps(scale, "example mix", variant, c),
                        _qps(scale, "example mix", "Virtuoso", c))
        if ours and theirs:
            rows.append((c, ours, theirs, ours / theirs))
    return rows


def throughput_targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    curated = data["scales"].get("curated")
    ratios = _against_virtuoso(curated, "service, cold")
    if ratios:
        worst = min(r[3] for r in ratios)
        found.append(_target(
            "Throughput cold, curated graph: example mix at 8 and 32 clients >= Virtuoso",
            "; ".join(f"{c} clients {o:,.0f} vs {t:,.0f} req/s ({r:.2f}x)"
                      for c, o, t, r in ratios), worst, worst >= 1.0,
            "where the service's time goes: "
            + _profile_text((curated or {}).get("profiles", {}).get("example mix"))))
    for label in ("100k", "1M"):
        rows = _against_virtuoso(data["scales"].get(label), "service, warm")
        if rows:
            worst = min(r[3] for r in rows)
            found.append(_target(
                f"Throughput warm, {label}: example mix >= 2x Virtuoso (results cache on)",
                "; ".join(f"{c} clients {o:,.0f} vs {t:,.0f} req/s ({r:.2f}x)"
                          for c, o, t, r in rows), worst, worst >= 2.0,
                "the warm mix is answered from the results cache: what is left is HTTP "
                "and Flask per request in one HTTP process on 2 cores"))
    return found


def engine_bound(data: dict[str, Any]) -> dict[str, Any] | None:
    """The service on Virtuoso against Virtuoso asked the same question (``SAME``: the
    service's dataset); a run from before that engine existed is compared with plain
    Virtuoso, and the target says so."""
    if not data["scales"]:
        return None
    label, scale = list(data["scales"].items())[-1]
    names = ["paged join", *(f"ui: {s}" for s in UI_SHAPES)]
    base = SAME if any(SAME in c for c in scale["latency"].values()) else "Virtuoso"
    ratios = []
    added = []
    for name in names:
        cells = scale["latency"].get(name, {})
        ours, theirs = median_of(cells.get("service on Virtuoso")), median_of(cells.get(base))
        if ours and theirs:
            ratios.append((name, ours / theirs))
            added.append(ours - theirs)
    if not ratios:
        return None
    worst = max(ratios, key=lambda r: r[1])
    profiles = scale.get("profiles", {})
    against = ("Virtuoso's latency asked the same question (\"Virtuoso, same dataset\": the "
               "release's graphs as the service sends them)" if base == SAME else
               "Virtuoso's latency (plain endpoint, every graph it holds: this run has no "
               "\"Virtuoso, same dataset\")")
    return _target(
        f"Engine-bound shapes at {label}: profile shows the engine's time; service on "
        f"Virtuoso <= 1.15x {against} (paged join, UI mix)",
        f"worst {worst[1]:.2f}x ({worst[0]}); " + ", ".join(f"{n} {r:.2f}x" for n, r in ratios)
        + "; paged join profile: " + _profile_text(profiles.get("paged join"))
        + "; UI mix profile: " + _profile_text(profiles.get("UI mix")),
        worst[1], worst[1] <= 1.15,
        f"the service on Virtuoso adds a median {statistics.median(added):.1f} ms (range "
        f"{min(added):.1f} to {max(added):.1f}) to {base}'s own time: its HTTP hop, the "
        "sealed parse and plan, the forwarding process and the translation of the answer; on "
        "shapes Virtuoso answers in tens of ms that is more than 15%. The embedded service's "
        "own profile puts {:.0%} of its busy time in pyoxigraph on the paged join".format(
            profiles.get("paged join", {}).get("busy", {}).get(
                "engine (pyoxigraph query and serialisation)", 0.0)))


def rdflib_target(data: dict[str, Any]) -> dict[str, Any] | None:
    scale = data["scales"].get("100k")
    if not scale:
        return None
    ours, n_ours = geomean_stress(scale, "service")
    theirs, n_theirs = geomean_stress(scale, "rdflib")
    if not ours or not theirs or n_ours != n_theirs:
        return _target("Against rdflib at 100k: >= 10x (geometric mean, 7 shapes)",
                       f"rdflib: {scale.get('rdflib')}", None, None,
                       "rdflib was not measured on every shape at 100k")
    ratio = theirs / ours
    raw, _ = geomean_stress(scale, "raw pyoxigraph")
    return _target("Against rdflib at 100k: >= 10x (geometric mean, 7 shapes)",
                   f"{theirs:,.0f} vs {ours:,.1f} ms ({ratio:.2f}x; a shape past the budget "
                   "counts as the budget)", ratio, ratio >= 10,
                   f"the engine alone is {theirs / raw:.0f}x faster than rdflib "
                   f"(raw pyoxigraph {raw:.1f} ms); the service's fixed cost per request "
                   "(the per-query row) takes the rest" if raw else "")


def start_targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for label, limit in (("curated", 2.0), ("1M", 5.0)):
        scale = data["scales"].get(label)
        if not scale:
            continue
        start = scale["engines"]["service"]["start_s"]
        raw = scale["engines"].get("raw pyoxigraph", {}).get("start_s", 0.0)
        found.append(_target(f"Start, {label}: first query answered in < {limit:g} s",
                             f"{start:.2f} s", start / limit, start < limit,
                             f"pyoxigraph alone loads the dataset and answers its first query "
                             f"in {raw:.2f} s in this run (raw pyoxigraph's start); the "
                             f"other {start - raw:.2f} s are gunicorn, the app, the zygote "
                             "and its first query processes"))
    curated = data["scales"].get("curated")
    if curated:
        phases = curated["phases"]
        parts = {k: phases[k]["seconds"] for k in ("validate", "build (whole)", "index")
                 if k in phases}
        total = sum(parts.values())
        detail = ", ".join(f"{k} {phases[k]['seconds']:.1f} s"
                           for k in ("parse", "reason", "write", "validate", "index")
                           if k in phases)
        found.append(_target("Rebuild of the curated graph (validate, reason, index) < 10 s",
                             f"{total:.1f} s ({detail})", total / 10, total < 10,
                             "the biggest phases above; 'write' renders every release "
                             "format and download"))
    return found


def targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    found = [per_query(data), *throughput_targets(data)]
    for extra in (engine_bound(data), rdflib_target(data)):
        if extra:
            found.append(extra)
    found.extend(start_targets(data))
    return found


def section(data: dict[str, Any]) -> str:
    return section_text(data)


__all__ = ["environment", "growth", "plot", "projection", "section", "series", "targets"]
