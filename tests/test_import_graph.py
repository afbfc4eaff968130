"""The import graph of ``src/ketamine_ed_kg``: no cycles, and no module imports a layer above
its own (ARCHITECTURE.md). Read from the source with ``ast``, imports inside functions and
under ``TYPE_CHECKING`` included, so a cycle cannot hide in a lazy import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "ketamine_ed_kg"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE

LAYERS: tuple[tuple[str, ...], ...] = (
    # 0: foundations, importable by anything
    ("errors", "paths", "namespaces", "formats", "release", "sandbox", "config"),
    # 1: the query language: parse, negotiation, known engine defects
    ("security", "negotiation", "engine_defects"),
    # 2: the pipeline (sources -> validate -> reason -> build) and the query store, side by side
    ("loading", "inference", "void", "stats", "examples", "build", "reasoning", "validation",
     "validation_report", "store", "query_plan"),
    # 3: the service
    ("server",),
    # 4: the command line
    ("cli",),
)
QUERY_PROCESS = ("store", "query_plan", "security", "negotiation", "engine_defects", "sandbox",
                 "formats", "errors", "release", "server.zygote", "server.framing")
"""Modules a query process imports: never the pipeline (rdflib, the builder)."""
PIPELINE = ("loading", "inference", "void", "stats", "examples", "build", "reasoning",
            "validation")


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


def test_no_import_cycles() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
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

    for name in GRAPH:
        if name not in index:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"


def test_no_module_imports_a_layer_above_it() -> None:
    upward = [f"{name} (layer {_layer(name)}) imports {dep} (layer {_layer(dep)})"
              for name, deps in GRAPH.items() if name for dep in deps if dep
              and _layer(dep) > _layer(name)]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _under(n, QUERY_PROCESS)))
def test_query_process_modules_import_no_pipeline(name: str) -> None:
    assert not [d for d in GRAPH[name] if _under(d, PIPELINE)], GRAPH[name]
