"""How ``ketamine-ed-kg load`` cuts a graph into Graph Store requests (store/upload.py): parts
of about ``PART_TRIPLES`` triples, where the triples that share blank nodes travel together,
since a blank node label only identifies a node within one document. Checked without a store:
each part is read as its own document, as the store reads it, and the union must be the graph
itself (isomorphic), never a graph whose blank nodes were split in two."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from ketamine_ed_kg.store import upload

GRAPH = "https://example.org/g"
EX = "https://example.org/"


def _store() -> ox.Store:
    """Plain triples, blank-node chains of several lengths and one large blank-node group."""
    store = ox.Store()
    g = ox.NamedNode(GRAPH)
    for i in range(23):
        store.add(ox.Quad(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(f"{EX}p"), ox.Literal(str(i)), g))
    for chain in range(6):
        nodes = [ox.BlankNode() for _ in range(chain + 1)]
        store.add(ox.Quad(ox.NamedNode(f"{EX}head{chain}"), ox.NamedNode(f"{EX}to"), nodes[0], g))
        for a, b in zip(nodes, nodes[1:], strict=False):
            store.add(ox.Quad(a, ox.NamedNode(f"{EX}next"), b, g))
        for node in nodes:
            store.add(ox.Quad(node, ox.NamedNode(f"{EX}v"), ox.Literal(str(chain)), g))
    hub = ox.BlankNode()
    for _ in range(12):  # larger than a part: goes alone
        store.add(ox.Quad(hub, ox.NamedNode(f"{EX}has"), ox.BlankNode(), g))
    return store


def _read(parts: list[bytes]) -> Graph:
    """The union of the parts, each read as its own document (its own blank node scope)."""
    union = Graph()
    for part in parts:
        one = Graph().parse(data=part, format="nt")
        for triple in one:
            union.add(triple)
    return union


def test_a_graph_with_blank_nodes_goes_in_parts_that_keep_them_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload, "PART_TRIPLES", 5)
    store = _store()
    parts = upload._parts(store, GRAPH)
    whole = Graph().parse(
        data=store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(GRAPH)),
        format="nt")
    assert len(parts) > 10, "cut into parts"
    sizes = [part.count(b"\n") for part in parts]
    assert max(sizes) == 12, "only the group larger than a part passes the part size"
    assert sum(sizes) == len(whole)
    assert isomorphic(_read(parts), whole), "no blank node split between documents"


def test_an_empty_graph_is_one_empty_request() -> None:
    assert upload._parts(ox.Store(), GRAPH) == [b""]
