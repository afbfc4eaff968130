"""The store behind the service: in memory and on disk, and the project's own build."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
import pytest

from ketamine_ed_kg import query_plan, security
from ketamine_ed_kg.config import ServiceConfig
from ketamine_ed_kg.errors import BuildMissingError, ErrorKind, QueryError
from ketamine_ed_kg.formats import RESULT_FORMATS, Format
from ketamine_ed_kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY
from ketamine_ed_kg.query_plan import PlanCache, plan_request
from ketamine_ed_kg.server.query import policy
from ketamine_ed_kg.server.run import LiveServer
from ketamine_ed_kg.store import (
    CapCheck,
    Job,
    OxigraphStore,
    PublicRequest,
    RowBound,
    dataset_version,
)
from ketamine_ed_kg.store.jobs import JobKind, decode_client_job, encode_client_job
from support.project import BuiltDataset
from support.server import request, waitress_server, write_dataset

EX = "http://example.org/"


def _dataset(tmp_path: Path, n: int) -> Path:
    triples = "".join(f"<{EX}s{i}> <{EX}p> {i} .\n" for i in range(n))
    return write_dataset(tmp_path / "d.nq", {GRAPH_ASSERTED: (triples, ox.RdfFormat.TURTLE)})


def _count(endpoint: str) -> int:
    query = urlencode({"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})
    reply = request(f"{endpoint}?{query}")
    return int(json.loads(reply.body)["results"]["bindings"][0]["n"]["value"])


@pytest.mark.slow
def test_disk_store_follows_the_dataset(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, 25)
    store_path = tmp_path / "rocks"
    with waitress_server(dataset, store="disk", store_path=store_path) as srv:
        assert _count(srv.endpoint) == 25
    assert (store_path / "ketamine-ed-kg.version").read_text() == dataset_version(dataset).tag
    # a new dataset version reloads the on-disk store
    _dataset(tmp_path, 40)
    with waitress_server(dataset, store="disk", store_path=store_path) as srv:
        assert _count(srv.endpoint) == 40


def test_version_changes_with_the_data(tmp_path: Path) -> None:
    first = dataset_version(_dataset(tmp_path, 3))
    second = dataset_version(_dataset(tmp_path, 4))
    assert first.tag != second.tag


def test_missing_dataset_is_a_build_error(tmp_path: Path) -> None:
    with pytest.raises(BuildMissingError, match="ketamine-ed-kg build"):
        with waitress_server(tmp_path / "absent.nq"):
            pass


def test_serves_the_project_build(built_dataset: BuiltDataset, live_server: LiveServer) -> None:
    """The real build: three named graphs, and the data model's class hierarchy visible."""
    endpoint = live_server.endpoint
    query = urlencode({"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"})
    graphs = {b["g"]["value"] for b in json.loads(request(
        f"{endpoint}?{query}").body)["results"]["bindings"]}
    assert {GRAPH_ASSERTED, GRAPH_ONTOLOGY} <= graphs
    # docs/data-model.md: AnorexiaNervosa is an EatingDisorder
    ask = urlencode({"query": "ASK { <https://w3id.org/ketamine-ed/ontology/AnorexiaNervosa> "
                              "<http://www.w3.org/2000/01/rdf-schema#subClassOf>+ "
                              "<https://w3id.org/ketamine-ed/ontology/EatingDisorder> }"})
    assert json.loads(request(f"{endpoint}?{ask}").body)["boolean"] is True
    manifest = json.loads(built_dataset.manifest.read_text(encoding="utf-8"))
    reply = request(f"{endpoint}?{ask}")
    assert reply.header("etag")
    version = dataset_version(built_dataset.dataset)
    assert version.tag == manifest["digest"][:32]
    if GRAPH_INFERRED in graphs:
        assert manifest["counts"]["inferred_triples"] > 0


@pytest.mark.parametrize("fmt", RESULT_FORMATS, ids=lambda f: f.name)
def test_row_bound_is_an_upper_bound(fmt: Format) -> None:
    """Counted on pyoxigraph's own output, split into tiny chunks (markers cut in two); a
    literal that contains the JSON and CSV markers may raise the bound, never lower it."""
    store = ox.Store()
    for i in range(7):
        store.add(ox.Quad(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(f"{EX}p"),
                          ox.Literal("a,{b\r\nc<result>" if i == 3 else f"v{i}")))
    results = store.query("SELECT * WHERE { ?s ?p ?o }")
    assert isinstance(results, ox.QuerySolutions)
    body = results.serialize(format=fmt.results)
    assert body is not None
    bound = RowBound(fmt)
    for i in range(0, len(body), 3):
        bound.feed(body[i:i + 3])
    assert bound.bound() >= 7
    if fmt in (Format.XML, Format.TSV):
        assert bound.bound() == 7


class CountingStore(OxigraphStore):
    """The embedded store, recording every query it hands the engine (``_run_query`` is the
    one place that calls ``pyoxigraph.Store.query``)."""

    def __init__(self, store: ox.Store) -> None:
        super().__init__(store)
        self.evaluated: list[str] = []

    def _run_query(self, job: Job, text: str) -> Any:
        self.evaluated.append(text)
        return super()._run_query(job, text)


ODD = ["a\nb", "tab\there", 'q"uote', "a,{b", "x<result>y", "c\r\nd", "plain"]


