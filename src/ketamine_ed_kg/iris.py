"""The project's IRIs and prefixes as plain strings, importable without rdflib.

The query processes (the server, its zygote and workers, :mod:`ketamine_ed_kg.store`) need
the named-graph IRIs and the prefixes but never parse RDF with rdflib; importing rdflib would
add a third of a second and tens of megabytes to every one of them. So the strings live here,
and :mod:`ketamine_ed_kg.namespaces` wraps them in rdflib ``Namespace`` objects for the
pipeline (build, validate, reason). Each IRI is still written once.
"""

from __future__ import annotations

BASE = "https://w3id.org/ketamine-ed/"
ONTOLOGY_IRI = BASE + "ontology"

SHAPES_NS = BASE + "shapes/"
"""The shapes themselves (``kedsh:``); QC queries are named in it too. Not in :data:`PREFIXES`:
no release file holds a shape."""

GRAPH_ASSERTED = BASE + "graph/asserted"
GRAPH_INFERRED = BASE + "graph/inferred"
GRAPH_ONTOLOGY = BASE + "graph/ontology"
GRAPH_VOID = BASE + "graph/void"
"""The VoID description of the dataset (statistics, partitions, linksets)."""
GRAPH_EXAMPLES = BASE + "graph/examples"
"""The example queries (SIB sparql-examples convention), as ``queries/*.ttl`` state them."""
GRAPH_SERVICE = BASE + "graph/service-description"
"""The SPARQL 1.1 Service Description of the public endpoint."""
SPARQL_ENDPOINT = BASE + "sparql"
"""The public endpoint's IRI, as the stored service description names it."""

FOAF_NS = "http://xmlns.com/foaf/0.1/"
"""Used in the VoID description only; not in :data:`PREFIXES`."""

PREFIXES: dict[str, str] = {
    "kedo": BASE + "ontology/",
    "ked": BASE + "resource/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "cito": "http://purl.org/spar/cito/",
    "obo": "http://purl.obolibrary.org/obo/",
    "oboInOwl": "http://www.geneontology.org/formats/oboInOwl#",
    "void": "http://rdfs.org/ns/void#",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "sh": "http://www.w3.org/ns/shacl#",
    "schema": "https://schema.org/",
}
"""Prefixes bound in every serialisation and offered to query writers."""


def compact(iri: str) -> str:
    """The shortest project CURIE for ``iri`` (or the IRI itself)."""
    best = iri
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(prefix) + 1 + len(iri) - len(ns) < len(best):
            best = f"{prefix}:{iri[len(ns):]}"
    return best

__all__ = [
    "BASE", "FOAF_NS", "GRAPH_ASSERTED", "GRAPH_EXAMPLES", "GRAPH_INFERRED", "GRAPH_ONTOLOGY",
    "GRAPH_SERVICE", "GRAPH_VOID", "ONTOLOGY_IRI", "PREFIXES", "SHAPES_NS", "SPARQL_ENDPOINT",
    "compact",
]
