"""The example-query library: every query parses, runs, and gives the answer the sources give.

The expected answers beside the queries were written by reading the source documents; these
tests run each query on the embedded store and through HTTP against the live SPARQL service
and compare (ignoring row order unless the query has ORDER BY). A mismatch means the query,
the graph, or the reading of the source is wrong, and the failure message says which rows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from ketamine_ed_kg.errors import DataError
from ketamine_ed_kg.examples import (
    QUERY_BASE,
    Answer,
    Example,
    QueryParameterError,
    answer_from_json,
    compare,
    examples_graph,
    load_example,
    load_examples,
    load_expected,
    render_markdown,
)
from ketamine_ed_kg.namespaces import SH
from ketamine_ed_kg.paths import ProjectPaths, project_paths
from ketamine_ed_kg.server.run import LiveServer
from ketamine_ed_kg.store import open_store
from support.project import BuiltDataset
from support.server import request

EXAMPLES = load_examples(project_paths().queries_dir)
UPDATE_HINT = (
    "\n\nIf the graph changed on purpose (a new study or claim), run "
    "`.venv/bin/ketamine-ed-kg queries --update`: it rewrites the expected answers that changed "
    "and prints a diff; check each new or lost row against the sources before committing."
)
NAMES = [e.name for e in EXAMPLES]


@pytest.fixture(scope="module")
def embedded(built_dataset: BuiltDataset) -> ox.Store:
    """The built dataset in an embedded store, as the service loads it."""
    return open_store(built_dataset.dataset)


def _example(name: str) -> Example:
    return next(e for e in EXAMPLES if e.name == name)


def _embedded_answer(store: ox.Store, query: str) -> Answer:
    result = store.query(query, use_default_graph_as_union=True)
    if isinstance(result, ox.QueryBoolean):
        return Answer(boolean=bool(result))
    assert isinstance(result, ox.QuerySolutions)
    body = result.serialize(format=ox.QueryResultsFormat.JSON)
    assert body is not None
    return answer_from_json(json.loads(body))


def _expected(example: Example) -> Answer:
    assert example.expected_path is not None, f"{example.name} has no expected answer"
    return load_expected(example.expected_path)


def test_library_size_and_naming() -> None:
    assert len(EXAMPLES) >= 25
    assert len(set(NAMES)) == len(NAMES)
    numbers = [n[:3] for n in NAMES]
    assert len(set(numbers)) == len(numbers), "two queries share a number"
    for example in EXAMPLES:
        assert example.iri == QUERY_BASE + example.name
        assert example.expected_path is not None, f"{example.name}: no .csv or .srj beside it"
        assert example.label and example.comment and example.keywords


def test_some_queries_declare_typed_parameters() -> None:
    kinds = {p.datatype for e in EXAMPLES for p in e.parameters}
    assert {"iri", "decimal"} <= kinds


@pytest.mark.parametrize("name", NAMES)
def test_query_parses(name: str) -> None:
    example = _example(name)
    empty = ox.Store()
    empty.query(example.query)  # raises SyntaxError on a malformed query
    expected = _expected(example)
    assert (expected.boolean is not None) == (example.form == "ask")


@pytest.mark.parametrize("name", NAMES)
def test_expected_answer_on_embedded_store(name: str, embedded: ox.Store) -> None:
    example = _example(name)
    problems = compare(_expected(example), _embedded_answer(embedded, example.query),
                       ordered=example.ordered)
    assert not problems, f"{name}:\n" + "\n".join(problems) + UPDATE_HINT


@pytest.mark.parametrize("name", NAMES)
def test_expected_answer_over_http(name: str, live_server: LiveServer) -> None:
    example = _example(name)
    reply = request(live_server.endpoint + "?" + urlencode({"query": example.query}),
                    headers={"Accept": "application/sparql-results+json"})
    assert reply.status == 200, reply.text
    problems = compare(_expected(example), answer_from_json(json.loads(reply.body)),
                       ordered=example.ordered)
    assert not problems, f"{name}:\n" + "\n".join(problems) + UPDATE_HINT


def test_table1_expected_cells_are_the_review_text(shared_dir: Path) -> None:
    """Every cell of the expected Table 1 is printed in the review, in that row's text."""
    review = next((shared_dir / "seeds").glob("003_*.txt")).read_text(encoding="utf-8")
    table = review[review.index("Table 1."):review.index("Notes:")]
    folded = re.sub(r"\s+", " ", table)
    expected = _expected(_example("001_table1_ketamine_studies"))
    assert len(expected.rows) == 5
    printed = expected.variables.index("outcome") + 1  # the table's columns; then the IRIs
    assert expected.variables[:printed] == ("study", "design", "sample", "diagnosis",
                                            "regimen", "outcome")
    for row in expected.rows:
        line = " ".join(row[:printed])
        assert line in folded, f"not a row of the review's Table 1: {line}"


