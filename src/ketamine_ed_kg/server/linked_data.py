"""What the IRI families beyond resources and ontology terms need: named graphs, shapes and
example queries (the dataset IRI and its linksets are described in the store's VoID graph and
need nothing here).

* **A named graph** (``graph/asserted`` ...) dereferences to its *description*, not its
  content: a ``sd:Graph`` and ``void:Dataset`` with its title, what it holds, its VoID counts
  and class and property partitions (computed by one query per graph, once per process), the
  endpoint, and ``void:dataDump`` links that give its content, a ``CONSTRUCT`` of the graph
  through ``/sparql`` in each RDF format. A Linked Data client that follows an IRI expects
  triples about that IRI (the dataset's own VoID uses ``void:subset`` the same way); the
  content, thousands of triples that never mention the graph's IRI, is one link away.
* **A shape** (``kedsh:``) is not in the store (the store holds the data, not its checks): its
  triples come from ``shapes/*.ttl`` of the checkout (:func:`ketamine_ed_kg.loading.load_shapes`,
  the files ``validate`` runs), and the page's SELECTs run on that graph.
* **An example query** (``query/<name>``) is in the examples graph: its page adds the query's
  text, a link that opens it in the editor, and its answer (a SELECT or ASK run by a query
  process, under the service's deadline).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import request
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from ..iris import (
    GRAPH_ASSERTED,
    GRAPH_EXAMPLES,
    GRAPH_INFERRED,
    GRAPH_ONTOLOGY,
    GRAPH_SERVICE,
    GRAPH_VOID,
    SHAPES_NS,
)
from ..loading import load_shapes
from ..namespaces import SD, VOID
from ..paths import project_paths
from ..void import DATASET_IRI, LICENSE_DATA
from .pages import Rows, Term, graph_rows, grouped, to_term
from .state import state
from .urls import advertised_url

GRAPHS: dict[str, tuple[str, str]] = {
    GRAPH_ASSERTED: ("Asserted graph", "The curated triples (graph/*.ttl): studies, "
                     "participants, regimens, outcomes and the claims, each with its source "
                     "document and verbatim quote."),
    GRAPH_INFERRED: ("Inferred graph", "The closure materialised at build time from the "
                     "ontology and the asserted graph (subclass, subproperty and types); "
                     "infer=false leaves it out of a query's default graph."),
    GRAPH_ONTOLOGY: ("Ontology graph", "The OWL 2 DL ontology (ontology/ketamine-ed.ttl): "
                     "classes, properties and value-set individuals with their definitions."),
    GRAPH_VOID: ("VoID graph", "The VoID description of the dataset: counts, class and property "
                 "partitions, licence, version, citation and linksets to external datasets."),
    GRAPH_EXAMPLES: ("Examples graph", "The example queries (sh:SPARQLExecutable, as the SIB "
                     "sparql-examples convention states them) with titles and descriptions."),
    GRAPH_SERVICE: ("Service description graph", "The SPARQL 1.1 Service Description of the "
                    "public endpoint: formats, prefixes, named graphs and their sizes."),
}
"""Every named graph the build writes: its title and what it holds."""

DUMP_FORMATS = (("ttl", "Turtle"), ("jsonld", "JSON-LD"), ("rdf", "RDF/XML"),
                ("nt", "N-Triples"))
"""The formats a graph's content is linked in (``format=`` names, as the format table has)."""


def _graph_statistics() -> dict[str, dict[str, Any]]:
    """Per named graph: its VoID counts and partitions (read once per process: they change
    only with the release)."""
    st = state()
    with st.lock:
        cached: dict[str, dict[str, Any]] | None = st.cache.get("graph_statistics")
    if cached is not None:
        return cached
    stats: dict[str, dict[str, Any]] = {}
    counts = st.fetch_json("""SELECT ?g (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects)
  (COUNT(DISTINCT ?o) AS ?objects) (COUNT(DISTINCT ?p) AS ?properties)
WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g""")["results"]["bindings"]
    for row in counts:
        stats[row["g"]["value"]] = {
            key: int(row[key]["value"])
            for key in ("triples", "subjects", "objects", "properties")} | {
            "classes": {}, "property_triples": {}}
    for kind, query in (
            ("classes", "SELECT ?g ?item (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g "
                        "{ ?s a ?item } } GROUP BY ?g ?item"),
            ("property_triples", "SELECT ?g ?item (COUNT(*) AS ?n) WHERE { GRAPH ?g "
                                 "{ ?s ?item ?o } } GROUP BY ?g ?item")):
        for row in st.fetch_json(query)["results"]["bindings"]:
            if row["g"]["value"] in stats and row["item"]["type"] == "uri":
                stats[row["g"]["value"]][kind][row["item"]["value"]] = int(row["n"]["value"])
    with st.lock:
        st.cache["graph_statistics"] = stats
    return stats


