"""The REST API over the example queries, through a live server on 127.0.0.1.

Covers listing, running (JSON and CSV), typed parameters and their refusal, unknown queries,
the OpenAPI description (validated with openapi-spec-validator and exercised: every path in it
is called once) and the ``/.well-known/sparql-examples`` graph.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any
from urllib.parse import quote, urlencode

import pyoxigraph as ox
import pytest
from openapi_spec_validator import validate
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from ketamine_ed_kg.examples import (
    answer_from_json,
    compare,
    load_examples,
    load_expected,
)
from ketamine_ed_kg.namespaces import SH
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.server.charts import CHARTS
from ketamine_ed_kg.server.run import LiveServer
from support.server import request

KED = "https://w3id.org/ketamine-ed/resource/"


def _get(server: LiveServer, path: str, accept: str | None = None) -> Any:
    return request(server.base + path, headers={"Accept": accept} if accept else None)


def _json(server: LiveServer, path: str) -> Any:
    reply = _get(server, path, "application/json")
    assert reply.status == 200, reply.text
    return json.loads(reply.body)


def test_list(live_server: LiveServer, sources: ProjectPaths) -> None:
    listed = _json(live_server, "/api/queries")["queries"]
    files = sorted(p.stem for p in sources.queries_dir.glob("*.ttl"))
    assert [q["name"] for q in listed] == files
    route = next(q for q in listed if q["name"] == "002_studies_by_route")
    (param,) = route["parameters"]
    assert param["name"] == "route" and param["datatype"] == "iri"
    assert "kedo:Intramuscular" in param["allowed"]
    assert route["url"] == "/api/queries/002_studies_by_route"


def _select_answer(name: str, sources: ProjectPaths) -> tuple[Any, bool]:
    example = next(e for e in load_examples(sources.queries_dir) if e.name == name)
    assert example.expected_path is not None
    return load_expected(example.expected_path), example.ordered


def test_run_json(live_server: LiveServer, sources: ProjectPaths) -> None:
    name = "017_lifetime_prevalence_ranking"
    reply = _get(live_server, f"/api/queries/{name}", "application/sparql-results+json")
    assert reply.status == 200
    assert reply.header("content-type").startswith("application/sparql-results+json")
    expected, ordered = _select_answer(name, sources)
    assert compare(expected, answer_from_json(json.loads(reply.body)), ordered=ordered) == []


@pytest.mark.parametrize("how", ["accept", "format"])
def test_run_csv(live_server: LiveServer, sources: ProjectPaths, how: str) -> None:
    name = "010_dosing_intervals"
    if how == "accept":
        reply = _get(live_server, f"/api/queries/{name}", "text/csv")
    else:
        reply = _get(live_server, f"/api/queries/{name}?format=csv")
    assert reply.status == 200, reply.text
    assert reply.header("content-type").startswith("text/csv")
    table = list(csv.reader(io.StringIO(reply.text)))
    expected, ordered = _select_answer(name, sources)
    assert tuple(table[0]) == expected.variables
    got = {tuple(row) for row in table[1:]}
    # Mills: 5–21 days; Schwartz: 4–6 weeks; Ragnhildstveit: 48 h (source 003).
    assert {(r[0], r[3]) for r in got} == {
        (KED + "mills-1998", "https://w3id.org/ketamine-ed/ontology/Day"),
        (KED + "schwartz-2021", "https://w3id.org/ketamine-ed/ontology/Week"),
        (KED + "ragnhildstveit-2021", "https://w3id.org/ketamine-ed/ontology/Hour"),
    }


def test_run_ask(live_server: LiveServer) -> None:
    body = _json(live_server, "/api/queries/027_fda_esketamine_2019")
    assert body["boolean"] is True


def _studies(server: LiveServer, name: str, **params: str) -> set[str]:
    reply = _get(server, f"/api/queries/{name}?{urlencode(params)}", "application/json")
    assert reply.status == 200, reply.text
    answer = answer_from_json(json.loads(reply.body))
    return {row[answer.variables.index("study")].removeprefix(KED) for row in answer.rows}


def test_typed_parameters(live_server: LiveServer) -> None:
    # Source 002: four intramuscular injections; source 003: Schwartz gave IM and/or IV.
    assert _studies(live_server, "002_studies_by_route", route="kedo:Intramuscular") == {
        "schwartz-2021", "dahlgren-2025"}
    # Full IRIs and bare local names are accepted too.
    assert _studies(live_server, "002_studies_by_route",
                    route="https://w3id.org/ketamine-ed/ontology/Intramuscular") == {
        "schwartz-2021", "dahlgren-2025"}
    # Source 003: Scolnick's doses were titrated 0.75, 1.0, 1.1, 1.2 mg/kg.
    assert _studies(live_server, "006_studies_giving_a_dose", dose="1.1") == {"scolnick-2020"}
    # Source 003: only Ragnhildstveit's patient had BN-BP; Mills's cohort had comorbid BN.
    assert _studies(live_server, "003_studies_of_any_anorexia_subtype",
                    diagnosis="BulimiaNervosa") == {"ragnhildstveit-2021", "mills-1998"}


@pytest.mark.parametrize("query, message", [
    ("route=kedo:Rectal", "not one of"),
    ("route=%3E%20%7D%20%3Fs%20%3Fp%20%3Fo", "not one of"),
    ("routes=kedo:Oral", "no parameter"),
])
def test_bad_iri_parameter(live_server: LiveServer, query: str, message: str) -> None:
    reply = _get(live_server, f"/api/queries/002_studies_by_route?{query}")
    assert reply.status == 400
    assert message in reply.text


@pytest.mark.parametrize("value", ["abc", "1e3", "0.5 }", "NaN", ""])
def test_bad_decimal_parameter(live_server: LiveServer, value: str) -> None:
    reply = _get(live_server, f"/api/queries/006_studies_giving_a_dose?dose={quote(value)}")
    assert reply.status == 400
    assert "not a decimal" in reply.text


def test_unknown_query(live_server: LiveServer) -> None:
    reply = _get(live_server, "/api/queries/999_no_such_query")
    assert reply.status == 404
    assert "no example query named" in reply.text


def test_unacceptable_format(live_server: LiveServer) -> None:
    reply = _get(live_server, "/api/queries/017_lifetime_prevalence_ranking", "*/*;q=0")
    assert reply.status == 406
    fallback = _get(live_server, "/api/queries/017_lifetime_prevalence_ranking", "image/png")
    assert fallback.status == 200
    assert fallback.header("content-type") == "application/sparql-results+json; charset=utf-8"


def test_openapi_validates_and_every_path_answers(live_server: LiveServer) -> None:
    spec = _json(live_server, "/api/openapi.json")
    validate(spec)
    assert spec["openapi"].startswith("3.")
    called = 0
    fill = {"{ext}": "ttl", "{slug}": "mills-1998", "{term}": "Study", "{graph}": "asserted",
            "{target}": "wikidata", "{predicate}": "exactMatch", "{dataset}": "wikidata",
            "{shape}": "StudyShape", "{query}": "001_table1_ketamine_studies",
            "{name}": next(iter(CHARTS))}
    for path, item in spec["paths"].items():
        assert "get" in item, path
        for placeholder, value in fill.items():
            path = path.replace(placeholder, value)
        reply = _get(live_server, path)
        assert reply.status == 200, f"{path}: {reply.status} {reply.text[:300]}"
        called += 1
    assert called == len(spec["paths"]) >= 34
    run = spec["paths"]["/api/queries/006_studies_giving_a_dose"]["get"]
    dose = next(p for p in run["parameters"] if p["name"] == "dose")
    assert dose["schema"]["type"] == "string"  # "1e3" is a JSON number but not xsd:decimal
    assert dose["schema"]["pattern"] == r"^\s*[+-]?\d+(?:\.\d+)?\s*$"


def test_openapi_describes_the_sparql_endpoint(live_server: LiveServer) -> None:
    spec = _json(live_server, "/api/openapi.json")
    sparql = spec["paths"]["/sparql"]
    assert set(sparql) == {"get", "head", "post"}
    names = {p["name"] for p in sparql["get"]["parameters"]}
    assert names == {"query", "default-graph-uri", "named-graph-uri", "format", "output",
                     "timeout", "infer"}
    for status in ("400", "403", "406", "414", "429", "431", "503"):
        error = sparql["get"]["responses"][status]["$ref"].rsplit("/", 1)[-1]
        assert set(spec["components"]["responses"][error]["content"]) == {"text/plain"}
    assert {"413", "415"} <= set(sparql["post"]["responses"])
    ok = sparql["get"]["responses"]["200"]["content"]
    assert {"application/sparql-results+json", "text/tab-separated-values", "text/turtle",
            "application/n-quads"} <= set(ok)
    assert set(sparql["post"]["requestBody"]["content"]) == {
        "application/x-www-form-urlencoded", "application/sparql-query"}
    # An ASK example offers JSON and XML only; format= accepts names, media types, any case.
    ask = spec["paths"]["/api/queries/027_fda_esketamine_2019"]["get"]
    assert "text/csv" not in ask["responses"]["200"]["content"]
    fmt = next(p for p in ask["parameters"] if p["name"] == "format")["schema"]["$ref"]
    pattern = re.compile(spec["components"]["schemas"][fmt.rsplit("/", 1)[-1]]["pattern"])
    for accepted in ("", "json", " XML ", "application/sparql-results+json; charset=utf-8"):
        assert pattern.search(accepted), accepted
    for refused in ("csv", "tsv", " ", "turtle"):
        assert not pattern.search(refused), refused


def test_sparql_examples_graph(live_server: LiveServer, sources: ProjectPaths) -> None:
    names = {p.stem for p in sources.queries_dir.glob("*.ttl")}
    rdf_type = ox.NamedNode(str(RDF.type))
    executable = ox.NamedNode(str(SH.SPARQLExecutable))
    target = (ox.NamedNode("https://schema.org/target"),
              ox.NamedNode("https://w3id.org/ketamine-ed/sparql"))
    for accept, fmt in [("text/turtle", ox.RdfFormat.TURTLE),
                        ("application/ld+json", ox.RdfFormat.JSON_LD),
                        ("application/n-triples", ox.RdfFormat.N_TRIPLES)]:
        reply = _get(live_server, "/.well-known/sparql-examples", accept)
        assert reply.status == 200
        assert reply.header("content-type").startswith(accept)
        triples = list(ox.parse(reply.body, format=fmt))
        found = {str(t.subject.value).rsplit("/", 1)[-1] for t in triples
                 if t.predicate == rdf_type and t.object == executable}
        assert found == names, accept
        targeted = {t.subject for t in triples if (t.predicate, t.object) == target}
        assert len(targeted) == len(names)


def test_examples_graph_queries_run_on_the_endpoint(live_server: LiveServer) -> None:
    """An editor that reads the examples graph can run each query on /sparql as published."""
    reply = _get(live_server, "/.well-known/sparql-examples", "text/turtle")
    graph = Graph().parse(data=reply.body, format="turtle")
    iri = URIRef("https://w3id.org/ketamine-ed/query/014_conflicting_antagonism_type")
    query = str(graph.value(iri, SH.select))
    result = request(live_server.endpoint + "?" + urlencode({"query": query}),
                     headers={"Accept": "application/sparql-results+json"})
    answer = answer_from_json(json.loads(result.body))
    # Source 000 says competitive, source 003 says noncompetitive.
    assert [r[1].rsplit("/", 1)[-1] for r in answer.rows] == ["Competitive"]
    assert [r[3].rsplit("/", 1)[-1] for r in answer.rows] == ["Noncompetitive"]
