"""A grlc-style REST API over the example queries, and the ``/.well-known/sparql-examples`` graph.

``GET /api/queries`` lists the examples, ``GET /api/queries/<name>`` runs one (SPARQL JSON results
or CSV, with typed parameters validated against the declarations in the query file), and
``GET /api/openapi.json`` describes every one of those paths in OpenAPI 3.0, generated from the
query files so the description cannot drift from them.

A bound query is handed to the SPARQL service's own :func:`~.server.protocol.run_query`, so it
goes through the same content negotiation (``Accept`` or ``format=``), query policy, deadline,
worker pool and error statuses as ``/sparql``; nothing here re-implements them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from werkzeug.datastructures import MultiDict

from .examples import (
    EXAMPLES_GRAPH_PATH,
    Example,
    Parameter,
    QueryParameterError,
    UnknownQueryError,
    compact,
    examples_graph,
    find_example,
    load_examples,
)
from .paths import ProjectPaths, project_paths
from .server.discovery import negotiated_graph_format
from .server.errors import ApiError
from .server.negotiation import GRAPH_TYPES
from .server.protocol import run_query as run_sparql

EXTENSION_KEY = "ketamine_ed_kg.api"

_RDFLIB_FORMATS: dict[str, str] = {
    "turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld", "rdfxml": "xml",
    "trig": "trig", "nquads": "nquads", "n3": "n3",
}
_PROTOCOL_KEYS = ("format", "output", "timeout", "infer")
"""Query-string keys passed through to the SPARQL protocol rather than bound as parameters."""


class _State:
    """The examples, read once when the blueprint is registered, and a graph cache."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self.examples = list(examples)
        self.graph_cache: dict[str, bytes] = {}


def _state() -> _State:
    state: _State = current_app.extensions[EXTENSION_KEY]
    return state


def create_blueprint(paths: ProjectPaths | None = None) -> Blueprint:
    """The API blueprint; a broken query file fails here, at start-up, naming the file."""
    examples = load_examples((paths or project_paths()).queries_dir)
    bp = Blueprint("examples_api", __name__)

    @bp.record_once
    def _install(setup: Any) -> None:
        setup.app.extensions[EXTENSION_KEY] = _State(examples)

    bp.add_url_rule("/api/queries", "list_queries", list_queries)
    bp.add_url_rule("/api/queries/<name>", "run_query", run_query)
    bp.add_url_rule("/api/openapi.json", "openapi", openapi)
    bp.add_url_rule(EXAMPLES_GRAPH_PATH, "sparql_examples", sparql_examples)
    return bp


def _describe(example: Example) -> dict[str, Any]:
    return {
        "name": example.name,
        "iri": example.iri,
        "label": example.label,
        "comment": example.comment,
        "keywords": list(example.keywords),
        "form": example.form,
        "ordered": example.ordered,
        "parameters": [_describe_parameter(p) for p in example.parameters],
        "url": url_for("examples_api.run_query", name=example.name),
        "query": example.query,
    }


def _describe_parameter(parameter: Parameter) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": parameter.name,
        "datatype": parameter.datatype,
        "comment": parameter.comment,
        "default": parameter.default,
    }
    if parameter.allowed:
        described["allowed"] = [compact(a) for a in parameter.allowed]
    return described


def list_queries() -> Response:
    """``GET /api/queries``: every example with its metadata and parameters."""
    return jsonify({"queries": [_describe(e) for e in _state().examples]})


def run_query(name: str) -> Response:
    """``GET /api/queries/<name>``: bind the validated parameters and run it like ``/sparql``."""
    try:
        example = find_example(_state().examples, name)
    except UnknownQueryError as exc:
        raise ApiError(404, str(exc)) from None
    values = {k: v for k, v in request.args.items() if k not in _PROTOCOL_KEYS}
    try:
        text = example.bind(values)
    except QueryParameterError as exc:
        raise ApiError(400, str(exc)) from None
    passed = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k in _PROTOCOL_KEYS])
    return run_sparql(text, passed)


