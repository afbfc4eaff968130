"""Counting instances per class, over asserted plus inferred types.

Curators use the counts to see at a glance that a new study file landed where they meant it to
(a study typed only as ``kedo:HumanStudy`` is still counted as a ``kedo:Study``).
"""

from __future__ import annotations

from collections import Counter

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from .inference import infer
from .namespaces import KEDO


def class_counts(ontology: Graph, data: Graph) -> list[tuple[str, int]]:
    """(class CURIE or IRI, number of distinct instances) for every class used in ``data``.

    Types come from the data and from the subclass closure; ontology-only individuals (value
    sets such as routes) are not counted.
    """
    inferred = infer(ontology + data)
    subjects_in_data = set(data.subjects())
    counts: Counter[URIRef] = Counter()
    seen: set[tuple[object, object]] = set()
    for graph in (data, inferred):
        for s, cls in graph.subject_objects(RDF.type):
            if s in subjects_in_data and isinstance(cls, URIRef) and (s, cls) not in seen:
                seen.add((s, cls))
                counts[cls] += 1
    def name(cls: URIRef) -> str:
        text = str(cls)
        return "kedo:" + text[len(str(KEDO)):] if text.startswith(str(KEDO)) else text

    return sorted(((name(c), n) for c, n in counts.items()), key=lambda kv: (-kv[1], kv[0]))
