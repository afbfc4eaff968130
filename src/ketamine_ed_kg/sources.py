"""``ketamine-ed-kg add-source``: a PubMed record becomes a source and its publication.

Why mint both: claims name the *source* (the document whose words they quote: here the PubMed
record), and studies are ``kedo:reportedIn`` the *publication* (the article). The record gives
both at once. Every value written is backed by a claim quoting the record line it came from,
so the new nodes pass the "nothing without a claim" rule and ``validate --source-texts``
finds every quote in the record file itself.

The source's IRI comes from its PMID (``ked:source-pmid-<PMID>``), so two curators adding
records on two branches never mint the same IRI, and adding the same record twice is refused.
The file is ``graph/sources/pmid-<PMID>.ttl``, written through a temporary file and a rename:
it is complete or absent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from .errors import DataError
from .loading import load_data, new_graph, parse_turtle
from .namespaces import KED, KEDO
from .paths import ProjectPaths
from .pubmed import PubMedRecord, parse_record
from .release import write_file

MAX_QUOTE = 200
"""The shapes' limit on a quote's length (characters)."""
_FILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.txt$")


@dataclass(frozen=True)
class AddedSource:
    """What ``add-source`` wrote."""

    file: Path
    source: URIRef
    publication: URIRef
    publication_minted: bool
    """False when the graph already had the publication (same PMID or DOI): it is reused."""
    turtle: str


def slug(text: str) -> str:
    """Lower-case ASCII words joined by ``-`` (``Højlund`` -> ``hojlund``), as IRIs need."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def source_id(record: PubMedRecord) -> str:
    """``pmid-<PMID>``: the source's identifier, its IRI slug and its file's stem."""
    return f"pmid-{record.pmid}"


def _quote(text: str) -> str:
    """``text`` cut to at most :data:`MAX_QUOTE` characters at a word boundary (still verbatim)."""
    folded = " ".join(text.split())
    if len(folded) <= MAX_QUOTE:
        return folded
    cut = folded[:MAX_QUOTE]
    return cut[: cut.rfind(" ")] if " " in cut else cut


def _existing_publication(data: Graph, record: PubMedRecord) -> URIRef | None:
    """A publication already in the graph with the record's PMID or DOI."""
    for prop, value in ((KEDO.pmid, record.pmid), (KEDO.doi, record.doi)):
        if value is None:
            continue
        for node in data.subjects(prop, Literal(value)):
            if isinstance(node, URIRef):
                return node
    return None


def _publication_iri(data: Graph, record: PubMedRecord) -> URIRef:
    """``ked:pub-<firstauthor>-<year>``, with ``-b``, ``-c`` ... when that IRI is taken."""
    base = f"pub-{slug(record.first_author)}-{record.year}"
    for suffix in ["", *(f"-{letter}" for letter in "bcdefghijklmnopqrstuvwxyz")]:
        candidate = KED[base + suffix]
        if (candidate, None, None) not in data:
            return candidate
    raise DataError(f"too many publications named {base}-...; choose the IRI by hand")


