"""A grlc-style REST API over the example queries, and the ``/.well-known/sparql-examples`` graph.

``GET /api/queries`` lists the examples, ``GET /api/queries/<name>`` runs one (SPARQL JSON results
or CSV, with typed parameters validated against the declarations in the query file), and
``GET /api/openapi.json`` describes those paths, ``/sparql`` (GET, HEAD, POST), the discovery
paths, the evidence overview and ``/health`` in OpenAPI 3.0, generated from the query files,
the negotiation tables and the charts table so the description cannot drift from them;
tests/test_openapi_schemathesis.py holds the service to it.

A bound query is handed to the SPARQL service's own :func:`~.server.protocol.run_query`, so it
goes through the same content negotiation (``Accept`` or ``format=``), query policy, deadline,
worker pool and error statuses as ``/sparql``; nothing here re-implements them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from werkzeug.datastructures import MultiDict

from ..examples import (
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
from ..formats import Offer
from ..namespaces import PREFIXES
from ..negotiation import BOOLEAN_TYPES, GRAPH_TYPES, RESULT_TYPES
from ..paths import ProjectPaths, project_paths
from .charts import CHARTS
from .dumps import DUMP_EXTENSIONS, STEM
from .errors import ApiError
from .health import HEALTH_DEADLINE, HEALTH_PATH, MEDIA_TYPE
from .query import CONTROL_PARAMS
from .query import run_query as run_sparql
from .representation import negotiated_graph_format, serialize
from .urls import advertised_url

EXTENSION_KEY = "ketamine_ed_kg.examples_api"

_PROTOCOL_KEYS = CONTROL_PARAMS
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


def example(name: str) -> Example:
    """The example query ``name``, as ``/api/queries/<name>`` runs it (for the pages drawn from
    the examples); :class:`UnknownQueryError` if there is none."""
    return find_example(_state().examples, name)


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
    return jsonify(openapi_document(_state().examples, advertised_url("")))


def sparql_examples() -> Response:
    """``GET /.well-known/sparql-examples``: the example queries as RDF (Turtle by default)."""
    state = _state()
    choice = negotiated_graph_format()
    key = choice.format.name
    if key not in state.graph_cache:
        state.graph_cache[key] = serialize(examples_graph(state.examples), choice)
    return Response(state.graph_cache[key], content_type=choice.content_type)


# --- The OpenAPI description ------------------------------------------------------------------
#
# It has to say what the service really does, so that schemathesis can hold the service to it
# (tests/test_openapi_schemathesis.py). Parameter schemas are therefore written as the patterns
# the code accepts (case-insensitive names, surrounding white space, an empty value meaning
# "absent"), and every status the protocol can answer is listed with its content types.

_SPECIALS = set(".+*?()[]{}|^$\\/")


def _literal(text: str) -> str:
    """``text`` as a regular expression valid in both ECMA-262 and Python."""
    return "".join("\\" + c if c in _SPECIALS else c for c in text)


def _caseless(text: str) -> str:
    """A pattern matching every string whose ``str.lower()`` is ``text`` (lower case)."""
    out = []
    for c in text:
        if c.isalpha():
            # U+212A KELVIN SIGN is the one non-ASCII character that lower-cases to ASCII.
            out.append(f"[{c}{c.upper()}{chr(0x212A) if c == 'k' else ''}]")
        else:
            out.append(_literal(c))
    return "".join(out)


def _alternatives(items: Sequence[str]) -> str:
    return "(?:" + "|".join(items) + ")"


def _format_schema(offered: Sequence[Offer]) -> dict[str, Any]:
    """What ``format=`` / ``output=`` accept for these offers (server/negotiation.py): a short
    name (any case), or a media type (any case, parameters allowed), white space around either;
    an empty value means "not given"."""
    names = sorted({name for fmt, _ in offered for name in fmt.spec.names})
    media = list(dict.fromkeys(m for _, m in offered))
    pattern = (r"^(?:|\s*" + _alternatives([_caseless(n) for n in names]) + r"\s*"
               + r"|\s*" + _alternatives([_caseless(m) for m in media]) + r"\s*(?:;[\s\S]*)?)$")
    return {"type": "string", "pattern": pattern, "example": names[0] if names else ""}


_INFER_SCHEMA = {
    "type": "string",
    "pattern": r"^(?:|\s*" + _alternatives([_caseless(v) for v in ("true", "false", "1", "0")])
               + r"\s*)$",
    "example": "false",
}
_TIMEOUT_SCHEMA = {
    "anyOf": [{"type": "number", "exclusiveMinimum": True, "minimum": 0},
              {"type": "string", "maxLength": 0}],
    "example": 5,
}
_PLAIN = {"schema": {"type": "string"}}
_TEXT_ERROR = {"content": {"text/plain": _PLAIN}}
_RESULTS_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["head"],
    "properties": {
        "head": {"type": "object", "properties": {
            "vars": {"type": "array", "items": {"type": "string"}},
            "link": {"type": "array", "items": {"type": "string"}}}},
        "results": {"type": "object", "required": ["bindings"], "properties": {
            "bindings": {"type": "array", "items": {"type": "object"}}}},
        "boolean": {"type": "boolean"},
    },
}
_HEADER_STRING = {"schema": {"type": "string"}}
_RESULT_HEADERS: dict[str, Any] = {
    "ETag": {"description": "Strong validator of this representation", **_HEADER_STRING},
    "Last-Modified": {"description": "Build time of the served graph", **_HEADER_STRING},
    "X-SPARQL-Deadline": {"description": "Seconds the query was allowed to run",
                          "schema": {"type": "string", "pattern": r"^[0-9.e+-]+$"}},
    "X-SPARQL-Row-Cap": {"description": "Row cap the query was held to (when it could apply)",
                         "schema": {"type": "string", "pattern": r"^[0-9]+$"}},
    "X-SPARQL-Truncated": {"description": "Whether the row cap cut the result",
                           "schema": {"type": "string", "enum": ["true", "false"]}},
}
_RETRY_AFTER = {"description": "Seconds to wait before retrying",
                "schema": {"type": "string", "pattern": r"^[0-9]+$"}}


def _media_content(media_types: Sequence[str]) -> dict[str, Any]:
    """200 content for these media types; SPARQL JSON results get their schema."""
    content: dict[str, Any] = {}
    for media in dict.fromkeys(media_types):
        if media == "application/sparql-results+json":
            content[media] = {"schema": _ref("SparqlResultsJson")}
        elif media.endswith("json"):
            content[media] = {"schema": {}}  # SPARQL JSON results or JSON-LD (object or array)
        else:
            content[media] = _PLAIN
    return content


_ERROR_DESCRIPTIONS = {
    400: "The request or the query is malformed (syntax error with line:column, bad "
         "timeout/infer, non-UTF-8 input, invalid graph IRI, unknown parameter), or the "
         "query is over the nesting limits",
    403: "Refused by policy: SPARQL Update, SERVICE, or a graph outside the store",
    404: "No such resource",
    406: "No acceptable result format for this query form (Accept or format=); the body "
         "lists the available types",
    413: "The request body is over max_request_bytes",
    414: "The URL is over max_request_line bytes: send the query with POST",
    415: "POST without a supported Content-Type (application/x-www-form-urlencoded or "
         "application/sparql-query) or with a charset other than UTF-8",
    429: "This client (address and User-Agent) already runs its share of queries",
    431: "A request header field is too large, or there are too many",
    503: "The query was stopped at its deadline or over its memory cap, or no query "
         "process was free in time",
}
"""Every error body is text/plain (server/errors.py)."""


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": _ERROR_DESCRIPTIONS[status], **_TEXT_ERROR}
    if status == 429:
        response["headers"] = {"Retry-After": {**_RETRY_AFTER, "required": True}}
    elif status == 503:
        response["headers"] = {"Retry-After": _RETRY_AFTER}
    return response


def _errors(*statuses: int) -> dict[str, Any]:
    """References to the error responses for ``statuses``."""
    return {str(s): {"$ref": f"#/components/responses/Error{s}"} for s in statuses}


def _query_param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


_FORMAT_SCHEMA_NAMES = {"select": "ResultFormat", "ask": "BooleanFormat",
                        "construct": "GraphFormat", "any": "AnyFormat"}


def _control_params(kind: str) -> list[dict[str, Any]]:
    """format / output / timeout / infer, as the protocol reads them (server/protocol.py);
    ``kind`` is a query form, or ``any`` when the form is not known in advance."""
    fmt = _ref(_FORMAT_SCHEMA_NAMES[kind])
    return [
        _query_param("format", "Result format, a short name or a media type; overrides "
                     "Accept. Empty: not given.", fmt),
        _query_param("output", "Same as format; ignored when format is given (not empty).",
                     fmt),
        _query_param("timeout", "Seconds the query may run: lowers the service's deadline, "
                     "never raises it. Empty: not given.", _ref("Timeout")),
        _query_param("infer", "false leaves the inferred graph out of the default graph. "
                     "Empty: true.", _ref("Infer")),
    ]


_GRAPH_LIST = {"type": "array", "items": {"type": "string"}}
_DATASET_PARAMS = [
    {**_query_param("default-graph-uri", "A graph of the default graph (repeatable); must be "
                    "an absolute IRI of a graph in the store (403 otherwise)", _GRAPH_LIST),
     "style": "form", "explode": True},
    {**_query_param("named-graph-uri", "A named graph (repeatable); same rules",
                    _GRAPH_LIST),
     "style": "form", "explode": True},
]
_ALL_FORMATS = [*RESULT_TYPES, *GRAPH_TYPES]
_SPARQL_200 = [m for _, m in _ALL_FORMATS]
_FORM_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["query"],
    "properties": {"query": {"type": "string"}},
    "description": "query=..., and optionally the parameters of the URL (default-graph-uri, "
                   "named-graph-uri, format, output, timeout, infer); where both give one, "
                   "the URL's comes first and wins. update= is refused with 403.",
}


def _sparql_path() -> dict[str, Any]:
    """``/sparql``: the SPARQL 1.1 Protocol query operation (server/protocol.py)."""
    query = _query_param(
        "query", "The SPARQL query. Without any parameter at all, GET and HEAD return the "
        "SPARQL 1.1 Service Description (RDF).", {"type": "string"})
    url_params = [query, *_DATASET_PARAMS, *_control_params("any")]
    ok = {"description": "Query results (SELECT/ASK: SPARQL results; CONSTRUCT/DESCRIBE and "
                         "the service description: RDF), in the negotiated format",
          "headers": _RESULT_HEADERS, "content": _media_content(_SPARQL_200)}
    read_errors = _errors(400, 403, 406, 414, 429, 431, 503)
    responses = {"200": ok, "304": {"description": "Not modified (If-None-Match / "
                                                   "If-Modified-Since)"}, **read_errors}
    head = {"description": "As GET, without a body", "headers": _RESULT_HEADERS}
    return {
        "get": {
            "operationId": "sparqlQueryGet",
            "summary": "Run a SPARQL query (or, without parameters, get the service description)",
            "parameters": url_params,
            "responses": responses,
        },
        "head": {
            "operationId": "sparqlQueryHead",
            "summary": "The headers GET would send",
            "parameters": url_params,
            "responses": {"200": head, "304": responses["304"], **read_errors},
        },
        "post": {
            "operationId": "sparqlQueryPost",
            "summary": "Run a SPARQL query sent in the body (form or direct)",
            "parameters": [*_DATASET_PARAMS, *_control_params("any")],
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": _FORM_BODY_SCHEMA},
                "application/sparql-query": {"schema": {"type": "string"}},
            }},
            "responses": {"200": ok, **_errors(400, 403, 406, 413, 414, 415, 429, 431, 503)},
        },
    }


def _value_pattern(parameter: Parameter) -> str | None:
    """The values ``Parameter.to_term`` accepts (examples.py), white space around them allowed."""
    if parameter.datatype == "iri" and parameter.allowed:
        forms: list[str] = []
        for iri in parameter.allowed:
            curie = compact(iri)
            forms += [_literal(iri), _caseless(iri.rsplit("/", 1)[-1].lower())]
            if curie != iri:
                forms.append(_literal(curie))
        return r"^\s*" + _alternatives(forms) + r"\s*$"
    if parameter.datatype == "iri":
        prefixes = _alternatives([_literal(p) for p in PREFIXES])
        return (r"^\s*(?:https?://[^\s<>\"{}|^`\\]+|" + prefixes
                + r":[\w.-]*)\s*$")
    if parameter.datatype == "decimal":
        return r"^\s*[+-]?\d+(?:\.\d+)?\s*$"
    if parameter.datatype == "integer":
        return r"^\s*[+-]?\d{1,18}\s*$"
    return None


def _schema(parameter: Parameter) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    pattern = _value_pattern(parameter)
    if pattern is not None:
        schema["pattern"] = pattern
    if parameter.allowed:
        schema["example"] = compact(parameter.allowed[0])
    elif parameter.datatype in ("decimal", "integer"):
        schema["example"] = "1"
    return schema


_OFFERED = {"select": RESULT_TYPES, "ask": BOOLEAN_TYPES, "construct": GRAPH_TYPES,
            "any": _ALL_FORMATS}


def _example_path(example: Example) -> dict[str, Any]:
    """``/api/queries/<name>``: the example bound and run like ``/sparql``."""
    offered = _OFFERED[example.form]
    parameters = [
        _query_param(p.name, f"{p.comment} Omitted: {p.default}."
                     + (" One of: " + ", ".join(compact(a) for a in p.allowed)
                        + " (a CURIE, the full IRI or the local name)" if p.allowed else ""),
                     _schema(p))
        for p in example.parameters
    ]
    return {"get": {
        "operationId": "run_" + example.name,
        "summary": example.label,
        "description": example.comment,
        "tags": list(example.keywords),
        "parameters": [*parameters, *_control_params(example.form)],
        "responses": {
            "200": {"description": f"The answer ({example.form.upper()})",
                    "headers": _RESULT_HEADERS,
                    "content": _media_content([m for _, m in offered])},
            "304": {"description": "Not modified"},
            **_errors(400, 403, 406, 414, 429, 431, 503),
        },
    }}


def _graph_get(operation_id: str, summary: str, description: str,
               parameters: Sequence[dict[str, Any]] = (), errors: Sequence[int] = (406,),
               html: bool = False) -> dict[str, Any]:
    """A GET that answers with an RDF graph in the negotiated format (Accept or format=);
    ``html``: a browser gets a web page (server/pages.py)."""
    fmt = _query_param("format", "RDF format, a short name or a media type; overrides "
                       "Accept. Empty: not given.", _ref("GraphFormat"))
    return {"get": {
        "operationId": operation_id, "summary": summary, "description": description,
        "parameters": [*parameters, fmt],
        "responses": {
            "200": {"description": "RDF" + (", or a web page for a browser" if html else ""),
                    "content": _media_content(
                        [m for _, m in GRAPH_TYPES] + (["text/html"] if html else []))},
            "304": {"description": "Not modified"},
            **_errors(*errors),
        },
    }}


def _json_get(operation_id: str, summary: str, description: str) -> dict[str, Any]:
    return {"get": {"operationId": operation_id, "summary": summary, "responses": {
        "200": {"description": description,
                "content": {"application/json": {"schema": {"type": "object"}}}}}}}


def _discovery_paths() -> dict[str, Any]:
    """VoID, dumps and dereferenceable IRIs (server/discovery.py, server/dumps.py)."""
    dump_types = list(dict.fromkeys(fmt.media_type for fmt in DUMP_EXTENSIONS.values()))
    term = {"type": "string", "pattern": r"^[A-Za-z0-9._~-]+$"}
    return {
        "/.well-known/void": _graph_get(
            "void", "VoID description of the dataset",
            "Triples, classes, properties, dumps and linksets."),
        "/download/": {"get": {
            "operationId": "dumps", "summary": "The dump URLs, one per line",
            "responses": {"200": {"description": "URL and media type per line",
                                  "content": {"text/plain": _PLAIN}}}}},
        f"/download/{STEM}.{{ext}}": {"get": {
            "operationId": "dump", "summary": "The whole graph in one RDF format",
            "parameters": [{"name": "ext", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": list(DUMP_EXTENSIONS)}}],
            "responses": {
                "200": {"description": "The dump", "content": _media_content(dump_types)},
                "304": {"description": "Not modified"},
                **_errors(404, 503),
            },
        }},
        "/resource/{slug}": _graph_get(
            "resource", "Dereference a ked: IRI",
            "DESCRIBE of the resource, content-negotiated; 404 when the graph does not "
            "mention it. A browser (text/html above every RDF type) gets a web page.",
            [{"name": "slug", "in": "path", "required": True, "schema": term}],
            (404, 406, 429, 503), html=True),
        "/ontology/{term}": _graph_get(
            "ontologyTerm", "Dereference a kedo: IRI",
            "DESCRIBE of the ontology term, content-negotiated; 404 when the graph does not "
            "mention it. A browser (text/html above every RDF type) gets a web page.",
            [{"name": "term", "in": "path", "required": True, "schema": term}],
            (404, 406, 429, 503), html=True),
        "/ontology": _graph_get(
            "ontology", "Dereference the ontology IRI",
            "DESCRIBE of the ontology, content-negotiated. A browser gets the ontology's "
            "documentation (every class and property with its definition); 404 when the graph "
            "holds no ontology.",
            (), (404, 406, 429, 503), html=True),
        "/graph/{graph}": _graph_get(
            "namedGraph", "Dereference a named graph's IRI",
            "The graph's description, not its content: sd:Graph and void:Dataset with its "
            "counts, class and property partitions and void:dataDump links to its content "
            "(a CONSTRUCT through /sparql). A browser gets a web page.",
            [{"name": "graph", "in": "path", "required": True, "schema": term}],
            (404, 406, 429, 503), html=True),
        "/dataset": _graph_get(
            "dataset", "Dereference the dataset IRI",
            "DESCRIBE of the void:Dataset (the VoID graph). A browser gets a web page with its "
            "counts, named graphs and downloads.", (), (404, 406, 429, 503), html=True),
        "/dataset/linkset/{target}/{predicate}": _graph_get(
            "linkset", "Dereference a linkset IRI",
            "DESCRIBE of a void:Linkset of the dataset. A browser gets a web page.",
            [{"name": "target", "in": "path", "required": True, "schema": term},
             {"name": "predicate", "in": "path", "required": True, "schema": term}],
            (404, 406, 429, 503), html=True),
        "/external/{dataset}": _graph_get(
            "externalDataset", "Dereference an external dataset's IRI",
            "DESCRIBE of an external void:Dataset a linkset points to. A browser gets a web "
            "page.", [{"name": "dataset", "in": "path", "required": True, "schema": term}],
            (404, 406, 429, 503), html=True),
        "/shapes/{shape}": _graph_get(
            "shape", "Dereference a SHACL shape's IRI (kedsh:)",
            "The shape's concise bounded description, from shapes/*.ttl. A browser gets a web "
            "page with its targets and property constraints.",
            [{"name": "shape", "in": "path", "required": True, "schema": term}],
            (404, 406, 429, 503), html=True),
        "/query/{query}": _graph_get(
            "exampleQuery", "Dereference an example query's IRI",
            "DESCRIBE of the sh:SPARQLExecutable (the examples graph). A browser gets a web "
            "page with its text, a link to the editor and its answer.",
            [{"name": "query", "in": "path", "required": True, "schema": term}],
            (404, 406, 429, 503), html=True),
    }


def _evidence_paths() -> dict[str, Any]:
    """The evidence overview (server/evidence.py): a web page and its pictures."""
    return {
        "/evidence": {"get": {
            "operationId": "evidence", "summary": "The evidence overview, as a web page",
            "description": "Table 1 of the review and two pictures, each computed by an "
                           "example query at request time, with links to the query and its "
                           "answer as CSV.",
            "responses": {"200": {"description": "The page",
                                  "content": {"text/html": _PLAIN}},
                          "304": {"description": "Not modified"}, **_errors(503)}}},
        "/evidence/{name}.svg": {"get": {
            "operationId": "evidencePicture", "summary": "One picture of the overview (SVG)",
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": sorted(CHARTS)}}],
            "responses": {"200": {"description": "The picture, with its title and "
                                                 "description",
                                  "content": {"image/svg+xml": _PLAIN}},
                          "304": {"description": "Not modified"}, **_errors(404, 503)}}},
    }


_HEALTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "version", "releaseId", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["pass", "fail"]},
        "version": {"type": "string", "description": "Release version the instance serves"},
        "releaseId": {"type": "string", "description": "Digest of the served release: equal "
                      "on every instance of one pool"},
        "output": {"type": "string", "description": "Why the check failed"},
        "checks": {"type": "object"},
    },
}


def _health_path() -> dict[str, Any]:
    """``/health`` (server/health.py): readiness for load balancers, never cached."""
    content = {MEDIA_TYPE: {"schema": _ref("Health")}}
    no_store = {"Cache-Control": {"schema": {"type": "string", "enum": ["no-store"]}}}
    responses = {
        "200": {"description": "pass: a trivial query ran through the query processes within "
                               f"{HEALTH_DEADLINE:g} s", "headers": no_store,
                "content": content},
        "503": {"description": "fail: no query process answered in time, or the store is "
                               "unreachable or empty",
                "headers": {**no_store, "Retry-After": _RETRY_AFTER}, "content": content},
    }
    operation = {"summary": "Health of this instance and the release it serves "
                            "(application/health+json)", "responses": responses}
    return {"get": {"operationId": "health", **operation},
            "head": {"operationId": "healthHead", **operation,
                     "responses": {k: {key: v[key] for key in ("description", "headers")}
                                   for k, v in responses.items()}}}


def openapi_document(examples: Sequence[Example], server_url: str = "/") -> dict[str, Any]:
    """An OpenAPI 3.0.3 document: the SPARQL endpoint, discovery paths, and one path per
    example query with its typed parameters."""
    paths: dict[str, Any] = {
        "/sparql": _sparql_path(),
        "/api/queries": _json_get("listQueries", "List the example queries with their "
                                  "parameters", "The example queries"),
        "/api/openapi.json": _json_get("openapi", "This OpenAPI description",
                                       "OpenAPI 3 document"),
        EXAMPLES_GRAPH_PATH: _graph_get(
            "sparqlExamples", "The example queries as RDF (SIB sparql-examples convention)",
            "RDF graph of sh:SPARQLExecutable resources."),
        **_discovery_paths(),
        **_evidence_paths(),
        HEALTH_PATH: _health_path(),
    }
    for example in examples:
        paths[f"/api/queries/{example.name}"] = _example_path(example)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ketamine-ed-kg SPARQL service and example queries",
            "version": "1",
            "description": "A SPARQL 1.1 endpoint (read-only, with a deadline on every query) "
                           "over a knowledge graph of ketamine treatment of eating disorders, "
                           "and competency questions, each answered by a SPARQL query with an "
                           "expected answer checked against the source documents. Every error "
                           "is text/plain (a browser gets a 404 as a web page).",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": {
            **{name: _format_schema(_OFFERED[kind]) for kind, name in _FORMAT_SCHEMA_NAMES.items()},
            "Timeout": _TIMEOUT_SCHEMA,
            "Infer": _INFER_SCHEMA,
            "SparqlResultsJson": _RESULTS_JSON_SCHEMA,
            "Health": _HEALTH_SCHEMA,
        }, "responses": {f"Error{status}": _error_response(status)
                         for status in _ERROR_DESCRIPTIONS}},
    }


__all__ = ["EXTENSION_KEY", "create_blueprint", "example", "openapi_document"]
