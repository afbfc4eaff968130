"""Converting RDF terms between rdflib and pyoxigraph.

The pipeline parses and reasons with rdflib, but hands graphs to Oxigraph where rdflib is slow
or lacks a feature: canonical blank-node labels (RDFC-1.0) in the build, the QC queries in the
validator. Both go through these functions, so a term survives the round trip the same way in
each: blank-node labels are kept, and ``xsd:string`` literals come back as plain literals.
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

Triple = tuple[Node, Node, Node]


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot convert {term!r} to an RDF term")


def from_oxigraph(term: object, label_prefix: str = "") -> Node:
    """A pyoxigraph term as an rdflib term (``xsd:string`` literals as plain literals)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(label_prefix + term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == str(XSD.string):
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"cannot convert {term!r} to an RDF term")


def to_quad(triple: Triple, graph_name: ox.NamedNode | ox.DefaultGraph) -> ox.Quad:
    """An rdflib triple as a pyoxigraph quad in ``graph_name``."""
    s, p, o = (to_oxigraph(term) for term in triple)
    if isinstance(s, ox.Literal) or not isinstance(p, ox.NamedNode):
        raise TypeError(f"not an RDF triple: {triple!r}")
    return ox.Quad(s, p, o, graph_name)


__all__ = ["Triple", "from_oxigraph", "to_oxigraph", "to_quad"]
