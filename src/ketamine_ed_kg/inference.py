"""Materialising the entailments the SPARQL service serves in its inferred graph.

The closure is deliberately small and predictable (what GraphDB calls "RDFS-Plus" minus domain
and range): subclass and subproperty transitivity, types through the class hierarchy, values
through the property hierarchy, and the inverse, symmetric and transitive properties the
ontology declares. HermiT (see :mod:`ketamine_ed_kg.reasoning`) checks consistency; this module
only adds triples, computed in Python because the closure of a few thousand triples takes
milliseconds and needs no Java at serve time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node


def _transitive_closure(edges: Iterable[tuple[Node, Node]]) -> dict[Node, set[Node]]:
    graph: dict[Node, set[Node]] = defaultdict(set)
    for sub, sup in edges:
        if sub != sup:
            graph[sub].add(sup)
    closure: dict[Node, set[Node]] = {}

    def reach(node: Node) -> set[Node]:
        if node in closure:
            return closure[node]
        seen: set[Node] = set()
        stack = list(graph.get(node, ()))
        while stack:
            nxt = stack.pop()
            if nxt in seen or nxt == node:
                continue
            seen.add(nxt)
            stack.extend(graph.get(nxt, ()))
        closure[node] = seen
        return seen

    for node in list(graph):
        reach(node)
    return closure


def infer(schema_and_data: Graph) -> Graph:
    """Return the triples entailed by ``schema_and_data`` that it does not already contain."""
    g = schema_and_data
    out = Graph()

    sub_class = _transitive_closure(
        (s, o) for s, o in g.subject_objects(RDFS.subClassOf) if isinstance(o, URIRef)
    )
    sub_prop = _transitive_closure(
        (s, o) for s, o in g.subject_objects(RDFS.subPropertyOf) if isinstance(o, URIRef)
    )
    for cls, supers in sub_class.items():
        for sup in supers:
            out.add((cls, RDFS.subClassOf, sup))
    for prop, supers in sub_prop.items():
        for sup in supers:
            out.add((prop, RDFS.subPropertyOf, sup))

    # Values through the property hierarchy.
    for prop, supers in sub_prop.items():
        if not isinstance(prop, URIRef):
            continue
        for s, o in g.subject_objects(prop):
            for sup in supers:
                out.add((s, sup, o))

    # Inverse and symmetric properties.
    inverse_pairs: list[tuple[Node, Node]] = []
    for p, q in g.subject_objects(OWL.inverseOf):
        inverse_pairs += [(p, q), (q, p)]
    for p in g.subjects(RDF.type, OWL.SymmetricProperty):
        inverse_pairs.append((p, p))
    for p, q in inverse_pairs:
        if isinstance(p, URIRef) and isinstance(q, URIRef):
            for s, o in list(g.subject_objects(p)) + list(out.subject_objects(p)):
                out.add((o, q, s))

    # Transitive properties (over asserted plus already-inferred values).
    for p in g.subjects(RDF.type, OWL.TransitiveProperty):
        if not isinstance(p, URIRef):
            continue
        edges = list(g.subject_objects(p)) + list(out.subject_objects(p))
        for s, objs in _transitive_closure(edges).items():
            for o in objs:
                out.add((s, p, o))

    # Types through the class hierarchy (after property inference, which adds no types).
    for s, cls in list(g.subject_objects(RDF.type)):
        for sup in sub_class.get(cls, ()):
            out.add((s, RDF.type, sup))

    # Keep only what is new, and never restate OWL/RDFS built-ins about themselves.
    for triple in list(out):
        if triple in g or triple[2] in (OWL.Thing, RDFS.Resource):
            out.remove(triple)
    return out
