"""The example-query library: ``queries/NNN_<slug>.ttl`` files and their expected results.

Each file describes one query in the SIB sparql-examples convention (``sh:SPARQLExecutable``
with ``sh:select``/``sh:ask``/``sh:construct``, ``rdfs:label``, ``rdfs:comment``,
``schema:keywords``, ``schema:target``), so that SPARQL editors elsewhere can offer the same
queries from ``/.well-known/sparql-examples``. Beside each file sits the answer a curator wrote by
reading the *source documents* (``.csv`` for SELECT, ``.srj`` for ASK); this module loads both
and compares an answer to the expectation, the same way for the embedded store and for HTTP.

Parameters (for the grlc-style REST API) are declared in RDF with a small vocabulary of our own
under :data:`PARAM` and bound by rewriting the query's ``VALUES ?name { ... }`` line, so that the
published query text runs unchanged with its defaults (``UNDEF`` meaning "any value").
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from .errors import DataError, KedError
from .iris import compact
from .loading import parse_file
from .namespaces import BASE, PREFIXES, SCHEMA, SH
from .paths import ProjectPaths

QUERY_BASE = BASE + "query/"
"""Subject IRIs of the example queries: ``QUERY_BASE + file stem``."""
PARAM = Namespace(QUERY_BASE + "param/")
"""Our parameter vocabulary: ``param:parameter``, ``param:name``, ``param:datatype``,
``param:allowedValue``; see ``docs/queries.md``."""
SERVICE_IRI = URIRef(BASE + "sparql")
"""The ``schema:target`` of every example: our SPARQL service."""
EXAMPLES_GRAPH_PATH = "/.well-known/sparql-examples"

_FILE_RE = re.compile(r"^\d{3}_[a-z0-9]+(?:_[a-z0-9]+)*$")
_ORDER_BY_RE = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)
_CURIE_RE = re.compile(r"^([A-Za-z][\w-]*):([\w.-]*)$")

_FORMS: dict[URIRef, str] = {SH.select: "select", SH.ask: "ask", SH.construct: "construct"}
_DATATYPES: dict[URIRef, str] = {
    XSD.anyURI: "iri",
    XSD.decimal: "decimal",
    XSD.integer: "integer",
    XSD.string: "string",
}


class QueryParameterError(KedError):
    """A caller gave a parameter value the query does not accept (the API answers 400)."""


class UnknownQueryError(KedError):
    """No example query has this name (the API answers 404)."""


@dataclass(frozen=True)
class Parameter:
    """One typed parameter of an example query, bound through its ``VALUES`` line."""

    name: str
    datatype: str
    """``iri``, ``decimal``, ``integer`` or ``string``."""
    comment: str
    allowed: tuple[str, ...] = ()
    """For ``iri`` parameters: the IRIs accepted (a value set); empty means any IRI."""
    default: str = "UNDEF"
    """The term in the published query's ``VALUES`` line."""

    def to_term(self, raw: str) -> str:
        """Validate ``raw`` and return it as a SPARQL term; raise :class:`QueryParameterError`."""
        value = raw.strip()
        if self.datatype == "iri":
            iri = expand_curie(value)
            if self.allowed:
                by_local = {a.rsplit("/", 1)[-1].lower(): a for a in self.allowed}
                iri = iri if iri in self.allowed else by_local.get(value.lower(), iri)
                if iri not in self.allowed:
                    choices = ", ".join(compact(a) for a in self.allowed)
                    raise QueryParameterError(
                        f"parameter {self.name!r}: {raw!r} is not one of: {choices}"
                    )
            if not re.fullmatch(r"https?://[^\s<>\"{}|^`\\]+", iri):
                raise QueryParameterError(f"parameter {self.name!r}: {raw!r} is not an IRI")
            return f"<{iri}>"
        if self.datatype == "decimal":
            try:
                number = Decimal(value)
            except InvalidOperation:
                number = Decimal("NaN")
            if not number.is_finite() or not re.fullmatch(r"[+-]?\d+(\.\d+)?", value):
                raise QueryParameterError(
                    f"parameter {self.name!r}: {raw!r} is not a decimal number such as 0.5"
                )
            return f'"{number}"^^<{XSD.decimal}>'
        if self.datatype == "integer":
            if not re.fullmatch(r"[+-]?\d{1,18}", value):
                raise QueryParameterError(
                    f"parameter {self.name!r}: {raw!r} is not an integer such as 4"
                )
            return f'"{int(value)}"^^<{XSD.integer}>'
        return json.dumps(value)  # a JSON string literal is a valid SPARQL string literal


