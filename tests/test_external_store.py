"""The service over an external store: a real Virtuoso 7.2 (``store = "sparql"``).

The release is loaded with ``ketamine-ed-kg load`` (Graph Store Protocol, staged graphs, one
switching update), then every example query runs through the service on both backends. The
answers must be the expected ones on both, or the difference must be one that
docs/external-store.md lists as a Virtuoso deviation (the test reads that table, and fails a
listed deviation that no longer happens). Loading the same release again changes nothing a
reader sees; another release is loaded while readers query, then the first again; the store's
errors get their statuses; no query can make Virtuoso fetch a URL.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from ketamine_ed_kg.config import load_config
from ketamine_ed_kg.errors import ConfigError, KedError
from ketamine_ed_kg.examples import Answer, answer_from_json, compare, load_examples, load_expected
from ketamine_ed_kg.formats import Format
from ketamine_ed_kg.iris import BASE
from ketamine_ed_kg.paths import project_paths
from ketamine_ed_kg.server import ServiceState, create_app
from ketamine_ed_kg.server.forwarding import ForwardingService
from ketamine_ed_kg.server.run import LiveServer
from ketamine_ed_kg.store.jobs import Job, JobKind
from ketamine_ed_kg.store.remote import PASSWORD_ENV, USER_ENV, RemoteStore
from ketamine_ed_kg.store.upload import (
    RECORD_GRAPH,
    STAGED,
    LoadReport,
    count_graphs,
    load_release,
    read_record,
)
from support.project import BuiltDataset
from support.server import Listener, request, waitress_server
from support.virtuoso import Virtuoso

EXAMPLES = load_examples(project_paths().queries_dir)
DOC = project_paths().root / "docs" / "external-store.md"
JSON = {"Accept": "application/sparql-results+json"}


def documented_deviations() -> dict[str, str]:
    """The examples whose Virtuoso answer differs, and why (docs/external-store.md)."""
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("<!-- deviations -->"):text.index("<!-- /deviations -->")]
    rows = re.findall(r"^\| `([^`]+)` \| (.+?) \|$", table, re.MULTILINE)
    return dict(rows)


def load(virtuoso: Virtuoso, dataset: Path) -> LoadReport:
    return load_release(dataset, query_url=virtuoso.query_url,
                        graph_store_url=virtuoso.graph_store_url,
                        update_url=virtuoso.update_url)


@pytest.fixture(scope="module")
def loaded(virtuoso: Virtuoso, built_dataset: BuiltDataset) -> LoadReport:
    return load(virtuoso, built_dataset.dataset)


@pytest.fixture(scope="module")
def on_virtuoso(virtuoso: Virtuoso, built_dataset: BuiltDataset, loaded: LoadReport
                ) -> Iterator[LiveServer]:
    with waitress_server(built_dataset.dataset, **virtuoso.settings()) as server:
        yield server


def _answer(server: LiveServer, query: str) -> Answer:
    reply = request(server.endpoint + "?" + urlencode({"query": query}), headers=JSON)
    assert reply.status == 200, reply.text
    return answer_from_json(json.loads(reply.body))


def test_load_puts_every_graph_with_its_count(virtuoso: Virtuoso, loaded: LoadReport,
                                              built_dataset: BuiltDataset) -> None:
    store = ox.Store()
    store.load(path=str(built_dataset.dataset), format=ox.RdfFormat.N_QUADS)
    wanted = {g.value: len(list(store.quads_for_pattern(None, None, None, g)))
              for g in store.named_graphs() if isinstance(g, ox.NamedNode)}
    assert loaded.record.counts == wanted
    assert count_graphs(virtuoso.query_url, sorted(wanted)) == wanted
    assert read_record(virtuoso.query_url) == loaded.record


@pytest.mark.parametrize("name", [e.name for e in EXAMPLES])
def test_example_on_both_backends(name: str, on_virtuoso: LiveServer,
                                  live_server: LiveServer) -> None:
    example = next(e for e in EXAMPLES if e.name == name)
    assert example.expected_path is not None
    expected = load_expected(example.expected_path)
    embedded = _answer(live_server, example.query)
    assert not compare(expected, embedded, ordered=example.ordered)
    reply = request(on_virtuoso.endpoint + "?" + urlencode({"query": example.query}),
                    headers=JSON)
    if reply.status == 200:
        problems = compare(expected, answer_from_json(json.loads(reply.body)),
                           ordered=example.ordered)
    else:
        assert reply.status in (400, 502), reply.text  # the store's refusal, with its message
        problems = [f"{reply.status}: {reply.text[:300]}"]
    deviations = documented_deviations()
    if name in deviations:
        assert problems, (f"{name} is listed as a Virtuoso deviation in {DOC.name} but its "
                          "answer is now identical: remove it from the table")
    else:
        assert not problems, (f"{name}: Virtuoso's answer differs and {DOC.name} lists no "
                              "deviation for it:\n" + "\n".join(problems))


COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


class Readers:
    """Clients counting every triple of the release through the service, over and over, while
    a load runs; each query text is new (a numbered comment), so the service's results cache
    never answers in the store's place."""

    def __init__(self, server: LiveServer, clients: int = 2) -> None:
        self.server = server
        self.seen: list[int] = []
        self.failures: list[str] = []
        self.numbers = itertools.count()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._read) for _ in range(clients)]

    def _read(self) -> None:
        while not self.stop.is_set():
            text = f"# reader {next(self.numbers)}\n{COUNT_ALL}"
            reply = request(self.server.endpoint + "?" + urlencode({"query": text}),
                            headers=JSON, timeout=120)
            if reply.status != 200:
                self.failures.append(f"{reply.status}: {reply.text[:300]}")
                continue
            self.seen.append(int(json.loads(reply.body)["results"]["bindings"][0]["n"]["value"]))

    def __enter__(self) -> Readers:
        for thread in self.threads:
            thread.start()
        while not self.seen and not self.failures:  # the readers are under way
            self.stop.wait(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=180)


