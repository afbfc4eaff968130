"""The service against its own OpenAPI description, with every schemathesis check.

schemathesis reads ``/api/openapi.json`` from a live server (waitress, a small dataset written
here) and, for every operation in it (``/sparql`` GET, HEAD and POST, the discovery paths and
the example-query API), sends the examples, the coverage cases (boundary and invalid values of
each parameter, missing parameters, methods the document does not list) and a bounded number
of generated requests, positive and negative, checking each response with all of its built-in
checks: no 5xx, documented status, documented content type and headers, the JSON result schema,
valid data accepted, invalid data refused, 405 with Allow for undeclared methods.

Two places where a JSON Schema cannot say what the protocol does are configured, not hidden:

* a query string that matches ``type: string`` may still be a syntax error, and a format that
  is valid for SELECT is refused for CONSTRUCT, so on ``/sparql`` a schema-valid request may
  get 400 or 406 (and 414 for a URL past ``max_request_line``);
* ``timeout`` is any positive number, so a tiny one ends in the documented 503 at the deadline:
  503 is allowed by the server-error check, every other 5xx fails it;
* ``format`` wins over ``output`` (docs/sparql-service.md), so a request with both says
  nothing about ``output``: such generated cases are skipped.

Deterministic (a fixed seed, ``deterministic`` generation, no example database) and bounded
(``MAX_EXAMPLES`` per operation). No cache, no reports; Hypothesis's storage directory (its
character tables) is a private temporary folder for the session (conftest.py), removed at the
end.

Service bugs found here are kept as regression tests at the end, which send the exact
request that failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pyoxigraph as ox
import pytest

schemathesis = pytest.importorskip("schemathesis")

from ketamine_ed_kg.examples import load_examples  # noqa: E402
from ketamine_ed_kg.namespaces import (  # noqa: E402
    GRAPH_ASSERTED,
    GRAPH_INFERRED,
    GRAPH_ONTOLOGY,
)
from ketamine_ed_kg.paths import project_paths  # noqa: E402
from ketamine_ed_kg.server.examples_api import openapi_document  # noqa: E402
from ketamine_ed_kg.server.run import LiveServer  # noqa: E402
from support.server import request, waitress_server, write_dataset  # noqa: E402

pytestmark = pytest.mark.fuzz

SEED = 20260417
MAX_EXAMPLES = 15
"""Generated requests per operation in the fuzzing phase (the examples and coverage phases add
their own, bounded by the schema)."""

KEDO = "https://w3id.org/ketamine-ed/ontology/"
KED = "https://w3id.org/ketamine-ed/resource/"
ASSERTED = f"""
@prefix kedo: <{KEDO}> . @prefix ked: <{KED}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ked:mills-1998 a kedo:Study ; rdfs:label "Mills 1998"@en ; kedo:sampleSize 16 .
ked:schwartz-2021 a kedo:Study ; rdfs:label "Schwartz 2021"@en .
"""
INFERRED = f"<{KED}mills-1998> a <{KEDO}ClinicalStudy> .\n"
ONTOLOGY = (f"<{KEDO}Study> a <http://www.w3.org/2002/07/owl#Class> .\n"
            f"<{KEDO}ClinicalStudy> <http://www.w3.org/2000/01/rdf-schema#subClassOf> "
            f"<{KEDO}Study> .\n")

SPARQL_MAY_REFUSE = ["2xx", "3xx", "400", "401", "403", "404", "406", "409", "413", "414",
                     "429", "5xx"]
CONFIG = f"""
seed = {SEED}
continue-on-failure = true
request-timeout = 120

[generation]
max-examples = {MAX_EXAMPLES}
deterministic = true
database = "none"

[cache]
enabled = false

[checks.not_a_server_error]
expected-statuses = ["2xx", "3xx", "4xx", "503"]

[[operations]]
include-path-regex = "^/sparql$"
checks.positive_data_acceptance.expected-statuses = {SPARQL_MAY_REFUSE!r}
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("openapi")
    dataset = write_dataset(folder / "dataset.nq", {
        GRAPH_ASSERTED: (ASSERTED, ox.RdfFormat.TURTLE),
        GRAPH_INFERRED: (INFERRED, ox.RdfFormat.TURTLE),
        GRAPH_ONTOLOGY: (ONTOLOGY, ox.RdfFormat.TURTLE),
    })
    with waitress_server(dataset, deadline=10, workers=2, threads=8) as server:
        yield server


def _document() -> dict[str, Any]:
    """The document the service serves (test_served_document_is_the_tested_one checks it)."""
    return openapi_document(load_examples(project_paths().queries_dir), "http://127.0.0.1")


def _sparql_query_body(ctx: Any, value: Any) -> bytes:
    """A direct POST carries the query as its UTF-8 body."""
    return (value if isinstance(value, str) else str(value)).encode("utf-8")


schemathesis.serializer("application/sparql-query")(_sparql_query_body)

schema = schemathesis.openapi.from_dict(
    _document(), config=schemathesis.config.SchemathesisConfig.from_str(CONFIG))

CaseTest = Callable[[Any, LiveServer], None]
every_case: Callable[[CaseTest], CaseTest] = schema.parametrize()
"""schemathesis's decorator (typed here: the library declares it as a bare Callable)."""


@every_case
def test_service_matches_its_openapi_document(case: Any, live: LiveServer) -> None:
    if case.query and case.query.get("format") and "output" in case.query:
        return  # format wins and output is ignored, by design: no schema can say so
    case.call_and_validate(base_url=live.base, headers={"Accept-Encoding": "identity"})


def test_served_document_is_the_tested_one(live: LiveServer) -> None:
    reply = request(live.base + "/api/openapi.json")
    assert reply.status == 200
    served = json.loads(reply.body)
    expected = openapi_document(load_examples(project_paths().queries_dir), live.base)
    assert served == json.loads(json.dumps(expected))


def test_every_check_is_enabled() -> None:
    checks = schema.config.checks_config_for(operation=None, phase=None)
    disabled = [name for name in ("not_a_server_error", "status_code_conformance",
                                  "content_type_conformance", "response_headers_conformance",
                                  "response_schema_conformance", "positive_data_acceptance",
                                  "negative_data_rejection", "use_after_free",
                                  "ensure_resource_availability", "missing_required_header",
                                  "ignored_auth", "unsupported_method")
                if not getattr(checks, name).enabled]
    assert disabled == []


# --- service bugs found by schemathesis, fixed, kept as regression tests ----------------------

@pytest.mark.parametrize("path", ["/.well-known/void", "/.well-known/sparql-examples",
                                  "/sparql"])
def test_small_graphs_in_n_quads(live: LiveServer, path: str) -> None:
    """Found by schemathesis (500: rdflib writes N-Quads only from a context-aware store).
    Fixed in the format table: a single rdflib graph is written as N-Triples, which are its
    N-Quads in the default graph (formats.py, Format.NQUADS)."""
    for headers, query in (({"Accept": "application/n-quads"}, ""), ({}, "?format=nq")):
        if path == "/sparql" and query:
            continue  # /sparql?format=nq without a query is a missing query (400)
        reply = request(live.base + path + query, headers=headers)
        assert reply.status == 200, reply.text
        assert (reply.header("content-type") or "").startswith("application/n-quads")
        assert list(ox.parse(reply.body, format=ox.RdfFormat.N_QUADS))
