"""Turning the ontology and the curated graph into a release.

A release (``build/releases/<digest>/``, see :mod:`ketamine_ed_kg.release`) holds the merged
graph in four syntaxes (Turtle, N-Triples, RDF/XML for Protégé, JSON-LD), each an OWL document
that declares its individuals (:mod:`ketamine_ed_kg.obo`) and carries its VoID description,
``void.ttl``, and ``dataset.nq``: the named graphs the SPARQL service loads (asserted,
inferred, ontology, and the discovery graphs: VoID, example queries, service description),
plus ``manifest.json``. Before anything else the build adds ``rdfs:isDefinedBy`` and claim
labels to the sources (:mod:`ketamine_ed_kg.obo`, docs/obo.md). The build switches
``build/current`` to the new release atomically, and is skipped when no source changed.

Builds are byte-reproducible: the same sources give the same bytes in every release file.
Blank nodes get canonical labels (RDFC-1.0, the W3C RDF Dataset Canonicalization, computed by
pyoxigraph) rather than skolem IRIs, because nearly all of ours are OWL structure (RDF lists,
``owl:AllDisjointClasses``, ``owl:unionOf``) that the OWL 2 mapping requires to be blank:
skolem IRIs would make the ``.owl`` file invalid OWL 2 DL for Protégé and HermiT, and change
what ``isBlank()`` answers. Canonical labels leave the graph exactly as it was (isomorphic),
and make ``dataset.nq`` the canonical N-Quads form of the data, whose SHA-256 is the ``digest``
from which the service's ETag derives; the version names the data graphs' digest. Every file
is then written from triples in sorted order.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from . import parser_cache
from .downloads import DOWNLOAD_DIR, DOWNLOAD_FILES, STEM, render_downloads, stable_json
from .engine_defects import object_kinds
from .errors import BuildMissingError
from .examples import examples_graph, load_examples
from .formats import Format
from .inference import infer
from .iris import GRAPH_EXAMPLES, GRAPH_SERVICE, GRAPH_VOID, SPARQL_ENDPOINT
from .loading import Progress, load_sources, quiet, sources_digest
from .namespaces import (
    BASE,
    GRAPH_ASSERTED,
    GRAPH_INFERRED,
    GRAPH_ONTOLOGY,
    KEDO,
    ONTOLOGY_IRI,
    PREFIXES,
)
from .obo import named_individuals, release_additions
from .paths import ProjectPaths
from .release import (
    DATASET_FILE,
    MANIFEST_FILE,
    Manifest,
    build_lock,
    build_time,
    install_release,
    link_compat,
    prune_releases,
    read_manifest,
    release_digest,
    releases_dir,
    repair_release,
    resolve_release,
    stage_release,
    switch_current,
)
from .terms import Triple, from_oxigraph, to_quad
from .void import TITLE, describe, describe_service

RELEASE_STEM = STEM
RELEASE_FORMATS: dict[str, Format] = {
    "ttl": Format.TURTLE,
    "nt": Format.NTRIPLES,
    "owl": Format.RDFXML,
    "jsonld": Format.JSONLD,
}
"""The release files: file extension and format (formats.py)."""
VOID_FILE = "void.ttl"
RELEASE_FILES: tuple[str, ...] = (
    *(f"{RELEASE_STEM}.{ext}" for ext in RELEASE_FORMATS), VOID_FILE, DATASET_FILE)
"""The files at the top of a release, in the order the manifest lists them."""
ALL_RELEASE_FILES: tuple[str, ...] = (
    *RELEASE_FILES, *(f"{DOWNLOAD_DIR}/{name}" for name in DOWNLOAD_FILES))
"""Every file of a release but its manifest: the top files, then the downloads."""
DATASET_GRAPHS: tuple[str, ...] = (GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY)
EXAMPLES_LABEL_PREFIX = "examples-"
SERVICE_LABEL_PREFIX = "service-"
VOID_LABEL_PREFIX = "void-"
"""Prefix of the canonical blank-node labels of the VoID description (canonicalised apart
from the dataset, whose labels must not depend on it), so the two never clash."""



@dataclass(frozen=True)
class BuildResult:
    """What a build produced."""

    digest: str
    """SHA-256 of ``dataset.nq``: the data's version (the service's ETag derives from it)."""
    version: str
    files: list[Path]
    counts: dict[str, int]
    seconds: float
    rebuilt: bool
    release: Path
    """The release directory, ``build/releases/<digest of its files>``."""


def ontology_version(ontology: Graph) -> str:
    """The ontology's ``owl:versionInfo`` (or ``unversioned``)."""
    info = ontology.value(URIRef(ONTOLOGY_IRI), OWL.versionInfo)
    return str(info) if info is not None else "unversioned"


def dataset_file(paths: ProjectPaths) -> Path:
    """The N-Quads file of the current release, as a versioned path that later builds leave
    alone; raises if the build has not run."""
    path = resolve_release(paths.build_dir) / DATASET_FILE
    if not path.exists():
        raise BuildMissingError(f"{path} is missing: run `ketamine-ed-kg build` first")
    return path


