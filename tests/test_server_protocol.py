"""The /sparql protocol against a live server: formats, dataset selection, every error path.

The dataset is written here, so each expected value comes from the triples below.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef

from ketamine_ed_kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, VOID
from ketamine_ed_kg.server.run import LiveServer
from support.server import Reply, request, waitress_server, write_dataset

KEDO = "https://w3id.org/ketamine-ed/ontology/"
EX = "http://example.org/"
ROWS = 300
ASSERTED = (
    f"@prefix kedo: <{KEDO}> . @prefix ex: <{EX}> .\n"
    "ex:patient a kedo:AnorexiaNervosa ; ex:name \"Ann\"@en .\n"
    + "".join(f"ex:s{i} ex:value {i} .\n" for i in range(ROWS))
)
INFERRED = (f"<{EX}patient> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
            f"<{KEDO}EatingDisorder> .\n")
ONTOLOGY = (f"<{KEDO}AnorexiaNervosa> <http://www.w3.org/2000/01/rdf-schema#subClassOf> "
            f"<{KEDO}EatingDisorder> .\n")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("protocol") / "dataset.nq", {
        GRAPH_ASSERTED: (ASSERTED, ox.RdfFormat.TURTLE),
        GRAPH_INFERRED: (INFERRED, ox.RdfFormat.N_TRIPLES),
        GRAPH_ONTOLOGY: (ONTOLOGY, ox.RdfFormat.N_TRIPLES),
    })


@pytest.fixture(scope="module")
def server(dataset: Path) -> Iterator[LiveServer]:
    with waitress_server(dataset, row_cap=100, max_request_bytes=20_000, deadline=20) as srv:
        yield srv


def get(server: LiveServer, query: str, accept: str | None = None, **params: str) -> Reply:
    query_string = urlencode({"query": query, **params})
    headers = {"Accept": accept} if accept else {}
    return request(f"{server.endpoint}?{query_string}", headers=headers)


def bindings(body: bytes) -> list[dict[str, str]]:
    doc = json.loads(body)
    return [{k: v["value"] for k, v in row.items()} for row in doc["results"]["bindings"]]


# --- query forms and formats -------------------------------------------------------------

def test_select_json_default(server: LiveServer) -> None:
    reply = get(server, f"SELECT ?n WHERE {{ <{EX}patient> <{EX}name> ?n }}")
    assert reply.status == 200
    assert (reply.header("content-type") or "").startswith("application/sparql-results+json")
    assert bindings(reply.body) == [{"n": "Ann"}]


@pytest.mark.parametrize(("accept", "media"), [
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/csv;q=0.5, text/tab-separated-values;q=0.9", "text/tab-separated-values"),
    ("text/*;q=0.9, application/sparql-results+json;q=0.1", "text/csv"),
    ("*/*", "application/sparql-results+json"),
])
def test_select_negotiated(server: LiveServer, accept: str, media: str) -> None:
    reply = get(server, f"SELECT ?n WHERE {{ <{EX}patient> <{EX}name> ?n }}", accept)
    assert reply.status == 200
    assert (reply.header("content-type") or "").split(";")[0] == media
    assert "Ann" in reply.text


def test_format_parameter_wins_over_accept(server: LiveServer) -> None:
    reply = get(server, "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "application/sparql-results+xml",
                format="tsv")
    assert (reply.header("content-type") or "").startswith("text/tab-separated-values")


def test_browser_gets_displayable_json(server: LiveServer) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    reply = get(server, "ASK { ?s ?p ?o }", browser)
    assert (reply.header("content-type") or "").startswith("application/json")
    assert json.loads(reply.body)["boolean"] is True


def test_csv_rows(server: LiveServer) -> None:
    reply = get(server, f"SELECT ?v WHERE {{ ?s <{EX}value> ?v }} ORDER BY ?v LIMIT 3",
                "text/csv")
    rows = list(csv.reader(io.StringIO(reply.text)))
    assert rows == [["v"], ["0"], ["1"], ["2"]]


def parsed(body: bytes, media: str) -> set[ox.Triple]:
    """Parse with pyoxigraph (independent of the serialiser choice on the server)."""
    fmt = ox.RdfFormat.from_media_type(media)
    assert fmt is not None
    return {ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=fmt)}


@pytest.mark.parametrize("accept", [
    "text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml",
    "application/trig", "application/n-quads"])
def test_construct_formats(server: LiveServer, accept: str) -> None:
    reply = get(server, f"CONSTRUCT WHERE {{ <{EX}patient> ?p ?o }}", accept)
    assert reply.status == 200
    assert (reply.header("content-type") or "").split(";")[0] == accept
    # asserted type + name, inferred type (union default graph)
    assert len(parsed(reply.body, accept)) == 3


def test_describe(server: LiveServer) -> None:
    reply = get(server, f"DESCRIBE <{EX}patient>", "application/n-triples")
    assert reply.status == 200
    assert len(parsed(reply.body, "application/n-triples")) == 3


def test_post_form_and_direct(server: LiveServer) -> None:
    query = f"ASK {{ <{EX}patient> a <{KEDO}EatingDisorder> }}"
    form = request(server.endpoint, "POST", urlencode({"query": query}),
                   {"Content-Type": "application/x-www-form-urlencoded"})
    direct = request(server.endpoint, "POST", query,
                     {"Content-Type": "application/sparql-query"})
    assert json.loads(form.body)["boolean"] is True
    assert json.loads(direct.body)["boolean"] is True


def test_infer_false_leaves_out_inferred_graph(server: LiveServer) -> None:
    query = f"ASK {{ <{EX}patient> a <{KEDO}EatingDisorder> }}"
    assert json.loads(get(server, query).body)["boolean"] is True
    assert json.loads(get(server, query, infer="false").body)["boolean"] is False
    # the ontology stays visible with infer=false
    onto = f"ASK {{ <{KEDO}AnorexiaNervosa> ?p <{KEDO}EatingDisorder> }}"
    assert json.loads(get(server, onto, infer="false").body)["boolean"] is True


def test_protocol_dataset_overrides(server: LiveServer) -> None:
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    reply = get(server, query, **{"default-graph-uri": GRAPH_ONTOLOGY})
    assert bindings(reply.body) == [{"n": "1"}]
    named = get(server, "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                **{"named-graph-uri": GRAPH_INFERRED})
    assert {row["g"] for row in bindings(named.body)} == {GRAPH_INFERRED}


def test_from_clause_of_a_graph_in_the_store(server: LiveServer) -> None:
    reply = get(server, f"SELECT (COUNT(*) AS ?n) FROM <{GRAPH_INFERRED}> WHERE {{ ?s ?p ?o }}")
    assert bindings(reply.body) == [{"n": "1"}]


# --- row cap ---------------------------------------------------------------------------------

def test_row_cap_is_reported(server: LiveServer) -> None:
    reply = get(server, f"SELECT ?v WHERE {{ ?s <{EX}value> ?v }}")
    assert reply.status == 200
    assert len(bindings(reply.body)) == 100
    assert reply.header("x-sparql-row-cap") == "100"
    assert reply.header("x-sparql-truncated") == "true"
    assert "truncated" in (reply.header("warning") or "")


def test_row_cap_not_truncated_when_smaller(server: LiveServer) -> None:
    reply = get(server, f"SELECT ?v WHERE {{ ?s <{EX}value> ?v FILTER(?v < 10) }}")
    assert len(bindings(reply.body)) == 10
    assert reply.header("x-sparql-truncated") == "false"


def test_row_cap_with_offset_pages(server: LiveServer) -> None:
    reply = get(server, f"SELECT ?v WHERE {{ ?s <{EX}value> ?v }} ORDER BY ?v OFFSET 250")
    values = [int(row["v"]) for row in bindings(reply.body)]
    assert values == list(range(250, ROWS))
    assert reply.header("x-sparql-truncated") == "false"


def test_own_limit_below_cap_is_untouched(server: LiveServer) -> None:
    reply = get(server, f"SELECT ?v WHERE {{ ?s <{EX}value> ?v }} LIMIT 7")
    assert len(bindings(reply.body)) == 7
    assert reply.header("x-sparql-row-cap") is None


# --- errors ------------------------------------------------------------------------------------

def test_syntax_error_400_with_position(server: LiveServer) -> None:
    reply = get(server, "SELECT * WHERE { ?s ?p }")
    assert reply.status == 400
    assert "syntax error" in reply.text and "line 1, column" in reply.text


def test_missing_query_400(server: LiveServer) -> None:
    reply = request(f"{server.endpoint}?default-graph-uri={quote(GRAPH_ASSERTED)}")
    assert reply.status == 400


def test_two_queries_400(server: LiveServer) -> None:
    reply = request(f"{server.endpoint}?query=ASK%7B%7D&query=ASK%7B%7D")
    assert reply.status == 400


def test_wrong_method_405(server: LiveServer) -> None:
    reply = request(f"{server.endpoint}?query=ASK%7B%7D", "PUT", "x")
    assert reply.status == 405
    assert "GET" in (reply.header("allow") or "")


def test_406_only_when_nothing_is_sensible(server: LiveServer) -> None:
    assert get(server, "SELECT * WHERE { ?s ?p ?o }", "*/*;q=0").status == 406
    refused = get(server, "ASK {}", "application/*;q=0, text/*;q=0, image/png")
    assert refused.status == 406
    assert "refuses every type" in refused.text
    unknown = get(server, "ASK {}", format="png")
    assert unknown.status == 406
    assert "names no format" in unknown.text


@pytest.mark.parametrize(("query", "accept", "params", "media"), [
    # Nothing offered matches: the form's default, as Fuseki answers (rdflib's SPARQLStore
    # sends Accept: text/csv for every form and parses whatever Content-Type comes back).
    ("SELECT * WHERE { ?s ?p ?o }", "image/png", {}, "application/sparql-results+json"),
    ("CONSTRUCT WHERE { ?s ?p ?o }", "text/csv", {}, "text/turtle"),
    ("ASK {}", "text/tab-separated-values", {}, "application/sparql-results+json"),
    ("CONSTRUCT WHERE { ?s ?p ?o }", None, {"format": "csv"}, "text/turtle"),
    # Short names mean what they mean in Jena for the form (SPARQLWrapper sends format=xml).
    ("CONSTRUCT WHERE { ?s ?p ?o }", None, {"format": "xml", "output": "xml"},
     "application/rdf+xml"),
    ("DESCRIBE <http://example.org/s1>", None, {"format": "json"}, "application/ld+json"),
    ("SELECT * WHERE { ?s ?p ?o }", None, {"format": "xml"}, "application/sparql-results+xml"),
    ("SELECT * WHERE { ?s ?p ?o }", None, {"format": "json"}, "application/sparql-results+json"),
    # The default skips what the client refused.
    ("CONSTRUCT WHERE { ?s ?p ?o }", "text/turtle;q=0, application/json-foo", {},
     "application/n-triples"),
])
def test_fallback_and_short_names_as_fuseki(server: LiveServer, query: str, accept: str | None,
                                            params: dict[str, str], media: str) -> None:
    reply = get(server, query, accept, **params)
    assert reply.status == 200, reply.text
    assert reply.header("content-type") == media + "; charset=utf-8"
    assert "Accept" in (reply.header("vary") or "")


@pytest.mark.parametrize("content_type", ["text/plain", "application/json",
                                          "application/sparql-query; charset=UTF-16"])
def test_wrong_content_type_415(server: LiveServer, content_type: str) -> None:
    reply = request(server.endpoint, "POST", "ASK {}", {"Content-Type": content_type})
    assert reply.status == 415


def test_missing_content_type_415(server: LiveServer) -> None:
    reply = request(server.endpoint, "POST", "ASK {}")
    assert reply.status == 415


def test_non_utf8_body_400(server: LiveServer) -> None:
    reply = request(server.endpoint, "POST", "ASK { ?s ?p \"caf\xe9\" }".encode("latin-1"),
                    {"Content-Type": "application/sparql-query"})
    assert reply.status == 400


def test_oversized_body_413(server: LiveServer) -> None:
    big = "ASK {}" + "#" * 30_000
    reply = request(server.endpoint, "POST", big, {"Content-Type": "application/sparql-query"})
    assert reply.status == 413


def test_overlong_get_line_414(server: LiveServer) -> None:
    reply = get(server, "ASK {}" + " " * 30_000)
    assert reply.status == 414
    assert "POST" in reply.text


@pytest.mark.parametrize("query", [
    "INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }",
    "LOAD <http://example.org/data.ttl>",
    "PREFIX ex: <http://x/> DELETE WHERE { ?s ?p ?o }",
    "DROP ALL",
])
def test_updates_403(server: LiveServer, query: str) -> None:
    as_query = get(server, query)
    as_update = request(server.endpoint, "POST", urlencode({"update": query}),
                        {"Content-Type": "application/x-www-form-urlencoded"})
    direct = request(server.endpoint, "POST", query,
                     {"Content-Type": "application/sparql-update"})
    via_get = request(f"{server.endpoint}?{urlencode({'update': query})}")
    assert {as_query.status, as_update.status, direct.status, via_get.status} == {403}
    # and nothing changed
    assert bindings(get(server, "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }").body) == [
        {"n": str(ROWS + 2 + 1 + 1)}]


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
    "PREFIX e: <http://169.254.169.254/> SELECT * { SERVICE SILENT e:x { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }",
    "SELECT * FROM <http://example.org/remote.ttl> WHERE { ?s ?p ?o }",
    "SELECT * FROM NAMED <file:///etc/passwd> WHERE { GRAPH ?g { ?s ?p ?o } }",
])
def test_outside_access_403(server: LiveServer, query: str) -> None:
    reply = get(server, query)
    assert reply.status == 403
    assert "refused" in reply.text or "never fetches" in reply.text


def test_unknown_default_graph_uri_403(server: LiveServer) -> None:
    reply = get(server, "ASK {}", **{"default-graph-uri": "http://example.org/elsewhere"})
    assert reply.status == 403


def test_service_in_a_string_is_not_a_service_call(server: LiveServer) -> None:
    reply = get(server, 'SELECT ("SERVICE <http://x/>" AS ?s) WHERE {}  # SERVICE <http://y/>')
    assert reply.status == 200


def test_timeout_parameter_must_be_a_number(server: LiveServer) -> None:
    assert get(server, "ASK {}", timeout="soon").status == 400


# --- HTTP features -------------------------------------------------------------------------------

def test_cors_preflight_and_simple(server: LiveServer) -> None:
    pre = request(server.endpoint, "OPTIONS", headers={
        "Origin": "https://editor.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert pre.status in (200, 204)
    assert pre.header("access-control-allow-origin") == "*"
    assert "POST" in (pre.header("access-control-allow-methods") or "")
    simple = get(server, "ASK {}")
    assert simple.header("access-control-allow-origin") == "*"


def test_gzip(server: LiveServer) -> None:
    query = urlencode({"query": "SELECT * WHERE { ?s ?p ?o }"})
    reply = request(f"{server.endpoint}?{query}", headers={"Accept-Encoding": "gzip"})
    assert reply.header("content-encoding") == "gzip"
    assert len(bindings(reply.body)) == 100  # decompressed by the helper


def test_etag_and_last_modified_give_304(server: LiveServer) -> None:
    first = get(server, "ASK { ?s ?p ?o }")
    etag = first.header("etag")
    assert etag and first.header("last-modified")
    again = request(f"{server.endpoint}?{urlencode({'query': 'ASK { ?s ?p ?o }'})}",
                    headers={"If-None-Match": etag})
    assert again.status == 304
    since = request(f"{server.endpoint}?{urlencode({'query': 'ASK { ?s ?p ?o }'})}",
                    headers={"If-Modified-Since": first.header("last-modified") or ""})
    assert since.status == 304
    other = get(server, "ASK { ?s ?p 1 }")
    assert other.header("etag") != etag


# --- discovery and dumps ----------------------------------------------------------------------

@pytest.mark.parametrize("ext", ["ttl", "nt", "jsonld", "rdf", "owl", "n3", "trig", "nq"])
def test_dumps(server: LiveServer, ext: str) -> None:
    reply = request(f"{server.base}/download/ketamine-ed-kg.{ext}")
    assert reply.status == 200
    media = (reply.header("content-type") or "").split(";")[0]
    fmt = ox.RdfFormat.from_media_type(media)
    assert fmt is not None
    quads = list(ox.parse(reply.body, format=fmt))
    assert len({(q.subject, q.predicate, q.object) for q in quads}) == ROWS + 2 + 1 + 1
    if ext in ("trig", "nq"):
        assert {q.graph_name.value for q in quads} == {
            GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY}
    cached = request(f"{server.base}/download/ketamine-ed-kg.{ext}",
                     headers={"If-None-Match": reply.header("etag") or ""})
    assert cached.status == 304


def test_unknown_dump_404(server: LiveServer) -> None:
    assert request(f"{server.base}/download/ketamine-ed-kg.xlsx").status == 404


def test_void(server: LiveServer) -> None:
    reply = request(f"{server.base}/.well-known/void", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=reply.text, format="turtle")
    dataset = URIRef("https://w3id.org/ketamine-ed/dataset")
    # asserted + ontology triples; the inferred graph is not part of the published dataset
    triples = graph.value(dataset, VOID.triples)
    assert isinstance(triples, Literal)
    assert triples.toPython() == ROWS + 2 + 1
    assert graph.value(dataset, VOID.sparqlEndpoint) == URIRef(server.endpoint)


def test_dereference_resource(server: LiveServer) -> None:
    # ex:patient is not under ked:, so it is not dereferenceable: 404
    assert request(f"{server.base}/resource/patient").status == 404
    reply = request(f"{server.base}/ontology/AnorexiaNervosa",
                    headers={"Accept": "application/n-triples"})
    assert reply.status == 200
    assert "subClassOf" in reply.text


# --- the deadline really stops work ---------------------------------------------------------

CROSS = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }")
"""(ROWS + 4)^4, about 8.5e9 solutions: minutes of work without a deadline."""


def _gone(pid: int, patience: float = 30.0) -> bool:
    """True once no process ``pid`` exists. SIGKILL is immediate, but on a busy machine the
    kernel may take a moment to tear down a process that holds much memory (and its parent,
    the zygote, to reap it): wait for that, up to ``patience`` seconds."""
    end = time.monotonic() + patience
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.deadline
def test_deadline_stops_the_query_while_others_are_served(dataset: Path) -> None:
    with waitress_server(dataset, deadline=3, workers=2) as srv:
        pool = srv.app.extensions["ketamine_ed_kg"].service
        outcome: dict[str, tuple[int, str, float, float]] = {}

        def slow() -> None:
            start = time.monotonic()
            reply = get(srv, CROSS)
            outcome["slow"] = (reply.status, reply.text, time.monotonic() - start,
                               time.monotonic())

        thread = threading.Thread(target=slow)
        thread.start()
        busy: list[int] = []
        while not busy and thread.is_alive():  # until the cross product holds its worker
            time.sleep(0.05)
            busy = [pid for pid in pool._all
                    if all(w.pid != pid for w in list(pool._idle.queue))]
        assert busy, "the cross product never took a worker"
        fast_done: list[float] = []
        while thread.is_alive():
            reply = get(srv, f"ASK {{ <{EX}patient> ?p ?o }}")
            assert reply.status == 200 and json.loads(reply.body)["boolean"] is True
            fast_done.append(time.monotonic())
            time.sleep(0.2)
        thread.join()
        status, text, elapsed, finished = outcome["slow"]
        print(f"deadline 3 s: the cross product returned {status} after {elapsed:.3f} s")
        assert status == 503
        assert "deadline" in str(text)
        assert fast_done and fast_done[0] < finished  # others were served meanwhile
        assert pool.kills == 1
        for pid in busy:  # the worker running the cross product is gone
            assert _gone(pid), f"the worker {pid} that ran past its deadline still runs"
        # the pool is whole again
        assert get(srv, "ASK { ?s ?p ?o }").status == 200
        assert pool.stats()["workers"] == 2


@pytest.mark.deadline
def test_request_may_lower_the_deadline(server: LiveServer) -> None:
    reply = get(server, CROSS, timeout="1")
    assert reply.status == 503
    assert "1 s" in reply.text


@pytest.mark.deadline
def test_busy_pool_is_a_503(dataset: Path) -> None:
    """One worker, held by a long query: a second query cannot get a worker before its
    deadline and is told so (not queued forever)."""
    with waitress_server(dataset, deadline=30, workers=1) as srv:
        outcome: dict[str, int] = {}

        def slow() -> None:
            outcome["slow"] = get(srv, CROSS, timeout="4").status

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.5)
        reply = get(srv, "ASK {}", timeout="1")
        thread.join()
        assert reply.status == 503
        assert "busy" in reply.text
        assert reply.header("retry-after")
        assert outcome["slow"] == 503


@pytest.mark.deadline
def test_deadline_mid_stream_cuts_the_connection(dataset: Path) -> None:
    """A result that streams for longer than the deadline: the 200 has gone out, so the
    connection is cut before the closing chunk, and the client cannot take a short body for a
    whole one."""
    import http.client

    with waitress_server(dataset, deadline=30, row_cap=0) as srv:
        query = urlencode({"query": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
                           "timeout": "1", "format": "tsv"})
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        conn.request("GET", f"/sparql?{query}")
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("transfer-encoding") == "chunked"
        received = 0
        with pytest.raises((http.client.IncompleteRead, ConnectionError)):
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break  # a clean end would mean a silently short result: fails below
                received += len(chunk)
        conn.close()
        assert received > 1 << 20  # the first MiB went out before the deadline
        # the pool replaced the killed worker
        assert get(srv, "ASK { ?s ?p ?o }").status == 200


def test_project_prefixes_need_no_declaration(server: LiveServer) -> None:
    """kedo:, ked:, rdfs:, ... work without PREFIX lines (pyoxigraph's prefixes= and the same
    defaults in the parse that checks the query); a query may still redeclare one."""
    reply = get(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s rdfs:label ?l }")
    assert reply.status == 200, reply.text
    own = get(server, "PREFIX rdfs: <http://example.org/> ASK { ?s rdfs:label ?l }")
    assert own.status == 200 and b"false" in own.body
    unknown = get(server, "SELECT * WHERE { ?s foo:bar ?o }")
    assert unknown.status == 400
    assert "unknown prefix foo:" in unknown.text and "kedo:" in unknown.text


def test_service_description_declares_the_prefixes(server: LiveServer) -> None:
    reply = request(server.endpoint, headers={"Accept": "application/n-triples"})
    graph = ox.Store()
    graph.load(reply.body, format=ox.RdfFormat.N_TRIPLES)
    found = {(str(row["p"].value), str(row["n"].value)) for row in graph.query(
        "PREFIX sh: <http://www.w3.org/ns/shacl#> SELECT ?p ?n WHERE { "
        "?s sh:declare [ sh:prefix ?p ; sh:namespace ?n ] }")}  # type: ignore[union-attr]
    assert ("kedo", "https://w3id.org/ketamine-ed/ontology/") in found
    assert ("rdfs", "http://www.w3.org/2000/01/rdf-schema#") in found