@dataclass(frozen=True)
class Example:
    """One example query with its metadata, parameters and expected answer."""

    name: str
    iri: str
    path: Path
    form: str
    """``select``, ``ask`` or ``construct``."""
    label: str
    comment: str
    keywords: tuple[str, ...]
    query: str
    parameters: tuple[Parameter, ...] = field(default=())

    @property
    def ordered(self) -> bool:
        """Whether row order is part of the answer (the query has ORDER BY)."""
        return bool(_ORDER_BY_RE.search(self.query))

    @property
    def expected_path(self) -> Path | None:
        """``NNN_slug.csv`` or ``NNN_slug.srj`` beside the query file, if there is one."""
        for suffix in (".csv", ".srj"):
            candidate = self.path.with_suffix(suffix)
            if candidate.exists():
                return candidate
        return None

    def bind(self, values: Mapping[str, str]) -> str:
        """The query text with validated parameter values in their ``VALUES`` lines.

        Unknown names are refused rather than ignored: a typo would otherwise silently return
        the unfiltered answer.
        """
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(known))
        if unknown:
            accepted = ", ".join(sorted(known)) or "none"
            raise QueryParameterError(
                f"query {self.name!r} has no parameter {', '.join(map(repr, unknown))} "
                f"(accepted: {accepted})"
            )
        text = self.query
        for name, raw in values.items():
            replacement = f"VALUES ?{name} {{ {known[name].to_term(raw)} }}"
            match = _values_re(name).search(text)
            if match is None:  # load_example checked the line exists; keep the check honest
                raise DataError(f"{self.path}: no VALUES line for parameter {name!r}")
            text = text[: match.start()] + replacement + text[match.end():]
        return text


def _values_re(name: str) -> re.Pattern[str]:
    return re.compile(r"VALUES\s+\?" + re.escape(name) + r"\s*\{([^}]*)\}")


def expand_curie(value: str) -> str:
    """``kedo:Intravenous`` -> full IRI, for the project's prefixes; other text unchanged."""
    match = _CURIE_RE.match(value)
    if match and match.group(1) in PREFIXES:
        return PREFIXES[match.group(1)] + match.group(2)
    return value


def _text(graph: Graph, subject: URIRef, prop: URIRef) -> str:
    value = graph.value(subject, prop)
    return str(value) if value is not None else ""


def load_example(path: Path) -> Example:
    """Parse one query file; raise :class:`DataError` naming the file when it breaks the rules."""
    if not _FILE_RE.match(path.stem):
        raise DataError(f"{path}: query files are named NNN_<slug>.ttl (lower case, digits, _)")
    graph = parse_file(path)
    iri = URIRef(QUERY_BASE + path.stem)
    if (iri, RDF.type, SH.SPARQLExecutable) not in graph:
        raise DataError(f"{path}: <{iri}> must be typed sh:SPARQLExecutable")
    forms = [(form, graph.value(iri, prop)) for prop, form in _FORMS.items()]
    present = [(form, text) for form, text in forms if text is not None]
    if len(present) != 1:
        raise DataError(f"{path}: <{iri}> needs exactly one of sh:select, sh:ask, sh:construct")
    form, query = present[0]
    problems = [
        name
        for name, prop in (("rdfs:label", RDFS.label), ("rdfs:comment", RDFS.comment),
                           ("schema:keywords", SCHEMA.keywords))
        if graph.value(iri, prop) is None
    ]
    if (iri, SCHEMA.target, SERVICE_IRI) not in graph:
        problems.append(f"schema:target <{SERVICE_IRI}>")
    if problems:
        raise DataError(f"{path}: <{iri}> lacks {', '.join(problems)}")
    parameters = []
    for node in graph.objects(iri, PARAM.parameter):
        name = _text(graph, node, PARAM.name)  # type: ignore[arg-type]
        datatype = graph.value(node, PARAM.datatype)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or datatype not in _DATATYPES:
            raise DataError(f"{path}: parameter {name!r} needs a lower-case param:name and a "
                            f"param:datatype among {', '.join(map(compact, _DATATYPES))}")
        lines = _values_re(name).findall(str(query))
        if len(lines) != 1:
            raise DataError(f"{path}: parameter {name!r} needs exactly one `VALUES ?{name} {{ … }}`"
                            " line in the query text")
        allowed = sorted(str(v) for v in graph.objects(node, PARAM.allowedValue))
        parameters.append(Parameter(
            name=name,
            datatype=_DATATYPES[datatype],  # type: ignore[index]
            comment=_text(graph, node, RDFS.comment),  # type: ignore[arg-type]
            allowed=tuple(allowed),
            default=" ".join(lines[0].split()),
        ))
    return Example(
        name=path.stem,
        iri=str(iri),
        path=path,
        form=form,
        label=_text(graph, iri, RDFS.label),
        comment=_text(graph, iri, RDFS.comment),
        keywords=tuple(sorted(str(k) for k in graph.objects(iri, SCHEMA.keywords))),
        query=str(query),
        parameters=tuple(sorted(parameters, key=lambda p: p.name)),
    )


