"""Every namespace the project uses, as rdflib ``Namespace`` objects for the pipeline.

The IRIs themselves are written once, in :mod:`ketamine_ed_kg.iris` (importable without
rdflib, for the query processes); keeping them in one place means a typo in a namespace IRI
is a bug in one place, not a silent mismatch between the builder, the validator and the
server.
"""

from rdflib import Namespace
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD

from .iris import (
    BASE,
    FOAF_NS,
    GRAPH_ASSERTED,
    GRAPH_INFERRED,
    GRAPH_ONTOLOGY,
    ONTOLOGY_IRI,
    PREFIXES,
    SHAPES_NS,
)

KEDO = Namespace(PREFIXES["kedo"])
"""Ontology terms: classes, properties and value-set individuals."""
KED = Namespace(PREFIXES["ked"])
"""Curated instance data."""

CITO = Namespace(PREFIXES["cito"])
OBO = Namespace(PREFIXES["obo"])
OBOINOWL = Namespace(PREFIXES["oboInOwl"])
VOID = Namespace(PREFIXES["void"])
SD = Namespace(PREFIXES["sd"])
SH = Namespace(PREFIXES["sh"])
SCHEMA = Namespace(PREFIXES["schema"])
FOAF = Namespace(FOAF_NS)

IAO_DEFINITION = OBO["IAO_0000115"]

__all__ = [
    "BASE", "CITO", "DCTERMS", "FOAF", "GRAPH_ASSERTED", "GRAPH_INFERRED", "GRAPH_ONTOLOGY",
    "IAO_DEFINITION", "KED", "KEDO", "OBO", "OBOINOWL", "ONTOLOGY_IRI", "OWL", "PREFIXES", "PROV",
    "RDF", "RDFS", "SCHEMA", "SD", "SH", "SHAPES_NS", "SKOS", "VOID", "XSD",
]
