"""The peers section of docs/benchmarks.md, as Markdown, from the run's JSON."""

from __future__ import annotations

import statistics
from typing import Any

ENGINES = ("service", "raw pyoxigraph", "service, row_cap=0", "Virtuoso",
           "Virtuoso, same dataset", "service on Virtuoso", "rdflib")
PHASES = ("generate", "parse", "reason", "write", "build (whole)", "validate", "index",
          "Virtuoso load")


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def cell_text(cell: dict[str, Any] | None, raw_rows: int | None) -> str:
    """A median, or why there is none; † when the row cap cut it, ≠ when its row count
    differs from raw pyoxigraph's."""
    if not cell:
        return "–"
    if cell.get("skipped") and not cell.get("median_ms"):
        if "was not cut" in cell["skipped"]:
            return "·"
        if cell.get("status") == 504:
            return f"> {cell['warmup_ms'] / 1000:.0f} s"
        if cell.get("status") not in (0, 200):
            return f"error {cell['status']}"
        return "not run"
    text = _ms(cell.get("median_ms"))
    if cell.get("truncated"):
        text += " †"
    if raw_rows is not None and cell.get("status") == 200 and cell.get("rows") != raw_rows:
        text += f" ≠{cell.get('rows')}"
    return text


def latency_table(scale: dict[str, Any]) -> list[str]:
    present = [e for e in ENGINES if any(e in c for c in scale["latency"].values())]
    lines = ["| query | rows | " + " | ".join(present) + " | service / raw |",
             "|---|---:|" + "---:|" * len(present) + "---:|"]
    for work, cells in scale["latency"].items():
        raw = cells.get("raw pyoxigraph") or {}
        raw_rows = raw.get("rows") if raw.get("status") == 200 else None
        svc = cells.get("service") or {}
        ratio = ""
        if svc.get("median_ms") and raw.get("median_ms"):
            ratio = f"{svc['median_ms'] / raw['median_ms']:.2f}"
            if svc["median_ms"] > 1.2 * raw["median_ms"] + 2:
                ratio = f"**{ratio}**"
        rows = raw_rows if raw_rows is not None else svc.get("rows", "")
        lines.append(f"| `{work}` | {rows} | "
                     + " | ".join(cell_text(cells.get(e), raw_rows) for e in present)
                     + f" | {ratio} |")
    return lines


def phases_table(data: dict[str, Any]) -> list[str]:
    lines = ["| scale | triples (all graphs) | " + " | ".join(PHASES) + " |",
             "|---|---:|" + "---:|" * len(PHASES)]
    rows = [*data["scales"].values(), *data.get("load_only", {}).values()]
    for scale in rows:
        phases = scale.get("phases", {})
        cells = []
        for name in PHASES:
            p = phases.get(name)
            if not p:
                cells.append("–")
                continue
            text = f"{p['seconds']:.1f} s / {p['peak_rss_mib']:,.0f} MiB"
            if not p.get("done", True):
                text = (f"failed after {p['seconds']:.0f} s (below)"
                        if p.get("note", "").startswith("failed")
                        else f"> {p['seconds']:.0f} s (stopped) / {p['peak_rss_mib']:,.0f} MiB")
            cells.append(text)
        lines.append(f"| {scale['label']} | {scale['quads']:,} | " + " | ".join(cells) + " |")
    return lines


def failed_loads(data: dict[str, Any]) -> list[str]:
    lines = []
    for scale in [*data["scales"].values(), *data.get("load_only", {}).values()]:
        for name, phase in scale.get("phases", {}).items():
            if not phase.get("done", True) and phase.get("note", "").startswith("failed"):
                why = (" The staged Graph Store PUTs had passed; the switch, one update operation "
                       "that moves every staged triple into the served graphs (all or nothing, "
                       "store/upload.py), ran past Virtuoso 7.2's transaction time-out."
                       if "SR171" in phase["note"] and "DELETE" in phase["note"] else "")
                lines.append(f"- {scale['label']} {name} after {phase['seconds']:.0f} s: "
                             f"{phase['note'][:300]}…{why}")
    return lines


