"""The OBO report: the checks of ROBOT's ``report`` command, as our own SPARQL, on release files.

ROBOT (the OBO community's ontology tool) reports problems at three levels: ERROR (must be
fixed before a release), WARN (should be fixed), INFO (worth a look). Its default profile names
a level for each check (missing or duplicate labels, missing and multiple definitions,
references to deprecated terms, label formatting, ...). ROBOT needs Java and the OWL API; the
project runs the same rules as SPARQL on Oxigraph, one file per rule in ``queries/report/``,
plus a few project rules (marked "(project rule)" in their description), so curators, CI and
``ketamine-ed-kg report`` need nothing but Python. docs/obo.md lists the rules and levels.

Each ``queries/report/<rule>.rq`` starts with ``# level: ERROR|WARN|INFO`` and
``# description:`` lines, and selects ``?entity ?property ?value`` as ROBOT's queries do.
A file is read into an in-memory store. An N-Quads or TriG file (``dataset.nq``) is checked as
the release file the build writes from it: the union of the graphs a release file holds
(ontology, asserted data, VoID) with the ``owl:NamedIndividual`` declarations the build adds to
release files only (:func:`ketamine_ed_kg.obo.named_individuals`). It leaves out the inferred
graph (the materialised closure: ROBOT too skips axioms marked inferred, and
every class would otherwise have "multiple asserted superclasses"), the example queries and
the service description (they describe the SPARQL service in SHACL and SD terms,
``sh:SPARQLExecutable`` and a prefix holder typed ``owl:Ontology`` as SHACL prescribes; no
OBO tool reads them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from ..errors import KedError
from ..iris import GRAPH_EXAMPLES, GRAPH_INFERRED, GRAPH_SERVICE, compact
from ..loading import parse_quads
from ..obo import named_individuals
from ..terms import from_oxigraph, to_quad
from .qc import query_description, select

LEVELS: tuple[str, ...] = ("ERROR", "WARN", "INFO")
"""ROBOT's report levels, most severe first."""
_LEVEL_RE = re.compile(r"^#\s*level:\s*(\S+)\s*$")
LEFT_OUT_GRAPHS = frozenset({GRAPH_INFERRED, GRAPH_EXAMPLES, GRAPH_SERVICE})
"""Named graphs of ``dataset.nq`` the report leaves out: the inferred closure, and the graphs
that describe the service."""


@dataclass(frozen=True)
class ReportQuery:
    """One rule: a ``queries/report/<rule>.rq`` file; every row it selects is a problem."""

    name: str
    level: str
    description: str
    path: Path
    text: str


@dataclass(frozen=True)
class ReportRow:
    """A problem, in ROBOT's columns: level, rule name, subject, property, value."""

    level: str
    rule: str
    entity: str
    property: str
    value: str

    def tsv(self) -> str:
        """The row as a line of ROBOT's TSV report."""
        return "\t".join(" ".join(cell.split()) for cell in
                         (self.level, self.rule, self.entity, self.property, self.value))


@dataclass(frozen=True)
class FileReport:
    """The report on one file."""

    path: Path
    rows: list[ReportRow] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Rows per level, every level present (0 where none)."""
        found = Counter(row.level for row in self.rows)
        return {level: found[level] for level in LEVELS}

    def at_least(self, level: str) -> list[ReportRow]:
        """The rows at ``level`` or more severe."""
        worst = LEVELS.index(level)
        return [row for row in self.rows if LEVELS.index(row.level) <= worst]


def load_report_queries(report_dir: Path) -> list[ReportQuery]:
    """Read ``report_dir/*.rq``; each starts with ``# level:`` and ``# description:`` lines."""
    queries = []
    for path in sorted(report_dir.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        level = _LEVEL_RE.match(lines[0]) if lines else None
        if level is None or level.group(1) not in LEVELS:
            raise KedError(f"{path}: a report query must start with '# level: ERROR', "
                           "'# level: WARN' or '# level: INFO'")
        description = query_description(path, lines[1:])
        queries.append(ReportQuery(path.stem, level.group(1), description, path, text))
    if not queries:
        raise KedError(f"{report_dir}: no report queries (*.rq) found")
    return queries


def load_file(path: Path) -> ox.Store:
    """``path`` in an in-memory store's default graph (format from its extension); of a
    file with named graphs, the union of all but :data:`LEFT_OUT_GRAPHS`."""
    store = ox.Store()
    quads = parse_quads(path)
    store.extend(ox.Quad(q.subject, q.predicate, q.object) for q in quads
                 if not isinstance(q.graph_name, ox.NamedNode)
                 or q.graph_name.value not in LEFT_OUT_GRAPHS)
    if any(isinstance(q.graph_name, ox.NamedNode) for q in quads):
        union = Graph()
        for quad in store:
            union.add((from_oxigraph(quad.subject), from_oxigraph(quad.predicate),
                       from_oxigraph(quad.object)))
        store.extend(to_quad(triple, ox.DefaultGraph()) for triple in named_individuals(union))
    return store


def _show(term: object) -> str:
    """How a cell of the report shows a term: a CURIE for our IRIs, the text of a literal."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return compact(term.value)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        return term.value
    return str(term)


def run_report(store: ox.Store, queries: Iterable[ReportQuery]) -> list[ReportRow]:
    """Every rule's rows over the default graph of ``store``, sorted."""
    rows = []
    for query in queries:
        solutions = select(store, query.path, query.text, "report")
        for solution in solutions:
            rows.append(ReportRow(query.level, query.name, _show(solution["entity"]),
                                  _show(solution["property"]), _show(solution["value"])))
    return sorted(set(rows), key=lambda r: (LEVELS.index(r.level), r.rule, r.entity,
                                            r.property, r.value))


def report_file(path: Path, queries: Sequence[ReportQuery]) -> FileReport:
    """The report on one release file."""
    return FileReport(path, run_report(load_file(path), queries))


def render_tsv(reports: Iterable[FileReport]) -> str:
    """ROBOT's TSV report, with the file as a first column (several files, one table)."""
    lines = ["File\tLevel\tRule Name\tSubject\tProperty\tValue"]
    for report in reports:
        lines.extend(f"{report.path}\t{row.tsv()}" for row in report.rows)
    return "\n".join(lines) + "\n"


__all__ = ["LEFT_OUT_GRAPHS", "LEVELS", "FileReport", "ReportQuery", "ReportRow", "load_file",
           "load_report_queries", "render_tsv", "report_file", "run_report"]
