"""The query editor at ``/`` (and at ``/sparql`` for a browser asking for no query).

Our own small page (``templates/editor.html``, ``static/editor.js``) around YASGUI
(``@zazuko/yasgui`` from the npm registry, installed by ``scripts/setup.sh`` into
``server/web/node_modules`` and served from there at ``/assets/yasgui/``: nothing vendored, no
CDN). The page carries the endpoint, the project's prefixes and the example queries, read from
the store's examples graph (``graph/examples``, the SIB sparql-examples convention), as JSON.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request, send_from_directory

from ..iris import GRAPH_EXAMPLES, PREFIXES
from ..paths import ProjectPaths, project_paths
from .errors import ApiError
from .pages import send_page
from .state import state
from .urls import ENDPOINT_PATH

YASGUI_FILES = frozenset({"yasgui.min.js", "yasgui.min.css", "yasgui.min.js.map"})
"""The files of the YASGUI build the page loads (nothing else in node_modules is served)."""

EXAMPLES_QUERY = f"""PREFIX sh: <http://www.w3.org/ns/shacl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?sq ?title ?comment ?query WHERE {{
  GRAPH <{GRAPH_EXAMPLES}> {{
    ?sq a sh:SPARQLExecutable ; rdfs:label ?title ; rdfs:comment ?comment ;
        sh:select|sh:ask|sh:construct|sh:describe ?query .
  }}
}} ORDER BY ?sq"""


def examples() -> list[dict[str, str]]:
    """The example queries of the store (IRI, title, description, query), cached."""
    st = state()
    with st.lock:
        cached: list[dict[str, str]] | None = st.cache.get("editor_examples")
    if cached is None:
        doc = st.fetch_json(EXAMPLES_QUERY)
        seen: dict[str, dict[str, str]] = {}
        for row in doc["results"]["bindings"]:  # one row per label/comment language
            iri = row["sq"]["value"]
            if iri not in seen:
                seen[iri] = {"iri": iri, "name": iri.rsplit("/", 1)[-1],
                             "title": row["title"]["value"],
                             "comment": row["comment"]["value"],
                             "query": row["query"]["value"]}
        cached = list(seen.values())
        with st.lock:
            st.cache["editor_examples"] = cached
    return [dict(e) for e in cached]


def editor_page() -> Response:
    """The editor page (HTML)."""
    config: dict[str, Any] = {
        "endpoint": request.script_root + ENDPOINT_PATH,
        "prefixes": PREFIXES,
        "examples": examples(),
    }
    response = send_page(lambda: render_template("editor.html", config=config,
                                                 examples=config["examples"]))
    response.vary.add("Accept")
    return response


def create_blueprint(paths: ProjectPaths | None = None) -> Blueprint:
    """The editor's routes: ``/`` and the YASGUI files."""
    yasgui_dir = (paths or project_paths()).yasgui_dir
    bp = Blueprint("editor", __name__)

    @bp.route("/")
    def index() -> Response:
        return editor_page()

    @bp.route("/assets/yasgui/<name>")
    def yasgui(name: str) -> Response:
        if name not in YASGUI_FILES:
            raise ApiError(404, "no such file")
        if not (yasgui_dir / name).is_file():
            raise ApiError(404, f"{name} is not installed: run scripts/setup.sh "
                                "(npm ci in server/web)")
        return send_from_directory(yasgui_dir, name, max_age=3600)

    return bp


__all__ = ["EXAMPLES_QUERY", "YASGUI_FILES", "create_blueprint", "editor_page", "examples"]
