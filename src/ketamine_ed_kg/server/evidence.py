"""The evidence overview at ``/evidence``: Table 1 of the review and two pictures, from SPARQL.

Everything on the page is the answer of an example query (``queries/``), run at request time
through the query processes like any internal query: the table is ``001`` (Table 1 of the
review, cell by cell, with each study's IRI and publication), the pictures are drawn from
``034`` (dose and sessions per study, by route) and ``035`` (diagnoses by study, by design).
Each part links to its query, opened in the editor, and to the query's answer as CSV from
``/api/queries/<name>``, so a reader can check any number on the page.

The pictures are SVG drawn on the server (``charts``, in a child process that gives its memory
back), so the page needs no JavaScript; each has
its own URL (``/evidence/<name>.svg``), a title and description inside, and a text alternative
on the page (the same rows as a table). Drawing costs time, so the rows and the SVG are
computed once per graph version and kept in :class:`ServiceState` ``cache`` (a fixed set of
entries: three answers and two pictures; the rendered page is kept by :func:`.pages.send_page`,
like every page); the page and the pictures are conditional (ETag and Last-Modified from the
graph version).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Response, render_template, url_for

from ..iris import PREFIXES, compact
from .charts import CHARTS, Chart, Picture, Row, draw
from .errors import ApiError
from .examples_api import example
from .http import conditional, make_etag, versioned
from .pages import local_href, send_page
from .state import state

TABLE_QUERY = "001_table1_ketamine_studies"
"""The example query whose answer is the overview's table."""

_XSD = PREFIXES["xsd"]
_NUMERIC = {_XSD + t for t in ("integer", "decimal", "double", "float", "int", "long",
                               "nonNegativeInteger", "positiveInteger")}
_SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
"""An SVG opened on its own may run nothing and load nothing."""

_compute_lock = threading.RLock()
"""One computation of a cached part at a time: a burst of cold requests draws once. Re-entrant:
a picture computes the rows it is drawn from."""

T = TypeVar("T")

bp = Blueprint("evidence", __name__)


def _value(binding: dict[str, Any] | None) -> Any:
    """A SPARQL JSON binding as a Python value: numbers as float, booleans as bool, IRIs and
    other literals as their string."""
    if binding is None:
        return None
    datatype = binding.get("datatype")
    if datatype in _NUMERIC:
        return float(binding["value"])
    if datatype == _XSD + "boolean":
        return binding["value"] in ("true", "1")
    return binding["value"]


def _cached(key: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per graph version (the state lives as long as the served version)."""
    st = state()
    with st.lock:
        if key in st.cache:
            found: T = st.cache[key]
            return found
    with _compute_lock:
        with st.lock:
            if key in st.cache:
                again: T = st.cache[key]
                return again
        value = compute()
        with st.lock:
            st.cache[key] = value
        return value


def rows(name: str) -> list[Row]:
    """The answer of the example query ``name`` (as ``/api/queries/<name>`` runs it), cached."""

    def run() -> list[Row]:
        doc = state().fetch_json(example(name).bind({}))
        names: list[str] = doc["head"]["vars"]
        return [{v: _value(b.get(v)) for v in names} for b in doc["results"]["bindings"]]

    return [dict(r) for r in _cached(f"evidence:rows:{name}", run)]


def svg(chart: Chart) -> str:
    """The picture ``chart``, drawn from its query's answer, cached. The first picture asked
    for draws them all (one drawing process): a browser asks for the others next."""
    key = f"evidence:svg:{chart.name}"

    def draw_all() -> str:
        st = state()
        pictures = []
        for each in CHARTS.values():
            found = rows(each.query)
            pictures.append(Picture(each.spec(found), each.title, each.description(found)))
        drawn = draw(pictures, timeout=max(st.config.deadline, 60.0))
        with st.lock:
            for each, text in zip(CHARTS.values(), drawn, strict=True):
                st.cache[f"evidence:svg:{each.name}"] = text
        return drawn[list(CHARTS).index(chart.name)]

    return _cached(key, draw_all)


def provenance(name: str) -> dict[str, str]:
    """Where a part of the page comes from: the query's name, its title, the editor with the
    query filled in, and the answer as CSV."""
    found = example(name)
    return {"name": name, "title": found.label,
            "editor": url_for("editor.index", query=found.bind({})),
            "csv": url_for("examples_api.run_query", name=name, format="csv")}


def _table() -> list[dict[str, Any]]:
    """Table 1's rows with links: the study's page and its publication's page and DOI."""
    out = []
    for row in rows(TABLE_QUERY):
        study, publication = row.get("studyIri"), row.get("publication")
        out.append({**row,
                    "study_href": local_href(study) if study else None,
                    "study_curie": compact(study) if study else None,
                    "publication_href": local_href(publication) if publication else None,
                    "publication_curie": compact(publication) if publication else None,
                    "doi_href": f"https://doi.org/{row['doi']}" if row.get("doi") else None})
    return out


def _figure(chart: Chart) -> dict[str, Any]:
    found = rows(chart.query)
    return {"name": chart.name, "title": chart.title, "description": chart.description(found),
            "src": url_for("evidence.picture", name=chart.name), "rows": found,
            "source": provenance(chart.query)}


def _render_page() -> str:
    return render_template(
        "evidence.html", table=_table(), table_source=provenance(TABLE_QUERY),
        figures={name: _figure(chart) for name, chart in CHARTS.items()},
        version=state().version.version, local_href=local_href)


@functools.cache
def _charts_digest() -> str:
    """The drawing code's digest: a picture's ETag changes with it, not only with the data."""
    digest = hashlib.sha256(Path(__file__).with_name("charts.py").read_bytes())
    digest.update(version("vl-convert-python").encode())
    return digest.hexdigest()


@bp.route("/evidence")
def overview() -> Response:
    """The overview page (HTML, without JavaScript)."""
    return send_page(_render_page)


@bp.route("/evidence/<name>.svg")
def picture(name: str) -> Response:
    """One picture of the overview, as SVG (``image/svg+xml``), conditional."""
    chart = CHARTS.get(name)
    if chart is None:
        raise ApiError(404, f"no picture named {name!r}; /evidence shows them all")
    st = state()
    etag = make_etag(st.version.tag, "svg", name, _charts_digest())
    cached = conditional(etag, st.version.modified)
    if cached is not None:
        return cached
    response = Response(svg(chart), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = _SVG_POLICY
    return versioned(response, etag, st.version.modified)


__all__ = ["TABLE_QUERY", "bp", "overview", "picture", "provenance", "rows", "svg"]
