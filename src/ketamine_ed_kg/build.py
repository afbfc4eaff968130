"""Turning the ontology and the curated graph into release files.

``build/`` receives the merged graph in four syntaxes (Turtle, N-Triples, RDF/XML for Protégé,
JSON-LD), each carrying its VoID description, plus ``dataset.nq``: the three named graphs the
SPARQL service loads (asserted, inferred, ontology). A manifest records the digest of the
sources, so the build is redone only when a source changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from .errors import BuildMissingError
from .inference import infer
from .loading import new_graph, parse_file, sources_digest
from .namespaces import (
    BASE,
    GRAPH_ASSERTED,
    GRAPH_INFERRED,
    GRAPH_ONTOLOGY,
    KEDO,
    ONTOLOGY_IRI,
)
from .paths import ProjectPaths
from .void import describe

RELEASE_STEM = "ketamine-ed-kg"
RELEASE_FORMATS: dict[str, str] = {
    "ttl": "turtle",
    "nt": "nt",
    "owl": "xml",
    "jsonld": "json-ld",
}
DATASET_FILE = "dataset.nq"
MANIFEST_FILE = "manifest.json"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    """What a build produced."""

    digest: str
    version: str
    files: list[Path]
    counts: dict[str, int]
    seconds: float
    rebuilt: bool


def _quiet(_: str) -> None:
    pass


def ontology_version(ontology: Graph) -> str:
    """The ontology's ``owl:versionInfo`` (or ``unversioned``)."""
    info = ontology.value(URIRef(ONTOLOGY_IRI), OWL.versionInfo)
    return str(info) if info is not None else "unversioned"


def load_sources(paths: ProjectPaths, progress: Progress = _quiet) -> tuple[Graph, Graph]:
    """Parse the ontology and every curated file; return (ontology, asserted data)."""
    progress(f"parsing {paths.ontology_file.relative_to(paths.root)}")
    ontology = parse_file(paths.ontology_file)
    data = new_graph()
    files = paths.graph_files()
    progress(f"parsing {len(files)} graph files")
    for path in files:
        parse_file(path, data)
    return ontology, data


class Manifest(TypedDict):
    """``build/manifest.json``: what the last build wrote, and from which sources."""

    digest: str
    version: str
    built: str
    files: list[str]
    counts: dict[str, int]


def read_manifest(build_dir: Path) -> Manifest | None:
    """The manifest of the last build in ``build_dir``, or None if there is none (or it is
    unreadable)."""
    manifest = build_dir / MANIFEST_FILE
    if not manifest.exists():
        return None
    try:
        loaded: Manifest = json.loads(manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None  # a half-written manifest only means "rebuild"
    return loaded


def dataset_file(paths: ProjectPaths) -> Path:
    """The N-Quads file the server loads; raises if the build has not run."""
    path = paths.build_dir / DATASET_FILE
    if not path.exists():
        raise BuildMissingError(f"{path} is missing: run `ketamine-ed-kg build` first")
    return path


def build(paths: ProjectPaths, *, force: bool = False, progress: Progress = _quiet) -> BuildResult:
    """Build the release files, unless they are already up to date with the sources."""
    start = time.perf_counter()
    digest = sources_digest(paths)
    manifest = read_manifest(paths.build_dir)
    if (
        not force
        and manifest is not None
        and manifest.get("digest") == digest
        and all((paths.build_dir / f).exists() for f in manifest.get("files", []))
    ):
        progress("build is up to date")
        return BuildResult(
            digest=digest,
            version=manifest["version"],
            files=[paths.build_dir / f for f in manifest["files"]],
            counts=dict(manifest["counts"]),
            seconds=time.perf_counter() - start,
            rebuilt=False,
        )

    ontology, data = load_sources(paths, progress)
    progress("materialising the inferred graph")
    inferred = infer(ontology + data)
    version = f"{ontology_version(ontology)}+{digest[:12]}"

    out_dir = paths.build_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    merged = new_graph()
    merged += ontology
    merged += data
    void = describe(
        merged,
        title="ketamine-ed-kg: ketamine treatment of eating disorders",
        version=version,
        dumps=[f"{BASE}download/{RELEASE_STEM}.{ext}" for ext in RELEASE_FORMATS],
    )
    release = new_graph()
    release += merged
    release += void
    for ext, fmt in RELEASE_FORMATS.items():
        target = out_dir / f"{RELEASE_STEM}.{ext}"
        progress(f"writing {target.name}")
        _atomic_write(target, release.serialize(format=fmt, encoding="utf-8"))
        written.append(target)
    void_path = out_dir / "void.ttl"
    _atomic_write(void_path, void.serialize(format="turtle", encoding="utf-8"))
    written.append(void_path)

    progress(f"writing {DATASET_FILE}")
    ds_path = out_dir / DATASET_FILE
    _atomic_write(ds_path, b"".join(
        to_nquads(graph, name)
        for name, graph in ((GRAPH_ASSERTED, data), (GRAPH_INFERRED, inferred),
                            (GRAPH_ONTOLOGY, ontology))
    ))
    written.append(ds_path)

    counts = {
        "ontology_triples": len(ontology),
        "asserted_triples": len(data),
        "inferred_triples": len(inferred),
        "studies": len(set((data + inferred).subjects(RDF.type, KEDO.Study))),
    }
    seconds = time.perf_counter() - start
    manifest_out: Manifest = {
        "digest": digest,
        "version": version,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": [p.name for p in written],
        "counts": counts,
    }
    _atomic_write(out_dir / MANIFEST_FILE, json.dumps(manifest_out, indent=2).encode())
    return BuildResult(digest, version, written, counts, seconds, True)


def to_nquads(graph: Graph, graph_name: str) -> bytes:
    """Serialise ``graph`` as N-Quads in the named graph ``graph_name``.

    N-Triples lines end in `` .``; inserting the graph IRI before that end is exactly N-Quads,
    and avoids rdflib's Dataset serialiser (slower, and deprecated API underneath).
    """
    nt = graph.serialize(format="nt", encoding="utf-8")
    suffix = f" <{graph_name}> .".encode()
    lines = (line[:-2] + suffix for line in nt.splitlines() if line.endswith(b" ."))
    return b"".join(line + b"\n" for line in sorted(lines))


def _atomic_write(path: Path, payload: bytes) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(payload)
    tmp.replace(path)


__all__ = ["BuildResult", "Manifest", "build", "dataset_file", "load_sources", "read_manifest"]