def openapi() -> Response:
    """``GET /api/openapi.json``: the OpenAPI 3.0 description, generated from the query files."""
    return jsonify(openapi_document(_state().examples, request.host_url.rstrip("/")))


def sparql_examples() -> Response:
    """``GET /.well-known/sparql-examples``: the example queries as RDF (Turtle by default)."""
    state = _state()
    choice = negotiated_graph_format()
    if choice.name not in state.graph_cache:
        graph = examples_graph(state.examples)
        state.graph_cache[choice.name] = graph.serialize(
            format=_RDFLIB_FORMATS[choice.name], encoding="utf-8"
        )
    media = choice.media_type
    if media.startswith("text/") or media.endswith("json"):
        media += "; charset=utf-8"
    return Response(state.graph_cache[choice.name], content_type=media)


def _schema(parameter: Parameter) -> dict[str, Any]:
    if parameter.datatype == "iri":
        schema: dict[str, Any] = {"type": "string"}
        if parameter.allowed:
            schema["enum"] = [compact(a) for a in parameter.allowed]
        else:
            schema["format"] = "uri"
        return schema
    if parameter.datatype == "decimal":
        return {"type": "number"}
    if parameter.datatype == "integer":
        return {"type": "integer"}
    return {"type": "string"}


_RESULTS_CONTENT = {
    "application/sparql-results+json": {"schema": {"type": "object"}},
    "text/csv": {"schema": {"type": "string"}},
}
_RESULT_FORMAT_NAMES = ["json", "csv", "xml", "tsv"]


def openapi_document(examples: Sequence[Example], server_url: str = "/") -> dict[str, Any]:
    """An OpenAPI 3.0.3 document: one path per example query, typed parameters included."""
    error = {"content": {"text/plain": {"schema": {"type": "string"}}}}
    format_param = {
        "name": "format", "in": "query", "required": False,
        "description": "Result format; overrides the Accept header.",
        "schema": {"type": "string", "enum": _RESULT_FORMAT_NAMES},
    }
    paths: dict[str, Any] = {
        "/api/queries": {"get": {
            "operationId": "listQueries",
            "summary": "List the example queries with their parameters",
            "responses": {"200": {"description": "The example queries",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}},
        }},
        "/api/openapi.json": {"get": {
            "operationId": "openapi",
            "summary": "This OpenAPI description",
            "responses": {"200": {"description": "OpenAPI 3 document",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}},
        }},
        EXAMPLES_GRAPH_PATH: {"get": {
            "operationId": "sparqlExamples",
            "summary": "The example queries as RDF (SIB sparql-examples convention)",
            "responses": {"200": {"description": "RDF graph of sh:SPARQLExecutable resources",
                                  "content": {m: {"schema": {"type": "string"}}
                                              for _, m in GRAPH_TYPES[:4]}}},
        }},
    }
    for example in examples:
        parameters = [
            {
                "name": p.name, "in": "query", "required": False,
                "description": f"{p.comment} Omitted: {p.default}.",
                "schema": _schema(p),
            }
            for p in example.parameters
        ]
        paths[f"/api/queries/{example.name}"] = {"get": {
            "operationId": "run_" + example.name,
            "summary": example.label,
            "description": example.comment,
            "tags": list(example.keywords),
            "parameters": [*parameters, format_param],
            "responses": {
                "200": {"description": "SPARQL results (JSON) or CSV", "content": _RESULTS_CONTENT},
                "400": {"description": "A parameter value was refused", **error},
                "404": {"description": "No such query", **error},
                "406": {"description": "No acceptable result format", **error},
            },
        }}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ketamine-ed-kg example queries",
            "version": "1",
            "description": "Competency questions about ketamine treatment of eating disorders, "
                           "each answered by a SPARQL query with an expected answer checked "
                           "against the source documents.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
    }


__all__ = ["EXTENSION_KEY", "create_blueprint", "openapi_document"]
