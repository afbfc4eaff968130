"""The results cache (issue #14, warm throughput): against a live server, and the cache's own
bounds (budget, per-entry limit, LRU order, nothing stored from a failed or abandoned body,
thread safety) on the real ``ResultCache``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
import pytest

from ketamine_ed_kg.namespaces import GRAPH_ASSERTED
from ketamine_ed_kg.server.result_cache import HIT, MISS, ResultCache
from ketamine_ed_kg.server.run import LiveServer
from ketamine_ed_kg.server.state import ServiceState
from support.server import Reply, request, waitress_server, write_dataset

EX = "http://example.org/"
ROWS = 300
DATA = "".join(f"<{EX}s{i}> <{EX}value> {i} .\n" for i in range(ROWS))
ALL = f"SELECT ?s ?v WHERE {{ ?s <{EX}value> ?v }} ORDER BY ?v"
SLOW = (f"SELECT (COUNT(*) AS ?n) WHERE {{ ?a <{EX}value> ?x . ?b <{EX}value> ?y . "
        f"?c <{EX}value> ?z . ?d <{EX}value> ?w }}")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("result-cache") / "dataset.nq",
                         {GRAPH_ASSERTED: (DATA, ox.RdfFormat.TURTLE)})


@pytest.fixture(scope="module")
def server(dataset: Path) -> Iterator[LiveServer]:
    with waitress_server(dataset, row_cap=100, result_cache_entry_bytes=200_000) as srv:
        yield srv


def get(server: LiveServer, query: str, accept: str | None = None, method: str = "GET",
        **params: str) -> Reply:
    query_string = urlencode({"query": query, **params})
    headers = {"Accept": accept} if accept else {}
    return request(f"{server.endpoint}?{query_string}", method=method, headers=headers)


def count(n: int) -> str:
    """A query of its own (a fresh cache entry) for each test."""
    return f"SELECT ?s WHERE {{ ?s <{EX}value> ?v FILTER(?v < {n}) }} ORDER BY ?s"


def test_hit_after_miss_is_the_same_answer(server: LiveServer) -> None:
    first = get(server, count(5))
    second = get(server, count(5))
    assert first.status == second.status == 200
    assert first.header("cache-status") == MISS
    assert second.header("cache-status") == HIT
    assert second.body == first.body
    for name in ("content-type", "etag", "last-modified", "x-sparql-row-cap",
                 "x-sparql-truncated", "vary", "cache-control"):
        assert second.header(name) == first.header(name), name
    revalidated = request(f"{server.endpoint}?{urlencode({'query': count(5)})}",
                          headers={"If-None-Match": first.header("etag") or ""})
    assert revalidated.status == 304


def test_post_and_get_share_an_entry(server: LiveServer) -> None:
    query = count(6)
    got = get(server, query)
    form = request(server.endpoint, "POST", urlencode({"query": query}),
                   {"Content-Type": "application/x-www-form-urlencoded"})
    direct = request(server.endpoint, "POST", query,
                     {"Content-Type": "application/sparql-query"})
    assert got.header("cache-status") == MISS
    assert form.header("cache-status") == direct.header("cache-status") == HIT
    assert form.body == direct.body == got.body


def test_another_format_is_another_entry(server: LiveServer) -> None:
    query = count(7)
    as_json = get(server, query)
    as_csv = get(server, query, accept="text/csv")
    again_csv = get(server, query, accept="text/csv")
    assert as_json.header("cache-status") == as_csv.header("cache-status") == MISS
    assert again_csv.header("cache-status") == HIT
    assert again_csv.body == as_csv.body != as_json.body
    assert (again_csv.header("content-type") or "").startswith("text/csv")


def test_another_version_misses(server: LiveServer) -> None:
    query = count(8)
    assert get(server, query).header("cache-status") == MISS
    before = get(server, query)
    assert before.header("cache-status") == HIT
    st: ServiceState = server.app.extensions["ketamine_ed_kg"]
    old = st.version
    st.version = dataclasses.replace(old, tag=old.tag + "-next")
    try:
        after = get(server, query)
    finally:
        st.version = old
    assert after.header("cache-status") == MISS and after.body == before.body
    assert after.header("etag") != before.header("etag")
    assert get(server, query).header("cache-status") == HIT


def test_row_capped_answer_is_stored_with_its_headers(server: LiveServer) -> None:
    first = get(server, ALL)
    second = get(server, ALL)
    assert second.header("cache-status") == HIT and second.body == first.body
    assert second.header("x-sparql-truncated") == "true"
    assert second.header("warning") == first.header("warning") is not None


def test_head_hit_has_the_headers_and_no_body(server: LiveServer) -> None:
    query = count(9)
    full = get(server, query)
    head = get(server, query, method="HEAD")
    assert head.header("cache-status") == HIT and head.body == b""
    assert head.header("content-type") == full.header("content-type")


def test_huge_answer_is_streamed_and_not_kept(dataset: Path) -> None:
    with waitress_server(dataset, row_cap=0, result_cache_entry_bytes=2_000) as srv:
        first = get(srv, ALL)
        second = get(srv, ALL)
        small = get(srv, count(2)), get(srv, count(2))
    assert len(first.body) > 2_000 and second.body == first.body
    assert first.header("cache-status") == second.header("cache-status") == MISS
    assert [r.header("cache-status") for r in small] == [MISS, HIT]


def test_errors_are_never_cached(server: LiveServer) -> None:
    bad = [get(server, "SELECT * WHERE {") for _ in range(2)]
    assert [r.status for r in bad] == [400, 400]
    assert all(r.header("cache-status") is None for r in bad)
    killed = [get(server, SLOW, timeout="0.3") for _ in range(2)]
    assert [r.status for r in killed] == [503, 503]
    assert all(r.header("cache-status") != HIT for r in killed)


def test_zero_turns_it_off(dataset: Path) -> None:
    with waitress_server(dataset, result_cache_bytes=0) as srv:
        replies = [get(srv, count(3)) for _ in range(2)]
        assert srv.app.extensions["ketamine_ed_kg"].results is None
    assert [r.header("cache-status") for r in replies] == [None, None]
    assert replies[0].body == replies[1].body


def test_concurrent_clients_get_whole_answers(server: LiveServer) -> None:
    query = count(40)
    expected = get(server, query, accept="text/csv").body
    bodies: list[bytes] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(5):
            body = get(server, query, accept="text/csv").body
            with lock:
                bodies.append(body)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bodies == [expected] * 40


# --- the cache's own bounds ------------------------------------------------------------------

def test_budget_evicts_the_least_recently_used() -> None:
    cache = ResultCache(budget=3 * 1_000 + 3 * 600, entry_limit=10_000)
    for key in "abc":
        assert cache.put(key, b"x" * 1_000, "text/csv", ())
    assert cache.get("a") is not None  # a is now the most recently used
    assert cache.put("d", b"y" * 1_000, "text/csv", ())
    assert cache.get("b") is None
    assert {k for k in "acd" if cache.get(k) is not None} == set("acd")
    assert cache.used <= cache.budget


def test_entry_limit_keeps_one_answer_from_evicting_everything() -> None:
    cache = ResultCache(budget=100_000, entry_limit=5_000)
    for key in range(5):
        cache.put(key, b"x" * 1_000, "text/csv", ())
    assert not cache.put("huge", b"x" * 50_000, "text/csv", ())
    assert len(cache) == 5 and cache.get("huge") is None
    assert ResultCache(budget=1_000, entry_limit=10**9).entry_limit == 1_000


def test_capture_stores_only_a_whole_body() -> None:
    cache = ResultCache(budget=100_000, entry_limit=50_000)

    def failing() -> Iterator[bytes]:
        yield b"part"
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError):
        list(cache.capture("failed", failing(), "text/csv", ()))
    abandoned = cache.capture("abandoned", iter([b"a", b"b"]), "text/csv", ())
    next(abandoned)
    abandoned.close()  # the client went away
    whole = cache.capture("whole", iter([b"a", b"b"]), "text/csv", (("X-A", "1"),))
    assert b"".join(whole) == b"ab"
    assert cache.get("failed") is None and cache.get("abandoned") is None
    entry = cache.get("whole")
    assert entry is not None and entry.body == b"ab" and entry.headers == (("X-A", "1"),)


def test_threads_keep_the_accounting_exact() -> None:
    cache = ResultCache(budget=40_000, entry_limit=5_000)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(300):
                key = (n * 7 + i) % 60
                if cache.get(key) is None:
                    cache.put(key, bytes([key]) * (100 + key * 50), "text/csv", ())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    entries = [cache.get(k) for k in range(60)]
    stored = [e for e in entries if e is not None]
    assert cache.used == sum(e.size for e in stored) <= cache.budget
    assert all(e.body == bytes([e.body[0]]) * len(e.body) for e in stored)
