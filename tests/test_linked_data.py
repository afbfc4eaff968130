"""Linked Data for the IRI families beyond resources and ontology terms: the named graphs, the
dataset (and its linksets and external datasets), the SHACL shapes and the example queries.
HTML for a browser, RDF for everything else (Turtle, JSON-LD, RDF/XML, N-Triples), with
``Vary: Accept``, ``Link: rel="alternate"`` and ``Content-Location`` (the IRI convention: 200
with Content-Location); the 404 page a browser gets for anything unknown."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from ketamine_ed_kg.iris import BASE, GRAPH_ASSERTED, SHAPES_NS
from ketamine_ed_kg.namespaces import SD, SH, VOID
from ketamine_ed_kg.server.run import LiveServer
from support.server import request

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
RDF_TYPES = (("text/turtle", ox.RdfFormat.TURTLE, "turtle"),
             ("application/ld+json", ox.RdfFormat.JSON_LD, "jsonld"),
             ("application/rdf+xml", ox.RdfFormat.RDF_XML, "rdfxml"),
             ("application/n-triples", ox.RdfFormat.N_TRIPLES, "nt"))
"""Accept, the format to parse (pyoxigraph's parsers: rdflib's JSON-LD parser warns on this
Python), and the ``format=`` name in Content-Location."""
PATHS = ("graph/asserted", "graph/inferred", "graph/ontology", "graph/void", "graph/examples",
         "graph/service-description", "dataset", "external/mondo", "shapes/StudyShape",
         "query/001_table1_ketamine_studies")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def _hrefs(text: str) -> list[str]:
    page = _Page()
    page.feed(text)
    return page.hrefs


def _check_headers(path: str, reply_link: str | None, vary: str | None) -> None:
    assert "Accept" in (vary or "")
    link = reply_link or ""
    for fmt, media in (("turtle", "text/turtle"), ("jsonld", "application/ld+json"),
                       ("rdfxml", "application/rdf+xml"), ("nt", "application/n-triples"),
                       ("html", "text/html")):
        assert f'</{path}?format={fmt}>; rel="alternate"; type="{media}"' in link, link


@pytest.mark.parametrize("path", PATHS)
def test_html_for_a_browser(live_server: LiveServer, path: str) -> None:
    reply = request(f"{live_server.base}/{path}", headers={"Accept": BROWSER})
    assert reply.status == 200, reply.text[:300]
    assert (reply.header("Content-Type") or "").startswith("text/html")
    _check_headers(path, reply.header("Link"), reply.header("Vary"))
    assert reply.header("Content-Location") == f"/{path}?format=html"
    assert 'id="label"' in reply.text and BASE + path in reply.text
    hrefs = _hrefs(reply.text)
    assert f"/{path}?format=turtle" in hrefs  # the page links to its RDF
    assert not any(h.startswith(BASE) for h in hrefs)  # our IRIs link to this service


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("accept", "parser", "name"), RDF_TYPES)
def test_rdf_for_a_machine(live_server: LiveServer, path: str, accept: str,
                           parser: ox.RdfFormat, name: str) -> None:
    reply = request(f"{live_server.base}/{path}", headers={"Accept": accept})
    assert reply.status == 200, reply.text[:300]
    assert (reply.header("Content-Type") or "").startswith(accept)
    _check_headers(path, reply.header("Link"), reply.header("Vary"))
    assert reply.header("Content-Location") == f"/{path}?format={name}"
    subjects = {t.subject for t in ox.parse(reply.body, format=parser)}
    assert ox.NamedNode(BASE + path) in subjects


@pytest.mark.parametrize("path", ["graph/asserted", "shapes/StudyShape", "dataset"])
def test_format_parameter_and_default(live_server: LiveServer, path: str) -> None:
    named = request(f"{live_server.base}/{path}?format=jsonld", headers={"Accept": BROWSER})
    assert (named.header("Content-Type") or "").startswith("application/ld+json")
    assert named.header("Content-Location") == f"/{path}?format=jsonld"
    json.loads(named.text)
    for accept in (None, "*/*"):  # curl's default: RDF (Turtle), never the page
        reply = request(f"{live_server.base}/{path}",
                        headers={"Accept": accept} if accept else None)
        assert (reply.header("Content-Type") or "").startswith("text/turtle")


def test_graph_description_and_content(live_server: LiveServer) -> None:
    """A named graph's IRI gives its description; its void:dataDump links give its content."""
    reply = request(f"{live_server.base}/graph/asserted", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=reply.text, format="turtle")
    node = URIRef(GRAPH_ASSERTED)
    assert (node, RDF.type, SD.Graph) in graph and (node, RDF.type, VOID.Dataset) in graph
    triples = graph.value(node, VOID.triples)
    assert isinstance(triples, Literal) and triples.datatype == XSD.integer
    # The same count as the service description states for the graph.
    sd = request(live_server.endpoint, headers={"Accept": "text/turtle"})
    stated = Graph().parse(data=sd.text, format="turtle")
    named = next(stated.subjects(SD.name, node))
    assert stated.value(stated.value(named, SD.graph), VOID.triples) == triples
    dumps = sorted(str(d) for d in graph.objects(node, VOID.dataDump))
    assert len(dumps) == 4
    turtle = next(d for d in dumps if d.endswith("format=ttl"))
    content = request(turtle)
    assert content.status == 200
    assert len(Graph().parse(data=content.text, format="turtle")) == int(triples)
    assert (node, VOID.classPartition, None) in graph
    page = request(f"{live_server.base}/graph/asserted", headers={"Accept": BROWSER}).text
    assert 'id="statistics"' in page and 'id="downloads"' in page and "kedo:Claim" in page


