"""Every namespace the project uses, defined once.

Keeping them here means a typo in a namespace IRI is a bug in one place, not a silent
mismatch between the builder, the validator and the server.
"""

from rdflib import Namespace
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD

BASE = "https://w3id.org/ketamine-ed/"
KEDO = Namespace(BASE + "ontology/")
"""Ontology terms: classes, properties and value-set individuals."""
KED = Namespace(BASE + "resource/")
"""Curated instance data."""
ONTOLOGY_IRI = BASE + "ontology"

SHAPES_NS = BASE + "shapes/"
"""The shapes themselves (``kedsh:``); QC queries are named in it too. Not in :data:`PREFIXES`:
no release file holds a shape."""

GRAPH_ASSERTED = BASE + "graph/asserted"
GRAPH_INFERRED = BASE + "graph/inferred"
GRAPH_ONTOLOGY = BASE + "graph/ontology"

CITO = Namespace("http://purl.org/spar/cito/")
OBO = Namespace("http://purl.obolibrary.org/obo/")
OBOINOWL = Namespace("http://www.geneontology.org/formats/oboInOwl#")
VOID = Namespace("http://rdfs.org/ns/void#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
SH = Namespace("http://www.w3.org/ns/shacl#")
SCHEMA = Namespace("https://schema.org/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")

IAO_DEFINITION = OBO["IAO_0000115"]

PREFIXES: dict[str, str] = {
    "kedo": str(KEDO),
    "ked": str(KED),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "prov": str(PROV),
    "cito": str(CITO),
    "obo": str(OBO),
    "oboInOwl": str(OBOINOWL),
    "void": str(VOID),
    "sd": str(SD),
    "sh": str(SH),
    "schema": str(SCHEMA),
}
"""Prefixes bound in every serialisation and offered to query writers."""

__all__ = [
    "BASE", "CITO", "DCTERMS", "FOAF", "GRAPH_ASSERTED", "GRAPH_INFERRED", "GRAPH_ONTOLOGY",
    "IAO_DEFINITION", "KED", "KEDO", "OBO", "OBOINOWL", "ONTOLOGY_IRI", "OWL", "PREFIXES", "PROV",
    "RDF", "RDFS", "SCHEMA", "SD", "SH", "SHAPES_NS", "SKOS", "VOID", "XSD",
]