def _up_to_date(build_dir: Path, sources: str) -> tuple[Path, Manifest] | None:
    """The current release, if it was built from these sources and is intact."""
    try:
        release = resolve_release(build_dir)
    except BuildMissingError:
        return None
    manifest = read_manifest(release)
    if manifest is None or manifest.get("sources") != sources:
        return None
    if tuple(manifest.get("files", ())) != ALL_RELEASE_FILES:
        return None
    sizes = manifest.get("bytes") or {}
    for name in ALL_RELEASE_FILES:
        path = release / name
        if not path.is_file() or path.stat().st_size != sizes.get(name):
            return None
    return release, manifest


def build(paths: ProjectPaths, *, force: bool = False, progress: Progress = quiet) -> BuildResult:
    """Build a release and make it current, unless the current one is already up to date with
    the sources. Concurrent builds of one checkout run one after the other."""
    start = time.perf_counter()
    sources = sources_digest(paths)
    build_dir = paths.build_dir
    with build_lock(build_dir):
        found = None if force else _up_to_date(build_dir, sources)
        if found is not None:
            release, manifest = found
            parser_cache.provide(release)  # a release built before the parser was kept
            link_compat(build_dir, [*RELEASE_FILES, MANIFEST_FILE])
            prune_releases(build_dir)  # what a build killed after its switch left behind
            progress("build is up to date")
            return BuildResult(
                digest=manifest["digest"],
                version=manifest["version"],
                files=[release / f for f in RELEASE_FILES],
                counts=dict(manifest["counts"]),
                seconds=time.perf_counter() - start,
                rebuilt=False,
                release=release,
            )
        files, manifest = _render(paths, sources, progress)
        release = releases_dir(build_dir) / manifest["release"]
        if release.is_dir():
            progress(f"release {release.name[:12]} exists; checking it")
            repair_release(release, files, manifest)
        else:
            progress(f"writing release {release.name[:12]}")
            staging = stage_release(build_dir, files, manifest)
            release = install_release(build_dir, staging, manifest["release"])
        # The service's first start reads the SPARQL parser instead of building it.
        parser_cache.provide(release)
        switch_current(build_dir, release)
        link_compat(build_dir, [*RELEASE_FILES, MANIFEST_FILE])
        for digest in prune_releases(build_dir):
            progress(f"pruned release {digest[:12]}")
    return BuildResult(manifest["digest"], manifest["version"],
                       [release / f for f in RELEASE_FILES], manifest["counts"],
                       time.perf_counter() - start, True, release)


def _render(paths: ProjectPaths, sources: str,
            progress: Progress) -> tuple[dict[str, bytes], Manifest]:
    """Every release file's bytes (in memory) and the release's manifest."""
    ontology, data = load_sources(paths, progress)
    progress("adding rdfs:isDefinedBy and claim labels (obo.py)")
    ontology_additions, data_additions = release_additions(ontology, data)
    ontology += ontology_additions
    data += data_additions
    progress("materialising the inferred graph")
    inferred = infer(ontology + data)

    progress("canonicalising blank nodes (RDFC-1.0)")
    quads = canonical_quads({GRAPH_ASSERTED: data, GRAPH_INFERRED: inferred,
                             GRAPH_ONTOLOGY: ontology})
    data_bytes = _nquads(quads)
    # The version names the data: its digest does not depend on the discovery graphs below,
    # which state the version.
    version = f"{ontology_version(ontology)}+{hashlib.sha256(data_bytes).hexdigest()[:12]}"

    by_graph: dict[str, list[Triple]] = {name: [] for name in DATASET_GRAPHS}
    for quad in quads:
        assert isinstance(quad.graph_name, ox.NamedNode)
        by_graph[quad.graph_name.value].append(
            (from_oxigraph(quad.subject), from_oxigraph(quad.predicate),
             from_oxigraph(quad.object)))
    merged = ordered_graph([*by_graph[GRAPH_ONTOLOGY], *by_graph[GRAPH_ASSERTED]])
    # The release files are OWL documents: they declare every individual (obo.py). The served
    # graphs leave the declarations out, so `GRAPH asserted { ?x rdf:type ?c }` still answers
    # with the classes the curators wrote.
    merged = ordered_graph([*merged, *named_individuals(merged)])
    void = ordered_graph(canonical_triples(describe(
        merged,
        title=TITLE,
        version=version,
        dumps=[f"{BASE}download/{RELEASE_STEM}.{ext}" for ext in RELEASE_FORMATS],
    ), VOID_LABEL_PREFIX))
    progress("describing the dataset, its examples and its service (discovery graphs)")
    all_quads = [*quads, *_discovery_quads(
        paths, void, {GRAPH_ASSERTED: len(data), GRAPH_INFERRED: len(inferred),
                      GRAPH_ONTOLOGY: len(ontology)})]
    dataset_bytes = _nquads(all_quads)
    digest = hashlib.sha256(dataset_bytes).hexdigest()
    release = ordered_graph([*merged, *void])

    files: dict[str, bytes] = {}
    for ext, fmt in RELEASE_FORMATS.items():
        name = f"{RELEASE_STEM}.{ext}"
        progress(f"rendering {name}")
        files[name] = _serialize(release, fmt)
    files[VOID_FILE] = _serialize(void, Format.TURTLE)
    files[DATASET_FILE] = dataset_bytes
    progress("writing the downloads (every RDF format, gzip, SHA-256)")
    files.update(render_downloads(all_quads))
    assert tuple(files) == ALL_RELEASE_FILES

    hashes = {name: hashlib.sha256(payload).hexdigest() for name, payload in files.items()}
    manifest: Manifest = {
        "digest": digest,
        "release": release_digest(hashes),
        "sources": sources,
        "version": version,
        "built": build_time(),
        "files": list(files),
        "sha256": hashes,
        "bytes": {name: len(payload) for name, payload in files.items()},
        "counts": {
            "ontology_triples": len(ontology),
            "asserted_triples": len(data),
            "inferred_triples": len(inferred),
            "studies": len(set((data + inferred).subjects(RDF.type, KEDO.Study))),
        },
        "object_kinds": object_kinds((q.predicate, q.object) for q in all_quads),
    }
    return files, manifest


