"""The pictures of the evidence overview: Vega-Lite specifications drawn as SVG on the server.

A reviewer would rather look at a dose range than read it, but the page must work without
JavaScript, so the pictures are drawn on the server, once per graph version, by Vega-Lite
itself (``vl-convert-python``: Vega and Vega-Lite in a Rust library with its own JavaScript
engine, no browser and no network), in a short-lived child process (:func:`draw`). Each
specification is a plain dict built from the rows of an example query, so the picture shows
exactly what the query's CSV holds.

The SVG that Vega writes names its marks for screen readers but not the picture as a whole;
:func:`name_svg` gives the root element ``role="img"``, a ``<title>`` and a ``<desc>``, which
is what a picture needs when it is opened on its own (the page adds a text alternative). The
title is not drawn: the page's heading shows it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import KedError, Overloaded

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
"""Named in each specification for readers; vl-convert never fetches it."""

Row = dict[str, Any]
"""One solution of an example query: variable name -> Python value (str, float or bool)."""

_INK = "#1d2330"  # the pages' text colour (site.css)
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
"""Vega lays labels out with the first of these it finds on the server: DejaVu Sans
(``scripts/setup.sh`` installs it) is as wide as any a browser falls back to, so no label
overruns its space in a browser that draws the SVG with another font."""
_CONFIG: dict[str, Any] = {
    "font": FONT,
    "axis": {"labelFontSize": 12, "titleFontSize": 12, "labelColor": _INK,
             "titleColor": _INK, "labelLimit": 480},
    "legend": {"labelFontSize": 12, "titleFontSize": 12, "labelColor": _INK,
               "titleColor": _INK, "orient": "bottom", "direction": "vertical",
               "labelLimit": 0},
    "header": {"labelFontSize": 13, "labelFontWeight": "bold", "labelColor": _INK,
               "labelAngle": 0, "labelAlign": "left", "labelAnchor": "start",
               "labelOrient": "top"},
    "view": {"stroke": None},
}
# Colour-blind-safe hues (Okabe-Ito), dark enough to stand out against white; routes also
# differ by shape, so the picture does not rely on colour alone.
_HUES = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
_SHAPES = ("circle", "square", "diamond", "triangle-up", "cross", "triangle-down")


@dataclass(frozen=True)
class Chart:
    """One picture: its URL name, the example query it is drawn from, and how."""

    name: str
    query: str
    title: str
    spec: Callable[[Sequence[Row]], dict[str, Any]]
    description: Callable[[Sequence[Row]], str]


def _ordered(values: Sequence[Any]) -> list[Any]:
    """Distinct values in first-seen order (the query's ORDER BY)."""
    return list(dict.fromkeys(values))


def _number(value: float) -> str:
    return f"{value:g}"


def _span(low: float | None, high: float | None, unit: str = "") -> str:
    if low is None or high is None:
        return "not given"
    text = _number(low) if low == high else f"{_number(low)} to {_number(high)}"
    return f"{text}{unit}"


def dose_sessions_spec(rows: Sequence[Row]) -> dict[str, Any]:
    """Two panels sharing the studies: the dose range in mg/kg and the range of sessions, each
    a rule from the lowest to the highest value, coloured and shaped by route."""
    studies = _ordered([r["name"] for r in rows])
    routes = sorted({str(r["route"]) for r in rows})
    route_scale = {"domain": routes, "range": list(_HUES[:len(routes)])}
    color = {"field": "route", "type": "nominal", "title": "Route", "scale": route_scale}
    shape = {"field": "route", "type": "nominal", "title": "Route",
             "scale": {"domain": routes, "range": list(_SHAPES[:len(routes)])}}
    y = {"field": "name", "type": "nominal", "title": None, "sort": studies}

    def panel(low: str, high: str, title: str, missing: str) -> dict[str, Any]:
        return {"width": 260, "height": {"step": 28}, "layer": [
            {"mark": {"type": "rule", "strokeWidth": 3},
             "transform": [{"filter": f"isValid(datum.{low})"}],
             "encoding": {"y": y, "x": {"field": low, "type": "quantitative", "title": title,
                                        "scale": {"zero": True}},
                          "x2": {"field": high}, "color": color}},
            {"mark": {"type": "point", "filled": True, "size": 100, "opacity": 1},
             "transform": [{"fold": [low, high], "as": ["end", "value"]},
                           {"filter": "isValid(datum.value)"}],
             "encoding": {"y": y, "x": {"field": "value", "type": "quantitative"},
                          "color": color, "shape": shape}},
            {"mark": {"type": "text", "align": "left", "dx": 4, "color": _INK,
                      "fontStyle": "italic"},
             "transform": [{"filter": f"!isValid(datum.{low})"}],
             "encoding": {"y": y, "x": {"datum": 0}, "text": {"value": missing}}},
        ]}

    return {
        "$schema": VEGA_LITE_SCHEMA,
        "description": dose_sessions_description(rows),
        "config": _CONFIG,
        "data": {"values": list(rows)},
        "hconcat": [
            panel("lowestDose", "highestDose", "Ketamine dose (mg/kg), lowest to highest",
                  "no dose in mg/kg"),
            panel("fewestSessions", "mostSessions", "Number of sessions, fewest to most",
                  "not given"),
        ],
    }


def dose_sessions_description(rows: Sequence[Row]) -> str:
    """The picture in words: one sentence per study."""
    parts = [f"{r['name']}: {r['route']}; dose "
             f"{_span(r.get('lowestDose'), r.get('highestDose'), ' mg/kg')}; sessions "
             f"{_span(r.get('fewestSessions'), r.get('mostSessions'))}."
             for r in rows]
    return (f"The ketamine regimens of {len(rows)} studies of ketamine in an eating disorder. "
            + " ".join(parts))


def diagnoses_spec(rows: Sequence[Row]) -> dict[str, Any]:
    """A matrix: studies across, diagnoses down (eating disorders first, then the other
    diagnoses, in two panels), a filled cell where the study's participants have it,
    coloured by the study's design."""
    studies = sorted({str(r["name"]) for r in rows})
    designs = sorted({str(r["design"]) for r in rows})
    values = [{**r, "kind": "Eating disorders" if r["eatingDisorder"] else "Other diagnoses"}
              for r in rows]
    order = (sorted({str(r["diagnosis"]) for r in rows if r["eatingDisorder"]})
             + sorted({str(r["diagnosis"]) for r in rows if not r["eatingDisorder"]}))
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "description": diagnoses_description(rows),
        "config": {**_CONFIG, "axis": {**_CONFIG["axis"], "grid": True, "tickBand": "extent"}},
        "data": {"values": values},
        "facet": {"row": {"field": "kind", "type": "nominal", "title": None,
                          "sort": ["Eating disorders", "Other diagnoses"]}},
        "spec": {
            "width": {"step": 36}, "height": {"step": 24},
            "mark": {"type": "rect", "stroke": "white", "strokeWidth": 2},
            "encoding": {
                "x": {"field": "name", "type": "nominal", "title": None, "sort": studies,
                      "axis": {"orient": "top", "labelAngle": -40, "labelAlign": "left"}},
                "y": {"field": "diagnosis", "type": "nominal", "title": None, "sort": order},
                "color": {"field": "design", "type": "nominal", "title": "Study design",
                          "scale": {"domain": designs, "range": list(_HUES[:len(designs)])}},
            },
        },
        "resolve": {"scale": {"y": "independent"}},
    }


