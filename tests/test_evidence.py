"""The evidence overview (``/evidence``) over plain HTTP, against the live service.

The page's table must be what SPARQL says (query 001 through ``/sparql``), each picture a
well-formed, named SVG showing every study of its query, and the links beside each part must
lead to that query (in the editor) and to its answer as CSV, with the same rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from ketamine_ed_kg.errors import KedError
from ketamine_ed_kg.examples import load_examples
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.server.charts import CHARTS, DOSE_SESSIONS, Picture, draw
from ketamine_ed_kg.server.evidence import TABLE_QUERY
from ketamine_ed_kg.server.run import LiveServer
from ketamine_ed_kg.server.state import EXTENSION, ServiceState
from support.server import Reply, request

SVG = "{http://www.w3.org/2000/svg}"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
TABLE_COLUMNS = ("study", "design", "sample", "diagnosis", "regimen", "outcome")


class _Page(HTMLParser):
    """The parts of the overview the tests read: the table's rows (cell texts and the study
    links), the sections' links and the pictures."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.study_links: list[str] = []
        self.links: dict[str, list[tuple[str, str]]] = {}  # section id -> (href, text)
        self.images: dict[str, dict[str, str]] = {}  # section id -> img attributes
        self._section = ""
        self._in_table1 = False
        self._cell: list[str] | None = None
        self._link: str | None = None
        self._link_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "section":
            self._section = found.get("id", "")
        if tag == "table" and self._section == "table1":
            self._in_table1 = True
        if self._in_table1 and tag == "tr":
            self.rows.append([])
        if self._in_table1 and tag in ("td", "th") and self.rows:
            self._cell = []
        if tag == "a":
            self._link, self._link_text = found.get("href", ""), ""
            if self._in_table1 and self.rows and not self.rows[-1] and self._cell is not None:
                self.study_links.append(self._link)
        if tag == "img":
            self.images[self._section] = found

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None
        if tag == "table":
            self._in_table1 = False
        if tag == "a" and self._link is not None:
            self.links.setdefault(self._section, []).append((self._link, self._link_text))
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._link is not None:
            self._link_text += data


def _page(server: LiveServer) -> _Page:
    reply = request(server.base + "/evidence", headers={"Accept": BROWSER})
    assert reply.status == 200, reply.text[:500]
    assert (reply.header("Content-Type") or "").startswith("text/html")
    page = _Page()
    page.feed(reply.text)
    return page


def _sparql(server: LiveServer, query: str) -> tuple[list[str], list[dict[str, str]]]:
    """Variables and rows (variable -> value) of a SELECT through ``/sparql``."""
    reply = request(server.endpoint + "?" + urlencode({"query": query}),
                    headers={"Accept": "application/sparql-results+json"})
    assert reply.status == 200, reply.text
    doc = json.loads(reply.body)
    rows = [{k: v["value"] for k, v in b.items()} for b in doc["results"]["bindings"]]
    return doc["head"]["vars"], rows


def _query(sources: ProjectPaths, name: str) -> str:
    return next(e for e in load_examples(sources.queries_dir) if e.name == name).query


def _provenance(page: _Page, section: str) -> tuple[str, str]:
    """The (editor, CSV) links of one section."""
    links = dict((text, href) for href, text in page.links.get(section, []))
    return links["open the query in the editor"], links["the answer as CSV"]


def test_table_is_what_sparql_says(live_server: LiveServer, sources: ProjectPaths) -> None:
    page = _page(live_server)
    _, expected = _sparql(live_server, _query(sources, TABLE_QUERY))
    assert len(expected) == 5
    header, *body = page.rows
    assert header[:6] == ["Study", "Design", "Sample", "Diagnosis", "Drug regimen", "Outcome"]
    assert [row[:6] for row in body] == [[r[c] for c in TABLE_COLUMNS] for r in expected]
    # Each study links to its page; each source cell gives the publication's DOI, if any.
    assert page.study_links == [
        "/resource/" + r["studyIri"].rsplit("/", 1)[-1] for r in expected]
    for row, r in zip(body, expected, strict=True):
        if "doi" in r:
            assert f"doi:{r['doi']}" in row[6]
        else:
            assert row[6] == "cited by the review only"


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_picture_is_named_svg_with_every_study(live_server: LiveServer, sources: ProjectPaths,
                                               name: str) -> None:
    chart = CHARTS[name]
    reply = request(f"{live_server.base}/evidence/{name}.svg")
    assert reply.status == 200
    assert (reply.header("Content-Type") or "").startswith("image/svg+xml")
    assert "default-src 'none'" in (reply.header("Content-Security-Policy") or "")
    root = ET.fromstring(reply.body)  # well-formed XML, else this raises
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    title, desc = root[0], root[1]
    assert title.tag == SVG + "title" and title.text == chart.title
    assert desc.tag == SVG + "desc" and desc.text
    assert root.get("aria-labelledby") == title.get("id")
    assert root.get("aria-describedby") == desc.get("id")
    texts = {el.text for el in root.iter(SVG + "text")}
    _, rows = _sparql(live_server, _query(sources, chart.query))
    names = {r["name"] for r in rows}
    assert len(names) >= 7
    assert names <= texts, f"studies missing from the picture: {names - texts}"
    for study in names:
        assert study in desc.text  # and in its description