def _graphs_held(virtuoso: Virtuoso) -> set[str]:
    everything = json.loads(request(virtuoso.query_url + "?" + urlencode(
        {"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"}),
        headers={"Accept": "application/sparql-results+json"}).body)
    return {b["g"]["value"] for b in everything["results"]["bindings"]}


def test_loading_again_replaces_and_never_duplicates(virtuoso: Virtuoso, loaded: LoadReport,
                                                     built_dataset: BuiltDataset,
                                                     on_virtuoso: LiveServer) -> None:
    """A second load of the same release while readers query: counts unchanged, staged graphs
    gone, never a duplicate, and every reader always sees the whole release (the switch
    changes only the triples that differ, and here none do)."""
    total = sum(loaded.record.counts.values())
    with Readers(on_virtuoso) as readers:
        again = load(virtuoso, built_dataset.dataset)
    assert not readers.failures, readers.failures
    assert again.record == loaded.record
    assert count_graphs(virtuoso.query_url, sorted(loaded.record.counts)) == \
        loaded.record.counts
    assert readers.seen
    assert set(readers.seen) == {total}, (
        f"a reader saw {sorted(set(readers.seen))} triples while the same release ({total}) "
        "was loaded again")
    graphs = _graphs_held(virtuoso)
    assert not {g for g in graphs if g.startswith("urn:ketamine-ed-kg:staged:")}
    assert RECORD_GRAPH in graphs


def another_release(dataset: Path, folder: Path) -> Path:
    """A release that differs from ``dataset``: every second asserted triple without a blank
    node removed, 2,000 new ones added (a new digest, so a new version tag)."""
    asserted = f"<{BASE}graph/asserted> .\n"
    lines, kept = [], 0
    for line in dataset.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.endswith(asserted) and "_:" not in line:
            kept += 1
            if kept % 2:
                continue
        lines.append(line)
    lines += [f'<{BASE}test/new-{n}> <http://www.w3.org/2000/01/rdf-schema#label> "new {n}" '
              f"{asserted}" for n in range(2000)]
    other = folder / "dataset.nq"
    other.write_text("".join(lines), encoding="utf-8")
    return other


