"""The first screen over plain HTTP: the editor at ``/`` (and at a browser's bare
``/sparql``), the YASGUI files, and the HTML/RDF negotiation of the IRIs we mint."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from rdflib import Graph, URIRef

from ketamine_ed_kg.iris import PREFIXES
from ketamine_ed_kg.negotiation import prefers_html
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.server.run import LiveServer
from support.server import Reply, request

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
KED = PREFIXES["ked"]
KEDO = PREFIXES["kedo"]


class _Links(HTMLParser):
    """The hrefs of a page and the text of its elements with a given class."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.scripts: list[str] = []
        self._in_config = False
        self.config = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.hrefs.append(str(found["href"]))
        if tag == "script" and found.get("src"):
            self.scripts.append(str(found["src"]))
        self._in_config = tag == "script" and found.get("id") == "editor-config"

    def handle_endtag(self, tag: str) -> None:
        self._in_config = False

    def handle_data(self, data: str) -> None:
        if self._in_config:
            self.config += data


def _parse(reply: Reply) -> _Links:
    parser = _Links()
    parser.feed(reply.text)
    return parser


@pytest.mark.parametrize(("accept", "fmt", "html"), [
    (BROWSER, None, True),
    ("text/html", None, True),
    (None, None, False),
    ("*/*", None, False),
    ("text/turtle", None, False),
    ("text/turtle, text/html;q=0.5", None, False),
    ("text/html;q=0.5, text/turtle", None, False),
    (BROWSER, "turtle", False),
    ("text/turtle", "html", True),
])
def test_prefers_html(accept: str | None, fmt: str | None, html: bool) -> None:
    assert prefers_html(accept, fmt) is html


def test_editor_page(live_server: LiveServer, sources: ProjectPaths) -> None:
    reply = request(live_server.base + "/", headers={"Accept": BROWSER})
    assert reply.status == 200
    assert (reply.header("Content-Type") or "").startswith("text/html")
    page = _parse(reply)
    config = json.loads(page.config)
    assert config["endpoint"] == "/sparql"
    assert config["prefixes"] == PREFIXES
    examples = config["examples"]
    assert len(examples) == len(list(sources.queries_dir.glob("*.ttl")))
    assert all(e["title"] and e["comment"] and e["query"] for e in examples)
    assert "/assets/yasgui/yasgui.min.js" in page.scripts
    for name, media in (("yasgui.min.js", "javascript"), ("yasgui.min.css", "text/css")):
        asset = request(live_server.base + f"/assets/yasgui/{name}")
        assert asset.status == 200, asset.text[:200]
        assert media in (asset.header("Content-Type") or "")
    assert request(live_server.base + "/assets/yasgui/package.json").status == 404
    assert request(live_server.base + "/assets/yasgui/..%2Fpackage.json").status == 404


def test_bare_sparql_browser_gets_editor(live_server: LiveServer) -> None:
    page = request(live_server.endpoint, headers={"Accept": BROWSER})
    assert page.status == 200
    assert (page.header("Content-Type") or "").startswith("text/html")
    assert "Accept" in (page.header("Vary") or "")
    assert json.loads(_parse(page).config)["endpoint"] == "/sparql"
    for accept in (None, "*/*", "text/turtle"):
        sd = request(live_server.endpoint, headers={"Accept": accept} if accept else None)
        assert sd.status == 200
        assert not (sd.header("Content-Type") or "").startswith("text/html")
        assert "sparql-service-description" in sd.text
    # A browser running a query keeps today's behaviour (results, not the editor).
    ran = request(live_server.endpoint + "?query=ASK%7B%7D", headers={"Accept": BROWSER})
    assert ran.status == 200 and "true" in ran.text and "<html" not in ran.text


def test_resource_html(live_server: LiveServer) -> None:
    reply = request(live_server.base + "/resource/mills-1998", headers={"Accept": BROWSER})
    assert reply.status == 200
    assert (reply.header("Content-Type") or "").startswith("text/html")
    assert "Accept" in (reply.header("Vary") or "")
    assert (reply.header("Link") or "").startswith(
        '</resource/mills-1998?format=turtle>; rel="alternate"; type="text/turtle", ')
    assert reply.header("Content-Location") == "/resource/mills-1998?format=html"
    text = reply.text
    assert "Mills et al. 1998 case series" in text
    # The evidence: a verbatim quote, its source and its language.
    assert 'class="quote" lang="en"' in text
    assert "/resource/source-003" in text
    hrefs = _parse(reply).hrefs
    assert "/ontology/HumanStudy" in hrefs  # its type, on our page
    assert "/resource/mills-1998-group" in hrefs  # a property's value
    assert "https://doi.org/10.1093/qjmed/91.7.493" not in hrefs  # not on the study itself
    assert not any(h.startswith("https://w3id.org/ketamine-ed/") for h in hrefs)
    assert not any(h.startswith("javascript:") for h in hrefs)
    publication = request(live_server.base + "/resource/pub-mills-1998",
                          headers={"Accept": BROWSER})
    assert 'href="https://doi.org/10.1093/qjmed/91.7.493"' in publication.text  # external
    assert "/resource/mills-1998" in _parse(publication).hrefs  # incoming link


