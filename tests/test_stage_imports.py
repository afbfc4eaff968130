"""How the pipeline stages (load, build, validate, reason, stats) are wired, checked statically.

* The query processes (the zygote and its workers, the store) never import rdflib or the
  builder: they only run queries on Oxigraph, and rdflib would cost every process start-up
  time and memory.
* No pipeline module takes part in an import cycle (``validation`` and its report used to
  import each other).
* Only :mod:`ketamine_ed_kg.loading` parses RDF, so every stage reads the same files and
  reports a broken one the same way.
* The rdflib-free IRIs of :mod:`ketamine_ed_kg.iris` are the ones rdflib knows.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import ketamine_ed_kg
from ketamine_ed_kg.iris import PREFIXES

PACKAGE_DIR = Path(ketamine_ed_kg.__file__).parent
PACKAGE = PACKAGE_DIR.name

PIPELINE = {"loading", "build", "inference", "stats", "reasoning", "terms", "validation",
            "paths", "iris", "namespaces", "errors", "release", "void", "examples", "cli"}
"""Top-level modules (or packages) of the pipeline; the server's are another concern."""


def _modules() -> dict[str, tuple[Path, list[str]]]:
    """Every module of the package: dotted name -> (file, the package it is in)."""
    found = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
            package = parts
        else:
            package = parts[:-1]
        found[".".join(parts)] = (path, package)
    return found


def _top_level_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported (or type-checked): not those inside functions."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If | ast.Try):
            yield from _top_level_imports(node.body)
            yield from _top_level_imports(node.orelse)
            for handler in getattr(node, "handlers", []):
                yield from _top_level_imports(handler.body)


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, package) in modules.items():
        targets: set[str] = set()
        for node in _top_level_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
                continue
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            targets |= {module, *(f"{module}.{alias.name}" for alias in node.names)}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def _is_pipeline(module: str) -> bool:
    parts = module.split(".")
    return len(parts) > 1 and parts[1] in PIPELINE


def test_query_processes_import_neither_rdflib_nor_the_builder() -> None:
    code = ("import ketamine_ed_kg.server.zygote, ketamine_ed_kg.store, sys; "
            "print('rdflib' in sys.modules); print('ketamine_ed_kg.build' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    rdflib_loaded, build_loaded = done.stdout.split()
    assert rdflib_loaded == "False", "rdflib is imported by the query processes"
    assert build_loaded == "False", "the builder is imported by the query processes"


def test_the_import_graph_helper_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_pipeline_module_is_in_an_import_cycle() -> None:
    graph = _import_graph()
    assert f"{PACKAGE}.validation.report" in graph
    cycles = [c for c in _cycles(graph) if any(_is_pipeline(m) for m in c)]
    assert cycles == []


def test_validation_steps_do_not_import_the_validation_package() -> None:
    # A step importing ``ketamine_ed_kg.validation`` (the package) would run its __init__,
    # which imports every step: a cycle Python only survives by luck of order.
    graph = _import_graph()
    steps = [m for m in graph if m.startswith(f"{PACKAGE}.validation.")]
    assert steps
    for step in steps:
        assert f"{PACKAGE}.validation" not in graph[step], step


def test_only_the_loader_parses_rdf() -> None:
    parsers = []
    for name, (path, _) in _modules().items():
        if not _is_pipeline(name) or name == f"{PACKAGE}.loading":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "parse"):
                parsers.append(f"{name}:{node.lineno}")
    assert parsers == [], "parse RDF through ketamine_ed_kg.loading"


def test_plain_prefixes_are_the_rdflib_namespaces() -> None:
    from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD

    from ketamine_ed_kg.namespaces import KED, KEDO

    known = {"rdf": RDF, "rdfs": RDFS, "owl": OWL, "xsd": XSD, "skos": SKOS, "dcterms": DCTERMS,
             "prov": PROV, "kedo": KEDO, "ked": KED}
    assert {prefix: PREFIXES[prefix] for prefix in known} == {
        prefix: str(namespace) for prefix, namespace in known.items()}
