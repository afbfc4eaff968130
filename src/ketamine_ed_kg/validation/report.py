"""Rendering validation results: the text a curator reads and the ``sh:ValidationReport``.

Both hold exactly the located results (SHACL and QC alike), in the order the locator sorted
them: by file, line and node.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rdflib import BNode, Graph, Literal
from rdflib.namespace import RDF
from rdflib.term import Node

from ..iris import compact as short_iri
from ..loading import new_graph
from ..namespaces import SH
from .locate import short
from .results import ReportedResult, ValidationOutcome


def _copy_closure(source: Graph, node: Node, target: Graph) -> None:
    """Copy ``node``'s triples and those of the blank nodes it reaches (paths, details)."""
    stack = [node]
    seen: set[Node] = set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        for _, p, o in source.triples((current, None, None)):
            target.add((current, p, o))
            if isinstance(o, BNode):
                stack.append(o)


def build_report_graph(shacl_report: Graph, entries: Iterable[ReportedResult]) -> Graph:
    """An ``sh:ValidationReport`` holding exactly the reported entries (SHACL and QC).

    ``sh:conforms`` keeps SHACL's meaning: false when there is any result at all, warnings
    included. (The command's exit status only counts violations.)
    """
    report = new_graph()
    root = BNode()
    report.add((root, RDF.type, SH.ValidationReport))
    count = 0
    for entry in entries:
        count += 1
        result = entry.result
        if result.node is not None:
            _copy_closure(shacl_report, result.node, report)
            report.add((root, SH.result, result.node))
            continue
        node = BNode()
        report.add((root, SH.result, node))
        report.add((node, RDF.type, SH.ValidationResult))
        report.add((node, SH.focusNode, result.focus))
        report.add((node, SH.resultSeverity, SH[result.severity]))
        report.add((node, SH.resultMessage, Literal(result.message)))
        if result.source_shape is not None:
            report.add((node, SH.sourceShape, result.source_shape))
        if result.component is not None:
            report.add((node, SH.sourceConstraintComponent, result.component))
        if result.path is not None:
            report.add((node, SH.resultPath, result.path))
        if result.value is not None:
            report.add((node, SH.value, result.value))
    report.add((root, SH.conforms, Literal(count == 0)))
    return report


def render_text(outcome: ValidationOutcome, root: Path) -> str:
    """The report a curator reads: grouped by file, then node; one entry per problem."""
    out: list[str] = []
    current_file: Path | None | str = ""
    current_node = ""
    for entry in outcome.entries:
        if entry.file != current_file:
            current_file = entry.file
            current_node = ""
            name = _relative(entry.file, root) if entry.file else "(node not defined in any file)"
            out.append("" if not out else "")
            out.append(name)
        if entry.node_label != current_node:
            current_node = entry.node_label
            where = ""
            if entry.file and entry.line:
                where = f"{_relative(entry.file, root)}:{entry.line}"
            out.append(f"  {entry.node_label}" + (f"  ({where})" if where else ""))
        result = entry.result
        path = short(result.path, outcome.report) if result.path is not None else "-"
        value = short(result.value, outcome.report) if result.value is not None else "-"
        out.append(f"    {result.severity:<10}path: {path}   value: {value}")
        out.append(f"              {result.message}")
    if out:
        out.append("")
    out += _quote_lines(outcome)
    violations, warnings, infos = (outcome.count(s) for s in ("Violation", "Warning", "Info"))
    verdict = "conforms" if outcome.conforms else "does NOT conform"
    out.append(
        f"{verdict}: {violations} violation(s), {warnings} warning(s), {infos} note(s); "
        f"{outcome.triples} triples in {len(outcome.files)} file(s) checked against "
        f"{outcome.shapes} shapes and {outcome.qc_queries} QC queries in {outcome.seconds:.2f} s"
    )
    return "\n".join(out) + "\n"


def _quote_lines(outcome: ValidationOutcome) -> list[str]:
    """What the quote check covered, and which sources it could not check (never silent)."""
    lines = []
    if outcome.texts_checked:
        lines.append(f"quotes: {outcome.quotes_checked} checked against the texts of "
                     f"{len(outcome.texts_checked)} source(s)")
    if outcome.texts_unchecked:
        hint = "" if outcome.texts_checked else " (give --source-texts DIR, e.g. ../shared/seeds)"
        lines.append(f"quotes NOT checked against a source text{hint} for "
                     f"{len(outcome.texts_unchecked)} source(s): "
                     + ", ".join(short_iri(s) for s in sorted(outcome.texts_unchecked)))
    records = sorted(outcome.records_unchecked)
    if records:
        lines.append(f"quotes of {len(records)} registry record(s) not checked "
                     "(kedo:RegistryRecord has no text copy; each quote is a value the record "
                     "shows): " + ", ".join(short_iri(s) for s in records))
    return lines


def _relative(path: Path | None, root: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


__all__ = ["build_report_graph", "render_text"]
