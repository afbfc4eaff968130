"""Web pages for the IRIs the project mints (``/resource/<slug>``, ``/ontology/<Term>``).

A browser (an Accept preferring ``text/html``: :func:`ketamine_ed_kg.negotiation.prefers_html`)
gets a page rendered on the server, readable without JavaScript: label, definition, types,
every property (our IRIs link to our pages, other IRIs are external links), the incoming
links and the evidence: every ``kedo:Claim`` about the node, with its source document, the
quote's language and the verbatim quote. Machines keep getting RDF (``discovery``).

The data comes from internal SELECT queries run by the query processes (each under the
service's deadline). The only input placed in a query is the node's IRI, built from a slug
or term that ``discovery`` has matched against a strict pattern.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Response, render_template, request
from rdflib import Graph

from ..iris import BASE, GRAPH_ONTOLOGY, ONTOLOGY_IRI, PREFIXES, compact
from .http import conditional, make_etag, versioned
from .state import state

KED = PREFIXES["ked"]
KEDO = PREFIXES["kedo"]
RDF_TYPE = PREFIXES["rdf"] + "type"
LABELS = (PREFIXES["rdfs"] + "label", PREFIXES["skos"] + "prefLabel",
          PREFIXES["dcterms"] + "title")
DEFINITIONS = (PREFIXES["skos"] + "definition", "http://purl.obolibrary.org/obo/IAO_0000115",
               PREFIXES["dcterms"] + "description", PREFIXES["rdfs"] + "comment")
VOID = PREFIXES["void"]
VOID_STATISTICS = tuple(VOID + name for name in (
    "triples", "entities", "distinctSubjects", "distinctObjects", "classes", "properties"))
"""The VoID counts a dataset's or a graph's page shows as its statistics."""
INCOMING_LIMIT = 500
"""At most this many incoming links on a page (the RDF has them all)."""

_LABEL = "rdfs:label|skos:prefLabel"


@dataclass
class Term:
    """One RDF term as a page shows it."""

    value: str
    kind: str  # "iri", "literal" or "bnode"
    label: str | None = None
    lang: str | None = None
    datatype: str | None = None

    @property
    def href(self) -> str | None:
        """Where a link to the term goes: our page for our IRIs, the IRI for other web IRIs."""
        return local_href(self.value) if self.kind == "iri" else None

    @property
    def external(self) -> bool:
        return self.kind == "iri" and not self.value.startswith(BASE)

    @property
    def curie(self) -> str:
        return compact(self.value) if self.kind == "iri" else self.value

    @property
    def text(self) -> str:
        """What the page shows: the label, else the compact IRI, else the literal."""
        if self.kind == "iri":
            return self.label or self.curie
        return self.value


@dataclass
class Claim:
    """A claim about the node: quotes with their language, its source and what it asserts."""

    iri: Term
    source: Term
    source_language: str | None = None
    quotes: list[Term] = field(default_factory=list)
    asserts: list[Term] = field(default_factory=list)


def local_href(iri: str) -> str | None:
    """The URL of this service's page for one of our IRIs (every IRI under ``BASE`` is served
    at the same path here: ``/resource/<slug>``, ``/graph/asserted``, ``/query/<name>``, ...),
    an external IRI as it is (http and https only: never a ``javascript:`` link), None for
    anything else."""
    if iri.startswith(BASE):
        return request.script_root + "/" + quote(iri[len(BASE):], safe="/#~._-")
    if iri.startswith(("http://", "https://")):
        return iri
    return None


def to_term(binding: dict[str, Any] | None, label: dict[str, Any] | None = None) -> Term | None:
    if binding is None:
        return None
    kind = {"uri": "iri", "literal": "literal", "typed-literal": "literal"}.get(
        binding["type"], "bnode")
    return Term(binding["value"], kind, label["value"] if label else None,
                binding.get("xml:lang"), binding.get("datatype"))


Rows = Callable[[str], list[dict[str, Any]]]
"""Where a page's SELECTs run: the store (:func:`store_rows`) or a small rdflib graph
(:func:`graph_rows`); both answer with SPARQL JSON bindings, so one page code reads both."""


def store_rows(query: str) -> list[dict[str, Any]]:
    """The bindings of an internal SELECT on the store (in a query process)."""
    doc = state().fetch_json(query)
    rows: list[dict[str, Any]] = doc["results"]["bindings"]
    return rows


def graph_rows(graph: Graph) -> Rows:
    """Run a page's SELECTs on ``graph`` instead (a description the server builds, or the
    shapes, which are not in the store), with the project's prefixes."""

    def run(query: str) -> list[dict[str, Any]]:
        written = graph.query(query, initNs=PREFIXES).serialize(format="json")
        rows: list[dict[str, Any]] = json.loads(written or b"{}")["results"]["bindings"]
        return rows

    return run



