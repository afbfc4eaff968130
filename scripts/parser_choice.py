#!/usr/bin/env python3
"""Measure SPARQL parsers against pyoxigraph, to choose the one security.py stands on.

Prints Markdown (docs/parser-choice.md keeps a run of it):

1. agreement with pyoxigraph on the W3C syntax tests (positive and negative, query and update);
2. seconds on ~1 MB inputs: a realistic VALUES query, many triple patterns, a 1 MB string,
   and the shapes that made the old lexer quadratic or that stress recursion;
3. with ``--engine-limits``: the depth at which pyoxigraph overflows an 8 MB stack (SIGSEGV)
   for each nesting / chain shape, and whether queries at the inspector's caps survive.

pyoxigraph's verdict is whether ``Store().query(text)`` (``update`` for update tests) raises
SyntaxError, in a child process whose seccomp filter makes every non-Unix socket() fail, so a
SERVICE or LOAD in a test can never reach the network. Each timing runs in a forked child with
a time limit, so a parser that hangs, recurses too deep or crashes is reported, not fatal.

Usage: .venv/bin/python scripts/parser_choice.py [--suite DIR ...] [--timeout S]
       [--engine-limits] [--skip-slow]
Candidates that are not installed are listed as such; install them with
``.venv/bin/pip install tree-sitter tree-sitter-sparql larql sparqlib lark``.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib.metadata
import importlib.util
import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SUITE = ROOT.parent / "shared" / "conformance" / "sparql11"
MB = 1_000_000
KINDS = {"PositiveSyntaxTest": ("query", True), "PositiveSyntaxTest11": ("query", True),
         "NegativeSyntaxTest": ("query", False), "NegativeSyntaxTest11": ("query", False),
         "PositiveUpdateSyntaxTest11": ("update", True),
         "NegativeUpdateSyntaxTest11": ("update", False)}


def block_inet() -> None:
    """seccomp filter: socket() for any family but AF_UNIX fails with EACCES (x86-64)."""
    libc = ctypes.CDLL(None, use_errno=True)

    def ins(code: int, jt: int, jf: int, k: int) -> bytes:
        return struct.pack("HBBI", code, jt, jf, k)

    prog = b"".join([ins(0x20, 0, 0, 4), ins(0x15, 0, 5, 0xC000003E), ins(0x20, 0, 0, 0),
                     ins(0x15, 0, 3, 41), ins(0x20, 0, 0, 16), ins(0x15, 1, 0, 1),
                     ins(0x06, 0, 0, 0x00050000 | 13), ins(0x06, 0, 0, 0x7FFF0000)])
    buf = ctypes.create_string_buffer(prog)

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Prog(len(prog) // 8, ctypes.addressof(buf))
    if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0):
        raise OSError(ctypes.get_errno(), "could not install the seccomp filter")


@dataclass
class Case:
    name: str
    kind: str  # "query" or "update"
    positive: bool
    path: Path


def syntax_cases(roots: list[Path]) -> list[Case]:
    from rdflib import RDF, Graph, Namespace
    from rdflib.collection import Collection

    mf = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
    qt = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
    cases: dict[str, Case] = {}
    for root in roots:
        for manifest in sorted(root.rglob("manifest.ttl")):
            graph = Graph()
            graph.parse(manifest, publicID=manifest.as_uri())
            for entries in graph.objects(None, mf.entries):
                for test in Collection(graph, entries):
                    kind = str(graph.value(test, RDF.type)).rpartition("#")[2]
                    if kind not in KINDS:
                        continue
                    action = graph.value(test, mf.action)
                    query = graph.value(action, qt.query) or action
                    name = f"{manifest.parent.name}/{str(test).rpartition('#')[2]}"
                    cases[name] = Case(name, *KINDS[kind],
                                       Path(str(query).removeprefix("file://")))
    return list(cases.values())


ENGINE_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from parser_choice import block_inet
block_inet()
import pyoxigraph
out = []
for kind, text, base in json.load(sys.stdin):
    try:
        store = pyoxigraph.Store()
        (store.query if kind == "query" else store.update)(text, base_iri=base)
        out.append(True)
    except SyntaxError:
        out.append(False)
    except Exception:  # evaluation errors (a refused SERVICE or LOAD) mean it parsed
        out.append(True)
print(json.dumps(out))
"""