def load_examples(queries_dir: Path) -> list[Example]:
    """Every example in ``queries_dir`` (top level only: ``queries/qc/`` is not an example)."""
    return [load_example(p) for p in ProjectPaths(queries_dir.parent).example_files()]


def find_example(examples: Sequence[Example], name: str) -> Example:
    """The example called ``name``; raise :class:`UnknownQueryError` otherwise."""
    for example in examples:
        if example.name == name:
            return example
    raise UnknownQueryError(f"no example query named {name!r}; GET /api/queries lists them")


def examples_graph(examples: Sequence[Example]) -> Graph:
    """The ``/.well-known/sparql-examples`` graph: every query file's triples, merged.

    ``sh:prefixes`` declarations are added so that editors (the SIB sparql-editor among them)
    can show the prefixes the queries use.
    """
    graph = Graph()
    for prefix, iri in {**PREFIXES, "param": str(PARAM)}.items():
        graph.bind(prefix, iri, override=True)
    for example in examples:
        parse_file(example.path, graph)
    declarations = URIRef(QUERY_BASE + "prefixes")
    graph.add((declarations, RDF.type, OWL.Ontology))
    for prefix, iri in sorted(PREFIXES.items()):
        decl = URIRef(QUERY_BASE + "prefixes#" + prefix)
        graph.add((declarations, SH.declare, decl))
        graph.add((decl, SH.prefix, Literal(prefix)))
        graph.add((decl, SH.namespace, Literal(iri, datatype=XSD.anyURI)))
    for example in examples:
        graph.add((URIRef(example.iri), SH.prefixes, declarations))
    return graph


# ---------------------------------------------------------------------------------------------
# Answers: expected and actual, compared the same way whatever produced them.

Row = tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    """A SELECT table (variables and rows of plain strings) or an ASK boolean."""

    variables: tuple[str, ...] = ()
    rows: tuple[Row, ...] = ()
    boolean: bool | None = None


def answer_from_json(results: Mapping[str, Any]) -> Answer:
    """Read SPARQL 1.1 JSON results; a cell is the IRI, the literal's lexical form, or ``""``."""
    if "boolean" in results:
        return Answer(boolean=bool(results["boolean"]))
    variables = tuple(results["head"]["vars"])
    rows = tuple(
        tuple(str(b[v]["value"]) if v in b else "" for v in variables)
        for b in results["results"]["bindings"]
    )
    return Answer(variables=variables, rows=rows)


def load_expected(path: Path) -> Answer:
    """Read an expected answer: SPARQL CSV results (``.csv``) or SPARQL JSON (``.srj``).

    In a ``.csv`` a cell may abbreviate an IRI with a project prefix (``kedo:Intravenous``), which
    keeps the files readable; it is expanded before comparison.
    """
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".srj":
        return answer_from_json(json.loads(text))
    reader = csv.reader(io.StringIO(text))
    table = [row for row in reader]
    if not table:
        raise DataError(f"{path}: an expected CSV needs at least its header row")
    variables = tuple(table[0])
    rows = []
    for number, row in enumerate(table[1:], start=2):
        if len(row) != len(variables):
            raise DataError(f"{path}:{number}: {len(row)} cells, header has {len(variables)}")
        rows.append(tuple(expand_curie(cell) for cell in row))
    return Answer(variables=variables, rows=tuple(rows))


def _cell_key(cell: str) -> tuple[int, str]:
    """Numbers compare by value (``1.20`` = ``1.2``), everything else by text."""
    if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", cell):
        return (0, str(Decimal(cell).normalize()))
    return (1, cell)


def row_key(row: Row) -> tuple[tuple[int, str], ...]:
    """A row as compared: numbers by value, everything else by text."""
    return tuple(_cell_key(c) for c in row)


def compare(expected: Answer, actual: Answer, *, ordered: bool) -> list[str]:
    """Differences between two answers, as readable lines; empty when they agree."""
    if expected.boolean is not None or actual.boolean is not None:
        if expected.boolean != actual.boolean:
            return [f"expected {expected.boolean}, got {actual.boolean}"]
        return []
    if expected.variables != actual.variables:
        return [f"variables differ: expected {expected.variables}, got {actual.variables}"]
    want = [row_key(r) for r in expected.rows]
    got = [row_key(r) for r in actual.rows]
    if ordered:
        if want == got:
            return []
    else:
        if sorted(want) == sorted(got):
            return []
    missing = [r for r, k in zip(expected.rows, want, strict=True) if k not in got]
    extra = [r for r, k in zip(actual.rows, got, strict=True) if k not in want]
    lines = [f"missing row: {compact_row(r)}" for r in missing]
    lines += [f"unexpected row: {compact_row(r)}" for r in extra]
    if not lines:
        lines = [f"same rows, different order: expected {[compact_row(r) for r in expected.rows]}"
                 f", got {[compact_row(r) for r in actual.rows]}"]
    return lines


