"""How the package is wired (ARCHITECTURE.md), read from the source with ``ast``.

* No import cycles, and no module imports a layer above its own. Imports inside functions and
  under ``TYPE_CHECKING`` count, so a cycle cannot hide in a lazy import.
* The query processes (the zygote and its workers, the store) import neither rdflib nor the
  builder: rdflib would cost every process start-up time and memory.
* Only :mod:`ketamine_ed_kg.loading` parses RDF, so every stage reads the same files and reports
  a broken one the same way.
* The rdflib-free IRIs of :mod:`ketamine_ed_kg.iris` are the ones rdflib knows.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from ketamine_ed_kg.iris import PREFIXES

PACKAGE = "ketamine_ed_kg"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE

LAYERS: tuple[tuple[str, ...], ...] = (
    # 0: foundations, importable by anything
    ("errors", "paths", "iris", "namespaces", "terms", "formats", "release", "sandbox",
     "config"),
    # 1: the query language: parse, negotiation, known engine defects
    ("security", "negotiation", "engine_defects", "order_bindings"),
    # 2: the pipeline (sources -> validate -> reason -> build) and the query store, side by side
    ("loading", "inference", "void", "obo", "stats", "examples", "downloads", "build",
     "reasoning", "validation", "synthetic", "ledger", "pubmed", "sources", "studies",
     "snapshots", "culprit",
     "store", "query_plan"),
    # 3: the service
    ("server",),
    # 4: the command line
    ("cli",),
)
QUERY_PROCESS = ("store", "query_plan", "security", "negotiation", "engine_defects",
                 "order_bindings", "sandbox",
                 "formats", "errors", "iris", "release", "server.zygote", "server.framing")
"""Modules a query process imports: never the pipeline (rdflib, the builder)."""
PIPELINE = ("loading", "inference", "void", "obo", "stats", "examples", "downloads", "build",
            "reasoning", "validation", "synthetic", "ledger", "pubmed", "sources", "studies",
            "snapshots", "culprit", "namespaces", "terms")
"""The pipeline, and the modules that load rdflib."""


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Package modules ``name`` imports (relative to the package; '' is the package)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and node.module.startswith(PACKAGE):
                module = node.module[len(PACKAGE) + 1:]
            else:
                continue
            for alias in node.names:
                full = f"{module}.{alias.name}" if module else alias.name
                targets.append(full if full in MODULES else module)
        elif isinstance(node, ast.Import):
            targets = [a.name[len(PACKAGE) + 1:] for a in node.names
                       if a.name.startswith(PACKAGE + ".")]
        out.update(t for t in targets if t in MODULES and t != name)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(name: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{name} is in no layer: add it to LAYERS and ARCHITECTURE.md")


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        if name:
            _layer(name)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in graph:
        if name not in index:
            visit(name)
    return cycles


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert not _cycles(GRAPH), f"import cycles: {_cycles(GRAPH)}"


def test_no_module_imports_a_layer_above_it() -> None:
    upward = [f"{name} (layer {_layer(name)}) imports {dep} (layer {_layer(dep)})"
              for name, deps in GRAPH.items() if name for dep in deps if dep
              and _layer(dep) > _layer(name)]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _under(n, QUERY_PROCESS)))
def test_query_process_modules_import_no_pipeline(name: str) -> None:
    assert not [d for d in GRAPH[name] if _under(d, PIPELINE)], GRAPH[name]


def test_query_processes_import_neither_rdflib_nor_the_builder() -> None:
    code = ("import ketamine_ed_kg.server.zygote, ketamine_ed_kg.store, sys; "
            "print('rdflib' in sys.modules); print('ketamine_ed_kg.build' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    rdflib_loaded, build_loaded = done.stdout.split()
    assert rdflib_loaded == "False", "rdflib is imported by the query processes"
    assert build_loaded == "False", "the builder is imported by the query processes"


def test_validation_steps_do_not_import_the_validation_package() -> None:
    # A step importing ``ketamine_ed_kg.validation`` (the package) would run its __init__,
    # which imports every step: a cycle Python only survives by luck of order.
    steps = [m for m in GRAPH if m.startswith("validation.")]
    assert steps
    for step in steps:
        assert "validation" not in GRAPH[step], step


def test_only_the_loader_parses_rdf() -> None:
    parsers = []
    for name, path in MODULES.items():
        if not _under(name, PIPELINE) or name == "loading":
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
