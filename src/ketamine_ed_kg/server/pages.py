"""Web pages for the IRIs the project mints (``/resource/<slug>``, ``/ontology/<Term>``).

A browser (an Accept preferring ``text/html``: :func:`ketamine_ed_kg.negotiation.prefers_html`)
gets a page rendered on the server, readable without JavaScript: label, definition, types,
every property (our IRIs link to our pages, other IRIs are external links), the incoming
links and the evidence: every ``kedo:Claim`` about the node, with its source document, the
quote's language and the verbatim quote. Machines keep getting RDF (``discovery``).

The data comes from internal SELECT queries run by the query processes (each under the
service's deadline). The only input placed in a query is the node's IRI, built from a slug
or term that ``discovery`` has matched against a strict pattern. A page that is the same for
every request (the ontology's documentation) is rendered once per graph version
(:func:`cached_page`).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Response, render_template, request, url_for

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
    """The URL of this service's page for one of our IRIs, an external IRI as it is (http and
    https only: never a ``javascript:`` link), None for anything else."""
    for ns in (KED, KEDO):
        local = iri[len(ns):]
        if iri.startswith(ns) and local and "/" not in local:
            if ns == KED:
                return url_for("discovery.resource", slug=local)
            return url_for("discovery.ontology_term", term=local)
    if iri == ONTOLOGY_IRI:
        return url_for("discovery.ontology")
    if iri.startswith(("http://", "https://")):
        return iri
    return None


def _term(binding: dict[str, Any] | None, label: dict[str, Any] | None = None) -> Term | None:
    if binding is None:
        return None
    kind = {"uri": "iri", "literal": "literal", "typed-literal": "literal"}.get(
        binding["type"], "bnode")
    return Term(binding["value"], kind, label["value"] if label else None,
                binding.get("xml:lang"), binding.get("datatype"))


def _rows(query: str) -> list[dict[str, Any]]:
    doc = state().fetch_json(query)
    rows: list[dict[str, Any]] = doc["results"]["bindings"]
    return rows


def _best_label(rows: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The English (or untagged) label among the rows, else any."""
    labels: list[dict[str, Any]] = [r[key] for r in rows if key in r]
    for wanted in ("en", None):
        for label in labels:
            if label.get("xml:lang") == wanted:
                return label
    return labels[0] if labels else None


