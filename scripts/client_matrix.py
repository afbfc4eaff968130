#!/usr/bin/env python3
"""Run the real-client matrix and write the measured table into docs/clients.md.

The cells are the ones tests/test_client_matrix.py runs (tests/client_matrix_support.py), against
the same gunicorn-served endpoint on 127.0.0.1 over the same dataset. Every cell is run (a
failure does not stop the run), timed, and reported with the Content-Type the server sent (when
the client tells it) and the warnings the client gave. The part of docs/clients.md between the
``client-matrix`` markers is replaced; the rest of the page is prose kept by hand.

Usage: .venv/bin/python scripts/client_matrix.py [--doc docs/clients.md] [--stdout]
(after scripts/setup.sh, which installs the clients). Exit status 1 when a cell fails that is
not a known client bug.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from client_matrix_support import (  # noqa: E402
    CLIENTS_DIR,
    COMUNICA,
    RSPARQL,
    Cell,
    ClientFailed,
    Context,
    check,
    fingerprint,
    matrix_cells,
    write_matrix_dataset,
)
from support.server import gunicorn_server  # noqa: E402

BEGIN = "<!-- client-matrix:begin (scripts/client_matrix.py writes this part) -->"
END = "<!-- client-matrix:end -->"


@dataclass
class Outcome:
    cell: Cell
    passed: bool
    seconds: float
    served: str = ""
    notes: tuple[str, ...] = ()
    error: str = ""

    @property
    def verdict(self) -> str:
        if self.passed:
            return "pass" + (" (known bug gone?)" if self.cell.known_client_bug else "")
        return "**fail** (client bug)" if self.cell.known_client_bug else "**FAIL**"


def run_cells(endpoint: str, cells: list[Cell], work: Path,
              progress: Callable[[str], None]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for number, cell in enumerate(cells):
        folder = work / f"cell-{number}"
        folder.mkdir()
        start = time.perf_counter()
        try:
            answer = cell.run(Context(endpoint, folder))
            check(cell, answer)
        except (AssertionError, ClientFailed) as exc:
            outcome = Outcome(cell, False, time.perf_counter() - start, error=str(exc))
        except Exception as exc:  # a bug in the harness: still reported, not fatal
            outcome = Outcome(cell, False, time.perf_counter() - start,
                              error=f"{type(exc).__name__}: {exc}")
        else:
            outcome = Outcome(cell, True, time.perf_counter() - start, answer.served,
                              answer.notes)
        outcomes.append(outcome)
        if not outcome.passed:
            progress(f"{cell.id}: {outcome.verdict}")
    return outcomes


# --- versions --------------------------------------------------------------------------------

def _output(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        return f"(not runnable: {exc})"
    return (proc.stdout + proc.stderr).strip()


def _dist(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def versions() -> list[tuple[str, str, str]]:
    """(client or tool, version, how it is installed), as this machine has them."""
    comunica = CLIENTS_DIR / "node_modules" / "@comunica" / "query-sparql" / "package.json"
    comunica_version = (json.loads(comunica.read_text(encoding="utf-8"))["version"]
                        if comunica.exists() else "(not installed)")
    jena = _output(["dpkg-query", "-W", "-f=${Version}", "libapache-jena-java"])
    rsparql = [" ".join(line.split()) for line in
               _output([str(RSPARQL), "--version"]).splitlines()]
    java = _output(["java", "-version"]).splitlines()
    return [
        ("SPARQLWrapper", _dist("SPARQLWrapper"), "pip, the `test` extras of pyproject.toml"),
        ("rdflib (SPARQLStore)", _dist("rdflib"), "pip, a dependency of the package"),
        ("pandas", _dist("pandas"), "pip, the `test` extras of pyproject.toml"),
        ("Apache Jena rsparql", f"{jena} ({rsparql[0] if rsparql else '?'})",
         "apt, Debian's `libapache-jena-java`; `clients/jena/rsparql` is the set-up's wrapper"),
        ("Java", java[0] if java else "?", "apt, `default-jre-headless` (already there for "
         "HermiT)"),
        ("Comunica (@comunica/query-sparql)", comunica_version,
         "npm ci from `clients/package.json` + `clients/package-lock.json`"),
        ("Node.js / npm", f"{_output(['node', '--version'])} / {_output(['npm', '--version'])}"
         f" (dpkg: nodejs {_output(['dpkg-query', '-W', '-f=${Version}', 'nodejs'])})",
         "apt, Debian's `nodejs` and `npm`, when the machine has no `node` / `npm`"),
        ("server: pyoxigraph / gunicorn / Flask",
         f"{_dist('pyoxigraph')} / {_dist('gunicorn')} / {_dist('flask')}", "pip"),
        ("Python", platform.python_version(), "the machine's"),
    ]


# --- the page --------------------------------------------------------------------------------

def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
              for row in rows]
    return lines


class Notes:
    """Numbered footnotes for the client's warnings (one number per distinct text)."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def refs(self, notes: Iterable[str]) -> str:
        numbers = []
        for note in notes:
            if note not in self.texts:
                self.texts.append(note)
            numbers.append(self.texts.index(note) + 1)
        return ", ".join(f"[{n}]" for n in sorted(set(numbers)))

    def render(self) -> list[str]:
        if not self.texts:
            return []
        return ["", "The clients' warnings:", ""] + [
            f"{n}. {text}" for n, text in enumerate(self.texts, 1)]


