"""When HermiT says "inconsistent": which files, which nodes and which axioms.

Why bisect: HermiT (through owlready2) answers one bit, consistent or not, and names nothing.
An inconsistency is caused by a small set of statements, so the files (then the nodes of those
files, each with its blank-node closure) are searched for a minimal set that is still
inconsistent together with the ontology: each member is found by a binary search over the
remaining candidates (the linear variant of QuickXplain), so a single bad node among a few
hundred costs about ten HermiT runs. Ontology axioms are always kept, since they are what the
data contradicts.

Why Pellet for the axioms: HermiT computes no explanation, and owlready2 ships Pellet, whose
``explain`` command prints the axioms behind an inconsistency. It runs on the minimal graph
only, where it takes a second; if it cannot run, the files and nodes are still reported.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import owlready2
from rdflib import BNode, Graph
from rdflib.term import Node

from .iris import compact
from .loading import Progress, load_ontology, new_graph, parse_file, quiet
from .paths import ProjectPaths
from .reasoning import java_executable, reason_graph

T = TypeVar("T")
_EXPLAIN_SECONDS = 120


@dataclass(frozen=True)
class Culprit:
    """A minimal inconsistent part of the curated graph, with the ontology."""

    files: tuple[Path, ...]
    """Files that are inconsistent together (with the ontology); empty: the ontology alone."""
    nodes: tuple[str, ...]
    """Nodes of those files whose statements are inconsistent together (IRIs or ``_:b``)."""
    explanation: str | None
    """Pellet's explanation (the axioms involved), when it could run."""
    reasoner_runs: int


def minimal_subset(items: Sequence[T], inconsistent: Callable[[list[T]], bool]) -> list[T]:
    """A subset of ``items`` that is still ``inconsistent`` and loses that if any member goes.

    ``inconsistent(list(items))`` must be true. Each member is the last of the shortest prefix
    of the remaining candidates that, with the members found so far, is inconsistent.
    """
    needed: list[T] = []
    candidates = list(items)
    while not inconsistent(needed):
        low, high = 1, len(candidates)
        while low < high:
            middle = (low + high) // 2
            if inconsistent(needed + candidates[:middle]):
                high = middle
            else:
                low = middle + 1
        needed.append(candidates[low - 1])
        candidates = candidates[: low - 1]
    return needed


def _node_groups(graph: Graph) -> dict[Node, Graph]:
    """Each IRI subject's triples with the blank nodes it reaches; unowned blank nodes alone."""
    groups: dict[Node, Graph] = {}
    owned: set[Node] = set()
    for subject in sorted({s for s in graph.subjects() if not isinstance(s, BNode)}, key=str):
        group = new_graph()
        stack, seen = [subject], set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            for triple in graph.triples((current, None, None)):
                group.add(triple)
                if isinstance(triple[2], BNode):
                    stack.append(triple[2])
                    owned.add(triple[2])
        groups[subject] = group
    for subject in {s for s in graph.subjects() if isinstance(s, BNode)} - owned:
        group = new_graph()
        for triple in graph.triples((subject, None, None)):
            group.add(triple)
        groups[subject] = group
    return groups


def pellet_explanation(graph: Graph) -> str | None:
    """Pellet's ``explain`` output for ``graph`` (owlready2's Pellet), or None."""
    classpath = getattr(owlready2.reasoning, "_PELLET_CLASSPATH", None)
    if not classpath:
        return None
    with tempfile.TemporaryDirectory(prefix="ketamine-ed-explain-") as tmp:
        path = Path(tmp) / "culprit.owl"
        graph.serialize(path, format="xml", encoding="utf-8")
        try:
            done = subprocess.run(
                [java_executable(), "-Xmx1000M", "-cp", classpath, "pellet.Pellet", "explain",
                 "--ignore-imports", str(path)],
                capture_output=True, text=True, timeout=_EXPLAIN_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
    lines = [line.rstrip() for line in done.stdout.splitlines()
             if line.strip() and not line.startswith(("SLF4J", "log4j"))]
    return "\n".join(lines) or None


def find_culprit(paths: ProjectPaths, progress: Progress = quiet) -> Culprit:
    """Bisect ``graph/`` (files, then nodes) for a minimal part inconsistent with the ontology.

    Call it when :func:`ketamine_ed_kg.reasoning.reason` found the graph inconsistent.
    """
    ontology = load_ontology(paths)
    files = {path: parse_file(path) for path in paths.graph_files()}
    runs = 0

    def inconsistent(graphs: list[Graph]) -> bool:
        nonlocal runs
        runs += 1
        merged = new_graph()
        merged += ontology
        for graph in graphs:
            merged += graph
        return not reason_graph(merged, included_data=True).consistent

    progress(f"bisecting {len(files)} files for the inconsistency (each step runs HermiT)")
    order = list(files)
    chosen = minimal_subset(order, lambda subset: inconsistent([files[p] for p in subset]))
    culprit_files = tuple(sorted(chosen))
    together = new_graph()
    for path in culprit_files:
        together += files[path]
    groups = _node_groups(together)
    progress(f"bisecting the {len(groups)} nodes of {len(culprit_files)} file(s)")
    keys = list(groups)
    nodes = minimal_subset(keys, lambda subset: inconsistent([groups[k] for k in subset]))
    minimal = new_graph()
    minimal += ontology
    for key in nodes:
        minimal += groups[key]
    progress("asking Pellet which axioms are involved")
    return Culprit(
        files=culprit_files,
        nodes=tuple(sorted(compact(str(k)) if not isinstance(k, BNode) else f"_:{k}"
                           for k in nodes)),
        explanation=pellet_explanation(minimal),
        reasoner_runs=runs,
    )


def render_culprit(culprit: Culprit, root: Path) -> str:
    """The report a curator reads after ``consistent: NO``."""
    lines = ["  culprit (a minimal inconsistent part, found by bisection with HermiT):"]
    if not culprit.files:
        lines.append("    the ontology alone is inconsistent")
    for path in culprit.files:
        lines.append(f"    file: {path.relative_to(root) if path.is_relative_to(root) else path}")
    for node in culprit.nodes:
        lines.append(f"    node: {node}")
    if culprit.explanation:
        lines.append("  axioms involved (HermiT gives no explanation; Pellet's `explain`):")
        lines += [f"    {line}" for line in culprit.explanation.splitlines()]
    else:
        lines.append("  axioms involved: not available (Pellet could not run)")
    lines.append(f"  ({culprit.reasoner_runs} reasoner runs)")
    return "\n".join(lines) + "\n"


__all__ = ["Culprit", "find_culprit", "minimal_subset", "pellet_explanation", "render_culprit"]
