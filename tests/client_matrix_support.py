"""The real-client matrix (#10, part 5): its cells, how each one runs, what it must answer.

No tests here: ``tests/test_client_matrix.py`` runs every cell as its own test against the
gunicorn-served endpoint, and ``scripts/client_matrix.py`` runs the same cells and writes the
measured table to ``docs/clients.md``. Nothing is mocked: each cell is one real client (its own
request shape, Accept header and parser) asking one query form in one of its return formats
with one of its HTTP methods, and its answer, as the client hands it to its user, must be the
dataset's answer.

The clients, and how the set-up installs them (``scripts/setup.sh``):

* SPARQLWrapper (the test extras): every return format it names, plus its default, for every
  query form, sent as GET, POST form (``URLENCODED``) and POST direct (``POSTDIRECTLY``); both
  as it comes (``format=``/``output=``/``results=`` parameters and an Accept header) and with
  ``setOnlyConneg(True)`` (the Accept header alone).
* rdflib's ``SPARQLStore`` (a dependency): every ``returnFormat`` that gives an Accept header,
  plus its default, for every query form, with each of its methods (``GET``, ``POST`` =
  direct, ``POST_FORM``).
* Apache Jena's ``rsparql`` (Debian's ``libapache-jena-java``; ``clients/jena/rsparql`` is the
  set-up's wrapper, with the Xerces resource workaround): every query form, GET and ``--post``.
* Comunica's ``comunica-sparql`` (``clients/package-lock.json``, npm ci): every query form, the
  endpoint given as a plain source (Comunica reads the service description to find it is a
  SPARQL endpoint) and with the ``sparql@`` type hint; short queries go as GET, queries whose
  GET URL would pass 600 characters as a POST form (Comunica's own rule).
* pandas ``read_csv`` on the URL of a SELECT: CSV, and TSV (``sep="\\t"``), asked for by
  ``format=`` or by the Accept header (pandas' ``storage_options``).

A format that does not fit a form (CSV for a CONSTRUCT, Turtle for a SELECT) still has to give
the right answer: the server then sends the form's default format (docs/sparql-service.md), and
the client must read the Content-Type; the client's warnings are kept as notes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.dom.minidom import Document, Element

import pyoxigraph as ox
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.query import Result
from rdflib.term import BNode, Node
from rdflib.util import from_n3

from ketamine_ed_kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY
from support.server import write_dataset

ROOT = Path(__file__).resolve().parent.parent
CLIENTS_DIR = ROOT / "clients"
RSPARQL = CLIENTS_DIR / "jena" / "rsparql"
"""Jena's rsparql, as scripts/setup.sh wraps it (scripts/jena_rsparql.py)."""
COMUNICA = CLIENTS_DIR / "node_modules" / ".bin" / "comunica-sparql"

# ---------------------------------------------------------------------------------------------
# The dataset, the queries and their answers

EX = "http://example.org/"
TRICKY = '(R,S)-ketamine, "racemic" \u00e9'
"""A label with a comma, double quotes and a non-ASCII letter: CSV and TSV quoting, UTF-8."""
DATA = (f"@prefix ex: <{EX}> .\n"
        'ex:ketamine ex:label "ketamine"@en ; ex:dose 0.5 .\n'
        'ex:esketamine ex:label "esketamine"@en ; ex:enantiomerOf ex:ketamine .\n'
        f"ex:racemate ex:label {Literal(TRICKY, lang='en').n3()} .\n")

FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
QUERIES = {
    "SELECT": f"SELECT ?s ?l WHERE {{ ?s <{EX}label> ?l }} ORDER BY ?l",
    "ASK": f"ASK {{ <{EX}racemate> <{EX}label> {Literal(TRICKY, lang='en').n3()} }}",
    "CONSTRUCT": f"CONSTRUCT WHERE {{ <{EX}ketamine> ?p ?o }}",
    "DESCRIBE": f"DESCRIBE <{EX}ketamine>",
}
_PAD = "x" * 600
"""Makes a query's GET URL longer than Comunica's 600 characters, so that it POSTs it."""
LONG_QUERIES = {
    "SELECT": f'SELECT ?s ?l WHERE {{ ?s <{EX}label> ?l FILTER(STR(?l) != "{_PAD}") }} '
              "ORDER BY ?l",
    "ASK": f"ASK {{ <{EX}racemate> <{EX}label> ?l "
           f"FILTER(?l = {Literal(TRICKY, lang='en').n3()} && STR(?l) != \"{_PAD}\") }}",
    "CONSTRUCT": f"CONSTRUCT {{ <{EX}ketamine> ?p ?o }} "
                 f'WHERE {{ <{EX}ketamine> ?p ?o FILTER(STR(?o) != "{_PAD}") }}',
    "DESCRIBE": f'DESCRIBE <{EX}ketamine> WHERE {{ <{EX}ketamine> ?p ?o '
                f'FILTER(STR(?o) != "{_PAD}") }}',
}
"""The same questions with the same answers, long enough to be sent by POST. (The ASK has the
tricky label in the query: a client must send non-ASCII text and quotes intact.)"""

Rows = list[tuple[str, ...]]
Triples = frozenset[str]
Value = Rows | bool | Triples

_LABELS = [(URIRef(EX + "racemate"), Literal(TRICKY, lang="en")),
           (URIRef(EX + "esketamine"), Literal("esketamine", lang="en")),
           (URIRef(EX + "ketamine"), Literal("ketamine", lang="en"))]
_KETAMINE = [(URIRef(EX + "ketamine"), URIRef(EX + "label"), Literal("ketamine", lang="en")),
             (URIRef(EX + "ketamine"), URIRef(EX + "dose"), Literal("0.5", datatype=URIRef(
                 "http://www.w3.org/2001/XMLSchema#decimal")))]


def expected(form: str, lexical: bool = False) -> Value:
    """The answer to ``QUERIES[form]``: rows of N-Triples terms (or of lexical forms, for a
    format that has nothing else, CSV), True, or the set of N-Triples triples."""
    if form == "SELECT":
        if lexical:
            return [tuple(str(t) for t in row) for row in _LABELS]
        return [tuple(t.n3() for t in row) for row in _LABELS]
    if form == "ASK":
        return True
    return frozenset(" ".join(t.n3() for t in triple) for triple in _KETAMINE)


def write_matrix_dataset(target: Path) -> Path:
    """The dataset every cell asks, as the server's N-Quads input."""
    return write_dataset(target, {
        GRAPH_ASSERTED: (DATA, ox.RdfFormat.TURTLE),
        GRAPH_INFERRED: (f"<{EX}esketamine> <{EX}related> <{EX}ketamine> .",
                         ox.RdfFormat.N_TRIPLES),
        GRAPH_ONTOLOGY: (f"<{EX}label> <{EX}kind> <{EX}Annotation> .",
                         ox.RdfFormat.N_TRIPLES),
    })


# ---------------------------------------------------------------------------------------------
# Cells

@dataclass(frozen=True)
class Context:
    """Where a cell runs: the endpoint, and a folder of its own (under the test's tmp_path)
    for query files and the clients' temporary files."""

    endpoint: str
    workdir: Path


@dataclass(frozen=True)
class Answer:
    """What a client handed back, read into a comparable value."""

    value: Value
    served: str = ""
    """The Content-Type the server sent, when the client tells it."""
    notes: tuple[str, ...] = ()
    """The client's warnings (a format that does not fit the form, ...)."""
    lexical: bool = False
    """SELECT rows in lexical forms only (CSV carries no language tags or datatypes)."""


class ClientFailed(Exception):
    """The client raised, or exited non-zero."""


@dataclass(frozen=True)
class Cell:
    """One client x query form x return format x method."""

    client: str
    form: str
    fmt: str
    """The return format, named as the client names it ('(default)': none set)."""
    method: str
    run: Callable[[Context], Answer] = field(compare=False, repr=False)
    known_client_bug: str = ""
    """Why this cell fails because of the client (not the server), or ''. Tests mark such a
    cell xfail(strict=True); docs/clients.md shows it as failing, with the reason."""

    @property
    def id(self) -> str:
        return "-".join(re.sub(r"[^A-Za-z0-9]+", "_", part).strip("_") or "_"
                        for part in (self.client, self.form, self.fmt, self.method))