def compact_row(row: Row) -> str:
    """A row with IRIs abbreviated, for messages."""
    return " | ".join(compact(c) for c in row)


# ---------------------------------------------------------------------------------------------
# Checking the whole library, and the generated list of questions.


def run_embedded(store: Any, example: Example) -> Answer:
    """Run ``example`` on a pyoxigraph store (default graph = union of the named graphs)."""
    import pyoxigraph as ox

    result = store.query(example.query, use_default_graph_as_union=True)
    if isinstance(result, ox.QueryBoolean):
        return Answer(boolean=bool(result))
    return answer_from_json(json.loads(result.serialize(format=ox.QueryResultsFormat.JSON)))


def check_examples(store: Any, examples: Sequence[Example]) -> list[tuple[Example, list[str]]]:
    """Each example with the differences between its answer on ``store`` and its expectation."""
    report = []
    for example in examples:
        if example.expected_path is None:
            report.append((example, ["no expected answer (.csv or .srj) beside the query"]))
            continue
        actual = run_embedded(store, example)
        report.append((example, compare(load_expected(example.expected_path), actual,
                                        ordered=example.ordered)))
    return report


def render_markdown(examples: Sequence[Example]) -> str:
    """``docs/queries.md``: the questions the library answers, generated from the query files."""
    lines = [
        "# Example queries",
        "",
        "<!-- Generated by `ketamine-ed-kg queries --write-docs` from queries/*.ttl; "
        "do not edit by hand. -->",
        "",
        "Each question below is one file `queries/NNN_<slug>.ttl` in the SIB sparql-examples",
        "convention (`sh:SPARQLExecutable` with `sh:select`/`sh:ask`, `rdfs:label`,",
        "`rdfs:comment`, `schema:keywords`, `schema:target`), with its expected answer beside it",
        "(`.csv`, SPARQL CSV results with `kedo:`/`ked:` abbreviations allowed, or `.srj`). The",
        "expected answers were written from the source documents in `../shared/seeds/`, not",
        "copied from query output; `tests/test_queries.py` checks every query on the embedded",
        "store and through HTTP, ignoring row order unless the query has `ORDER BY`.",
        "",
        "The service publishes them at `/.well-known/sparql-examples` (RDF) and as a REST API:",
        "`GET /api/queries` lists them, `GET /api/queries/<name>` runs one (`Accept:",
        "application/sparql-results+json` or `text/csv`, or `?format=json|csv`), and",
        "`GET /api/openapi.json` is the OpenAPI 3 description.",
        "",
        "## Parameters",
        "",
        f"Parameters are declared in RDF with a small vocabulary under `{PARAM}` (prefix",
        "`param:`): the query has `param:parameter [ param:name \"route\" ; param:datatype",
        "xsd:anyURI ; param:allowedValue kedo:Intravenous, ... ; rdfs:comment \"...\"@en ]`, and",
        "its text has exactly one line `VALUES ?route { UNDEF }` (or a default value). The API",
        "validates a value (`xsd:anyURI` against the allowed IRIs, given as a full IRI, a CURIE",
        "or a bare local name; `xsd:decimal` and `xsd:integer` as plain numbers) and writes it",
        "into that line; anything else is refused with 400 and the accepted values. The",
        "published query therefore runs unchanged with its defaults (`UNDEF` = any value).",
        "",
        "## Questions",
        "",
        "| # | question | answer | parameters | keywords |",
        "|---|---|---|---|---|",
    ]
    for example in examples:
        params = ", ".join(
            f"`{p.name}` ({p.datatype})" for p in example.parameters
        ) or "—"
        kind = "yes/no" if example.form == "ask" else ("ordered table" if example.ordered
                                                        else "table")
        lines.append(
            f"| {example.name[:3]} | **{example.label}** — {example.comment} "
            f"([{example.path.name}](../queries/{example.path.name})) | {kind} | {params} | "
            f"{', '.join(example.keywords)} |"
        )
    return "\n".join(lines) + "\n"


__all__ = [
    "EXAMPLES_GRAPH_PATH", "PARAM", "QUERY_BASE", "SERVICE_IRI", "Answer", "Example",
    "Parameter", "QueryParameterError", "UnknownQueryError", "answer_from_json",
    "check_examples", "compact", "compare", "examples_graph", "expand_curie", "find_example",
    "load_example", "load_examples", "load_expected", "render_markdown", "row_key",
    "run_embedded",
]