def projection_lines(data: dict[str, Any]) -> list[str]:
    found = data.get("build_projection") or {}
    if not found.get("peak_rss_mib") or not found.get("seconds"):
        return []
    return [f"The build at {found['triples'] / 1e6:g}M triples, projected from its growth "
            f"(exponents {found['seconds_exponent']:.2f} for time, "
            f"{found['peak_rss_mib_exponent']:.2f} for peak RSS, 10k to 1M): about "
            f"{found['seconds'] / 60:,.0f} min and {found['peak_rss_mib'] / 1024:,.0f} GiB "
            "peak, so it is not run on this machine; that scale is load-only (generated, "
            "written as quads without the inferred graph, loaded by pyoxigraph and Virtuoso)."]


def engines_table(data: dict[str, Any]) -> list[str]:
    names = [n for n in (*ENGINES, "service, cache on")
             if any(n in s["engines"] for s in data["scales"].values())]
    lines = ["| scale | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for scale in data["scales"].values():
        cells = []
        for name in names:
            e = scale["engines"].get(name)
            cells.append("–" if not e else f"{e['start_s']:.2f} s"
                         + (f" / {e['pss_mib']:,.0f} MiB" if e.get("pss_mib") else ""))
        lines.append(f"| {scale['label']} | " + " | ".join(cells) + " |")
    for extra in data.get("load_only", {}).values():
        v = extra["virtuoso"]
        shown = (f"{v['start_s']:.2f} s / {v['pss_mib']:,.0f} MiB" if v.get("pss_mib")
                 else "load failed (above)")
        index = extra["phases"].get("index", {})
        lines.append(f"| {extra['label']} (load only) | "
                     + " | ".join(shown if n == "Virtuoso" else
                                  f"index {index['seconds']:.1f} s / {index['peak_rss_mib']:,.0f}"
                                  " MiB peak" if n == "raw pyoxigraph" and index else "–"
                                  for n in names) + " |")
    return lines


def throughput_table(scale: dict[str, Any]) -> list[str]:
    lines = ["| mix | clients | service cold req/s (p50 / p99 ms) | service warm | Virtuoso "
             "| cold / Virtuoso | warm / Virtuoso | non-2xx (cold, warm, Virtuoso) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for mix, variants in scale.get("throughput", {}).items():
        for c in ("1", "8", "32"):
            stats = {}
            for v in ("service, cold", "service, warm", "Virtuoso"):
                runs = variants.get(v, {}).get(c, [])
                if runs:
                    stats[v] = {k: statistics.median(r[k] for r in runs)
                                for k in ("qps", "p50", "p99", "errors")}
            if not stats:
                continue

            def show(v: str, s: dict[str, dict[str, float]] = stats) -> str:
                return (f"{s[v]['qps']:,.1f} ({_ms(s[v]['p50'])} / {_ms(s[v]['p99'])})"
                        if v in s else "–")

            def ratio(v: str, s: dict[str, dict[str, float]] = stats) -> str:
                if v in s and "Virtuoso" in s and s["Virtuoso"]["qps"]:
                    return f"{s[v]['qps'] / s['Virtuoso']['qps']:.2f}"
                return "–"

            errors = ", ".join(f"{stats[v]['errors']:.0f}" if v in stats else "–"
                               for v in ("service, cold", "service, warm", "Virtuoso"))
            lines.append(f"| {mix} | {c} | {show('service, cold')} | {show('service, warm')} | "
                         f"{show('Virtuoso')} | {ratio('service, cold')} | "
                         f"{ratio('service, warm')} | {errors} |")
    return lines


def cap_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    for label, scale in data["scales"].items():
        for work, cells in scale["latency"].items():
            svc = cells.get("service") or {}
            if not svc.get("truncated"):
                continue
            raw = cells.get("raw pyoxigraph") or {}
            nocap = cells.get("service, row_cap=0") or {}
            lines.append(f"| {label} | `{work}` | {svc.get('rows')} of {raw.get('rows', '?')} | "
                         f"{_ms(svc.get('median_ms'))} | {_ms(nocap.get('median_ms'))} | "
                         f"{_ms(raw.get('median_ms'))} |")
    if not lines:
        return ["No result reached the row cap."]
    return ["| scale | query | rows served (cut) | service ms | service, row_cap=0 ms | "
            "raw ms |", "|---|---|---:|---:|---:|---:|", *lines]


def differences(data: dict[str, Any]) -> list[str]:
    lines = []
    for label, scale in data["scales"].items():
        for work, cells in scale["latency"].items():
            raw = cells.get("raw pyoxigraph") or {}
            for engine in ("service", "Virtuoso", "Virtuoso, same dataset",
                           "service on Virtuoso", "rdflib"):
                cell = cells.get(engine)
                if not cell or cell.get("skipped", "").startswith("not run"):
                    continue
                if cell["status"] not in (200, 504):
                    message = " ".join(cell["error"].split())[:160].replace("|", "/")
                    lines.append(f"- {label} `{work}`: {engine} fails ({cell['status']}: "
                                 f"{message})")
                elif (cell["status"] == 200 and raw.get("status") == 200
                      and cell["rows"] != raw["rows"]):
                    lines.append(f"- {label} `{work}`: {engine} {cell['rows']} rows, "
                                 f"pyoxigraph {raw['rows']}")
    return lines or ["None."]


def section_text(data: dict[str, Any]) -> str:
    env = data.get("environment", {})
    machine, versions = env.get("machine", {}), env.get("versions", {})
    settings = data["settings"]
    load = data.get("load_average", {})
    out = [
        "## Against the peers, at scale (issue 14)",
        "",
        f"Run {data['started']} – {data.get('finished', '?')} by `{data['command']}` "
        f"(`make bench`), commit {versions.get('commit', '?')[:12]}. Machine: "
        f"{machine.get('cpus')} cores ({machine.get('cpu')}), {machine.get('memory_gib')} GiB, "
        f"Linux {machine.get('kernel')}, Python {machine.get('python')}; pyoxigraph "
        f"{versions.get('pyoxigraph')}, rdflib {versions.get('rdflib')}, gunicorn "
        f"{versions.get('gunicorn')}, {versions.get('virtuoso')}, {versions.get('wrk')}, "
        f"{versions.get('py-spy')}. The machine is shared with other work (load average "
        f"{load.get('before', [0])[0]:.2f} before, {load.get('after', [0])[0]:.2f} after): "
        "compare engines within this run, not across runs. Raw data: "
        "[benchmarks-peers.json](benchmarks-peers.json).",
        "",
        "Graphs: `ketamine-ed-kg synth` (seed 0) at each scale, built by the real pipeline; "
        "\"curated\" is our own graph. Every engine holds the same `dataset.nq` (asserted, "
        "inferred, ontology and discovery graphs) and queries the union of its graphs. "
        f"Latency: a warm-up, then {settings['runs']} timed runs per query and engine, engines "
        "interleaved round by round, median shown (ms); a query whose warm-up took over 5 s "
        "is run once (its warm-up is its run); a query may take "
        f"{settings['budget']:.0f} s (the service's deadline; the others are stopped there), "
        "and one that took over a tenth of that at the scale before is not run again "
        "(\"not run\"); `row_cap=0` runs only where the cap cut the service's answer "
        "(· elsewhere). Service: `ketamine-ed-kg serve` under gunicorn, default workers, "
        "results cache off unless said, row cap 10,000, `per_client_queries = 64`; "
        "raw pyoxigraph: in process, result serialised (JSON, N-Triples), timed in its own "
        "process; rdflib: `Dataset(default_union=True)`, timed the same way, up to "
        f"{settings['rdflib_max']}; Virtuoso 7.2 (Debian) on 127.0.0.1, NumberOfBuffers "
        "170000, MaxDirtyBuffers 6000, 16 HTTP threads, asked with no dataset, so it "
        "queries every graph it holds (its own system graphs and our load record too); "
        "\"Virtuoso, same dataset\": the same server asked the service on Virtuoso's "
        "question, with the dataset parameters the service sends it (`default-graph-uri`: "
        "the release's graphs; `named-graph-uri`: them when the query has a `GRAPH` pattern, "
        "else none), the baseline of the engine-bound target. † the row cap cut the answer; "
        "≠n: n rows where pyoxigraph has another count (see the differences below).",
        "",
        "### Targets",
        "",
        "| target | measured | ratio | met | measured reason for a miss |",
        "|---|---|---:|---|---|",
    ]
    for t in data.get("targets", []):
        met = "met" if t["met"] else "**missed**" if t["met"] is False else "not measured"
        ratio = f"{t['ratio']:.2f}" if isinstance(t["ratio"], float) else "–"
        out.append(f"| {t['target']} | {t['measured']} | {ratio} | {met} | {t['reason']} |")
    out += ["", "### Build and load, per phase (time / peak RSS)", "",
            "Each phase in a fresh process; peak RSS is the phase's own (VmHWM reset at each "
            "phase boundary). parse, reason (OBO additions and the inferred graph) and write "
            "(canonical blank nodes, release files, downloads) are the build's phases; validate "
            "is SHACL and QC, stopped at its budget; index is pyoxigraph loading "
            "`dataset.nq` (the service's start-up); Virtuoso load is `ketamine-ed-kg load`'s "
            "code (peak column: Virtuoso's PSS after it). Built (or loaded) by commit: "
            + ", ".join(f"{s['label']} {s.get('built_by', '?')}"
                        + (" (reused)" if s.get("reused") else "")
                        for s in [*data["scales"].values(), *data.get("load_only", {}).values()])
            + " (`--reuse` keeps them across runs).", "", *phases_table(data), "",
            *failed_loads(data),
            "", *projection_lines(data),
            "", "### Start (first query answered) / memory (PSS after the latency runs)", "",
            "\"Virtuoso, same dataset\" is the Virtuoso server started once: its start is "
            "reading the load record (the release's graphs) and a first answer; its memory is "
            "in the Virtuoso column.", "", *engines_table(data)]
    for label, scale in data["scales"].items():
        out += ["", f"### Latency at {label} ({scale['quads']:,} triples), median ms", "",
                f"rdflib: {scale.get('rdflib')}.", "", *latency_table(scale)]
    out += ["", "### The row cap's effect", "",
            "Answers the cap cut are never counted as a win: they are left out of the per-query "
            "target, and shown here with the uncut service (`row_cap = 0`) and raw pyoxigraph.",
            "", *cap_lines(data)]
    out += ["", "### Throughput (wrk, "
            f"{settings['seconds']} s per run, {settings['rounds']} round(s), median)", ""]
    for label, scale in data["scales"].items():
        excluded = scale.get("mix_excluded", [])
        out += [f"#### {label}", "",
                f"Left out of the mixes (failed, cut, or over {settings['mix_max']:g} s on the "
                "service or Virtuoso): "
                + (", ".join(f"`{w}`" for w in excluded) if excluded else "none") + ".", "",
                *throughput_table(scale), ""]
        for mix, profile in scale.get("profiles", {}).items():
            cats = ", ".join(f"{k} {v:.0%}" for k, v in profile.get("busy", {}).items())
            procs = ", ".join(f"{k} {v:.0%}" for k, v in profile.get("processes", {}).items())
            leaves = "; ".join(f"`{k}` {v:.0%}" for k, v in profile.get("top_leaves", [])[:6])
            out += [f"Profile of the service, {mix}, 8 clients (py-spy `record --subprocesses`, "
                    f"HTTP process and query processes, {profile.get('samples', 0)} samples, "
                    f"{profile.get('busy_samples', 0)} not blocked in a system call). Where "
                    f"the busy samples fall: {cats}. All samples by process: {procs}. Top "
                    f"leaf frames: {leaves}.", ""]
    out += ["### Differences between engines", "", *differences(data), "",
            "### Growth", "",
            "![Load time, memory and latency against triples, per engine](growth.svg)", "",
            "Fitted exponents (log-log slope from 10k to 1M; 1 is linear):", "",
            "| measure | engine | exponent |", "|---|---|---:|"]
    for measure, by_engine in data.get("growth", {}).items():
        for engine, slope in by_engine.items():
            out.append(f"| {measure} | {engine} | {'–' if slope is None else f'{slope:.2f}'} |")
    return "\n".join(out)


__all__ = ["section_text"]