def fingerprint(cells: Iterable[Cell]) -> str:
    """A short hash of the cell ids: docs/clients.md says which matrix it measured."""
    return hashlib.sha256("\n".join(c.id for c in cells).encode()).hexdigest()[:12]


def check(cell: Cell, answer: Answer) -> None:
    """Fail (AssertionError) unless ``answer`` is the right answer to the cell's query."""
    want = expected(cell.form, answer.lexical)
    got = answer.value
    if isinstance(want, list) and isinstance(got, list) and answer.lexical:
        got = [tuple(_lexical(v) for v in row) for row in got]
    assert got == want, (f"{cell.id}: the client's answer differs\n  got:  {got!r}\n"
                         f"  want: {want!r}\n  served: {answer.served or '(not told)'}"
                         + "".join(f"\n  client note: {n}" for n in answer.notes))


def _parsed_term(text: str) -> str:
    """A term in SPARQL/Turtle syntax (TSV), re-written as rdflib writes N-Triples terms."""
    node = from_n3(text)
    if not isinstance(node, Node):
        raise ClientFailed(f"{text!r} is not an RDF term")
    return node.n3()


def _lexical(term: str) -> str:
    """The lexical form of an N-Triples term (or of a plain string: itself)."""
    if term.startswith(("<", '"', "_:")):
        node = from_n3(term)
        return str(node)
    return term


# ---------------------------------------------------------------------------------------------
# Reading answers

def _term_of_json(value: dict[str, str]) -> str:
    kind = value["type"]
    if kind == "uri":
        return URIRef(value["value"]).n3()
    if kind == "bnode":
        return BNode(value["value"]).n3()
    datatype = value.get("datatype")
    return Literal(value["value"], lang=value.get("xml:lang"),
                   datatype=URIRef(datatype) if datatype else None).n3()


def read_results_json(doc: Any) -> Value:
    """SPARQL 1.1 Query Results JSON (a parsed document): rows or a boolean."""
    if "boolean" in doc:
        return bool(doc["boolean"])
    names = doc["head"]["vars"]
    return [tuple(_term_of_json(b[n]) if n in b else "" for n in names)
            for b in doc["results"]["bindings"]]


def _text(element: Element) -> str:
    return "".join(n.data for n in element.childNodes if n.nodeType == n.TEXT_NODE)


def read_results_xml(doc: Document) -> Value:
    """SPARQL Query Results XML (a DOM document): rows or a boolean."""
    booleans = doc.getElementsByTagName("boolean")
    if booleans:
        return _text(booleans[0]).strip() == "true"
    names = [v.getAttribute("name") for v in doc.getElementsByTagName("variable")]
    rows: Rows = []
    for result in doc.getElementsByTagName("result"):
        found: dict[str, str] = {}
        for binding in result.getElementsByTagName("binding"):
            node = next(n for n in binding.childNodes if isinstance(n, Element))
            if node.tagName == "uri":
                found[binding.getAttribute("name")] = URIRef(_text(node)).n3()
            elif node.tagName == "bnode":
                found[binding.getAttribute("name")] = BNode(_text(node)).n3()
            else:
                lang = node.getAttribute("xml:lang") or None
                datatype = node.getAttribute("datatype") or None
                found[binding.getAttribute("name")] = Literal(
                    _text(node), lang=lang, datatype=URIRef(datatype) if datatype else None).n3()
        rows.append(tuple(found.get(n, "") for n in names))
    return rows


def read_csv_rows(text: str) -> Rows:
    """SPARQL CSV results: rows of lexical forms (the header dropped)."""
    return [tuple(row) for row in list(csv.reader(io.StringIO(text)))[1:]]


def read_tsv_rows(text: str) -> Rows:
    """SPARQL TSV results (rdflib's TSV reader): rows of N-Triples terms."""
    result = Result.parse(io.StringIO(text), format="tsv")
    return _result_rows(result)