def engine_verdicts(cases: list[Case]) -> list[bool]:
    payload = json.dumps([(c.kind, c.path.read_text("utf-8"), c.path.as_uri()) for c in cases])
    done = subprocess.run([sys.executable, "-c", ENGINE_CHILD, str(Path(__file__).parent)],
                          input=payload, capture_output=True, text=True, check=True)
    return [bool(v) for v in json.loads(done.stdout)]


Verdict = Callable[[str, str], bool]
"""(text, "query" | "update") -> does the candidate accept it as that kind."""


@dataclass
class Candidate:
    name: str
    version: str
    verdict: Verdict | None
    note: str


def _version(*dists: str) -> str:
    out = []
    for dist in dists:
        try:
            out.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{dist} (not installed)")
    return ", ".join(out)


def candidates() -> list[Candidate]:
    found: list[Candidate] = []
    try:
        from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

        def rdflib_verdict(text: str, kind: str) -> bool:
            try:
                (parseQuery if kind == "query" else parseUpdate)(text)
                return True
            except RecursionError:
                raise
            except Exception:  # noqa: BLE001 - pyparsing raises several kinds
                return False
        found.append(Candidate("rdflib parseQuery (pyparsing)", _version("rdflib"),
                               rdflib_verdict, "recursive descent in Python"))
    except ImportError:
        found.append(Candidate("rdflib", _version("rdflib"), None, "not installed"))
    try:
        import tree_sitter
        import tree_sitter_sparql

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # int language handle
            ts = tree_sitter.Parser(tree_sitter.Language(tree_sitter_sparql.language()))
        forms = {"select_query", "construct_query", "describe_query", "ask_query"}

        def ts_verdict(text: str, kind: str) -> bool:
            root = ts.parse(text.encode("utf-8", "surrogatepass")).root_node
            units = [c.type for c in root.named_children if c.type != "comment"]
            if root.has_error or not units:
                return False
            return (kind == "query") == bool(set(units) & forms)
        found.append(Candidate("tree-sitter-sparql", _version("tree-sitter",
                                                              "tree-sitter-sparql"),
                               ts_verdict, "C, GLR with error recovery; reject on ERROR/MISSING"))
    except ImportError:
        found.append(Candidate("tree-sitter-sparql", _version("tree-sitter-sparql"), None,
                               "not installed"))
    try:
        import lark

        def lark_verdict(grammar: Path, lalr: bool) -> Verdict:
            text_ = grammar.read_text("utf-8")
            kw: dict[str, object] = {"parser": "lalr"} if lalr else {}
            query = lark.Lark(text_, start="query_unit", **kw)  # type: ignore[arg-type]
            update = lark.Lark(text_, start="update_unit", **kw)  # type: ignore[arg-type]

            def verdict(text: str, kind: str) -> bool:
                try:
                    (query if kind == "query" else update).parse(text)
                    return True
                except lark.exceptions.LarkError:
                    return False
            return verdict

        for dist, file, modes in (("sparqlib", "grammar.lark", (True, False)),
                                  ("larql", "sparql.lark", (False,))):
            spec = importlib.util.find_spec(dist)
            if spec is None or not spec.submodule_search_locations:
                found.append(Candidate(dist, _version(dist), None, "not installed"))
                continue
            grammar = Path(next(iter(spec.submodule_search_locations))) / file
            for lalr in modes:
                found.append(Candidate(f"{dist} grammar, Lark {'LALR' if lalr else 'Earley'}",
                                       _version(dist, "lark"), lark_verdict(grammar, lalr),
                                       "pure Python"))
        found.append(Candidate("larql grammar, Lark LALR", _version("larql"), None,
                               "grammar is not LALR(1): reduce/reduce conflicts"))
    except ImportError:
        found.append(Candidate("lark", _version("lark"), None, "not installed"))
    sys.path.insert(0, str(ROOT / "src"))
    from ketamine_ed_kg.security import QueryRejected, inspect_query, parser

    parser()

    def chosen(text: str, kind: str) -> bool:
        try:
            inspect_query(text, max_depth=10**6, max_chain=10**9)
            return kind == "query"
        except QueryRejected as exc:
            return kind == "update" and exc.kind == "update"
    def capped(text: str, kind: str) -> bool:
        try:
            inspect_query(text)
            return kind == "query"
        except QueryRejected as exc:
            return kind == "update" and exc.kind == "update"
    found.append(Candidate("**security.inspect_query** (chosen), no caps",
                           _version("sparqlib", "lark"), chosen,
                           "sparqlib grammar + Lark LALR + engine-token checks"))
    found.append(Candidate("**security.inspect_query**, default caps (200 / 1000)",
                           _version("sparqlib", "lark"), capped, "refuses past the caps"))
    return found


