"""Provenance and naming rules that hold for every file of the curated graph.

These are the tests that fail when the graph drifts from its sources: a quote that is not
verbatim in the document its claim names, a fact with no claim behind it, an IRI minted outside
our namespace, or a reference to a node nobody defined.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF

from ketamine_ed_kg.namespaces import BASE, KED, KEDO
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.validation.quotes import check_quotes
from support.project import Curated

ALLOWED_EXTERNAL_PREFIXES = (
    "http://www.w3.org/",
    "http://purl.org/dc/",
    "http://purl.org/spar/",
    "http://purl.obolibrary.org/obo/",
    "http://www.geneontology.org/formats/oboInOwl#",
    "https://doi.org/",
    "https://pubmed.ncbi.nlm.nih.gov/",
    "https://www.ncbi.nlm.nih.gov/pmc/articles/",
    "https://clinicaltrials.gov/study/",
    "https://identifiers.org/",
    "http://id.nlm.nih.gov/mesh/",
    "http://id.who.int/icd/",
    "https://go.drugbank.com/drugs/",
    "http://www.wikidata.org/entity/",
    "https://loinc.org/",
    "https://pubchem.ncbi.nlm.nih.gov/compound/",
    "https://creativecommons.org/licenses/",
    "https://schema.org/",
    "http://rdfs.org/ns/void#",
    "http://xmlns.com/foaf/0.1/",
)


@pytest.fixture(scope="module")
def data(curated: Curated) -> Graph:
    graph = curated.data
    if len(graph) == 0:
        pytest.fail("the curated graph is empty")
    return graph


def claims(data: Graph) -> list[URIRef]:
    return [c for c in data.subjects(RDF.type, KEDO.Claim) if isinstance(c, URIRef)]


def test_every_claim_has_one_source_a_quote_and_a_subject(data: Graph) -> None:
    problems = []
    for claim in claims(data):
        sources = list(data.objects(claim, KEDO.source))
        quotes = list(data.objects(claim, KEDO.quote))
        about = list(data.objects(claim, KEDO.about))
        if len(sources) != 1 or not quotes or not about:
            problems.append(f"{claim}: {len(sources)} sources, {len(quotes)} quotes, "
                            f"{len(about)} kedo:about")
    assert not problems, "\n".join(problems)


def test_quotes_are_language_tagged_and_short(data: Graph) -> None:
    problems = []
    for claim, quote in data.subject_objects(KEDO.quote):
        if not isinstance(quote, Literal) or quote.language not in ("en", "nb"):
            problems.append(f"{claim}: quote {quote!r} needs an @en or @nb tag")
        elif len(str(quote)) > 200:
            problems.append(f"{claim}: quote is {len(str(quote))} characters (max 200)")
    assert not problems, "\n".join(problems)


def test_every_quote_is_verbatim_in_its_source_document(data: Graph, shared_dir: Path) -> None:
    """The check ``validate --source-texts ../shared/seeds`` runs: every quote of the five seed
    documents is in its seed; a source added later has its text elsewhere and is skipped."""
    seeds = shared_dir / "seeds"
    outcome = check_quotes(data, [seeds])
    checked = {Path(p).name for p in outcome.checked.values()}
    assert checked == {p.name for p in seeds.iterdir()}, "a seed was not checked"
    assert outcome.quotes > 0
    problems = [f"{r.focus}: {r.message}" for r in outcome.results]
    assert not problems, f"{len(problems)} of {outcome.quotes} quotes:\n" + "\n".join(problems)


def test_every_source_document_names_a_seed_file(data: Graph, shared_dir: Path) -> None:
    names = {p.name for p in (shared_dir / "seeds").iterdir()}
    documented = {str(n) for n in data.objects(None, KEDO.fileName)}
    assert names <= documented, f"seed files without a kedo:SourceDocument: {names - documented}"


def test_every_curated_node_is_backed_by_a_claim(data: Graph) -> None:
    """Every typed node we mint (other than claims and sources) is what some claim is about."""
    about = set(data.objects(None, KEDO.about))
    exempt = {KEDO.Claim, KEDO.SourceDocument}
    missing = sorted(
        str(s) for s, cls in data.subject_objects(RDF.type)
        if isinstance(s, URIRef) and str(s).startswith(str(KED)) and cls not in exempt
        and not (set(data.objects(s, RDF.type)) & exempt) and s not in about
    )
    assert not missing, "nodes with no claim behind them:\n" + "\n".join(sorted(set(missing)))


PUBLICATION_VALUES = (KEDO.doi, KEDO.pmid, KEDO.pmcid, DCTERMS.title)
"""The identifying values of a publication that must each have a claim quoting them."""


def _squeezed(text: str) -> str:
    """No white space, lower case: a DOI printed "s40 337" or a title in other capitals still
    matches, and a quote split in two (claims keep quotes under 200 characters) joins up."""
    return re.sub(r"\s+", "", text).lower()


def _quoted_in(data: Graph, claim: URIRef, value: str) -> bool:
    """``value`` is in one quote of ``claim``, or in its quotes joined in some order."""
    quotes = [_squeezed(str(q)) for q in data.objects(claim, KEDO.quote)]
    wanted = _squeezed(value)
    return any(wanted in "".join(order) for order in itertools.permutations(quotes))


def test_every_publication_identifier_and_title_is_quoted_by_a_claim(data: Graph) -> None:
    """Issue #12 section 7, "values from no source": a DOI, PMID, PMCID or title of a
    publication is quoted by a claim about it, whose source is a source document (or a registry
    record, kedo:RegistryRecord, for values no document prints): never the identifier table
    alone."""
    problems = []
    for prop in PUBLICATION_VALUES:
        for pub, value in sorted(data.subject_objects(prop)):
            if (pub, RDF.type, KEDO.Publication) not in data:
                continue
            backing = [
                claim for claim in data.subjects(KEDO.about, pub)
                if isinstance(claim, URIRef) and (claim, RDF.type, KEDO.Claim) in data
                and (data.value(claim, KEDO.source), RDF.type, KEDO.SourceDocument) in data
                and data.value(data.value(claim, KEDO.source), KEDO.documentKind) is not None
                and _quoted_in(data, claim, str(value))
            ]
            if not backing:
                problems.append(f"{pub} {prop} {str(value)!r}")
    assert not problems, (
        "publication values no claim quotes (add a claim quoting the source document or "
        "registry record that shows the value, or remove the value):\n" + "\n".join(problems))


def test_registry_record_claims_back_the_values_no_document_prints(data: Graph) -> None:
    """The eight values of issue #12 that only the identifier table gave are quoted from the
    registry record it names, and such a source has no text file to check (no kedo:fileName)."""
    expected = {
        ("pub-mills-1998", KEDO.doi, "10.1093/qjmed/91.7.493"),
        ("pub-mills-1998", KEDO.pmid, "9797933"),
        ("pub-mills-1998", DCTERMS.title,
         "Treatment of compulsive behaviour in eating disorders with intermittent ketamine "
         "infusions"),
        ("pub-scolnick-2020", KEDO.pmid, "32848935"),
        ("pub-robison-2022", KEDO.pmid, "35524316"),
        ("pub-robison-2022", KEDO.pmcid, "PMC9077943"),
        ("pub-keeler-2021", KEDO.pmcid, "PMC8625822"),
        ("pub-ragnhildstveit-2022", KEDO.pmcid, "PMC8963252"),
    }
    registries = set(data.subjects(KEDO.documentKind, KEDO.RegistryRecord))
    assert registries and not any(data.value(r, KEDO.fileName) for r in registries)
    found = set()
    for claim in set(data.subjects(KEDO.source, None)):
        prop, value = data.value(claim, KEDO.assertsProperty), data.value(claim, KEDO.assertsValue)
        if data.value(claim, KEDO.source) not in registries or prop is None or value is None:
            continue
        assert isinstance(claim, URIRef) and _quoted_in(data, claim, str(value)), claim
        for pub in data.objects(claim, KEDO.about):
            if (pub, RDF.type, KEDO.Publication) in data and (pub, prop, value) in data:
                found.add((str(pub)[len(str(KED)):], prop, str(value)))
    assert found == expected


def test_no_iri_is_minted_outside_our_namespace(data: Graph) -> None:
    problems = set()
    for s, _, o in data:
        if isinstance(s, URIRef) and not str(s).startswith(BASE):
            problems.add(f"subject outside {BASE}: {s}")
        if isinstance(o, URIRef) and not (
            str(o).startswith(BASE) or str(o).startswith(ALLOWED_EXTERNAL_PREFIXES)
        ):
            problems.add(f"object IRI in no known namespace: {o}")
    assert not problems, "\n".join(sorted(problems))


def test_every_referenced_resource_is_defined(data: Graph, curated: Curated) -> None:
    """A ked: IRI used as an object must be typed somewhere; a kedo: IRI must be declared."""
    ontology = curated.ontology
    typed = set(data.subjects(RDF.type, None))
    declared = set(ontology.subjects(RDF.type, None))
    problems = set()
    for s, p, o in data:
        for term in (p, o):
            if not isinstance(term, URIRef):
                continue
            if str(term).startswith(str(KED)) and term not in typed:
                problems.add(f"{term} is used (by {s}) but never typed")
            if str(term).startswith(str(KEDO)) and term not in declared:
                problems.add(f"{term} is used (by {s}) but not declared in the ontology")
    assert not problems, "\n".join(sorted(problems))


def test_study_files_are_named_after_their_study(sources: ProjectPaths) -> None:
    for path in sorted((sources.graph_dir / "studies").glob("*.ttl")):
        graph = Graph().parse(path, format="turtle")
        study = KED[path.stem]
        kinds = set(graph.objects(study, RDF.type))
        assert kinds, f"{path.name} defines no node {study} (the IRI slug must equal the file name)"