def _best_label(rows: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The English (or untagged) label among the rows, else any."""
    labels: list[dict[str, Any]] = [r[key] for r in rows if key in r]
    for wanted in ("en", None):
        for label in labels:
            if label.get("xml:lang") == wanted:
                return label
    return labels[0] if labels else None


def grouped(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[tuple[str, ...],
                                                                        list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        ident = tuple(f"{row[k]['type']}|{row[k]['value']}|{row[k].get('xml:lang', '')}|"
                      f"{row[k].get('datatype', '')}" for k in keys)
        groups.setdefault(ident, []).append(row)
    return groups


def _links(iri: str, rows: Rows, incoming: bool) -> list[tuple[Term, Term]]:
    """The (property, value) pairs of ``iri``: its outgoing properties, or the nodes linking to
    it (``incoming``), with labels, sorted by property then text."""
    other = "s" if incoming else "o"
    pattern = f"?s ?p <{iri}>" if incoming else f"<{iri}> ?p ?o"
    limit = f"LIMIT {INCOMING_LIMIT * 4}" if incoming else ""
    found = rows(f"""SELECT DISTINCT ?p ?{other} ?plabel ?{other}label WHERE {{
  {pattern} .
  OPTIONAL {{ ?p {_LABEL} ?plabel }}
  OPTIONAL {{ ?{other} {_LABEL} ?{other}label }}
}} {limit}""")
    pairs: list[tuple[Term, Term]] = []
    for group in grouped(found, ("p", other)).values():
        p = to_term(group[0]["p"], _best_label(group, "plabel"))
        o = to_term(group[0][other], _best_label(group, other + "label"))
        if p is not None and o is not None:
            pairs.append((p, o))
    pairs.sort(key=lambda po: (po[0].curie, po[1].text.lower()))
    return pairs


def describe_node(iri: str, rows: Rows = store_rows) -> dict[str, Any]:
    """Everything the page of ``iri`` shows (``iri`` is validated by the caller)."""
    properties = _links(iri, rows, incoming=False)

    def values(predicates: tuple[str, ...]) -> list[Term]:
        found = [o for p, o in properties if p.value in predicates and o.kind == "literal"]
        english = [o for o in found if o.lang in ("en", None)]
        return english or found

    labels = values(LABELS)
    incoming = _links(iri, rows, incoming=True)
    return {
        "iri": iri,
        "curie": compact(iri),
        "label": labels[0].value if labels else compact(iri),
        "definitions": values(DEFINITIONS),
        "types": [o for p, o in properties if p.value == RDF_TYPE],
        "properties": properties,
        "incoming": incoming[:INCOMING_LIMIT],
        "incoming_truncated": len(incoming) > INCOMING_LIMIT,
        "claims": evidence(iri, rows),
        "statistics": [(p, o) for p, o in properties if p.value in VOID_STATISTICS],
        "partitions": partitions(iri, rows),
        "downloads": [o for p, o in properties if p.value == VOID + "dataDump"],
    }


def evidence(iri: str, run: Rows = store_rows) -> list[Claim]:
    """The claims about ``iri`` (or ``iri`` itself, if it is a claim), with their sources."""
    rows = run(f"""SELECT DISTINCT ?claim ?quote ?source ?slabel ?doclang ?prop WHERE {{
  {{ ?claim kedo:about <{iri}> }} UNION {{ BIND(<{iri}> AS ?claim) }}
  ?claim a kedo:Claim ; kedo:quote ?quote ; kedo:source ?source .
  OPTIONAL {{ ?source rdfs:label ?slabel }}
  OPTIONAL {{ ?source dcterms:language ?doclang }}
  OPTIONAL {{ ?claim kedo:assertsProperty ?prop }}
}}""")
    claims: list[Claim] = []
    for group in grouped(rows, ("claim",)).values():
        claim = to_term(group[0]["claim"])
        source = to_term(group[0]["source"], _best_label(group, "slabel"))
        if claim is None or source is None:
            continue
        lang = next((r["doclang"]["value"] for r in group if "doclang" in r), None)
        found = Claim(claim, source, lang)
        for row in group:
            said = to_term(row["quote"])
            if said is not None and said not in found.quotes:
                found.quotes.append(said)
            prop = to_term(row.get("prop"))
            if prop is not None and prop not in found.asserts:
                found.asserts.append(prop)
        claims.append(found)
    claims.sort(key=lambda c: (c.source.value, c.iri.value))
    return claims


@dataclass
class Partition:
    """One class (instances) or property (triples) partition of a VoID dataset or graph."""

    term: Term
    count: int


def partitions(iri: str, rows: Rows = store_rows) -> dict[str, list[Partition]]:
    """The VoID class and property partitions of ``iri`` (none for anything but a
    ``void:Dataset``), largest first."""
    found = rows(f"""SELECT ?kind ?item ?n ?label WHERE {{
  {{ <{iri}> void:classPartition ?part . ?part void:class ?item ; void:entities ?n .
     BIND("classes" AS ?kind) }}
  UNION
  {{ <{iri}> void:propertyPartition ?part . ?part void:property ?item ; void:triples ?n .
     BIND("properties" AS ?kind) }}
  OPTIONAL {{ ?item {_LABEL} ?label }}
}}""")
    out: dict[str, list[Partition]] = {"classes": [], "properties": []}
    for group in grouped(found, ("kind", "item")).values():
        item = to_term(group[0]["item"], _best_label(group, "label"))
        if item is not None:
            out[group[0]["kind"]["value"]].append(Partition(item, int(group[0]["n"]["value"])))
    for parts in out.values():
        parts.sort(key=lambda part: (-part.count, part.term.curie))
    return out


SECTIONS = (
    ("classes", "Classes", "owl:Class"),
    ("object-properties", "Object properties", "owl:ObjectProperty"),
    ("datatype-properties", "Datatype properties", "owl:DatatypeProperty"),
    ("annotation-properties", "Annotation properties", "owl:AnnotationProperty"),
    ("individuals", "Individuals (value sets)", "owl:NamedIndividual"),
)
"""The sections of the ontology's page: anchor, heading and the OWL type of their terms."""

_RELATIONS = {"rdfs:subClassOf": "subclass of", "rdfs:subPropertyOf": "subproperty of",
              "rdfs:domain": "domain", "rdfs:range": "range", "rdf:type": "type"}


@dataclass
class Documented:
    """One ontology term on the ontology's page."""

    term: Term
    definition: str | None = None
    relations: dict[str, list[Term]] = field(default_factory=dict)


def document_ontology() -> dict[str, Any]:
    """The ontology's terms by section, with definitions, parents, domains and ranges."""
    kinds = " ".join(kind for _, _, kind in SECTIONS)
    rows = store_rows(f"""SELECT ?term ?kind ?label ?def WHERE {{
  GRAPH <{GRAPH_ONTOLOGY}> {{
    VALUES ?kind {{ {kinds} }}
    ?term a ?kind . FILTER(STRSTARTS(STR(?term), STR(kedo:)))
    OPTIONAL {{ ?term rdfs:label ?label }}
    OPTIONAL {{ ?term obo:IAO_0000115|skos:definition|rdfs:comment ?def }}
  }}
}}""")
    related = store_rows(f"""SELECT ?term ?rel ?o ?olabel WHERE {{
  GRAPH <{GRAPH_ONTOLOGY}> {{
    VALUES ?rel {{ {" ".join(_RELATIONS)} }}
    ?term ?rel ?o . FILTER(isIRI(?o) && STRSTARTS(STR(?term), STR(kedo:)))
    FILTER(?o NOT IN ({", ".join(kind for _, _, kind in SECTIONS)}))
    OPTIONAL {{ ?o rdfs:label ?olabel }}
  }}
}}""")
    by_kind: dict[str, dict[str, Documented]] = {kind: {} for _, _, kind in SECTIONS}
    terms: dict[str, list[Documented]] = {}
    for group in grouped(rows, ("term", "kind")).values():
        kind = compact(group[0]["kind"]["value"])
        term = to_term(group[0]["term"], _best_label(group, "label"))
        if term is None or kind not in by_kind:
            continue
        definition = _best_label(group, "def")
        documented = Documented(term, definition["value"] if definition else None)
        by_kind[kind][term.value] = documented
        terms.setdefault(term.value, []).append(documented)
    for group in grouped(related, ("term", "rel", "o")).values():
        target = to_term(group[0]["o"], _best_label(group, "olabel"))
        name = _RELATIONS[compact(group[0]["rel"]["value"])]
        for documented in terms.get(group[0]["term"]["value"], ()):
            if target is not None:
                documented.relations.setdefault(name, []).append(target)
    sections = []
    for anchor, heading, kind in SECTIONS:
        found = sorted(by_kind[kind].values(), key=lambda d: d.term.text.lower())
        for documented in found:
            for targets in documented.relations.values():
                targets.sort(key=lambda t: t.text.lower())
        sections.append({"anchor": anchor, "heading": heading, "terms": found})
    return {"ontology": describe_node(ONTOLOGY_IRI), "sections": sections}


@functools.cache
def _assets_digest() -> str:
    """A digest of the templates and static files: a page's ETag changes with them too."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted([*(here / "templates").iterdir(), *(here / "static").iterdir()]):
        if path.is_file():
            digest.update(path.name.encode() + b"\x00" + path.read_bytes())
    return digest.hexdigest()


PAGE_CACHE = 256
"""Rendered pages kept per HTTP process (by ETag; a page is a few to a hundred KiB)."""


def send_page(render: Callable[[], str], *parts: object) -> Response:
    """An HTML page fixed by the graph version (and the templates): ETag, Last-Modified and
    304 as for the RDF. ``render`` runs only when neither the client nor this process has the
    page: everything that shapes it is in its ETag, so the rendered text is kept by ETag (the
    last :data:`PAGE_CACHE` pages)."""
    st = state()
    etag = make_etag(st.version.tag, "html", _assets_digest(), request.script_root,
                     request.path, *parts)
    cached = conditional(etag, st.version.modified)
    if cached is not None:
        return cached
    with st.lock:
        pages: OrderedDict[str, str] = st.cache.setdefault("pages", OrderedDict())
        text = pages.get(etag)
        if text is not None:
            pages.move_to_end(etag)
    if text is None:
        text = render()
        with st.lock:
            pages[etag] = text
            while len(pages) > PAGE_CACHE:
                pages.popitem(last=False)
    return versioned(Response(text, mimetype="text/html"), etag, st.version.modified)


ALTERNATES = (("turtle", "text/turtle", "Turtle"), ("jsonld", "application/ld+json", "JSON-LD"),
              ("rdfxml", "application/rdf+xml", "RDF/XML"),
              ("nt", "application/n-triples", "N-Triples"))
"""The RDF representations every page links to (``format=`` name, media type, label), in the
``Link: rel="alternate"`` header and in the page itself."""


def alternates() -> list[tuple[str, str, str]]:
    """(URL, media type, label) of each RDF representation of the requested IRI."""
    here = f"{request.script_root}{request.path}"
    return [(f"{here}?format={name}", media, label) for name, media, label in ALTERNATES]


def render_ontology(turtle_url: str) -> Response:
    """The ontology's documentation page (its IRI, for a browser)."""
    return send_page(lambda: render_template("ontology.html", doc=document_ontology(),
                                             turtle_url=turtle_url, alternates=alternates()))


def render_node(iri: str, turtle_url: str, rows: Rows = store_rows,
                extra: Callable[[], dict[str, Any]] | None = None,
                parts: tuple[object, ...] = ()) -> Response:
    """The HTML page of one of our IRIs. ``rows`` says where its SELECTs run, ``extra`` adds
    what one family shows besides (a query's answer, a shape's constraints), ``parts`` whatever
    else shapes the page (for its ETag)."""

    def render() -> str:
        context = {"node": describe_node(iri, rows), "turtle_url": turtle_url,
                   "alternates": alternates(), **(extra() if extra else {})}
        return render_template("resource.html", **context)

    return send_page(render, *parts)


def render_not_found(message: str) -> Response:
    """The 404 page for a browser: what was not found, and where to go instead."""
    response = Response(render_template("404.html", message=message, path=request.path),
                        status=404, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept")
    return response


__all__ = ["ALTERNATES", "PAGE_CACHE", "SECTIONS", "VOID_STATISTICS", "Claim", "Documented",
           "Partition", "Rows", "Term", "alternates", "describe_node", "document_ontology",
           "evidence", "graph_rows", "grouped", "local_href", "partitions", "render_node",
           "render_not_found", "render_ontology", "send_page", "store_rows", "to_term"]
