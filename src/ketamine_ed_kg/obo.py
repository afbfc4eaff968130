"""What the build adds so the release reads cleanly in Protégé and OBO tools.

Curators write what only they can know (labels of studies, groups, doses, ... in the Turtle of
``graph/``); the build adds what follows mechanically from the curated structure, so it is
never out of date and never written twice (docs/obo.md):

* ``rdfs:isDefinedBy <ontology>`` on every ``kedo:`` class, property and value-set individual;
* ``owl:NamedIndividual`` on every individual of the data, so owlready2 and Protégé list them
  (OWL 2 asks for a declaration). These go into the release files (OWL documents) only, not
  into the graphs the SPARQL service serves: there ``?x rdf:type ?c`` in the asserted graph
  keeps answering with the classes curators wrote, as the example queries expect;
* an ``rdfs:label`` for every claim (``kedo:Claim``), made from its own IRI, its source and its
  first quote: a claim is a quote from a source, and that is what its label says. Claims are
  never labelled in the Turtle, and a claim that is keeps its label.

Every addition is a pure function of the input graphs: the same sources give the same
triples, so builds stay byte-reproducible.
"""

from __future__ import annotations

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from .iris import compact
from .namespaces import KEDO, ONTOLOGY_IRI

QUOTE_CHARS = 80
"""How much of a claim's quote its generated label shows (cut at a word, then "…")."""

TERM_TYPES = frozenset({OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty,
                        OWL.AnnotationProperty, OWL.NamedIndividual})
"""What a ``kedo:`` term is declared as in the ontology."""

_META_NAMESPACES = (str(RDF), str(RDFS), str(OWL))
"""A node typed only with terms of these vocabularies is a class, property or axiom, not an
individual."""


def defined_by(ontology: Graph) -> Graph:
    """``rdfs:isDefinedBy`` the ontology for every ``kedo:`` term it declares."""
    out = Graph()
    ontology_iri = URIRef(ONTOLOGY_IRI)
    for term_type in TERM_TYPES:
        for term in ontology.subjects(RDF.type, term_type):
            if isinstance(term, URIRef) and str(term).startswith(str(KEDO)) \
                    and (term, RDFS.isDefinedBy, None) not in ontology:
                out.add((term, RDFS.isDefinedBy, ontology_iri))
    return out


def named_individuals(graph: Graph) -> Graph:
    """``owl:NamedIndividual`` declarations for the IRIs ``graph`` types with a class that is
    not part of the RDF, RDFS or OWL vocabularies and that are not yet declared."""
    out = Graph()
    for node, cls in graph.subject_objects(RDF.type):
        if isinstance(node, URIRef) and not str(cls).startswith(_META_NAMESPACES) \
                and (node, RDF.type, OWL.NamedIndividual) not in graph:
            out.add((node, RDF.type, OWL.NamedIndividual))
    return out


def _shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` on one line, cut after at most ``limit`` characters at a word boundary."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] if " " in flat[:limit] else flat[:limit]
    return cut.rstrip(" ,;:") + "…"


def claim_label(claim: URIRef, data: Graph) -> Literal:
    """The generated label of ``claim``: ``claim <claim> (<source>): "<first quote>"``.

    The claim's own CURIE makes the label unique (two claims may quote the same words); the
    first quote in code-point order is shown, shortened, with the number of further quotes."""
    sources = sorted(compact(str(s)) for s in data.objects(claim, KEDO.source))
    quotes = sorted(str(q) for q in data.objects(claim, KEDO.quote))
    text = f"claim {compact(str(claim))}"
    if sources:
        text += f" ({', '.join(sources)})"
    if quotes:
        text += f': "{_shorten(quotes[0])}"'
        if len(quotes) > 1:
            more = len(quotes) - 1
            text += f" (+{more} more quote{'s' if more > 1 else ''})"
    return Literal(text, lang="en")


def claim_labels(data: Graph) -> Graph:
    """A generated ``rdfs:label`` for each claim of ``data`` that has none."""
    out = Graph()
    for claim in data.subjects(RDF.type, KEDO.Claim):
        if isinstance(claim, URIRef) and (claim, RDFS.label, None) not in data:
            out.add((claim, RDFS.label, claim_label(claim, data)))
    return out


def release_additions(ontology: Graph, data: Graph) -> tuple[Graph, Graph]:
    """What the build adds to the ontology graph and to the data graph of a release (served
    and written alike); :func:`named_individuals` is for the release files alone."""
    return defined_by(ontology), claim_labels(data)


__all__ = ["QUOTE_CHARS", "claim_label", "claim_labels", "defined_by", "named_individuals",
           "release_additions"]
