"""Throughput and p50/p99 latency with ``wrk`` (Debian's), at 1, 8 and 32 connections, on the
example mix, the UI mix and the paged join: our service cold (results cache off) and warm
(cache on, filled by one pass first) against Virtuoso's own endpoint, rounds interleaved.

A mix is sent as ``/sparql?query=…`` GETs in turn by a Lua script, each with its own
``Accept``, so both servers get the same requests. A query a server fails is left out of the
mix for every server (the report lists them): a fast error must not count as throughput.

``profile``: ``py-spy record`` on the service's whole process tree (HTTP process and query
processes) while wrk runs, summarised by where the samples fall (:func:`summarise`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

from scaling_bench import wrk  # scripts/ is on sys.path

from .engines import AGENT
from .workloads import Workload


def mix_script(works: list[Workload], folder: Path, name: str) -> Path:
    """A wrk Lua script sending ``works`` in turn, each wrk thread from its own start."""
    items = ", ".join(f'{{{json.dumps("/sparql?" + urlencode({"query": w.text}))}, '
                      f'{json.dumps(w.accept)}}}' for w in works)
    script = folder / f"{name}.lua"
    script.write_text(
        f"items = {{{items}}}\n"
        "i = 0\n"
        "function setup(thread) thread:set('i', math.random(#items) - 1) end\n"
        "function request()\n"
        "  i = i % #items + 1\n"
        f"  return wrk.format('GET', items[i][1], {{Accept = items[i][2], "
        f"['User-Agent'] = '{AGENT}'}})\n"
        "end\n", encoding="utf-8")
    return script


def run(base: str, works: list[Workload], seconds: int, connections: int, folder: Path,
        name: str) -> dict[str, float]:
    script = mix_script(works, folder, name)
    return wrk(base + "/sparql", seconds, connections, accept=works[0].accept, script=script)


def profiled(base: str, works: list[Workload], seconds: int, connections: int, folder: Path,
             name: str, pid: int) -> tuple[dict[str, float], dict[str, object]]:
    """:func:`run` with py-spy recording the process tree of ``pid`` meanwhile."""
    spy = shutil.which("py-spy") or str(Path(__file__).resolve().parents[2] / ".venv/bin/py-spy")
    out = folder / f"{name}.pyspy.txt"
    proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking",
                             "--duration", str(seconds), "--rate", "200", "--format", "raw",
                             "--output", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        stats = run(base, works, seconds, connections, folder, name)
    finally:
        proc.wait(timeout=seconds + 60)
    return stats, summarise(out)


WAITING = ("wait_for_signals", "select (selectors.py", "WorkerPool._recv", "_recv_exact",
           "Condition.wait", "_worker (concurrent/futures/thread.py", "_wait_for_tstate_lock",
           "main (ketamine_ed_kg/server/zygote.py")
"""Leaf frames of a thread blocked in a system call (py-spy samples some of them): waiting
for a request, a job, an answer or a signal, not work."""
CATEGORIES = (
    ("compiling regular expressions (re)", ("re/_compiler.py", "re/_parser.py")),
    ("engine (pyoxigraph query and serialisation)", ("store/oxigraph.py", "store/rowcap.py")),
    ("query parse and plan (Lark, policy, rewrites)", ("security.py", "query_plan.py", "lark")),
    ("frames and IPC (encode, send, decode)", ("framing.py", "pool.py", "zygote.py",
                                              "dataclasses.py", "jobs.py")),
    ("HTTP (gunicorn, Flask, werkzeug, our routes)", ("gunicorn", "flask", "werkzeug",
                                                      "server/")),
)


def summarise(path: Path) -> dict[str, object]:
    """Share of py-spy's samples per category and per process kind, and the ten leaf frames
    with most samples. A sample whose leaf frame is a blocking wait (:data:`WAITING`) counts
    as waiting; any other takes the category of the first frame, from the leaf up, that
    matches one (the root ``process …`` frame, which holds the command line, is left out).

    py-spy's raw format is one collapsed stack per line (``frame;frame;… count``), the root
    ``process PID:"command"`` when recording subprocesses."""
    if not path.exists():
        return {"error": "py-spy wrote nothing (not permitted to attach?)"}
    by_category: Counter[str] = Counter()
    by_process: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "\"process"))
                  and "(" in f]
        if not frames:
            continue
        kind = ("query process" if any("zygote.py" in f for f in frames) else "HTTP process")
        by_process[kind] += count
        category = "other"
        if any(mark in frames[-1] for mark in WAITING):
            category = "waiting (blocked in a system call)"
        else:
            for frame in reversed(frames):
                found = next((label for label, marks in CATEGORIES
                              if any(m in frame for m in marks)), None)
                if found:
                    category = found
                    break
        by_category[category] += count
        leaves[frames[-1][:120]] += count
    busy = total - by_category["waiting (blocked in a system call)"]
    return {"samples": total, "busy_samples": busy,
            "categories": {k: v / total for k, v in by_category.most_common()} if total else {},
            "busy": {k: v / busy for k, v in by_category.most_common()
                     if not k.startswith("waiting")} if busy else {},
            "processes": {k: v / total for k, v in by_process.most_common()} if total else {},
            "top_leaves": [[k, v / total] for k, v in leaves.most_common(10)] if total else []}


__all__ = ["mix_script", "profiled", "run", "summarise"]