def test_comparison_can_fail() -> None:
    a = Answer(variables=("x",), rows=(("1.20",), ("b",)))
    assert compare(a, Answer(variables=("x",), rows=(("b",), ("1.2",))), ordered=False) == []
    assert compare(a, Answer(variables=("x",), rows=(("b",), ("1.2",))), ordered=True)
    assert compare(a, Answer(variables=("x",), rows=(("1.2",),)), ordered=False)
    assert compare(a, Answer(variables=("y",), rows=a.rows), ordered=False)
    assert compare(Answer(boolean=True), Answer(boolean=False), ordered=False)


def test_parameters_are_validated_and_bound() -> None:
    route = _example("002_studies_by_route")
    bound = route.bind({"route": "kedo:Intramuscular"})
    assert "VALUES ?route { <https://w3id.org/ketamine-ed/ontology/Intramuscular> }" in bound
    assert "UNDEF" not in bound
    with pytest.raises(QueryParameterError, match="not one of"):
        route.bind({"route": "kedo:Rectal"})
    with pytest.raises(QueryParameterError, match="no parameter"):
        route.bind({"routes": "kedo:Oral"})
    dose = _example("006_studies_giving_a_dose")
    assert 'VALUES ?dose { "1.1"^^<http://www.w3.org/2001/XMLSchema#decimal> }' in dose.bind(
        {"dose": "1.1"})
    for bad in ("abc", "1e3", "0.5 }", "NaN"):
        with pytest.raises(QueryParameterError):
            dose.bind({"dose": bad})


def test_parameter_binding_changes_the_answer(embedded: ox.Store) -> None:
    """Bound values come from the sources: IM was used by Schwartz (003) and Dahlgren (002);
    1.1 mg/kg was Scolnick's third dose (003); BN appears in Ragnhildstveit and, as a
    comorbidity, in Mills (003)."""
    ked = "https://w3id.org/ketamine-ed/resource/"
    cases = [
        ("002_studies_by_route", {"route": "Intramuscular"}, {"schwartz-2021", "dahlgren-2025"}),
        ("006_studies_giving_a_dose", {"dose": "1.1"}, {"scolnick-2020"}),
        ("003_studies_of_any_anorexia_subtype", {"diagnosis": "kedo:BulimiaNervosa"},
         {"ragnhildstveit-2021", "mills-1998"}),
    ]
    for name, values, studies in cases:
        answer = _embedded_answer(embedded, _example(name).bind(values))
        found = {row[answer.variables.index("study")] for row in answer.rows}
        assert found == {ked + s for s in studies}, name


def test_a_broken_query_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "099_broken.ttl"
    bad.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "<https://w3id.org/ketamine-ed/query/099_broken> a sh:SPARQLExecutable ;\n"
        '  sh:select "SELECT * WHERE { ?s ?p ?o }" .\n', encoding="utf-8")
    with pytest.raises(DataError, match="lacks"):
        load_example(bad)
    (tmp_path / "Bad-Name.ttl").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="NNN_"):
        load_example(tmp_path / "Bad-Name.ttl")


def test_examples_graph_has_every_query_and_prefixes() -> None:
    graph: Graph = examples_graph(EXAMPLES)
    executables = set(graph.subjects(RDF.type, SH.SPARQLExecutable))
    assert executables == {URIRef(e.iri) for e in EXAMPLES}
    prefixes = {str(p) for p in graph.objects(None, SH.prefix)}
    assert {"kedo", "ked", "rdfs"} <= prefixes


def test_docs_list_every_question(sources: ProjectPaths) -> None:
    """docs/queries.md is generated from the query files and must be regenerated with them."""
    docs = (sources.root / "docs" / "queries.md").read_text(encoding="utf-8")
    assert docs == render_markdown(EXAMPLES), (
        "docs/queries.md is stale: run `ketamine-ed-kg queries --write-docs`")