def _result_rows(result: Result) -> Rows:
    return [tuple(_n3(v) for v in row) for row in result]  # type: ignore[union-attr]


def _n3(node: Node | None) -> str:
    return "" if node is None else node.n3()


RDF_PARSERS = {
    "text/turtle": "turtle", "application/x-turtle": "turtle", "text/n3": "n3",
    "application/n-triples": "nt", "text/plain": "nt", "application/ld+json": "json-ld",
    "application/rdf+xml": "xml", "application/xml": "xml", "application/trig": "trig",
    "application/n-quads": "nquads", "text/x-nquads": "nquads",
}
"""rdflib's parser for each RDF media type the server may send."""


def read_graph(data: bytes | str, media_type: str) -> Triples:
    """An RDF document of ``media_type``: the set of its triples, as N-Triples lines."""
    fmt = RDF_PARSERS.get(media_type.split(";")[0].strip().lower())
    if fmt is None:
        raise ClientFailed(f"no RDF parser for the served type {media_type!r}")
    with warnings.catch_warnings():  # rdflib 7.6's N3 and quad parsers use its deprecated API
        warnings.simplefilter("ignore", DeprecationWarning)
        if fmt not in ("trig", "nquads"):
            return triples_of(Graph().parse(data=data, format=fmt))
        dataset = Dataset()
        dataset.parse(data=data, format=fmt)
        return triples_of(dataset.quads((None, None, None, None)))


def triples_of(statements: Any) -> Triples:
    return frozenset(" ".join(t.n3() for t in statement[:3]) for statement in statements)


# ---------------------------------------------------------------------------------------------
# The clients

@contextmanager
def _client_notes() -> Iterator[list[str]]:
    """Collect the warnings a client gives (pytest turns warnings into errors otherwise), but
    for deprecations inside the client's own code (rdflib 7.6 calls its own deprecated API)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        notes: list[str] = []
        yield notes
        notes.extend(dict.fromkeys(str(w.message) for w in caught
                                   if not issubclass(w.category, DeprecationWarning)))


def _run_tool(argv: list[str], ctx: Context) -> str:
    """Run a client program in the cell's folder (TMPDIR too); its standard output."""
    tool = Path(argv[0])
    if not tool.exists():
        raise ClientFailed(f"{tool} is missing: run scripts/setup.sh (it installs the clients)")
    env = dict(os.environ, TMPDIR=str(ctx.workdir))
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ctx.workdir,
                          check=False)
    if proc.returncode != 0:
        raise ClientFailed(f"{tool.name} exited {proc.returncode}: "
                           f"{(proc.stderr or proc.stdout).strip()[-3000:]}")
    return proc.stdout


def _query_file(ctx: Context, query: str) -> Path:
    path = ctx.workdir / "query.rq"
    path.write_text(query, encoding="utf-8")
    return path


# SPARQLWrapper ------------------------------------------------------------------------------

SPARQLWRAPPER_FORMATS = ("(default)", "json", "xml", "csv", "tsv", "turtle", "n3", "rdf",
                         "rdf+xml", "json-ld")
"""Every return format SPARQLWrapper names (its constants JSON, XML, CSV, TSV, TURTLE, N3, RDF,
RDFXML, JSONLD), and none set (XML, with format=xml&output=xml&results=xml)."""
SPARQLWRAPPER_METHODS = ("GET", "POST form", "POST direct")


def _sparqlwrapper(form: str, fmt: str, method: str, only_conneg: bool
                   ) -> Callable[[Context], Answer]:
    def run(ctx: Context) -> Answer:
        from SPARQLWrapper import POST, POSTDIRECTLY, URLENCODED, SPARQLWrapper

        client = SPARQLWrapper(ctx.endpoint)
        client.setQuery(QUERIES[form])
        if fmt != "(default)":
            client.setReturnFormat(fmt)
        if method != "GET":
            client.setMethod(POST)
            client.setRequestMethod(URLENCODED if method == "POST form" else POSTDIRECTLY)
        client.setOnlyConneg(only_conneg)
        with _client_notes() as notes:
            try:
                result = client.query()
                served = str(result.info().get("content-type", ""))
                converted = result.convert()
            except Exception as exc:
                raise ClientFailed(f"{type(exc).__name__}: {exc}") from exc
        return _read_converted(converted, served, tuple(notes))
    return run


