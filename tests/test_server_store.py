"""The store behind the service: in memory and on disk, and the project's own build."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
import pytest

from ketamine_ed_kg.errors import BuildMissingError
from ketamine_ed_kg.formats import RESULT_FORMATS, Format
from ketamine_ed_kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY
from ketamine_ed_kg.server.run import LiveServer
from ketamine_ed_kg.store import RowBound, dataset_version
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
