"""Memory and child processes: peak RSS per phase, PSS of a process tree, timed children.

Why these measures: peak RSS (``VmHWM``) is what a machine must have free for a phase; PSS
(proportional set size, from ``smaps_rollup``) is what a running service costs, counting the
store the query processes share copy-on-write once rather than once per process, which RSS
would do.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIB = 1 << 20


def _status_kib(field: str, pid: int | str = "self") -> int:
    text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else 0


def peak_rss_mib() -> float:
    """This process's high-water RSS since start or the last :func:`reset_peak`."""
    return _status_kib("VmHWM") / 1024


def reset_peak() -> None:
    """Reset the high-water mark (``clear_refs`` 5), so the next peak is one phase's own."""
    Path("/proc/self/clear_refs").write_text("5", encoding="utf-8")


def pss_mib(pid: int) -> float:
    """PSS of ``pid`` and all its descendants, in MiB (0 for a process that is gone)."""
    total = 0
    for proc in [pid, *descendants(pid)]:
        try:
            text = Path(f"/proc/{proc}/smaps_rollup").read_text(encoding="utf-8")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        found = re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total / 1024


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from ``/proc/*/stat`` parent links)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="utf-8").rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


@dataclass
class ChildRun:
    """A child process's wall time, peak RSS, exit status and (JSON) output."""

    seconds: float
    peak_rss_mib: float
    returncode: int
    timed_out: bool
    output: object


def run_child(code: str, args: list[str], timeout: float, cwd: Path = ROOT) -> ChildRun:
    """Run ``code`` in a fresh interpreter (the project's ``src`` on the path) with ``args``,
    its last stdout line read as JSON; killed (its whole process group) after ``timeout``.
    Its peak RSS is read from ``/proc/<pid>/status`` while it runs (see the end)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT / 'scripts'}"}
    began = time.perf_counter()
    out_path = Path(f"/tmp/peers-child-{os.getpid()}-{time.monotonic_ns()}.out")
    with out_path.open("w+", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out,
                                stderr=subprocess.DEVNULL, cwd=cwd, env=env,
                                start_new_session=True)
        timed_out = False
        deadline = began + timeout
        hwm = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:  # the child's own high-water mark, in its memory after exec (see below)
                hwm = _status_kib("VmHWM", proc.pid) or hwm
            except (FileNotFoundError, ProcessLookupError):
                pass
            if time.perf_counter() > deadline:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - began
        out.seek(0)
        lines = out.read().strip().splitlines()
    out_path.unlink(missing_ok=True)
    output: object = None
    if lines and not timed_out:
        try:
            output = json.loads(lines[-1])
        except json.JSONDecodeError:
            output = lines[-1]
    # ``ru_maxrss`` of a child that exec'd also holds the high-water mark of the memory it was
    # forked with (the parent's, on Linux), so a large parent inflates it: the last VmHWM read
    # from the running child is its own; a child too short to be read falls back to it.
    peak = hwm / 1024 if hwm else usage.ru_maxrss / 1024
    return ChildRun(seconds, peak, proc.returncode, timed_out, output)


__all__ = ["MIB", "ROOT", "ChildRun", "descendants", "peak_rss_mib", "pss_mib", "reset_peak",
           "run_child"]