def test_ontology_term_html(live_server: LiveServer) -> None:
    reply = request(live_server.base + "/ontology/AtypicalAnorexiaNervosa",
                    headers={"Accept": BROWSER})
    assert reply.status == 200
    assert "/resource/mills-1998-dx-an" in _parse(reply).hrefs  # an instance links here


@pytest.mark.parametrize("accept", [None, "*/*", "text/turtle", "application/n-triples"])
def test_resource_rdf_unchanged(live_server: LiveServer, accept: str | None) -> None:
    reply = request(live_server.base + "/resource/mills-1998",
                    headers={"Accept": accept} if accept else None)
    assert reply.status == 200
    assert "html" not in (reply.header("Content-Type") or "")
    assert "Accept" in (reply.header("Vary") or "")
    assert 'rel="alternate"; type="text/turtle"' in (reply.header("Link") or "")
    fmt = "nt" if accept == "application/n-triples" else "turtle"
    graph = Graph().parse(data=reply.text, format=fmt)
    assert (URIRef(KED + "mills-1998"), None, None) in graph


def test_turtle_link_and_format(live_server: LiveServer) -> None:
    reply = request(live_server.base + "/resource/mills-1998?format=turtle",
                    headers={"Accept": BROWSER})
    assert reply.status == 200
    assert re.match(r"text/(turtle|plain)", reply.header("Content-Type") or "")
    Graph().parse(data=reply.text, format="turtle")
    html = request(live_server.base + "/resource/mills-1998?format=html")
    assert (html.header("Content-Type") or "").startswith("text/html")


def test_unknown_and_bad_iris(live_server: LiveServer) -> None:
    for path in ("/resource/no-such-thing", "/ontology/NoSuchTerm", "/resource/a%3Cb"):
        assert request(live_server.base + path, headers={"Accept": BROWSER}).status == 404


def test_ontology_documentation(live_server: LiveServer) -> None:
    reply = request(live_server.base + "/ontology", headers={"Accept": BROWSER})
    assert reply.status == 200
    assert (reply.header("Content-Type") or "").startswith("text/html")
    assert "Accept" in (reply.header("Vary") or "")
    text = reply.text
    assert "Ketamine in Eating Disorders Ontology" in text
    for anchor in ("classes", "object-properties", "datatype-properties", "individuals"):
        assert f'id="{anchor}"' in text
    hrefs = _parse(reply).hrefs
    assert "/ontology/HumanStudy" in hrefs and "/ontology/hasDesign" in hrefs
    assert 'id="kedo-AtypicalAnorexiaNervosa"' in text
    # A definition (IAO:0000115) and a superclass of a class.
    start = text.index('id="kedo-AtypicalAnorexiaNervosa"')
    entry = text[start:text.index("</dd>", start)]
    assert "subclass of" in entry and "/ontology/" in entry
    assert len(re.sub(r"<[^>]+>", "", entry)) > 60
    rdf = request(live_server.base + "/ontology", headers={"Accept": "text/turtle"})
    assert rdf.status == 200 and "html" not in (rdf.header("Content-Type") or "")
    Graph().parse(data=rdf.text, format="turtle")


@pytest.mark.parametrize("path", ["/", "/resource/mills-1998", "/ontology", "/evidence",
                                  "/evidence/dose-and-sessions.svg"])
def test_pages_are_conditional(live_server: LiveServer, path: str) -> None:
    first = request(live_server.base + path, headers={"Accept": BROWSER})
    etag = first.header("ETag")
    assert first.status == 200 and etag and first.header("Last-Modified")
    again = request(live_server.base + path, headers={"Accept": BROWSER, "If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    if path.startswith(("/resource/", "/ontology")):
        # an IRI of ours also has RDF; the editor and the overview have one representation
        rdf = request(live_server.base + path, headers={"Accept": "text/turtle"})
        assert rdf.header("ETag") != etag  # another representation
