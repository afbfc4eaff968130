"""``/health`` (server/health.py): 200 only when a query really runs, the release it serves.

Each failure is produced for real: every query process busy (a query holding the only one),
and a store that holds no triples. The replica tests (tests/test_replicas.py) use the same
endpoint through HAProxy.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from ketamine_ed_kg.release import dataset_version
from ketamine_ed_kg.server.health import HEALTH_PATH, MEDIA_TYPE
from ketamine_ed_kg.server.run import LiveServer
from ketamine_ed_kg.server.state import EXTENSION, ServiceState
from ketamine_ed_kg.store import Job, JobKind
from support.project import BuiltDataset
from support.server import Reply, request, waitress_server, write_dataset

GRAPH = "https://w3id.org/ketamine-ed/graph/asserted"
DATA = "<https://example.org/a> <https://example.org/p> \"1\" ."


def _health(base: str, method: str = "GET") -> Reply:
    return request(base + HEALTH_PATH, method=method)


def _document(reply: Reply) -> dict[str, Any]:
    assert reply.header("content-type") == MEDIA_TYPE
    assert reply.header("cache-control") == "no-store"
    found: dict[str, Any] = json.loads(reply.body)
    return found


def test_health_passes_and_names_the_release(live_server: LiveServer,
                                             built_dataset: BuiltDataset) -> None:
    reply = _health(live_server.base)
    assert reply.status == 200, reply.text
    doc = _document(reply)
    version = dataset_version(built_dataset.dataset)
    assert doc["status"] == "pass"
    assert doc["version"] == version.version == built_dataset.result.version
    # The release's directory name, build/releases/<digest>.
    assert doc["releaseId"] == built_dataset.result.release.name
    assert doc["dataset"]["digest"] == version.tag
    check = doc["checks"]["store:query"][0]
    assert check["status"] == "pass" and check["observedUnit"] == "ms"
    assert "output" not in doc
    # Fixed serialisation: a balancer may match the release in the body.
    assert f'"releaseId":"{doc["releaseId"]}"'.encode() in reply.body


def test_health_head_has_the_headers_and_no_body(live_server: LiveServer) -> None:
    reply = _health(live_server.base, "HEAD")
    assert reply.status == 200
    assert reply.header("content-type") == MEDIA_TYPE
    assert reply.header("cache-control") == "no-store"
    assert reply.body == b""


def test_health_is_in_the_openapi_document(live_server: LiveServer) -> None:
    spec = json.loads(request(live_server.base + "/api/openapi.json").body)
    operation = spec["paths"][HEALTH_PATH]
    assert set(operation) == {"get", "head"}
    responses = operation["get"]["responses"]
    assert set(responses) == {"200", "503"}
    assert set(responses["503"]["content"]) == {MEDIA_TYPE}
    assert "Retry-After" in responses["503"]["headers"]


def test_health_of_a_dataset_outside_a_release(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "data.nq", {GRAPH: (DATA, ox.RdfFormat.N_TRIPLES)})
    with waitress_server(dataset, workers=1) as server:
        doc = _document(_health(server.base))
    version = dataset_version(dataset)
    assert doc["status"] == "pass"
    assert doc["releaseId"] == doc["dataset"]["digest"] == version.tag
    assert doc["version"] == version.version


def test_health_fails_on_an_empty_store(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "empty.nq", {})
    with waitress_server(dataset, workers=1) as server:
        reply = _health(server.base)
    assert reply.status == 503
    doc = _document(reply)
    assert doc["status"] == "fail"
    assert doc["output"] == "the store holds no triples"
    assert reply.header("retry-after") == "5"


@pytest.mark.deadline
def test_health_fails_while_no_query_process_is_free(tmp_path: Path) -> None:
    """The only query process is held by a result nobody reads: the probe waits its short
    deadline for a process and fails; once the process is back, the check passes again."""
    dataset = write_dataset(tmp_path / "data.nq", {GRAPH: (DATA, ox.RdfFormat.N_TRIPLES)})
    with waitress_server(dataset, workers=1) as server:
        st: ServiceState = server.app.extensions[EXTENSION]
        held = st.service.run(Job(JobKind.QUERY, "SELECT * WHERE { ?s ?p ?o }"),
                              time.monotonic() + 600)
        try:
            reply = _health(server.base)
        finally:
            held.close()
        assert reply.status == 503
        doc = _document(reply)
        assert doc["status"] == "fail"
        assert "busy" in doc["output"]
        assert doc["checks"]["store:query"][0]["status"] == "fail"
        assert doc["releaseId"]  # a failing instance still says what it serves
        again = _health(server.base)
        assert again.status == 200, again.text