def named_graphs() -> list[Term]:
    """The named graphs this store holds, as links with their titles."""
    held = state().graphs
    return [Term(iri, "iri", title) for iri, (title, _) in GRAPHS.items() if iri in held]


def graph_content_url(graph: str, fmt: str) -> str:
    """The (absolute, advertised) URL of ``graph``'s content in format ``fmt``: a CONSTRUCT
    through the SPARQL endpoint, so it is negotiated, capped and cached like any query."""
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    return advertised_url() + "?" + urlencode({"query": query, "format": fmt})


def describe_graph(graph: str) -> Graph | None:
    """The description of one of our named graphs (None if the store does not hold it)."""
    stats = _graph_statistics().get(graph)
    if graph not in GRAPHS or stats is None:
        return None
    title, text = GRAPHS[graph]
    g = Graph()
    node = URIRef(graph)
    g.add((node, RDF.type, SD.Graph))
    g.add((node, RDF.type, VOID.Dataset))
    g.add((node, RDFS.label, Literal(title, lang="en")))
    g.add((node, DCTERMS.description, Literal(text, lang="en")))
    g.add((node, DCTERMS.isPartOf, DATASET_IRI))
    g.add((DATASET_IRI, VOID.subset, node))
    g.add((node, DCTERMS.license, LICENSE_DATA))
    g.add((node, DCTERMS.hasVersion, Literal(state().version.version)))
    for key, prop in (("triples", VOID.triples), ("subjects", VOID.distinctSubjects),
                      ("objects", VOID.distinctObjects), ("properties", VOID.properties)):
        g.add((node, prop, Literal(stats[key], datatype=XSD.integer)))
    g.add((node, VOID.classes, Literal(len(stats["classes"]), datatype=XSD.integer)))
    for index, (cls, n) in enumerate(sorted(stats["classes"].items())):
        part = BNode(f"class-{index}")
        g.add((node, VOID.classPartition, part))
        g.add((part, VOID["class"], URIRef(cls)))
        g.add((part, VOID.entities, Literal(n, datatype=XSD.integer)))
    for index, (prop_iri, n) in enumerate(sorted(stats["property_triples"].items())):
        part = BNode(f"property-{index}")
        g.add((node, VOID.propertyPartition, part))
        g.add((part, VOID.property, URIRef(prop_iri)))
        g.add((part, VOID.triples, Literal(n, datatype=XSD.integer)))
    g.add((node, VOID.sparqlEndpoint, URIRef(advertised_url())))
    for fmt, _ in DUMP_FORMATS:
        g.add((node, VOID.dataDump, URIRef(graph_content_url(graph, fmt))))
    return g


def dump_label(url: str) -> str:
    """The name of a download's format, read from its URL (for the list on a page)."""
    for fmt, label in DUMP_FORMATS:
        if url.endswith((f"format={fmt}", f".{fmt}")):
            return label
    return url.rsplit(".", 1)[-1]


@functools.lru_cache(maxsize=2)
def shape_rows(digest: str) -> Rows:
    """The page SELECTs on the shapes of ``digest``, each answer kept (rdflib evaluates them
    in the HTTP process, in tenths of a second; the shapes change only with their files)."""
    return functools.lru_cache(maxsize=4096)(graph_rows(shapes()[0]))


def shapes() -> tuple[Graph, str]:
    """The shapes (``shapes/*.ttl``, parsed once per change of the files) and a digest of them,
    which a shape page's ETag includes: they are not part of the release."""
    files = project_paths().shape_files()
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\x00" + path.read_bytes())
    return load_shapes(project_paths()), digest.hexdigest()[:16]


@dataclass
class Constraint:
    """One property shape of a node shape: its path and its constraints."""

    path: Term
    constraints: list[tuple[Term, Term]] = field(default_factory=list)
    message: str | None = None


def _list_members(graph: Graph, binding: dict[str, Any]) -> list[Term | None]:
    """The members of the RDF list a blank node binding heads in ``graph`` (else none)."""
    if binding["type"] != "bnode":
        return []
    head = next((s for s in graph.subjects(RDF.first, None)
                 if isinstance(s, BNode) and str(s) == binding["value"]), None)
    if head is None:
        return []
    return [to_term({"type": "uri" if isinstance(m, URIRef) else "literal", "value": str(m)})
            for m in Collection(graph, head)]