def agreement(cases: list[Case], engine: list[bool], cands: list[Candidate]) -> str:
    lines = ["| parser | versions | agrees with pyoxigraph | accepts, engine refuses | "
             "refuses, engine accepts | agrees with W3C | query tests refused that the engine "
             "accepts |", "|---|---|---|---|---|---|---|"]
    for cand in cands:
        if cand.verdict is None:
            lines.append(f"| {cand.name} | {cand.version} | {cand.note} | | | | |")
            continue
        got = []
        for case in cases:
            try:
                got.append(cand.verdict(case.path.read_text("utf-8"), case.kind))
            except RecursionError:
                got.append(False)
        agree = sum(a == b for a, b in zip(got, engine, strict=True))
        over = sum(a and not b for a, b in zip(got, engine, strict=True))
        under = [c.name for c, a, b in zip(cases, got, engine, strict=True) if b and not a]
        w3c = sum(a == c.positive for a, c in zip(got, cases, strict=True))
        shown = ", ".join(n for n in under if not n.startswith("syntax-update")) or "none"
        lines.append(f"| {cand.name} | {cand.version} | {agree}/{len(cases)} | {over} | "
                     f"{len(under)} | {w3c}/{len(cases)} | {shown} |")
    return "\n".join(lines)


def values_query(size: int) -> str:
    head = ("PREFIX ex: <http://example.org/id/>\n"
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            "SELECT ?s ?label WHERE {\n  VALUES ?s {\n")
    tail = ("  }\n  ?s rdfs:label ?label .\n  FILTER(LANG(?label) = \"en\")\n}\n"
            "ORDER BY ?label\nLIMIT 100\n")
    return head + "".join(f"    ex:item{i}\n" for i in range(size // 16)) + tail


INPUTS: dict[str, Callable[[], str]] = {
    "VALUES block (realistic)": lambda: values_query(MB),
    "40k triple patterns": lambda: "SELECT * { " + " ".join(
        f"?s <http://p> ?o{i} ." for i in range(MB // 26)) + " }",
    "1 MB string literal": lambda: 'SELECT * { ?s ?p "' + "x" * MB + '" }',
    '"a." x 500k': lambda: "SELECT * { " + "a." * (MB // 2) + " }",
    '"VALUES " x 140k': lambda: "SELECT * " + "VALUES " * (MB // 7),
    "{ x 500k nested": lambda: "SELECT * WHERE " + "{" * (MB // 2) + "}" * (MB // 2),
    "STR( x 200k nested": lambda: "SELECT (" + "STR(" * (MB // 5) + "?x" + ")" * (MB // 5)
    + " AS ?y) {}",
    "|| chain, 71k operands": lambda: "SELECT * { FILTER(" + " || ".join(
        f"?o = {i}" for i in range(MB // 14)) + ") }",
}


def timed(verdict: Verdict, text: str, timeout: float) -> str:
    """Run one parse in a forked child: seconds and verdict, or how it failed."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read)
        gc.disable()
        start = time.perf_counter()
        try:
            outcome = "accepts" if verdict(text, "query") else "refuses"
        except RecursionError:
            outcome = "RecursionError"
        except Exception as exc:  # noqa: BLE001 - reported
            outcome = type(exc).__name__
        os.write(write, f"{time.perf_counter() - start:.2f} s, {outcome}".encode())
        os._exit(0)
    os.close(write)
    ready, _, _ = select.select([read], [], [], timeout)
    if not ready:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read)
        return f"> {timeout:g} s (killed)"
    out = os.read(read, 200).decode()
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return f"crashed ({signal.Signals(os.WTERMSIG(status)).name})"
    return out


def speed(cands: list[Candidate], timeout: float, skip_slow: bool) -> str:
    names = [c for c in cands if c.verdict is not None
             and not (skip_slow and "Earley" in c.name)]
    lines = ["| input | bytes | " + " | ".join(c.name for c in names) + " |",
             "|---|---|" + "---|" * len(names)]
    for label, make in INPUTS.items():
        text = make()
        cells = [timed(c.verdict, text, timeout) for c in names]  # type: ignore[arg-type]
        lines.append(f"| {label} | {len(text.encode()):,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


SHAPES: dict[str, Callable[[int], str]] = {
    "nested { }": lambda n: "SELECT * WHERE " + "{" * n + "}" * n,
    "nested STR( )": lambda n: "SELECT (" + "STR(" * n + "?x" + ")" * n + " AS ?y) {}",
    "nested ( )": lambda n: "SELECT (" + "(" * n + "?x" + ")" * n + " AS ?y) {}",
    "nested [ ]": lambda n: "SELECT * { ?s " + "<http://p> [ " * n + "<http://p> 1"
    + " ]" * n + " }",
    "|| chain": lambda n: "SELECT * { BIND(1 AS ?o) FILTER(" + " || ".join(
        f"?o = {i}" for i in range(n)) + ") }",
    "+ chain": lambda n: "SELECT (" + " + ".join("1" for _ in range(n)) + " AS ?y) {}",
    "UNION chain": lambda n: "SELECT * { " + " UNION ".join(
        "{ BIND(1 AS ?x) }" for _ in range(n)) + " }",
    "OPTIONAL sequence": lambda n: "SELECT * { " + " ".join(
        "OPTIONAL { BIND(1 AS ?x) }" for _ in range(n)) + " }",
    "BIND sequence": lambda n: "SELECT * { " + " ".join(
        f"BIND({i} AS ?v{i})" for i in range(n)) + " }",
    "FILTER sequence": lambda n: "SELECT * { " + " ".join(
        f"FILTER(?v{i})" for i in range(n)) + " }",
}


def engine_probe(text: str, timeout: float) -> str:
    """Run a query to the end in a forked child with the default stack: ok, crash or slow."""
    pid = os.fork()
    if pid == 0:  # child
        try:
            block_inet()
            import pyoxigraph
            result = pyoxigraph.Store().query(text)
            if not isinstance(result, pyoxigraph.QueryBoolean):
                for _ in result:
                    pass
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(3)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):
                return signal.Signals(os.WTERMSIG(status)).name
            return "ok" if os.WEXITSTATUS(status) == 0 else "error"
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return "slow"


def overflow_depth(make: Callable[[int], str], timeout: float) -> str:
    low, n = 0, 64
    while len(make(n)) <= MB:
        outcome = engine_probe(make(n), timeout)
        if outcome == "SIGSEGV":
            break
        if outcome != "ok":
            return f"no overflow up to {low} ({outcome} at {n})"
        low, n = n, n * 2
    else:
        return f"no overflow within 1 MB (n = {low})"
    high = n
    while high - low > max(1, low // 50):
        mid = (low + high) // 2
        if engine_probe(make(mid), timeout) == "SIGSEGV":
            high = mid
        else:
            low = mid
    return f"SIGSEGV at {high} (runs at {low})"


def at_caps(depth: int, chain: int) -> dict[str, Callable[[float], str]]:
    """The costliest mixes of nesting and chain, scaled by a factor of the caps."""
    def bind_str(k: float) -> str:
        d, c = int(depth * k) - 2, int(chain * k) - 1
        return ("SELECT * { BIND(" + "STR(" * d + "1" + ")" * d + " AS ?x0) "
                + " ".join(f"BIND(1 AS ?x{i})" for i in range(1, c + 1)) + " }")

    def braces_optional(k: float) -> str:
        d, c = int(depth * k) - 1, int(chain * k) - 1
        return ("SELECT * " + "{ " * d + " ".join(
            f"OPTIONAL {{ BIND({i} AS ?x{i}) }}" for i in range(c)) + " }" * d)
    return {"STR( nested x BIND sequence": bind_str,
            "{ nested x OPTIONAL sequence": braces_optional}


def engine_limits(timeout: float) -> str:
    sys.path.insert(0, str(ROOT / "src"))
    from ketamine_ed_kg.security import QueryRejected, inspect_query

    lines = ["| shape | pyoxigraph 0.5.13, 8 MB stack |", "|---|---|"]
    for name, make in SHAPES.items():
        lines.append(f"| {name} | {overflow_depth(make, timeout)} |")
    lines += ["", "| mix at the caps (depth 200, chain 1000) | x1 | x1.5 | x2 | x2.5 | x3 |",
              "|---|---|---|---|---|---|"]
    for name, make in at_caps(200, 1000).items():
        cells = []
        for k in (1.0, 1.5, 2.0, 2.5, 3.0):
            text = make(k)
            try:
                info = inspect_query(text, max_depth=10**6, max_chain=10**9)
                measured = f"depth {info.depth}, chain {info.chain}"
            except QueryRejected as exc:
                measured = exc.kind
            cells.append(f"{engine_probe(text, timeout)} ({measured})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", action="append", type=Path,
                    help=f"folder of W3C manifests (repeatable; default {DEFAULT_SUITE})")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per 1 MB parse")
    ap.add_argument("--skip-slow", action="store_true", help="no Earley timings")
    ap.add_argument("--engine-limits", action="store_true",
                    help="also find the engine's stack-overflow depths (minutes)")
    args = ap.parse_args()
    roots = args.suite or [DEFAULT_SUITE]
    cases = syntax_cases(roots)
    engine = engine_verdicts(cases)
    cands = candidates()
    print("## Measurements\n")
    print(f"Python {sys.version.split()[0]}, {_version('pyoxigraph')}, {os.cpu_count()} CPUs; "
          f"suites: {', '.join(str(r) for r in roots)}.\n")
    print(f"### Agreement on {len(cases)} W3C syntax tests "
          f"({sum(c.kind == 'query' for c in cases)} query, "
          f"{sum(c.kind == 'update' for c in cases)} update)\n")
    print("pyoxigraph itself agrees with the W3C expectation on "
          f"{sum(e == c.positive for e, c in zip(engine, cases, strict=True))}/{len(cases)}. "
          "For inspect_query, an update counts as accepted when it is refused as an update.\n")
    print(agreement(cases, engine, cands))
    print(f"\n### Time on ~1 MB inputs (parse only, gc off, one core; limit {args.timeout:g} s)\n")
    print(speed(cands, args.timeout, args.skip_slow))
    if args.engine_limits:
        print("\n### Engine stack overflow (forked child, main thread, default 8 MB stack)\n")
        print(engine_limits(args.timeout))


if __name__ == "__main__":
    main()