def source_graph(record: PubMedRecord, data: Graph) -> tuple[Graph, URIRef, URIRef, bool]:
    """The triples of the new source, its publication (unless already there) and their claims."""
    graph = new_graph()
    ident = source_id(record)
    source = KED[f"source-{ident}"]
    if (source, None, None) in data:
        raise DataError(f"{record.path}: {source} is already in the graph (PubMed record "
                        f"{record.pmid} was added before); nothing written")
    existing = _existing_publication(data, record)
    publication = existing or _publication_iri(data, record)
    who = f"{record.first_author} et al. {record.year}"
    graph.add((source, RDF.type, KEDO.SourceDocument))
    graph.add((source, RDFS.label, Literal(f"Source {ident}: PubMed record of {who}", lang="en")))
    graph.add((source, DCTERMS.title, Literal(record.title)))
    graph.add((source, DCTERMS.language, Literal("en", datatype=XSD.language)))
    graph.add((source, KEDO.documentKind, KEDO.PubMedRecord))
    graph.add((source, DCTERMS.issued, Literal(record.year)))
    if _FILE_NAME_RE.match(record.path.name):
        graph.add((source, KEDO.fileName, Literal(record.path.name)))
    if record.rights:
        graph.add((source, DCTERMS.rights, Literal(record.rights)))
    graph.add((source, KEDO.describesPublication, publication))

    if existing is None:
        graph.add((publication, RDF.type, KEDO.Publication))
        graph.add((publication, RDFS.label, Literal(who, lang="en")))
        graph.add((publication, DCTERMS.title, Literal(record.title)))
        graph.add((publication, KEDO.firstAuthor, Literal(record.first_author)))
        graph.add((publication, KEDO.publicationYear, Literal(record.year)))
        for author in record.authors:
            graph.add((publication, DCTERMS.creator, Literal(author)))
        for prop, value in ((KEDO.journal, record.journal), (KEDO.volume, record.volume),
                            (KEDO.issue, record.issue), (KEDO.pages, record.pages),
                            (KEDO.doi, record.doi), (KEDO.pmid, record.pmid),
                            (KEDO.pmcid, record.pmcid)):
            if value is not None:
                graph.add((publication, prop, Literal(value)))
        see_also = [f"https://pubmed.ncbi.nlm.nih.gov/{record.pmid}"]
        if record.doi:
            see_also.append(f"https://doi.org/{record.doi}")
        if record.pmcid:
            see_also.append(f"https://www.ncbi.nlm.nih.gov/pmc/articles/{record.pmcid}")
        for iri in see_also:
            graph.add((publication, RDFS.seeAlso, URIRef(iri)))

    def claim(name: str, quote: str, *about: URIRef) -> None:
        node = KED[f"source-{ident}-claim-{name}"]
        graph.add((node, RDF.type, KEDO.Claim))
        graph.add((node, KEDO.source, source))
        graph.add((node, KEDO.quote, Literal(_quote(quote), lang="en")))
        for target in about:
            graph.add((node, KEDO.about, target))

    claim("title", record.title, source, publication)
    for field, line in record.lines:
        claim(slug(field), line, source, publication)
    if record.rights:
        claim("rights", record.rights, source)
    return graph, source, publication, existing is None


def add_source(paths: ProjectPaths, record_file: Path) -> AddedSource:
    """Read ``record_file``, write ``graph/sources/pmid-<PMID>.ttl`` and say what was written.

    Nothing is written when the record is malformed, the source exists already, or the Turtle
    would not parse back (the text is checked before the rename makes it visible).
    """
    record = parse_record(record_file)
    target = paths.sources_graph_dir / f"{source_id(record)}.ttl"
    if target.exists():
        raise DataError(f"{target} exists: PubMed record {record.pmid} was added before; "
                        "nothing written")
    data = load_data(paths.graph_files())
    graph, source, publication, minted = source_graph(record, data)
    body = graph.serialize(format="turtle")
    text_name = (record.path.name if _FILE_NAME_RE.match(record.path.name)
                 else f"{source_id(record)}.txt")
    header = (
        f"# Source {source_id(record)}: the PubMed record of {record.first_author} et al. "
        f"{record.year},\n# written by `ketamine-ed-kg add-source`. Every value has a claim "
        "quoting the record line it\n# came from; `validate --source-texts DIR` checks the quotes "
        f"against DIR/{text_name}.\n\n"
    )
    text = header + body
    parse_turtle(text, target)  # never write a file the loader would reject
    write_file(target, text.encode("utf-8"))
    return AddedSource(file=target, source=source, publication=publication,
                       publication_minted=minted, turtle=text)


__all__ = ["AddedSource", "MAX_QUOTE", "add_source", "slug", "source_graph", "source_id"]