def _serialize(graph: Graph, fmt: Format) -> bytes:
    """rdflib's serialisation, made independent of set iteration order where rdflib's is not:
    N-Triples lines are sorted, JSON-LD arrays are put in a fixed order (``stable_json``)."""
    payload = graph.serialize(format=fmt.spec.rdflib, encoding="utf-8")
    if fmt is Format.NTRIPLES:
        lines = sorted(line for line in payload.splitlines() if line.strip())
        return b"".join(line + b"\n" for line in lines)
    if fmt is Format.JSONLD:
        return json.dumps(stable_json(json.loads(payload)), indent=2, sort_keys=True,
                          ensure_ascii=False).encode()
    return payload


def ordered_graph(triples: Iterable[Triple]) -> Graph:
    """A graph whose store iterates in insertion order (rdflib's ``SimpleMemory``: nested
    dicts), filled in sorted order, so serialisers that follow the store's order write the
    same bytes on every run; the project's prefixes are bound."""
    graph = Graph(store="SimpleMemory")
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, override=True)
    for triple in sorted(set(triples), key=lambda t: tuple(term.n3() for term in t)):
        graph.add(triple)
    return graph


def _nquads(quads: Iterable[ox.Quad]) -> bytes:
    """Canonical N-Quads: one quad a line, sorted."""
    return b"".join(sorted(f"{quad} .\n".encode() for quad in quads))


def _discovery_quads(paths: ProjectPaths, void: Graph,
                     data_counts: Mapping[str, int]) -> list[ox.Quad]:
    """The graphs that make the dataset discoverable by query: its VoID, the example queries
    (SIB's sparql-examples editor finds them with a query on the default graph) and the
    service description, which names every graph with its size."""
    examples = canonical_triples(examples_graph(load_examples(paths.queries_dir)),
                                 EXAMPLES_LABEL_PREFIX)
    counts = {**data_counts, GRAPH_VOID: len(void), GRAPH_EXAMPLES: len(examples),
              GRAPH_SERVICE: 0}

    def service() -> Graph:
        return describe_service(SPARQL_ENDPOINT, counts, title=TITLE, union_default_graph=True,
                                federated=False, void_url=BASE + ".well-known/void")

    counts[GRAPH_SERVICE] = len(service())  # its own size does not depend on the numbers
    graphs: dict[str, Iterable[Triple]] = {
        GRAPH_VOID: void, GRAPH_EXAMPLES: examples,
        GRAPH_SERVICE: canonical_triples(service(), SERVICE_LABEL_PREFIX)}
    return [to_quad(triple, ox.NamedNode(name))
            for name, triples in graphs.items() for triple in triples]


def canonical_quads(graphs: Mapping[str, Graph]) -> list[ox.Quad]:
    """The named graphs as one dataset with RDFC-1.0 blank-node labels (``c14n0``, ...).

    The graphs are canonicalised together because a blank node may occur in several of them
    (an inferred triple about an ontology blank node)."""
    dataset = ox.Dataset()
    for name, graph in graphs.items():
        graph_name = ox.NamedNode(name)
        for triple in graph:
            dataset.add(to_quad(triple, graph_name))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return list(dataset)


def canonical_triples(graph: Graph, label_prefix: str = "") -> list[Triple]:
    """``graph`` with RDFC-1.0 blank-node labels, each prefixed with ``label_prefix``."""
    dataset = ox.Dataset(to_quad(triple, ox.DefaultGraph()) for triple in graph)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return [(from_oxigraph(q.subject, label_prefix), from_oxigraph(q.predicate),
             from_oxigraph(q.object, label_prefix)) for q in dataset]


__all__ = ["ALL_RELEASE_FILES", "DATASET_FILE", "DATASET_GRAPHS", "EXAMPLES_LABEL_PREFIX",
           "MANIFEST_FILE", "RELEASE_FILES", "SERVICE_LABEL_PREFIX", "VOID_LABEL_PREFIX",
           "BuildResult", "Manifest", "build", "canonical_quads", "canonical_triples",
           "dataset_file", "ordered_graph", "read_manifest"]