def _short_type(served: str) -> str:
    return served.split(";")[0].strip()


def _grid(outcomes: list[Outcome], methods: list[str], row_keys: list[tuple[str, str]],
          key_names: list[str], served: bool) -> list[str]:
    """One row per (form, format-ish key), one column per method."""
    notes = Notes()
    by_key = {(o.cell.form, o.cell.fmt, o.cell.method): o for o in outcomes}
    header = key_names + methods + (["served as"] if served else []) + ["client warns"]
    rows = []
    for form, fmt in row_keys:
        cells = [by_key.get((form, fmt, m)) for m in methods]
        found = [o for o in cells if o is not None]
        row = [form, f"`{fmt}`" if fmt != "(default)" else "(default)"][:len(key_names)]
        row += [o.verdict if o is not None else "-" for o in cells]
        if served:
            types = list(dict.fromkeys(_short_type(o.served) for o in found if o.served))
            row.append(" / ".join(f"`{t}`" for t in types) or "-")
        row.append(notes.refs(n for o in found for n in o.notes) or "-")
        rows.append(row)
    return _table(header, rows) + notes.render()


def render(outcomes: list[Outcome], seconds: float, cells: list[Cell]) -> str:
    passed = sum(o.passed for o in outcomes)
    known = [o for o in outcomes if not o.passed and o.cell.known_client_bug]
    other = [o for o in outcomes if not o.passed and not o.cell.known_client_bug]
    clients = list(dict.fromkeys(o.cell.client for o in outcomes))
    out = [BEGIN, "",
           f"Measured by `scripts/client_matrix.py` on {time.strftime('%Y-%m-%d')}: "
           f"**{len(outcomes)} cells, {passed} pass, {len(known)} fail because of a known "
           f"client bug, {len(other)} fail otherwise**, in {seconds:.0f} s (one machine, "
           f"cells one after another). Matrix fingerprint `{fingerprint(cells)}` "
           "(tests/test_client_matrix.py checks this page measured the current cells).", "",
           "### Versions", ""]
    out += _table(["client / tool", "version", "installed by"],
                  [[a, f"`{b}`", c] for a, b, c in versions()])
    out += ["", "### Summary", ""]
    rows = []
    for client in clients:
        mine = [o for o in outcomes if o.cell.client == client]
        rows.append([client, str(len(mine)), str(sum(o.passed for o in mine)),
                     str(sum(not o.passed for o in mine)),
                     f"{sum(o.seconds for o in mine):.1f}"])
    out += _table(["client", "cells", "pass", "fail", "seconds"], rows)
    for client in clients:
        mine = [o for o in outcomes if o.cell.client == client]
        methods = list(dict.fromkeys(o.cell.method for o in mine))
        keys = list(dict.fromkeys((o.cell.form, o.cell.fmt) for o in mine))
        out += ["", f"### {client}", ""]
        if client.startswith(("SPARQLWrapper", "rdflib")):
            out += _grid(mine, methods, keys, ["form", "format"],
                         served=client.startswith("SPARQLWrapper"))
        elif client == "pandas read_csv":
            out += _grid(mine, methods, keys, ["form", "format"], served=False)
        else:
            out += _grid(mine, methods, keys, ["form"], served=False)
    out += ["", "### Failing cells", ""]
    if not known and not other:
        out.append("None.")
    for outcome in other + known:
        why = (f"client bug: {outcome.cell.known_client_bug}" if outcome.cell.known_client_bug
               else "not a known client bug: see the error")
        error = outcome.error.strip().replace("\n", "\n    ")
        out += [f"* `{outcome.cell.id}`: {why}", "", f"    {error}", ""]
    out += ["", END]
    return "\n".join(out) + "\n"


def write_doc(doc: Path, section: str) -> None:
    text = doc.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{doc} has no {BEGIN!r} ... {END!r} markers")
    doc.write_text(text[:start] + section + text[end + len(END) + 1:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "clients.md")
    parser.add_argument("--stdout", action="store_true",
                        help="print the section instead of writing it into --doc")
    args = parser.parse_args(argv)
    missing = [str(p) for p in (RSPARQL, COMUNICA) if not p.exists()]
    if missing:
        print(f"client_matrix: missing {', '.join(missing)}: run scripts/setup.sh",
              file=sys.stderr)
        return 2
    cells = matrix_cells()
    with tempfile.TemporaryDirectory(prefix="client-matrix-") as tmp:
        work = Path(tmp)
        dataset = write_matrix_dataset(work / "dataset.nq")
        with gunicorn_server(dataset, work / "gunicorn.log") as server:
            start = time.perf_counter()
            outcomes = run_cells(server.endpoint, cells, work,
                                 lambda line: print(line, file=sys.stderr))
            seconds = time.perf_counter() - start
    section = render(outcomes, seconds, cells)
    if args.stdout:
        sys.stdout.write(section)
    else:
        write_doc(args.doc, section)
    failed = [o for o in outcomes if not o.passed and not o.cell.known_client_bug]
    print(f"client_matrix: {len(outcomes)} cells, {sum(o.passed for o in outcomes)} pass, "
          f"{len(failed)} unexpected failures, {seconds:.0f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