def diagnoses_description(rows: Sequence[Row]) -> str:
    """The matrix in words: one sentence per study, its design and its diagnoses."""
    parts = []
    for name in _ordered([r["name"] for r in rows]):
        mine = [r for r in rows if r["name"] == name]
        eds = ", ".join(_ordered([r["diagnosis"] for r in mine if r["eatingDisorder"]]))
        others = ", ".join(_ordered([r["diagnosis"] for r in mine if not r["eatingDisorder"]]))
        parts.append(f"{name} ({mine[0]['design']}): {eds}"
                     + (f"; also {others}" if others else "") + ".")
    return (f"The diagnoses of the participants of {len(parts)} studies of ketamine in an "
            "eating disorder, by study design. " + " ".join(parts))


DOSE_SESSIONS = Chart("dose-and-sessions", "034_ketamine_dose_and_sessions",
                      "Ketamine dose and number of sessions per study, by route",
                      dose_sessions_spec, dose_sessions_description)
DIAGNOSES = Chart("diagnoses-by-study", "035_diagnoses_by_study",
                  "Diagnoses of the participants, by study and design",
                  diagnoses_spec, diagnoses_description)
CHARTS = {chart.name: chart for chart in (DOSE_SESSIONS, DIAGNOSES)}
"""The pictures of ``/evidence``, by the name in their URL (``/evidence/<name>.svg``)."""