def _read_converted(converted: object, served: str, notes: tuple[str, ...]) -> Answer:
    """SPARQLWrapper's ``convert()``: a dict (JSON), a DOM (XML), an rdflib Graph (RDF/XML,
    JSON-LD) or the body's bytes (CSV, TSV, Turtle, N3)."""
    media = served.split(";")[0].strip().lower()
    if isinstance(converted, dict):
        return Answer(read_results_json(converted), served, notes)
    if isinstance(converted, Document):
        return Answer(read_results_xml(converted), served, notes)
    if isinstance(converted, Graph):
        return Answer(triples_of(converted), served, notes)
    if isinstance(converted, bytes):
        text = converted.decode("utf-8")
        if media == "text/csv":
            return Answer(read_csv_rows(text), served, notes, lexical=True)
        if media == "text/tab-separated-values":
            return Answer(read_tsv_rows(text), served, notes)
        return Answer(read_graph(text, media), served, notes)
    raise ClientFailed(f"convert() gave a {type(converted).__name__} for {served!r}")


# rdflib SPARQLStore -------------------------------------------------------------------------

RDFLIB_FORMATS = ("(default)", "xml", "json", "csv", "tsv", "application/rdf+xml", "turtle",
                  "n3", "nt", "json-ld", "nquads", "trig", "trix")
"""The documented returnFormats (xml, json, csv, tsv, application/rdf+xml) and every other
short name of an rdflib result parser that yields an Accept header, and none (xml)."""
RDFLIB_METHODS = {"GET": "GET", "POST form": "POST_FORM", "POST direct": "POST"}


def _rdflib(form: str, fmt: str, method: str) -> Callable[[Context], Answer]:
    def run(ctx: Context) -> Answer:
        from rdflib.plugins.stores.sparqlstore import SPARQLStore

        options: dict[str, Any] = {"method": RDFLIB_METHODS[method]}
        if fmt != "(default)":
            options["returnFormat"] = fmt
        store = SPARQLStore(ctx.endpoint, **options)
        graph = Graph(store=store)
        with _client_notes() as notes:
            try:
                result = graph.query(QUERIES[form])
                if not isinstance(result, Result):  # its POST methods return the HTTP error
                    raise ClientFailed(f"the store answered {result!r}")
                if result.type == "SELECT":
                    value: Value = _result_rows(result)
                elif result.type == "ASK":
                    value = bool(result.askAnswer)
                else:
                    assert result.graph is not None
                    value = triples_of(result.graph)
            except ClientFailed:
                raise
            except Exception as exc:
                raise ClientFailed(f"{type(exc).__name__}: {exc}") from exc
            finally:
                graph.close()
        return Answer(value, notes=tuple(notes), lexical=fmt == "csv" and form == "SELECT")
    return run


# Jena rsparql -------------------------------------------------------------------------------

JENA_METHODS = {"GET": [], "POST direct": ["--post"]}


def _jena(form: str, method: str) -> Callable[[Context], Answer]:
    def run(ctx: Context) -> Answer:
        graph = form in ("CONSTRUCT", "DESCRIBE")
        out = _run_tool([str(RSPARQL), "--service", ctx.endpoint,
                         "--query", str(_query_file(ctx, QUERIES[form])),
                         "--results", "nt" if graph else "json", *JENA_METHODS[method]], ctx)
        if graph:
            return Answer(read_graph(out, "application/n-triples"))
        return Answer(read_results_json(json.loads(out)))
    return run


# Comunica -----------------------------------------------------------------------------------

COMUNICA_SOURCES = ("auto-detected", "sparql@ hint")
COMUNICA_METHODS = ("GET (short query)", "POST form (long query)")