def test_unknown_graph(live_server: LiveServer) -> None:
    assert request(f"{live_server.base}/graph/nope").status == 404


def test_dataset_page_lists_graphs(live_server: LiveServer) -> None:
    page = request(f"{live_server.base}/dataset", headers={"Accept": BROWSER}).text
    hrefs = _hrefs(page)
    for name in ("asserted", "inferred", "ontology", "void", "examples", "service-description"):
        assert f"/graph/{name}" in hrefs
    assert "/external/mondo" in " ".join(hrefs) or "/dataset/linkset/" in " ".join(hrefs)
    linkset = next(h for h in hrefs if h.startswith("/dataset/linkset/"))
    assert request(live_server.base + linkset, headers={"Accept": BROWSER}).status == 200


def test_shape_page(live_server: LiveServer) -> None:
    reply = request(f"{live_server.base}/shapes/StudyShape", headers={"Accept": BROWSER})
    text = reply.text
    assert 'id="shape"' in text and "sh:targetClass" in text
    assert "/ontology/Study" in _hrefs(text)  # the target class, on our page
    assert "/ontology/hasDesign" in _hrefs(text)  # a property constraint's path
    assert "/ontology/CaseReportDesign" in _hrefs(text)  # a member of its sh:in list
    rdf = Graph().parse(data=request(f"{live_server.base}/shapes/StudyShape",
                                     headers={"Accept": "text/turtle"}).text, format="turtle")
    shape = URIRef(SHAPES_NS + "StudyShape")
    assert (shape, RDF.type, SH.NodeShape) in rdf
    assert len(list(rdf.objects(shape, SH.property))) > 3
    assert all((p, SH.path, None) in rdf for p in rdf.objects(shape, SH.property))
    assert request(f"{live_server.base}/shapes/NoSuchShape").status == 404


def test_query_page(live_server: LiveServer) -> None:
    reply = request(f"{live_server.base}/query/001_table1_ketamine_studies",
                    headers={"Accept": BROWSER})
    text = reply.text
    assert 'id="query"' in text and "kedo:HumanStudy" in text  # the text
    assert any(h.startswith("/?query=") for h in _hrefs(text))  # open it in the editor
    assert "Mills et al." in text  # its answer
    ask = request(f"{live_server.base}/query/028_any_ketamine_study_in_binge_eating_disorder",
                  headers={"Accept": BROWSER})
    assert ask.status == 200 and 'class="boolean"' in ask.text
    assert request(f"{live_server.base}/query/no_such_query").status == 404


@pytest.mark.parametrize("path", ["/graph/asserted", "/shapes/StudyShape",
                                  "/query/001_table1_ketamine_studies", "/dataset"])
def test_pages_are_conditional(live_server: LiveServer, path: str) -> None:
    first = request(live_server.base + path, headers={"Accept": BROWSER})
    etag = first.header("ETag")
    assert first.status == 200 and etag
    again = request(live_server.base + path, headers={"Accept": BROWSER, "If-None-Match": etag})
    assert again.status == 304


@pytest.mark.parametrize("path", ["/nope", "/resource/no-such-thing", "/graph/nope",
                                  "/shapes/Nope", "/query/nope", "/ontology/NoSuchTerm"])
def test_not_found_page_for_a_browser(live_server: LiveServer, path: str) -> None:
    page = request(live_server.base + path, headers={"Accept": BROWSER})
    assert page.status == 404
    assert (page.header("Content-Type") or "").startswith("text/html")
    assert "Accept" in (page.header("Vary") or "")
    assert f"<code>{path}</code>" in page.text
    hrefs = _hrefs(page.text)
    assert "/" in hrefs and "/ontology" in hrefs
    for accept in (None, "*/*", "text/turtle", "application/json"):
        plain = request(live_server.base + path, headers={"Accept": accept} if accept else None)
        assert plain.status == 404
        assert (plain.header("Content-Type") or "").startswith("text/plain")