@dataclass(frozen=True)
class Picture:
    """A specification to draw, with the name and the words the SVG will carry."""

    spec: dict[str, Any]
    title: str
    description: str


_CHILD = """
import json, sys
import vl_convert
specs = json.load(sys.stdin)
json.dump([vl_convert.vegalite_to_svg(spec) for spec in specs], sys.stdout)
"""
"""What the drawing process runs: specifications in (JSON on stdin), SVG out (JSON on stdout)."""


def draw(pictures: Sequence[Picture], timeout: float) -> list[str]:
    """Draw ``pictures`` with Vega-Lite, all in one short-lived child process, and name each.

    vl-convert runs Vega in a JavaScript engine that takes about 130 MB once started and keeps
    it: drawn in the HTTP process, every gunicorn process would hold that for a few drawings
    per graph version. A child process (``python -I``, importing nothing of ours) gives the
    memory back when it exits, for about half a second more per batch. Raises
    :class:`Overloaded` when the machine cannot draw within ``timeout`` seconds, and
    :class:`KedError` (a bug: a 500) when the drawing fails."""
    specs = json.dumps([p.spec for p in pictures])
    try:
        done = subprocess.run([sys.executable, "-I", "-c", _CHILD], input=specs,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise Overloaded(f"drawing the evidence pictures took over {timeout:g} s; "
                         "try again") from None
    if done.returncode != 0:
        raise KedError(f"drawing the evidence pictures failed (exit {done.returncode}): "
                       f"{done.stderr.strip()[-2000:]}")
    drawn: list[str] = json.loads(done.stdout)
    return [name_svg(svg, p.title, p.description) for svg, p in zip(drawn, pictures,
                                                                     strict=True)]


def name_svg(drawn: str, title: str, description: str) -> str:
    """Name the picture Vega drew: ``role="img"``, ``<title>`` and ``<desc>`` first in the
    root, referenced by ``aria-labelledby``/``aria-describedby``.

    The SVG is parsed (it is XML) rather than edited as text, so the result is well-formed
    whatever the data's characters."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    root = ET.fromstring(drawn)
    root.set("role", "img")
    root.set("aria-labelledby", "chart-title")
    root.set("aria-describedby", "chart-desc")
    title_el = ET.Element(f"{{{SVG_NS}}}title", {"id": "chart-title"})
    title_el.text = title
    desc_el = ET.Element(f"{{{SVG_NS}}}desc", {"id": "chart-desc"})
    desc_el.text = description
    root.insert(0, desc_el)
    root.insert(0, title_el)
    return ET.tostring(root, encoding="unicode")


__all__ = ["CHARTS", "DIAGNOSES", "DOSE_SESSIONS", "Chart", "Picture", "Row", "diagnoses_spec",
           "dose_sessions_spec", "draw", "name_svg"]
