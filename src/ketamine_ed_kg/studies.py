"""``ketamine-ed-kg new-study``: a study file started from the template, slugs and source filled.

Why a command and not ``cp`` + ``sed``: the steps a curator did by hand (copy the template,
replace the placeholder slug, point every claim at the right source, tag the quotes with the
source's language, link the publication the source describes) are where a new study went
wrong. The command does them from what the graph already knows about the source (its
language and its publication, as ``add-source`` wrote them), so what is left are the
``TODO`` values only the source can give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF

from .errors import DataError
from .iris import compact
from .loading import load_data, parse_turtle
from .namespaces import KED, KEDO
from .paths import ProjectPaths
from .release import write_file
from .sources import slug as make_slug

PLACEHOLDER = "example-2099"
"""The template's slug (``ked:example-2099``, ``ked:pub-example-2099``)."""
TEMPLATE_SOURCE = "ked:source-003"
"""The source every claim of the template names."""
_PUBLICATION_BLOCK = re.compile(
    r"# The publication the study is reported in\..*?rdfs:seeAlso [^\n]*\n\n", re.DOTALL)


@dataclass(frozen=True)
class NewStudy:
    """What ``new-study`` wrote."""

    file: Path
    study: URIRef
    source: URIRef
    publication: URIRef
    text: str


def _expand(paths_data: Graph, source: str) -> URIRef:
    """``ked:source-000``, ``source-000`` or the full IRI -> the IRI, which must be a source."""
    local = source.removeprefix("ked:").removeprefix(str(KED))
    iri = KED[local]
    if (iri, RDF.type, KEDO.SourceDocument) not in paths_data:
        raise DataError(f"{source}: no kedo:SourceDocument with this IRI in graph/; add the "
                        "source first (`ketamine-ed-kg add-source RECORD`) or check the name")
    return iri


def fill_template(template: str, *, study_slug: str, source: URIRef, language: str,
                  author: str, year: int | None, publication: URIRef | None) -> str:
    """The template with every slug, the source, the quote language, the first author and
    year filled in; with ``publication``, the template's own publication block is dropped and
    the study is reported in that publication."""
    body = template[template.index("@prefix"):]
    if publication is not None:
        body, count = _PUBLICATION_BLOCK.subn("", body, count=1)
        if count != 1:
            raise DataError("the study template has no publication block to replace "
                            "(docs/study-template.ttl changed?)")
        body = body.replace(f"ked:pub-{PLACEHOLDER}", compact(str(publication)))
    body = re.sub(rf"^(.*){re.escape(TEMPLATE_SOURCE)}( [;.,])\s*# TODO$",
                  rf"\1{compact(str(source))}\2", body, flags=re.MULTILINE)
    body = body.replace(TEMPLATE_SOURCE, compact(str(source)))
    body = body.replace(PLACEHOLDER, study_slug)
    body = re.sub(r'(kedo:quote "[^"\n]*")@en', rf"\1@{language}", body)
    body = body.replace('kedo:firstAuthor "TODO: first author\'s surname"',
                        f'kedo:firstAuthor "{author}"')
    year_line = re.compile(r"^(\s*kedo:publicationYear) 2030 ;\s*# TODO[^\n]*\n", re.MULTILINE)
    if year is None:
        body = year_line.sub("", body)
    else:
        body = year_line.sub(rf"\1 {year} ;\n", body)
    who = f"{author} et al. {year if year is not None else '(undated)'}"
    header = (
        f"# {who}: study described in {compact(str(source))}.\n"
        "# Started by `ketamine-ed-kg new-study` from docs/study-template.ttl: replace every "
        "TODO with what\n# the source states and delete what it does not state "
        f"(`grep -n TODO graph/studies/{study_slug}.ttl`);\n"
        "# CONTRIBUTING.md, 'Adding a study', has the whole loop.\n\n"
    )
    return header + body


def new_study(paths: ProjectPaths, source: str, author: str | None = None,
              year: int | None = None) -> NewStudy:
    """Write ``graph/studies/<author>-<year>.ttl`` for a study described in ``source``.

    The author and year default to those of the publication the source describes. Nothing is
    written when the file exists or the source is unknown.
    """
    data = load_data(paths.graph_files())
    source_iri = _expand(data, source)
    publication = data.value(source_iri, KEDO.describesPublication)
    if publication is not None and not isinstance(publication, URIRef):
        publication = None
    if author is None and publication is not None:
        found = data.value(publication, KEDO.firstAuthor)
        author = str(found) if found is not None else None
    if author is None:
        raise DataError(f"{compact(str(source_iri))} describes no publication with a "
                        "kedo:firstAuthor: give the first author with --author")
    if year is None and publication is not None:
        found_year = data.value(publication, KEDO.publicationYear)
        year = int(found_year) if isinstance(found_year, Literal) else None
    study_slug = f"{make_slug(author)}-{year if year is not None else 'undated'}"
    target = paths.studies_dir / f"{study_slug}.ttl"
    if target.exists() or (KED[study_slug], None, None) in data:
        raise DataError(f"{target}: the study ked:{study_slug} exists already; edit it, or give "
                        "another --author/--year")
    language = data.value(source_iri, DCTERMS.language)
    text = fill_template(
        paths.study_template.read_text(encoding="utf-8"), study_slug=study_slug,
        source=source_iri, language=str(language) if language is not None else "en",
        author=author, year=year, publication=publication,
    )
    parse_turtle(text, target)  # never write a file the loader would reject
    write_file(target, text.encode("utf-8"))
    return NewStudy(file=target, study=KED[study_slug], source=source_iri,
                    publication=publication or KED[f"pub-{study_slug}"], text=text)


__all__ = ["NewStudy", "PLACEHOLDER", "fill_template", "new_study"]
