"""The release's downloads: the whole dataset in every RDF format of the format table, each
with a gzip copy and a SHA-256 checksum file, written by the build and served as files.

Why at build time: a dump written by the query processes would carry the blank-node labels of
whichever process loaded the store (pyoxigraph relabels on load), so two processes, or one
before and after a restart, would send different bytes and no checksum could hold. Written
from the canonical quads of the build, every download is byte-reproducible, and its checksum
is part of the release's manifest.

What a download holds: the dataset as the service's default graph sees it, data and the
discovery graphs (VoID with its licence, version and citation; the example queries; the
service description). Formats that keep graphs apart (TriG, N-Quads) keep them apart; the
others carry the union. Turtle, TriG and N3 use the project's prefixes; JSON-LD is compacted
with the project's ``@context`` (also published at ``/download/context.jsonld``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import Graph

from .formats import RDF_FORMATS, Format
from .iris import PREFIXES
from .terms import from_oxigraph

DOWNLOAD_DIR = "download"
"""The folder of a release that holds the downloads."""
STEM = "ketamine-ed-kg"
CONTEXT_FILE = "context.jsonld"
JSONLD_CONTEXT: dict[str, object] = {"@context": dict(PREFIXES)}
"""The JSON-LD context of the JSON-LD download: the project's prefixes."""
GZIP_SUFFIX = ".gz"
CHECKSUM_SUFFIX = ".sha256"


def download_name(fmt: Format) -> str:
    """The file name of the download in ``fmt``."""
    return f"{STEM}.{fmt.extensions[0]}"


DOWNLOAD_FILES: tuple[str, ...] = (
    CONTEXT_FILE,
    *(name + suffix for name in map(download_name, RDF_FORMATS)
      for suffix in ("", GZIP_SUFFIX, CHECKSUM_SUFFIX)),
)
"""Every file of the download folder, in the order the manifest lists them."""


def stable_json(value: object) -> object:
    """A JSON-LD document with every array in a fixed order, so the same graph always gives
    the same bytes (rdflib writes node objects and values in set order). ``@list`` arrays are
    RDF lists, whose order is their meaning: they keep it."""
    if isinstance(value, dict):
        return {key: ([stable_json(v) for v in item] if key == "@list"
                      and isinstance(item, list) else stable_json(item))
                for key, item in value.items()}
    if isinstance(value, list):
        items = [stable_json(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def _serialise(quads: list[ox.Quad], fmt: Format) -> bytes:
    if fmt.spec.per_graph:
        return ox.serialize(quads, format=fmt.rdf, prefixes=dict(PREFIXES)) or b""
    triples = sorted({ox.Triple(q.subject, q.predicate, q.object) for q in quads}, key=str)
    if fmt is Format.JSONLD:
        graph = Graph()
        for triple in triples:
            graph.add((from_oxigraph(triple.subject), from_oxigraph(triple.predicate),
                       from_oxigraph(triple.object)))
        document = stable_json(json.loads(graph.serialize(
            format="json-ld", context=JSONLD_CONTEXT["@context"])))
        return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False)
                + "\n").encode()
    return ox.serialize(triples, format=fmt.rdf, prefixes=dict(PREFIXES)) or b""


def render_downloads(quads: Iterable[ox.Quad]) -> dict[str, bytes]:
    """Every download file of a release, by its path in the release (``download/...``).

    ``quads`` are the release's canonical quads (stable blank-node labels), so the same
    sources give the same bytes; gzip copies carry no time stamp for the same reason."""
    ordered = sorted(quads, key=str)
    files = {CONTEXT_FILE: (json.dumps(JSONLD_CONTEXT, indent=1, sort_keys=True)
                            + "\n").encode()}
    for fmt in RDF_FORMATS:
        name = download_name(fmt)
        payload = _serialise(ordered, fmt)
        files[name] = payload
        files[name + GZIP_SUFFIX] = gzip.compress(payload, mtime=0)
        files[name + CHECKSUM_SUFFIX] = (
            f"{hashlib.sha256(payload).hexdigest()}  {name}\n".encode())
    assert tuple(files) == DOWNLOAD_FILES
    return {f"{DOWNLOAD_DIR}/{name}": payload for name, payload in files.items()}


__all__ = ["CHECKSUM_SUFFIX", "CONTEXT_FILE", "DOWNLOAD_DIR", "DOWNLOAD_FILES", "GZIP_SUFFIX",
           "JSONLD_CONTEXT", "STEM", "download_name", "render_downloads", "stable_json"]