def shape_details(iri: str, graph: Graph, rows: Rows) -> dict[str, Any]:
    """A shape's targets and property constraints (``rows`` runs on ``graph``, the shapes)."""
    targets = rows(f"""SELECT ?kind ?target ?label WHERE {{
  VALUES ?kind {{ sh:targetClass sh:targetNode sh:targetSubjectsOf sh:targetObjectsOf }}
  <{iri}> ?kind ?target . OPTIONAL {{ ?target rdfs:label ?label }}
}}""")
    found = rows(f"""SELECT ?ps ?path ?c ?v ?message WHERE {{
  <{iri}> sh:property ?ps . ?ps sh:path ?path .
  OPTIONAL {{ ?ps ?c ?v . FILTER(?c NOT IN (sh:path, sh:message, sh:property)) }}
  OPTIONAL {{ ?ps sh:message ?message . FILTER(LANGMATCHES(LANG(?message), "en")
                                              || LANG(?message) = "") }}
}}""")
    constraints: list[Constraint] = []
    for group in grouped(found, ("ps",)).values():
        path = to_term(group[0]["path"])
        if path is None:
            continue
        message = next((r["message"]["value"] for r in group if "message" in r), None)
        item = Constraint(path, message=message)
        for pair in grouped([r for r in group if "c" in r], ("c", "v")).values():
            # A list (sh:in, sh:or, ...) is shown as its members (rdflib's path evaluation
            # of rdf:rest*/rdf:first takes seconds here; the list is read directly instead).
            c = to_term(pair[0]["c"])
            members = _list_members(graph, pair[0]["v"])
            for value in members or [to_term(pair[0]["v"])]:
                if c is not None and value is not None and (c, value) not in item.constraints:
                    item.constraints.append((c, value))
        item.constraints.sort(key=lambda cv: (cv[0].curie, cv[1].text))
        constraints.append(item)
    constraints.sort(key=lambda c: c.path.curie)
    out: list[tuple[Term, Term]] = []
    for group in grouped(targets, ("kind", "target")).values():
        kind, target = to_term(group[0]["kind"]), to_term(group[0]["target"])
        label = next((r["label"] for r in group if "label" in r), None)
        if kind is not None and target is not None:
            target.label = label["value"] if label else None
            out.append((kind, target))
    return {"targets": sorted(out, key=lambda kt: (kt[0].curie, kt[1].curie)),
            "constraints": constraints}


def is_shape(iri: str) -> bool:
    """Whether ``iri`` is a subject of the shapes (a node shape, or a named property shape)."""
    return iri.startswith(SHAPES_NS) and (URIRef(iri), None, None) in shapes()[0]


QUERY_ROWS_SHOWN = 200
"""At most this many rows of an example's answer on its page (the editor runs it whole)."""


def query_details(iri: str) -> dict[str, Any] | None:
    """An example query's text, its editor link and its answer (None: ``iri`` is not one)."""
    st = state()
    found = st.fetch_json(f"""SELECT ?form ?text WHERE {{
  GRAPH <{GRAPH_EXAMPLES}> {{
    VALUES ?form {{ sh:select sh:ask sh:construct sh:describe }}
    <{iri}> ?form ?text }} }}""")["results"]["bindings"]
    if not found:
        return None
    form = found[0]["form"]["value"].rsplit("#", 1)[-1]
    text = found[0]["text"]["value"]
    details: dict[str, Any] = {
        "text": text, "form": form.upper(),
        "editor_href": f"{request.script_root}/?{urlencode({'query': text})}",
        "run_href": f"{request.script_root}/sparql?{urlencode({'query': text})}",
        "head": [], "rows": [], "boolean": None, "truncated": False, "error": None}
    if form in ("select", "ask"):
        doc = st.fetch_json(text)
        if "boolean" in doc:
            details["boolean"] = bool(doc["boolean"])
        else:
            head = list(doc["head"]["vars"])
            bindings = doc["results"]["bindings"]
            details["head"] = head
            details["rows"] = [[to_term(row.get(var)) for var in head]
                               for row in bindings[:QUERY_ROWS_SHOWN]]
            details["count"] = len(bindings)
            details["truncated"] = len(bindings) > QUERY_ROWS_SHOWN
    return details


def is_example(iri: str) -> bool:
    """Whether the examples graph describes ``iri`` (a query, a parameter, the prefixes)."""
    doc = state().fetch_json(f"ASK {{ GRAPH <{GRAPH_EXAMPLES}> {{ <{iri}> ?p ?o }} }}")
    return bool(doc.get("boolean"))


__all__ = ["DUMP_FORMATS", "GRAPHS", "QUERY_ROWS_SHOWN", "Constraint", "describe_graph",
           "dump_label", "graph_content_url", "is_example", "is_shape", "named_graphs",
           "query_details", "shape_details", "shape_rows", "shapes"]
