"""``ketamine-ed-kg load``: a release into an external triple store, and the record of it.

Only standard protocols: each named graph of the release's ``dataset.nq`` (the ontology, the
asserted and inferred graphs, and the discovery graphs the service reads: VoID, examples,
service description) is sent with the SPARQL 1.1 Graph Store HTTP Protocol (``PUT``, which
replaces a graph: a second run never duplicates), then switched in with SPARQL 1.1 Update.

All or nothing: every graph is first written under a *staged* name
(``urn:ketamine-ed-kg:staged:<version tag>:<graph>``), its triple count checked, and only then
does one update *operation* (a single ``DELETE … INSERT … WHERE``) make the served graphs and
the load record equal to the staged ones, changing only the triples that differ; a failure
anywhere leaves the served graphs as they were. (A request of several operations would not
do: Virtuoso 7.2 commits each operation of an update request on its own, and keeps the
earlier ones when a later one fails.) Reloading the same release therefore changes nothing a
reader can see. A new release is not isolated from readers on Virtuoso 7.2: a query running
during its switch may see part of it (Virtuoso reads committed rows, not a snapshot; a test
shows it; docs/external-store.md says what was tried).

The load record (graph :data:`RECORD_GRAPH`) says which release the store holds, its graphs
and their triple counts; the service reads it at start-up (:func:`read_record`) and refuses to
serve a store that holds another release than its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from ..errors import QueryError, StoreError
from ..iris import BASE
from ..release import dataset_version
from .jobs import Job, JobKind
from .remote import Endpoint, RemoteStore

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
"""A term of a query solution."""
RECORD_GRAPH = BASE + "graph/load-record"
"""Which release the store holds (never part of a query's dataset)."""
STAGED = "urn:ketamine-ed-kg:staged:"
DCTERMS_IDENTIFIER = "http://purl.org/dc/terms/identifier"
OWL_VERSION_INFO = "http://www.w3.org/2002/07/owl#versionInfo"
VOID_SUBSET = "http://rdfs.org/ns/void#subset"
VOID_TRIPLES = "http://rdfs.org/ns/void#triples"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
TIMEOUT = 600.0
"""Seconds one load request may take."""
PART_TRIPLES = 10_000
"""Triples per Graph Store request: the first part is a PUT (replacing the staged graph),
the others POSTs (adding to it). Virtuoso 7.2 takes minutes for one request of a few hundred
thousand triples, and a fraction of a second for each 10,000 (docs/external-store.md)."""


@dataclass(frozen=True)
class LoadRecord:
    """What the store holds, as the last load recorded it."""

    tag: str
    """The release's version tag (its dataset digest, as the service's ETags use it)."""
    version: str
    counts: dict[str, int]
    """Triples per named graph."""


@dataclass
class LoadReport:
    """What a load did."""

    record: LoadRecord
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per step (``put``, ``verify``, ``switch``, ...)."""


def staged(tag: str, graph: str) -> str:
    """The name ``graph`` is written under before the switch."""
    return f"{STAGED}{tag}:{graph}"


def _read_dataset(dataset: Path) -> tuple[ox.Store, dict[str, int]]:
    store = ox.Store()
    store.load(path=str(dataset), format=ox.RdfFormat.N_QUADS)
    counts = {}
    for graph in store.named_graphs():
        assert isinstance(graph, ox.NamedNode)
        counts[graph.value] = sum(1 for _ in store.quads_for_pattern(None, None, None, graph))
    default = sum(1 for _ in store.quads_for_pattern(None, None, None, ox.DefaultGraph()))
    if default:
        raise StoreError(f"{dataset}: {default} triples are in the default graph; only named "
                         "graphs can be loaded (rebuild with ketamine-ed-kg build)")
    return store, counts


def _record_triples(record: LoadRecord) -> bytes:
    subject = f"<{RECORD_GRAPH}>"
    lines = [f'{subject} <{DCTERMS_IDENTIFIER}> "{record.tag}" .',
             f'{subject} <{OWL_VERSION_INFO}> "{record.version}" .']
    for graph, count in sorted(record.counts.items()):
        lines.append(f"{subject} <{VOID_SUBSET}> <{graph}> .")
        lines.append(f'<{graph}> <{VOID_TRIPLES}> "{count}"^^<{XSD_INTEGER}> .')
    return ("\n".join(lines) + "\n").encode()


def _solutions(query_url: str, text: str, named: list[str]) -> list[dict[str, Term]]:
    """Run a SELECT on the store over the graphs ``named``; rows of RDF terms."""
    store = RemoteStore(query_url, named)
    job = Job(JobKind.QUERY, default_graph=(), named_graphs=tuple(named), form="SELECT")
    try:
        body = store.send(job, text, time.monotonic() + TIMEOUT)
        try:
            results = ox.parse_query_results(b"".join(body.chunks()),
                                             format=ox.QueryResultsFormat.JSON)
        finally:
            body.finish()
    except QueryError as exc:
        raise StoreError(exc.message) from None
    finally:
        store.close()
    assert isinstance(results, ox.QuerySolutions)
    return [{str(v.value): t for v, t in zip(results.variables, row, strict=True)
             if t is not None} for row in results]


def _select(query_url: str, text: str, named: list[str]) -> list[dict[str, str]]:
    """Run a SELECT on the store over the graphs ``named``; rows as plain strings."""
    return [{k: str(t.value) for k, t in row.items() if not isinstance(t, ox.Triple)}
            for row in _solutions(query_url, text, named)]


def count_graphs(query_url: str, graphs: list[str]) -> dict[str, int]:
    """Triples per graph as the store counts them (absent graphs: 0)."""
    values = " ".join(f"<{g}>" for g in graphs)
    rows = _select(query_url, f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} "
                              "GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", graphs)
    found = {row["g"]: int(row["n"]) for row in rows}
    return {g: found.get(g, 0) for g in graphs}


def read_record(query_url: str) -> LoadRecord | None:
    """The store's load record, or None when nothing was loaded. Raises StoreError when the
    store cannot be asked."""
    rows = _select(query_url, f"SELECT ?p ?o ?c WHERE {{ GRAPH <{RECORD_GRAPH}> {{ "
                              f"<{RECORD_GRAPH}> ?p ?o OPTIONAL {{ ?o <{VOID_TRIPLES}> ?c }} "
                              "} }", [RECORD_GRAPH])
    tag = version = ""
    counts: dict[str, int] = {}
    for row in rows:
        if row["p"] == DCTERMS_IDENTIFIER:
            tag = row["o"]
        elif row["p"] == OWL_VERSION_INFO:
            version = row["o"]
        elif row["p"] == VOID_SUBSET:
            counts[row["o"]] = int(row.get("c", "0"))
    return LoadRecord(tag, version, counts) if tag else None


def _check(counts: dict[str, int], wanted: dict[str, int], where: str) -> None:
    wrong = [f"{g}: the store holds {counts.get(g, 0)} triples, the release {n}"
             for g, n in sorted(wanted.items()) if counts.get(g, 0) != n]
    if wrong:
        raise StoreError(f"{where}: triple counts differ:\n  " + "\n  ".join(wrong))


def _update(url: str, text: str) -> None:
    try:
        Endpoint(url).open(text.encode(), {"Content-Type": "application/sparql-update"},
                           timeout=TIMEOUT).close()
    except QueryError as exc:
        raise StoreError(f"the update at {url} failed: {exc.message}") from None


def _blank_triples(graph: ox.Store | list[dict[str, Term]], name: str) -> set[ox.Triple]:
    """The triples of graph ``name`` that hold a blank node, canonicalised (so that two
    isomorphic graphs give equal sets): from the release (a store) or from the store's
    answer (rows of ``?s ?p ?o``)."""
    dataset = ox.Dataset()
    if isinstance(graph, ox.Store):
        quads = graph.quads_for_pattern(None, None, None, ox.NamedNode(name))
        for quad in quads:
            if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
                dataset.add(ox.Quad(quad.subject, quad.predicate, quad.object))
    else:
        for row in graph:
            subject, predicate = row["s"], row["p"]
            assert isinstance(subject, ox.NamedNode | ox.BlankNode)
            assert isinstance(predicate, ox.NamedNode)
            obj = row["o"]
            assert not isinstance(obj, ox.Triple)
            dataset.add(ox.Quad(subject, predicate, obj))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {ox.Triple(q.subject, q.predicate, q.object) for q in dataset}


def unchanged_blank_nodes(query_url: str, store: ox.Store, graphs: list[str]) -> list[str]:
    """The graphs whose triples with blank nodes the store already holds as the release has
    them (the same graph up to blank node labels). A blank node written by another request is
    another node, so without this every such triple would be deleted and inserted again on
    each load, and a reader would see them go and come back; these graphs keep theirs."""
    same = []
    for graph in graphs:
        mine = _blank_triples(store, graph)
        if not mine:
            continue
        rows = _solutions(query_url, f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o "
                                     "FILTER(isBlank(?s) || isBlank(?o)) } }", [graph])
        if _blank_triples(rows, graph) == mine:
            same.append(graph)
    return same


def switch_operation(tag: str, graphs: list[str], old: list[str],
                     keep_blank: Sequence[str] = ()) -> str:
    """The one update operation that makes the served graphs (``graphs``, the record, and
    ``old``: graphs an earlier release had) equal to the staged ones by changing only the
    triples that differ: it deletes what is served but not staged, and inserts what is staged
    but not served. Reloading the same release thus changes nothing a reader can see; a new
    release changes only its differences. The triples with blank nodes of the graphs
    ``keep_blank`` are left alone (the store holds them already: :func:`unchanged_blank_nodes`).
    """
    keep = set(keep_blank)
    pairs = sorted({(g, staged(tag, g)) for g in [*graphs, RECORD_GRAPH]}
                   | {(g, staged(tag, g)) for g in old})

    def branch(source: str, target: str, graph: str, names: str) -> str:
        s, p, o, g = (f"?{n}" for n in names.split())
        blank = f" FILTER(!isBlank({s}) && !isBlank({o}))" if graph in keep else ""
        return (f"{{ GRAPH <{source}> {{ {s} {p} {o} }}{blank} FILTER NOT EXISTS {{ "
                f"GRAPH <{target}> {{ {s} {p} {o} }} }} BIND(<{graph}> AS {g}) }}")

    gone = [branch(g, s, g, "s p o g") for g, s in pairs]
    new = [branch(s, g, g, "s2 p2 o2 t") for g, s in pairs]
    return ("DELETE { GRAPH ?g { ?s ?p ?o } } INSERT { GRAPH ?t { ?s2 ?p2 ?o2 } } WHERE { "
            + " UNION ".join(gone + new) + " }")


def load_release(dataset: Path, *, query_url: str, graph_store_url: str, update_url: str,
                 progress: Callable[[str], None] = lambda _m: None) -> LoadReport:
    """Load ``dataset`` (a release's ``dataset.nq``) into the store; see the module."""
    began = time.perf_counter()
    timings: dict[str, float] = {}
    version = dataset_version(dataset)
    store, counts = _read_dataset(dataset)
    record = LoadRecord(version.tag, version.version, counts)
    progress(f"release {version.version} ({version.tag}): {len(counts)} graphs, "
             f"{sum(counts.values())} triples")
    # A small authenticated request first: wrong credentials get the store's 401, not a
    # connection the store cut while a large body was being sent.
    _update(update_url, f"CLEAR SILENT GRAPH <{STAGED}preflight>")
    step = time.perf_counter()
    total = len(counts) + 1
    bodies = [(g, _parts(store, g)) for g in sorted(counts)]
    bodies.append((RECORD_GRAPH, [_record_triples(record)]))
    for done, (graph, parts) in enumerate(bodies, 1):
        started = time.perf_counter()
        for number, part in enumerate(parts):
            try:
                Endpoint(graph_store_url).open(
                    part, {"Content-Type": "application/n-triples"}, timeout=TIMEOUT,
                    method="POST" if number else "PUT",
                    query="graph=" + _quote(staged(version.tag, graph))).close()
            except QueryError as exc:
                raise StoreError(f"{graph}: the Graph Store Protocol "
                                 f"{'POST' if number else 'PUT'} failed: {exc.message}") from None
        progress(f"[{done}/{total}] staged {graph}: {counts.get(graph, '-')} triples, "
                 f"{sum(map(len, parts))} bytes in {len(parts)} request(s), "
                 f"{time.perf_counter() - started:.2f} s")
    timings["put"] = time.perf_counter() - step
    step = time.perf_counter()
    wanted = {staged(version.tag, g): n for g, n in counts.items()}
    _check(count_graphs(query_url, sorted(wanted)), wanted, "after staging")
    timings["verify_staged"] = time.perf_counter() - step
    step = time.perf_counter()
    keep = unchanged_blank_nodes(query_url, store, sorted(counts))
    timings["compare_blank"] = time.perf_counter() - step
    progress("staged graphs verified; switching (blank nodes unchanged in: "
             f"{', '.join(keep) or 'none'})")
    step = time.perf_counter()
    previous = read_record(query_url)
    _update(update_url, switch_operation(version.tag, sorted(counts),
                                         sorted(previous.counts) if previous else [], keep))
    timings["switch"] = time.perf_counter() - step
    _update(update_url, "; ".join(f"DROP SILENT GRAPH <{staged(version.tag, g)}>"
                                  for g in [*sorted(counts), RECORD_GRAPH]))
    step = time.perf_counter()
    _check(count_graphs(query_url, sorted(counts)), counts, "after the switch")
    found = read_record(query_url)
    if found != record:
        raise StoreError(f"after the switch the store's load record is {found}, not {record}")
    timings["verify"] = time.perf_counter() - step
    for graph, count in sorted(counts.items()):
        progress(f"verified {graph}: {count} triples")
    return LoadReport(record, time.perf_counter() - began, timings)


def _parts(store: ox.Store, graph: str) -> list[bytes]:
    """The triples of ``graph`` as N-Triples documents of about :data:`PART_TRIPLES` lines.

    A blank node label only identifies a node within one document, so the triples that share
    blank nodes (a group linked through them) always go in the same part; a group larger than
    a part goes alone. (Sending a graph with blank nodes in one request instead made Virtuoso
    7.2 stall for good inside a 1M-triple PUT: one transaction that large never finishes.)
    """
    plain: list[ox.Triple] = []
    linked: list[tuple[ox.BlankNode, ox.Triple]] = []
    parent: dict[ox.BlankNode, ox.BlankNode] = {}

    def root(node: ox.BlankNode) -> ox.BlankNode:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)):
        triple = ox.Triple(quad.subject, quad.predicate, quad.object)
        blanks = [t for t in (quad.subject, quad.object) if isinstance(t, ox.BlankNode)]
        if not blanks:
            plain.append(triple)
            continue
        for blank in blanks:
            parent.setdefault(blank, blank)
        if len(blanks) == 2:
            parent[root(blanks[0])] = root(blanks[1])
        linked.append((blanks[0], triple))
    groups: dict[ox.BlankNode, list[ox.Triple]] = {}
    for blank, triple in linked:
        groups.setdefault(root(blank), []).append(triple)
    parts: list[list[ox.Triple]] = [[]]
    for group in [*([t] for t in plain), *groups.values()]:
        if parts[-1] and len(parts[-1]) + len(group) > PART_TRIPLES:
            parts.append([])
        parts[-1].extend(group)
    return [ox.serialize(part, format=ox.RdfFormat.N_TRIPLES) or b"" for part in parts]


def _quote(iri: str) -> str:
    from urllib.parse import quote

    return quote(iri, safe="")


__all__ = ["LoadRecord", "LoadReport", "RECORD_GRAPH", "count_graphs", "load_release",
           "read_record", "staged", "switch_operation", "unchanged_blank_nodes"]