@pytest.mark.parametrize("fmt", RESULT_FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("cap", [4, 9, 12])
def test_capped_select_is_evaluated_once(fmt: Format, cap: int) -> None:
    """A capped SELECT runs once (its ``LIMIT cap+1`` form), whether the cap cuts it (4), it
    has exactly ``cap`` rows (9) or fewer (12); its body is byte for byte what pyoxigraph
    writes for ``LIMIT cap``, literals with line breaks and row markers included."""
    store = ox.Store()
    graph = ox.NamedNode(GRAPH_ASSERTED)
    for i in range(9):
        obj: ox.BlankNode | ox.Literal = (ox.BlankNode(f"b{i}") if i == 8
                                          else ox.Literal(ODD[i % len(ODD)] + str(i)))
        store.add(ox.Quad(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(f"{EX}p"), obj, graph))
    counting = CountingStore(store)
    query = f"SELECT ?s ?o ?none WHERE {{ ?s <{EX}p> ?o OPTIONAL {{ ?s <{EX}q> ?none }} }} " \
            "ORDER BY ?s"
    request = PublicRequest(query, policy(replace(ServiceConfig(), row_cap=cap)),
                            fmt=fmt.spec.names[0])
    plan = plan_request(request, set(counting.graph_names()))
    checks: list[CapCheck | None] = []
    sink = io.BytesIO()
    counting.execute(plan.job, lambda meta, check: checks.append(check), sink)

    [check] = checks
    assert check is not None and check.truncated(complete=False) is (cap < 9)
    assert counting.evaluated == [plan.job.lookahead]  # no probe, before or after the body
    assert not check.probed
    expected = store.query(plan.job.query, use_default_graph_as_union=True)
    assert isinstance(expected, ox.QuerySolutions)
    assert sink.getvalue() == expected.serialize(format=fmt.results)


def test_plan_cache_plans_a_repeated_request_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A repeated request is planned from the cache (the same plan, no parse); a request that
    differs in anything but nothing else (here the Accept header) is planned anew; a refused
    request is refused every time and never stored."""
    parses: list[str] = []
    real = security.inspect_query

    def counted(text: str, **kwargs: Any) -> Any:
        parses.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(query_plan, "inspect_query", counted)
    graphs = frozenset({GRAPH_ASSERTED})
    cache = PlanCache()
    ask = PublicRequest(f"ASK {{ ?s <{EX}p> ?o }}", policy(ServiceConfig()))
    first = cache.plan(ask, graphs)
    assert cache.plan(ask, graphs) is first
    assert first == plan_request(ask, set(graphs))
    assert (cache.hits, cache.misses, len(parses)) == (1, 1, 2)  # (the direct call parsed)
    xml = replace(ask, accept="application/sparql-results+xml")
    assert cache.plan(xml, graphs).media_type == "application/sparql-results+xml"
    drop = replace(ask, query="DROP ALL")
    for _ in range(2):
        with pytest.raises(QueryError) as refused:
            cache.plan(drop, graphs)
        assert refused.value.kind is ErrorKind.UPDATE
    assert len(cache) == 2 and parses.count("DROP ALL") == 2


def test_plan_cache_is_bounded_in_bytes() -> None:
    """The least recently used plans go first, the budget always holds, and a plan over an
    eighth of the budget is planned but not kept."""
    graphs = frozenset({GRAPH_ASSERTED})
    cache = PlanCache(budget=16 * 1024)
    requests = [PublicRequest(f"SELECT ?o WHERE {{ <{EX}s{i}> <{EX}p> ?o }}",
                              policy(ServiceConfig())) for i in range(40)]
    for req in requests:
        cache.plan(req, graphs)
        assert cache.used <= cache.budget
    assert 0 < len(cache) < len(requests)
    cache.plan(requests[-1], graphs)
    cache.plan(requests[0], graphs)
    assert (cache.hits, cache.misses) == (1, 41)  # the newest was kept, the oldest evicted
    huge = PublicRequest(f"ASK {{ ?s <{EX}p> ?o }} # {'x' * cache.entry_limit}",
                         policy(ServiceConfig()))
    before = len(cache)
    assert cache.plan(huge, graphs).job.query.startswith("ASK")
    assert len(cache) == before


@pytest.mark.parametrize("kind", [JobKind.REQUEST, JobKind.CHECK, JobKind.PLAN])
def test_client_jobs_cross_in_compact_form_unchanged(kind: JobKind) -> None:
    """A client's job reaches the query process as the same job, however its request and
    policy are set; any other job is left to pickle."""
    plain = policy(ServiceConfig())
    odd = replace(plain, allowed_service_prefixes=("http://a.example/",), row_cap=0,
                  prefixes=(("ex", "http://example.org/"),), engine_rewrites=False)
    for limits in (plain, odd, plain):
        for request_ in (PublicRequest("ASK {}", limits),
                         PublicRequest("SELECT * { ?s ?p \"\u00e9\" }", limits, accept="text/csv",
                                       fmt="tsv", infer=False, default_graphs=("http://g/1",),
                                       named_graphs=("http://g/1", "http://g/2"),
                                       base_iri="http://h/sparql")):
            job = Job(kind, request=request_)
            encoded = encode_client_job(job)
            assert encoded is not None
            assert decode_client_job(encoded) == job
    request_ = PublicRequest("ASK {}", plain)
    assert encode_client_job(Job(JobKind.QUERY, "ASK {}")) is None
    assert encode_client_job(Job(kind, request=request_, seconds=2.0)) is None
    assert encode_client_job(Job(kind, "ASK {}", request=request_)) is None