def test_links_lead_to_the_query_and_its_csv(live_server: LiveServer,
                                             sources: ProjectPaths) -> None:
    page = _page(live_server)
    sections = {"table1": TABLE_QUERY, **{c.name: c.query for c in CHARTS.values()}}
    for section, name in sections.items():
        editor, csv_url = _provenance(page, section)
        # The editor, with exactly the example's query in its URL (YASGUI reads ?query=).
        parts = urlsplit(editor)
        assert parts.path == "/"
        query = parse_qs(parts.query)["query"]
        assert query == [_query(sources, name)]
        assert len(f"GET {editor} HTTP/1.1") <= live_server.app.extensions[
            EXTENSION].config.max_request_line, "the editor link is longer than a request line"
        opened = request(live_server.base + editor, headers={"Accept": BROWSER})
        assert opened.status == 200 and "editor-config" in opened.text
        # The CSV: the same rows as the query through /sparql.
        reply = request(live_server.base + csv_url)
        assert reply.status == 200
        assert (reply.header("Content-Type") or "").startswith("text/csv")
        table = list(csv.reader(io.StringIO(reply.text)))
        variables, rows = _sparql(live_server, query[0])
        assert table[0] == variables
        assert table[1:] == [[r.get(v, "") for v in variables] for r in rows]
        if section in page.images:  # a picture: it is the one drawn from this query
            assert page.images[section]["src"] == f"/evidence/{section}.svg"
            assert page.images[section]["alt"]


def test_figures_have_text_alternatives(live_server: LiveServer) -> None:
    text = request(live_server.base + "/evidence", headers={"Accept": BROWSER}).text
    for chart in CHARTS.values():
        start = text.index(f'<section id="{chart.name}"')
        section = text[start:text.index("</section>", start)]
        assert "<figcaption>" in section and "<details>" in section
        assert "Mills et al. 1998" in section and "/resource/mills-1998" in section


def test_overview_is_cached_once_per_version(live_server: LiveServer) -> None:
    first = {n: request(f"{live_server.base}/evidence/{n}.svg").body for n in CHARTS}
    for _ in range(3):
        request(live_server.base + "/evidence")
    again = {n: request(f"{live_server.base}/evidence/{n}.svg").body for n in CHARTS}
    assert first == again
    st: ServiceState = live_server.app.extensions[EXTENSION]
    keys = sorted(k for k in st.cache if k.startswith("evidence:"))
    assert keys == sorted([f"evidence:svg:{n}" for n in CHARTS]
                          + [f"evidence:rows:{q}" for q in
                             {TABLE_QUERY, *(c.query for c in CHARTS.values())}])


def test_unknown_picture(live_server: LiveServer) -> None:
    reply: Reply = request(live_server.base + "/evidence/no-such-picture.svg")
    assert reply.status == 404 and "no picture named" in reply.text


@pytest.mark.parametrize("path", ["/", "/resource/mills-1998", "/ontology"])
def test_pages_link_to_the_overview(live_server: LiveServer, path: str) -> None:
    reply = request(live_server.base + path, headers={"Accept": BROWSER})
    assert 'href="/evidence"' in reply.text


def test_drawing_names_the_picture_and_escapes() -> None:
    rows = [{"study": "https://w3id.org/ketamine-ed/resource/x", "name": "A <&> \"B\" et al.",
             "route": "intravenous", "lowestDose": 0.5, "highestDose": 1.0,
             "fewestSessions": None, "mostSessions": None}]
    picture = Picture(DOSE_SESSIONS.spec(rows), "T <1>", DOSE_SESSIONS.description(rows))
    [drawn] = draw([picture], timeout=600)
    root = ET.fromstring(drawn)
    assert root[0].text == "T <1>"
    assert "A <&> \"B\" et al." in {el.text for el in root.iter(SVG + "text")}
    assert "sessions not given" in (root[1].text or "")


def test_a_failed_drawing_is_reported() -> None:
    with pytest.raises(KedError, match="drawing the evidence pictures failed"):
        draw([Picture({"mark": "no-such-mark", "data": {"values": []}}, "t", "d")],
             timeout=600)


def test_the_service_process_never_starts_vega(live_server: LiveServer) -> None:
    """The pictures are drawn in a child process: the server's own memory stays small."""
    for name in CHARTS:
        assert request(f"{live_server.base}/evidence/{name}.svg").status == 200
    assert "vl_convert" not in sys.modules
