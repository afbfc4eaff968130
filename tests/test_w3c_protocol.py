"""The W3C SPARQL 1.1 Protocol test suite, replayed against the live server.

``../shared/conformance/sparql11/protocol/manifest.ttl`` (34 tests). data1-3 are loaded as
named graphs under the IRIs of their ``ut:graphData`` labels; data0 is named but not supplied
(only used with ``ASK {}``), so it is allow-listed as an empty graph. Query tests must pass.
The update tests cannot succeed on a read-only endpoint: each must be refused with 403 (the
ones that expect a 4xx anyway are plain passes). The suite runs twice: on the embedded store,
and through the service on a real Virtuoso 7.2 (``external_store``; docs/external-store.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS

from ketamine_ed_kg.server.run import LiveServer
from ketamine_ed_kg.store.upload import load_release
from support.server import Reply, request, waitress_server, write_dataset
from support.virtuoso import Virtuoso

pytestmark = [pytest.mark.shared, pytest.mark.w3c]

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
DATA0 = "http://kasei.us/2009/09/sparql/data/data0.rdf"


def _suite(shared: Path) -> tuple[Graph, list[URIRef]]:
    manifest = shared / "conformance/sparql11/protocol/manifest.ttl"
    graph = Graph().parse(manifest, format="turtle", publicID=manifest.as_uri())
    head = graph.value(URIRef(manifest.as_uri()), MF.entries)
    assert head is not None, f"{manifest}: no mf:entries"
    tests = list(Collection(graph, head))
    assert all(isinstance(t, URIRef) for t in tests)
    return graph, [URIRef(str(t)) for t in tests]


@pytest.fixture(scope="module")
def suite(shared_dir: Path) -> tuple[Graph, list[URIRef]]:
    return _suite(shared_dir)


@pytest.fixture(scope="module", params=[
    "embedded", pytest.param("virtuoso", marks=pytest.mark.external_store)])
def server(request: pytest.FixtureRequest, shared_dir: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The service over the suite's data: on the embedded store, and on a real Virtuoso
    (``store = "sparql"``, the data loaded with ``ketamine-ed-kg load``'s loader)."""
    folder = shared_dir / "conformance/sparql11/protocol"
    graphs = {f"http://kasei.us/2009/09/sparql/data/data{i}.rdf":
              (folder / f"data{i}.nt", ox.RdfFormat.N_TRIPLES) for i in (1, 2, 3)}
    dataset = write_dataset(tmp_path_factory.mktemp("w3c-protocol") / "data.nq", graphs)
    settings: dict[str, str] = {}
    if request.param == "virtuoso":
        store: Virtuoso = request.getfixturevalue("virtuoso")
        load_release(dataset, query_url=store.query_url, graph_store_url=store.graph_store_url,
                     update_url=store.update_url)
        settings = store.settings()
    with waitress_server(dataset, allowed_graph_prefixes=(DATA0,),
                         union_default_graph=False, **settings) as srv:
        yield srv


def _requests(graph: Graph, test: URIRef) -> list[dict[str, Any]]:
    action = graph.value(test, MF.action)
    out = []
    requests = graph.value(action, HT.requests)
    assert requests is not None, f"{test}: no ht:requests"
    for req in Collection(graph, requests):
        headers = {}
        head_list = graph.value(req, HT.headers)
        if head_list is not None:
            for h in Collection(graph, head_list):
                headers[str(graph.value(h, HT.fieldName))] = str(graph.value(h, HT.fieldValue))
        body_node = graph.value(req, HT.body)
        body = None
        if body_node is not None:
            encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
            body = str(graph.value(body_node, CNT.chars)).encode(encoding.lower())
        resp = graph.value(req, HT.resp)
        statuses = {str(s).rsplit("#", 1)[-1] for s in graph.objects(resp, MF.expectedStatus)}
        expected_bool = graph.value(resp, MF.expectedBoolean)
        out.append({
            "method": str(graph.value(req, HT.methodName)),
            "path": str(graph.value(req, HT.absolutePath)),
            "headers": headers, "body": body, "statuses": statuses,
            "format": str(graph.value(resp, MF.expectedFormat) or ""),
            "boolean": (expected_bool.toPython() if isinstance(expected_bool, Literal)
                        else None),
        })
    return out


def _boolean(reply: Reply) -> bool:
    media = (reply.header("content-type") or "").split(";")[0]
    if "json" in media:
        return bool(json.loads(reply.body)["boolean"])
    root = ElementTree.fromstring(reply.body)
    node = root.find("{http://www.w3.org/2005/sparql-results#}boolean")
    assert node is not None
    return (node.text or "").strip() == "true"


def _check_format(reply: Reply, fmt: str, expected_bool: bool | None) -> None:
    media = (reply.header("content-type") or "").split(";")[0]
    if fmt == "boolean":
        assert media in ("application/sparql-results+json", "application/sparql-results+xml")
        if expected_bool is not None:
            assert _boolean(reply) is expected_bool
    elif fmt == "tabular":
        result_format = ox.QueryResultsFormat.from_media_type(media)
        assert result_format is not None, media
        solutions = ox.parse_query_results(reply.body, format=result_format)
        assert isinstance(solutions, ox.QuerySolutions) and list(solutions)
    elif fmt == "RDF":
        rdf_format = ox.RdfFormat.from_media_type(media)
        assert rdf_format is not None, media
        list(ox.parse(reply.body, format=rdf_format))


def _is_update_test(test: URIRef) -> bool:
    return str(test).rsplit("#", 1)[-1].startswith("update_")


def _ids() -> list[str]:
    shared = Path(__file__).resolve().parents[2] / "shared"
    if not (shared / "conformance").is_dir():
        return ["absent"]
    return [str(t).rsplit("#", 1)[-1] for t in _suite(shared)[1]]


@pytest.mark.parametrize("name", _ids())
def test_protocol(name: str, suite: tuple[Graph, list[URIRef]], server: LiveServer) -> None:
    graph, tests = suite
    test = next(t for t in tests if str(t).endswith("#" + name))
    assert graph.value(test, RDF.type) == MF.ProtocolTest
    assert graph.value(test, RDFS.label) is None or True
    for i, req in enumerate(_requests(graph, test)):
        path = req["path"]
        assert path.startswith("/sparql/")
        url = server.endpoint + path[len("/sparql"):]
        reply = request(url, req["method"], req["body"], req["headers"])
        if _is_update_test(test):
            # A read-only endpoint owes a refusal for the update request that starts the test.
            assert i == 0
            assert reply.status == 403, (reply.status, reply.text)
            return
        classes = {f"StatusCode{str(reply.status)[0]}xx"}
        assert classes & req["statuses"], (reply.status, req["statuses"], reply.text)
        if reply.status < 300 and req["format"]:
            _check_format(reply, req["format"], req["boolean"])