def test_a_new_release_while_readers_query(virtuoso: Virtuoso, loaded: LoadReport,
                                           built_dataset: BuiltDataset,
                                           on_virtuoso: LiveServer, tmp_path: Path) -> None:
    """Another release loaded while readers query, then the first one again (the store is left
    as the module's other tests need it). Each load must give its release's counts and
    record; a reader must only ever see one whole release. Virtuoso 7.2 does not promise that
    (docs/external-store.md, "Atomic for readers"): when a reader saw a mixture, the test is
    an expected failure that says what was seen."""
    other = another_release(built_dataset.dataset, tmp_path)
    totals = {sum(loaded.record.counts.values())}
    with Readers(on_virtuoso) as readers:
        try:
            report = load(virtuoso, other)
            totals.add(sum(report.record.counts.values()))
            assert read_record(virtuoso.query_url) == report.record
            assert count_graphs(virtuoso.query_url, sorted(report.record.counts)) == \
                report.record.counts
        finally:
            back = load(virtuoso, built_dataset.dataset)
    assert back.record == loaded.record
    assert count_graphs(virtuoso.query_url, sorted(loaded.record.counts)) == \
        loaded.record.counts
    assert not readers.failures, readers.failures
    assert readers.seen and set(readers.seen) & totals
    assert not {g for g in _graphs_held(virtuoso) if g.startswith(STAGED)}
    mixed = sorted(set(readers.seen) - totals)
    if mixed:
        # Known and documented (docs/external-store.md, "Atomic for readers"): Virtuoso 7.2
        # reads committed rows one by one, so a query running during the switch can count
        # part of it.
        pytest.xfail(f"a reader saw a mixture of two releases ({mixed} triples; the releases "
                     f"have {sorted(totals)}) in {len(readers.seen)} reads: Virtuoso 7.2 "
                     "isolates a SPARQL query per row (read committed), not per query")


def test_formats_pass_through_or_are_translated(on_virtuoso: LiveServer,
                                                live_server: LiveServer) -> None:
    select = "SELECT ?s ?label WHERE { ?s a kedo:Study ; rdfs:label ?label } ORDER BY ?s"
    for media in ("application/sparql-results+json", "application/sparql-results+xml",
                  "text/csv", "text/tab-separated-values"):
        answers: list[object] = []
        for server in (live_server, on_virtuoso):
            reply = request(server.endpoint + "?" + urlencode({"query": select}),
                            headers={"Accept": media})
            assert reply.status == 200, reply.text
            assert reply.header("content-type") == media + "; charset=utf-8"
            if media.startswith("text/"):  # CSV and TSV cannot be parsed back: same bytes
                answers.append(reply.body)
                continue
            fmt = ox.QueryResultsFormat.from_media_type(media)
            assert fmt is not None
            parsed = ox.parse_query_results(reply.body, format=fmt)
            assert isinstance(parsed, ox.QuerySolutions)
            answers.append([tuple(row) for row in parsed])
        assert answers[0] == answers[1], media
    construct = "CONSTRUCT { ?s a kedo:Study } WHERE { ?s a kedo:Study }"
    for media in ("text/turtle", "application/n-triples", "application/rdf+xml",
                  "application/ld+json"):
        graphs = []
        for server in (live_server, on_virtuoso):
            reply = request(server.endpoint + "?" + urlencode({"query": construct}),
                            headers={"Accept": media})
            assert reply.status == 200, reply.text
            rdf = ox.RdfFormat.from_media_type(media)
            assert rdf is not None
            graphs.append(set(ox.parse(reply.body, format=rdf)))
        assert graphs[0] == graphs[1] and graphs[0], media


def test_row_cap_applies(virtuoso: Virtuoso, built_dataset: BuiltDataset,
                         loaded: LoadReport) -> None:
    with waitress_server(built_dataset.dataset, row_cap=5, **virtuoso.settings()) as server:
        reply = request(server.endpoint + "?" + urlencode(
            {"query": "SELECT * WHERE { ?s ?p ?o }"}), headers=JSON)
        assert reply.status == 200
        assert reply.header("x-sparql-truncated") == "true"
        assert len(json.loads(reply.body)["results"]["bindings"]) == 5
        small = request(server.endpoint + "?" + urlencode(
            {"query": "SELECT * WHERE { ?s a kedo:Study } LIMIT 3"}), headers=JSON)
        assert small.header("x-sparql-truncated") is None
        capped = request(server.endpoint + "?" + urlencode(
            {"query": "SELECT ?s WHERE { ?s a kedo:Study }"}), headers=JSON)
        assert capped.header("x-sparql-truncated") == "true"