def _comunica(form: str, source: str, method: str) -> Callable[[Context], Answer]:
    def run(ctx: Context) -> Answer:
        graph = form in ("CONSTRUCT", "DESCRIBE")
        query = (LONG_QUERIES if method.startswith("POST") else QUERIES)[form]
        target = ctx.endpoint if source == "auto-detected" else f"sparql@{ctx.endpoint}"
        out = _run_tool([str(COMUNICA), target, "-f", str(_query_file(ctx, query)), "-t",
                         "application/n-triples" if graph
                         else "application/sparql-results+json"], ctx)
        if graph:
            return Answer(read_graph(out, "application/n-triples"))
        return Answer(read_results_json(json.loads(out)))
    return run


# pandas -------------------------------------------------------------------------------------

PANDAS_FORMATS = {"CSV": ("csv", "text/csv"), "TSV": ("tsv", "text/tab-separated-values")}
PANDAS_METHODS = ("GET, format=", "GET, Accept")


def _pandas(fmt: str, method: str) -> Callable[[Context], Answer]:
    def run(ctx: Context) -> Answer:
        import pandas as pd

        name, media_type = PANDAS_FORMATS[fmt]
        params = {"query": QUERIES["SELECT"]}
        options: dict[str, Any] = {"dtype": str, "keep_default_na": False}
        if method == "GET, format=":
            params["format"] = name
        else:  # pandas sends storage_options as the request's headers for an http URL
            options["storage_options"] = {"Accept": media_type}
        if fmt == "TSV":  # terms in SPARQL syntax: '"..."' is a literal, not a quoted field
            options.update(sep="\t", quoting=csv.QUOTE_NONE)
        with _client_notes() as notes:
            try:
                frame = pd.read_csv(f"{ctx.endpoint}?{urlencode(params)}", **options)
            except Exception as exc:
                raise ClientFailed(f"{type(exc).__name__}: {exc}") from exc
        rows: Rows = [tuple(str(v) for v in row)
                      for row in frame.itertuples(index=False, name=None)]
        if fmt == "TSV":
            rows = [tuple(_parsed_term(v) if v else "" for v in row) for row in rows]
        return Answer(rows, notes=tuple(notes), lexical=fmt == "CSV")
    return run


# ---------------------------------------------------------------------------------------------

COMUNICA_LANGUAGE_BUG = (
    "Comunica 4.5.0 drops the language tags of literals in SPARQL JSON/XML results "
    "(its sparqljson-parse 3.x passes {language, direction} to its rdf-data-factory 1.x, "
    "which reads it as a datatype); docs/clients.md has the details")


def matrix_cells() -> list[Cell]:
    """Every cell of the matrix, in the order of docs/clients.md."""
    cells: list[Cell] = []
    for conneg in (False, True):
        client = "SPARQLWrapper onlyConneg" if conneg else "SPARQLWrapper"
        for form in FORMS:
            for fmt in SPARQLWRAPPER_FORMATS:
                for method in SPARQLWRAPPER_METHODS:
                    cells.append(Cell(client, form, fmt, method,
                                      _sparqlwrapper(form, fmt, method, conneg)))
    for form in FORMS:
        for fmt in RDFLIB_FORMATS:
            for method in RDFLIB_METHODS:
                cells.append(Cell("rdflib SPARQLStore", form, fmt, method,
                                  _rdflib(form, fmt, method)))
    for form in FORMS:
        for method in JENA_METHODS:
            cells.append(Cell("Jena rsparql", form, "(default)", method, _jena(form, method)))
    for form in FORMS:
        for source in COMUNICA_SOURCES:
            for method in COMUNICA_METHODS:
                bug = COMUNICA_LANGUAGE_BUG if form == "SELECT" else ""
                cells.append(Cell(f"Comunica ({source})", form, "(default)", method,
                                  _comunica(form, source, method), bug))
    for fmt in PANDAS_FORMATS:
        for method in PANDAS_METHODS:
            cells.append(Cell("pandas read_csv", "SELECT", fmt, method, _pandas(fmt, method)))
    return cells


__all__ = ["CLIENTS_DIR", "COMUNICA", "Answer", "Cell", "ClientFailed", "Context", "FORMS",
           "QUERIES", "RSPARQL", "check", "expected", "fingerprint", "matrix_cells",
           "write_matrix_dataset"]