def _grouped(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[tuple[str, ...],
                                                                        list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        ident = tuple(f"{row[k]['type']}|{row[k]['value']}|{row[k].get('xml:lang', '')}|"
                      f"{row[k].get('datatype', '')}" for k in keys)
        groups.setdefault(ident, []).append(row)
    return groups


def describe_node(iri: str) -> dict[str, Any]:
    """Everything the page of ``iri`` shows (``iri`` is validated by the caller)."""
    outgoing = _rows(f"""SELECT DISTINCT ?p ?o ?plabel ?olabel WHERE {{
  <{iri}> ?p ?o .
  OPTIONAL {{ ?p {_LABEL} ?plabel }}
  OPTIONAL {{ ?o {_LABEL} ?olabel }}
}}""")
    properties: list[tuple[Term, Term]] = []
    for rows in _grouped(outgoing, ("p", "o")).values():
        p = _term(rows[0]["p"], _best_label(rows, "plabel"))
        o = _term(rows[0]["o"], _best_label(rows, "olabel"))
        if p is not None and o is not None:
            properties.append((p, o))
    properties.sort(key=lambda po: (po[0].curie, po[1].text.lower()))

    def values(predicates: tuple[str, ...]) -> list[Term]:
        found = [o for p, o in properties if p.value in predicates and o.kind == "literal"]
        english = [o for o in found if o.lang in ("en", None)]
        return english or found

    labels = values(LABELS)
    definitions = values(DEFINITIONS)
    types = [o for p, o in properties if p.value == RDF_TYPE]

    incoming_rows = _rows(f"""SELECT DISTINCT ?s ?p ?slabel ?plabel WHERE {{
  ?s ?p <{iri}> .
  OPTIONAL {{ ?s {_LABEL} ?slabel }}
  OPTIONAL {{ ?p {_LABEL} ?plabel }}
}} LIMIT {INCOMING_LIMIT * 4}""")
    incoming: list[tuple[Term, Term]] = []
    for rows in _grouped(incoming_rows, ("s", "p")).values():
        s = _term(rows[0]["s"], _best_label(rows, "slabel"))
        p = _term(rows[0]["p"], _best_label(rows, "plabel"))
        if s is not None and p is not None:
            incoming.append((p, s))
    incoming.sort(key=lambda ps: (ps[0].curie, ps[1].text.lower()))

    return {
        "iri": iri,
        "curie": compact(iri),
        "label": labels[0].value if labels else compact(iri),
        "definitions": definitions,
        "types": types,
        "properties": properties,
        "incoming": incoming[:INCOMING_LIMIT],
        "incoming_truncated": len(incoming) > INCOMING_LIMIT,
        "claims": evidence(iri),
    }


def evidence(iri: str) -> list[Claim]:
    """The claims about ``iri`` (or ``iri`` itself, if it is a claim), with their sources."""
    rows = _rows(f"""SELECT DISTINCT ?claim ?quote ?source ?slabel ?doclang ?prop WHERE {{
  {{ ?claim kedo:about <{iri}> }} UNION {{ BIND(<{iri}> AS ?claim) }}
  ?claim a kedo:Claim ; kedo:quote ?quote ; kedo:source ?source .
  OPTIONAL {{ ?source rdfs:label ?slabel }}
  OPTIONAL {{ ?source dcterms:language ?doclang }}
  OPTIONAL {{ ?claim kedo:assertsProperty ?prop }}
}}""")
    claims: list[Claim] = []
    for group in _grouped(rows, ("claim",)).values():
        claim = _term(group[0]["claim"])
        source = _term(group[0]["source"], _best_label(group, "slabel"))
        if claim is None or source is None:
            continue
        lang = next((r["doclang"]["value"] for r in group if "doclang" in r), None)
        found = Claim(claim, source, lang)
        for row in group:
            quote = _term(row["quote"])
            if quote is not None and quote not in found.quotes:
                found.quotes.append(quote)
            prop = _term(row.get("prop"))
            if prop is not None and prop not in found.asserts:
                found.asserts.append(prop)
        claims.append(found)
    claims.sort(key=lambda c: (c.source.value, c.iri.value))
    return claims


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
    rows = _rows(f"""SELECT ?term ?kind ?label ?def WHERE {{
  GRAPH <{GRAPH_ONTOLOGY}> {{
    VALUES ?kind {{ {kinds} }}
    ?term a ?kind . FILTER(STRSTARTS(STR(?term), STR(kedo:)))
    OPTIONAL {{ ?term rdfs:label ?label }}
    OPTIONAL {{ ?term obo:IAO_0000115|skos:definition|rdfs:comment ?def }}
  }}
}}""")
    related = _rows(f"""SELECT ?term ?rel ?o ?olabel WHERE {{
  GRAPH <{GRAPH_ONTOLOGY}> {{
    VALUES ?rel {{ {" ".join(_RELATIONS)} }}
    ?term ?rel ?o . FILTER(isIRI(?o) && STRSTARTS(STR(?term), STR(kedo:)))
    FILTER(?o NOT IN ({", ".join(kind for _, _, kind in SECTIONS)}))
    OPTIONAL {{ ?o rdfs:label ?olabel }}
  }}
}}""")
    by_kind: dict[str, dict[str, Documented]] = {kind: {} for _, _, kind in SECTIONS}
    terms: dict[str, list[Documented]] = {}
    for group in _grouped(rows, ("term", "kind")).values():
        kind = compact(group[0]["kind"]["value"])
        term = _term(group[0]["term"], _best_label(group, "label"))
        if term is None or kind not in by_kind:
            continue
        definition = _best_label(group, "def")
        documented = Documented(term, definition["value"] if definition else None)
        by_kind[kind][term.value] = documented
        terms.setdefault(term.value, []).append(documented)
    for group in _grouped(related, ("term", "rel", "o")).values():
        target = _term(group[0]["o"], _best_label(group, "olabel"))
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


def send_page(render: Callable[[], str], *parts: object) -> Response:
    """An HTML page fixed by the graph version (and the templates): ETag, Last-Modified and
    304 as for the RDF; ``render`` runs only when the client's copy is not current."""
    st = state()
    etag = make_etag(st.version.tag, "html", _assets_digest(), request.script_root,
                     request.path, *parts)
    cached = conditional(etag, st.version.modified)
    if cached is not None:
        return cached
    return versioned(Response(render(), mimetype="text/html"), etag, st.version.modified)


PAGE_VARIANTS = 4
"""Rendered copies kept of a cached page: one per mount point (``SCRIPT_NAME``, which the
page's links start with) the service is reached under."""


def cached_page(key: str, render: Callable[[], str]) -> Callable[[], str]:
    """``render`` made to run once per graph version (the state's lifetime) and mount point, for
    a page that is the same for every request: the ontology's documentation (hundreds of terms,
    each a link) and the evidence overview. At most :data:`PAGE_VARIANTS` copies are kept."""

    def page() -> str:
        st = state()
        root = request.script_root
        with st.lock:
            copies: dict[str, str] = st.cache.setdefault(f"{key}:html", {})
            found = copies.get(root)
        if found is None:
            found = render()
            with st.lock:
                while len(copies) >= PAGE_VARIANTS:
                    copies.pop(next(iter(copies)))
                copies[root] = found
        return found

    return page


def render_ontology(turtle_url: str) -> Response:
    """The ontology's documentation page (its IRI, for a browser), rendered once."""
    return send_page(cached_page("ontology", lambda: render_template(
        "ontology.html", doc=document_ontology(), turtle_url=turtle_url)))


def render_node(iri: str, turtle_url: str) -> Response:
    """The HTML page of one of our IRIs."""
    return send_page(lambda: render_template("resource.html", node=describe_node(iri),
                                             turtle_url=turtle_url))


__all__ = ["PAGE_VARIANTS", "SECTIONS", "Claim", "Documented", "Term", "cached_page",
           "describe_node",
           "document_ontology", "evidence", "local_href", "render_node", "render_ontology",
           "send_page"]