def test_a_forwarding_process_keeps_one_connection(virtuoso: Virtuoso,
                                                   loaded: LoadReport) -> None:
    """Query after query on one kept connection (Virtuoso keeps it alive), each answer whole;
    a query without a GRAPH pattern is sent no named graphs and answers the same."""
    store = RemoteStore(virtuoso.query_url, list(loaded.record.counts))
    text = (f"SELECT ?s ?label WHERE {{ ?s a <{BASE}ontology/Study> ; "
            f"<http://www.w3.org/2000/01/rdf-schema#label> ?label }} ORDER BY ?s")
    answers = []
    try:
        for graphs in (True, False, True, False, True):
            job = Job(JobKind.QUERY, text, form="SELECT", result_format=Format.JSON,
                      graph_patterns=graphs, seconds=30)
            sink = io.BytesIO()
            store.execute(job, lambda _meta, _cap: None, sink)
            answers.append(sink.getvalue())
        assert store.connection.opened == 1
    finally:
        store.close()
    assert len(set(answers)) == 1 and json.loads(answers[0])["results"]["bindings"]


def test_a_repeated_request_is_not_planned_again(virtuoso: Virtuoso,
                                                 built_dataset: BuiltDataset,
                                                 loaded: LoadReport) -> None:
    """The HTTP process keeps the sealed processes' plans (no results cache here, so every
    request reaches the store); a refused request is never kept, so it is refused each time."""
    with waitress_server(built_dataset.dataset, result_cache_bytes=0,
                         **virtuoso.settings()) as server:
        found: ServiceState = server.app.extensions["ketamine_ed_kg"]
        service = found.service
        assert isinstance(service, ForwardingService)
        url = server.endpoint + "?" + urlencode(
            {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s a kedo:Study }"})
        bodies = [request(url, headers=JSON) for _ in range(3)]
        assert [r.status for r in bodies] == [200] * 3
        assert len({r.body for r in bodies}) == 1
        assert service.plans.hits >= 2
        kept = len(service.plans)
        refused = server.endpoint + "?" + urlencode(
            {"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
        assert [request(refused).status for _ in range(2)] == [403, 403]
        assert len(service.plans) == kept


def test_store_errors_get_their_statuses(on_virtuoso: LiveServer) -> None:
    # Our parse accepts it (the grammar allows it); Virtuoso refuses it: 400 with its message.
    reply = request(on_virtuoso.endpoint + "?" + urlencode(
        {"query": "SELECT (1 AS ?x) (2 AS ?x) WHERE {}"}), headers=JSON)
    assert reply.status == 400, reply.text
    assert "Virtuoso" in reply.text
    # Blank nodes (Virtuoso writes nodeID://...) are translated to valid labels.
    reply = request(on_virtuoso.endpoint + "?" + urlencode(
        {"query": "SELECT ?o WHERE { ?s ?p ?o FILTER(isBlank(?o)) } LIMIT 3"}), headers=JSON)
    assert reply.status == 200, reply.text
    assert [b["o"]["type"] for b in json.loads(reply.body)["results"]["bindings"]] == \
        ["bnode"] * 3
    slow = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }")
    reply = request(on_virtuoso.endpoint + "?" + urlencode({"query": slow, "timeout": "2"}),
                    headers=JSON)
    assert reply.status == 504, (reply.status, reply.text)
    assert "did not answer within" in reply.text


def test_no_query_makes_the_store_fetch_a_url(on_virtuoso: LiveServer, virtuoso: Virtuoso,
                                              listener: Listener) -> None:
    target = f"http://127.0.0.1:{listener.port}/data"
    attempts = {
        f'DEFINE get:soft "soft" SELECT * FROM <{target}> WHERE {{ ?s ?p ?o }}': 400,
        f"SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}": 403,
        f"LOAD <{target}>": 403,
        f"SELECT * FROM <{target}> WHERE {{ ?s ?p ?o }}": 403,
    }
    for query, status in attempts.items():
        reply = request(on_virtuoso.endpoint + "?" + urlencode({"query": query}))
        assert reply.status == status, (query, reply.status, reply.text)
    # Virtuoso itself, asked directly on its public endpoint, refuses to sponge and to update.
    direct = request(virtuoso.query_url + "?" + urlencode(
        {"query": f'define get:soft "soft" SELECT * FROM <{target}> WHERE {{ ?s ?p ?o }}'}))
    assert direct.status >= 400 and "RDF_SPONGE_UP" in direct.text, direct.text
    update = request(virtuoso.query_url + "?" + urlencode(
        {"query": f"INSERT DATA {{ GRAPH <{target}> {{ <a:b> <a:c> <a:d> }} }}"}))
    assert update.status >= 400, update.text
    assert listener.accepted == 0


def test_pages_void_editor_and_api_work_unchanged(on_virtuoso: LiveServer,
                                                  live_server: LiveServer) -> None:
    for path, accept in (("/", "text/html"), ("/resource/schwartz-2021", "text/html"),
                         ("/.well-known/void", "text/turtle"), ("/sparql", "text/turtle"),
                         ("/.well-known/sparql-examples", "text/turtle")):
        bases = [s.endpoint.removesuffix("/sparql") for s in (live_server, on_virtuoso)]
        replies = [request(base + path, headers={"Accept": accept}) for base in bases]
        assert [r.status for r in replies] == [200, 200], (path, replies[1].text[:500])
        for reply, base in zip(replies, bases, strict=True):  # each advertises its own URL
            reply.body = reply.body.replace(base.encode(), b"http://service.example")
        if accept == "text/turtle":
            graphs = [Graph().parse(data=r.body, format="turtle") for r in replies]
            assert isomorphic(graphs[0], graphs[1]), path
        else:  # the same page; rows of an unordered internal query may come in another order,
            # so the same elements (split at each tag), in any order
            assert sorted(replies[0].body.split(b"<")) == sorted(replies[1].body.split(b"<")), \
                path


def test_credentials_come_from_the_environment_and_are_never_printed(
        virtuoso: Virtuoso, built_dataset: BuiltDataset, tmp_path: Path) -> None:
    secret = "not-the-password-Zq81x"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), USER_ENV: "dba",
           PASSWORD_ENV: secret, **{f"KETAMINE_ED_KG_{k.upper()}": v
                                    for k, v in virtuoso.settings().items()}}
    done = subprocess.run([sys.executable, "-m", "ketamine_ed_kg.cli", "load", "--dataset",
                           str(built_dataset.dataset)], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stderr
    assert "401" in done.stderr, done.stderr
    assert secret not in done.stdout + done.stderr


def test_the_service_refuses_a_store_holding_another_release(
        virtuoso: Virtuoso, loaded: LoadReport, tmp_path: Path) -> None:
    other = tmp_path / "other.nq"
    other.write_text("<https://example.org/a> <https://example.org/b> <https://example.org/c> "
                     "<https://example.org/g> .\n", encoding="utf-8")
    with pytest.raises(KedError, match="holds release"):
        create_app(load_config({"dataset": other, "workers": 1, **virtuoso.settings()},
                               environ={}))


def test_configuration_of_the_external_store_is_checked() -> None:
    with pytest.raises(ConfigError, match="needs sparql_query_url"):
        load_config({"store": "sparql"}, environ={})
    with pytest.raises(ConfigError, match="not an http"):
        load_config({"store": "sparql", "sparql_query_url": "file:///etc/passwd"}, environ={})
    with pytest.raises(ConfigError, match="SERVICE is refused"):
        load_config({"store": "sparql", "sparql_query_url": "http://127.0.0.1:1/sparql",
                     "allowed_service_prefixes": "https://example.org/"}, environ={})


@pytest.mark.deadline
def test_store_outage_gives_502_and_the_service_recovers(virtuoso: Virtuoso,
                                                         on_virtuoso: LiveServer) -> None:
    """Virtuoso killed while a client sends queries: a clear 502 (or 503/504 for a query in
    flight), never a 500 or a hang; once Virtuoso is back, the same service answers again.
    (Last in the module: it stops the session's Virtuoso and starts it again.)"""
    numbers = itertools.count()

    def url() -> str:
        """A query text of its own each time: a repeat would be answered from the results
        cache, which (rightly) does not need the store."""
        text = f"# request {next(numbers)}\nSELECT (COUNT(*) AS ?n) WHERE {{ ?s a kedo:Study }}"
        return on_virtuoso.endpoint + "?" + urlencode({"query": text})

    statuses: list[int] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            statuses.append(request(url(), headers=JSON, timeout=60).status)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        while not statuses:
            stop.wait(0.05)
        virtuoso.kill()
        down = request(url(), headers=JSON)
        assert down.status == 502, down.text
        assert "cannot be reached" in down.text and virtuoso.query_url in down.text
        assert down.header("retry-after")
    finally:
        stop.set()
        thread.join(timeout=120)
        virtuoso.start()
    assert set(statuses) <= {200, 502, 503, 504}, statuses
    assert 200 in statuses
    back = request(url(), headers=JSON)
    assert back.status == 200, back.text
