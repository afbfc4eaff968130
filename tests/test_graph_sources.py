"""The source documents, their bibliographies and the studies curated from seeds 000-002 and 004.

Expected values are typed here from the source text (the seed files), not copied from the
graph: a curation slip such as a wrong BMI, a lost citation or an identifier that a seed prints
but the graph lacks makes one of these tests fail.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from ketamine_ed_kg.namespaces import CITO, KED, KEDO
from support.graph import one
from support.project import Curated


@pytest.fixture(scope="module")
def data(curated: Curated) -> Graph:
    return curated.data


def subclasses(ontology: Graph, cls: URIRef) -> set[URIRef]:
    """``cls`` and every class below it in the ontology's rdfs:subClassOf hierarchy."""
    found = {cls}
    frontier = [cls]
    while frontier:
        current = frontier.pop()
        for sub in ontology.subjects(RDFS.subClassOf, current):
            if isinstance(sub, URIRef) and sub not in found:
                found.add(sub)
                frontier.append(sub)
    return found


# --- the five source documents ------------------------------------------------------------

SOURCES = {
    # IRI suffix: (title line of the seed, language, document kind)
    "source-000": (
        "Improvement in depressive symptoms in a patient with severe and enduring anorexia "
        "nervosa and comorbid major depressive disorder using psychotherapy-assisted IV "
        "ketamine : a case report",
        "en",
        KEDO.PubMedRecord,
    ),
    "source-001": ("Using Ketamine to Treat Anorexia", "en", KEDO.PopularScienceArticle),
    "source-002": (
        "Ketaminassistert psykoterapi for anorexia nervosa", "nb",
        KEDO.ProfessionalJournalSummary,
    ),
    "source-003": ("Ketamine for Eating Disorders: History", "en", KEDO.EncyclopediaEntry),
    "source-004": (
        "Ketamine Infusion Therapy to Treat Eating Disorders", "en", KEDO.ClinicWebPage,
    ),
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_source_document_title_language_and_kind(data: Graph, name: str) -> None:
    title, language, kind = SOURCES[name]
    source = KED[name]
    assert (source, RDF.type, KEDO.SourceDocument) in data
    assert str(one(data, source, DCTERMS.title)) == title
    assert str(one(data, source, DCTERMS.language)) == language
    assert one(data, source, KEDO.documentKind) == kind


def test_source_titles_are_their_seed_title_lines(data: Graph, shared_dir: Path) -> None:
    for name in SOURCES:
        file_name = str(one(data, KED[name], KEDO.fileName))
        text = (shared_dir / "seeds" / file_name).read_text(encoding="utf-8")
        lines = [line.strip() for line in text.splitlines() if line.strip()][:2]
        assert str(one(data, KED[name], DCTERMS.title)) in lines, name


def test_described_publications_and_posting_date(data: Graph) -> None:
    assert one(data, KED["source-000"], KEDO.describesPublication) == KED["pub-timek-2024"]
    assert one(data, KED["source-002"], KEDO.describesPublication) == KED["pub-dahlgren-2025"]
    assert str(one(data, KED["source-001"], DCTERMS.issued)) == "2022-12-04"


# --- the Timek et al. 2024 case report (source 000) ----------------------------------------

def test_timek_patient_regimen_and_bmi(data: Graph) -> None:
    study = KED["timek-2024"]
    assert one(data, study, KEDO.hasDesign) == KEDO.CaseReportDesign
    assert one(data, study, KEDO.setting) == "general hospital"
    group = one(data, study, KEDO.hasParticipantGroup)
    assert isinstance(group, URIRef)
    assert one(data, group, KEDO.age) == Decimal("33")
    assert one(data, group, KEDO.sampleSize) == 1
    assert one(data, group, KEDO.sex) == KEDO.Female
    bmi = one(data, group, KEDO.hasMeasurement)
    assert isinstance(bmi, URIRef)
    assert one(data, bmi, KEDO.measuredQuantity) == KEDO.BodyMassIndex
    assert one(data, bmi, KEDO.numericValue) == Decimal("13")
    lowest = KED["timek-2024-literature-lowest-bmi"]
    assert one(data, lowest, KEDO.statisticKind) == KEDO.LowestReportedValue
    assert one(data, lowest, KEDO.value) == Decimal("16.9")
    regimen = one(data, study, KEDO.hasRegimen)
    assert isinstance(regimen, URIRef)
    assert one(data, regimen, KEDO.route) == KEDO.Intravenous
    assert one(data, regimen, KEDO.sessionCountMin) == 7
    assert one(data, regimen, KEDO.sessionCountMax) == 7
    act = one(data, regimen, KEDO.adjunctTreatment)
    assert isinstance(act, URIRef)
    assert (act, RDF.type, KEDO.AcceptanceAndCommitmentTherapy) in data


def test_timek_prior_treatments_and_outcomes(data: Graph) -> None:
    group = KED["timek-2024-group"]
    prior_kinds = {
        kind for treatment in data.objects(group, KEDO.priorTreatment)
        for kind in data.objects(treatment, RDF.type)
    }
    assert {KEDO.Antidepressant, KEDO.MoodStabilizer, KEDO.Antipsychotic,
            KEDO.ElectroconvulsiveTherapy} <= prior_kinds
    constructs = {
        c for outcome in data.objects(KED["timek-2024"], KEDO.hasOutcome)
        for c in data.objects(outcome, KEDO.construct)
    }
    assert {KEDO.CognitiveFlexibility, KEDO.Suicidality, KEDO.Depression} <= constructs
    assert (KED["timek-2024-outcome-bdi"], KEDO.measuredWith, KEDO.BDI) in data


# --- the Dahlgren et al. 2025 case study (source 002) --------------------------------------

def test_dahlgren_regimen(data: Graph) -> None:
    regimen = one(data, KED["dahlgren-2025"], KEDO.hasRegimen)
    assert isinstance(regimen, URIRef)
    assert one(data, regimen, KEDO.route) == KEDO.Intramuscular
    assert one(data, regimen, KEDO.sessionCountMin) == 4  # "fire intramuskulære"
    assert one(data, regimen, KEDO.sessionCountMax) == 4
    assert one(data, regimen, KEDO.maintenanceDoseCount) == 3  # "tre vedlikeholdsdoser"


def test_dahlgren_patient_and_bmi_course(data: Graph) -> None:
    group = KED["dahlgren-2025-group"]
    assert one(data, group, KEDO.sampleSize) == 1
    assert one(data, group, KEDO.sex) == KEDO.Female
    assert one(data, group, KEDO.ageDescription) == "late 20s"
    codes = {
        str(code) for dx in data.objects(group, KEDO.hasDiagnosis)
        for code in data.objects(dx, KEDO.icdCodeAsReported)
    }
    assert codes == {"F50.0"}
    bmis = sorted(
        (one(data, m, KEDO.timePointOrder), one(data, m, KEDO.numericValue))
        for m in data.objects(group, KEDO.hasMeasurement)
        if (m, KEDO.measuredQuantity, KEDO.BodyMassIndex) in data
    )
    assert [value for _, value in bmis] == [Decimal("19.1"), Decimal("17.2")]
    follow_up = one(data, KED["dahlgren-2025"], KEDO.followUpDuration)
    assert one(data, follow_up, KEDO.unit) == KEDO.Month
    assert one(data, follow_up, KEDO.minValue) == Decimal("5")  # "fem måneder"
    assert one(data, follow_up, KEDO.maxValue) == Decimal("5")


def test_dahlgren_uses_six_instruments_and_kset(data: Graph) -> None:
    # "Utfallsmålene inkluderte ... (EDE-Q), ... (PHQ-9), ... (GAD-7), selvmordstanker (MADRS),
    # ... (AAQ-II) og ... (EQ-5D-5)" and "Ketamine Side Effect Tool (KSET)".
    used = set(data.objects(KED["dahlgren-2025"], KEDO.usesInstrument))
    assert used == {KEDO["EDE-Q"], KEDO["PHQ-9"], KEDO["GAD-7"], KEDO.MADRS,
                    KEDO["AAQ-II"], KEDO["EQ-5D-5L"], KEDO.KSET}
    with_result = {
        i for outcome in data.objects(KED["dahlgren-2025"], KEDO.hasOutcome)
        for i in data.objects(outcome, KEDO.measuredWith)
    }
    # 002 reports no result measured with MADRS (suicidal thoughts).
    assert with_result == used - {KEDO.MADRS}


def test_dahlgren_claims_quote_norwegian(data: Graph) -> None:
    quotes = [
        quote for claim in data.subjects(KEDO.source, KED["source-002"])
        for quote in data.objects(claim, KEDO.quote)
    ]
    assert quotes
    assert all(isinstance(q, Literal) and q.language == "nb" for q in quotes)
    regimen_quotes = {
        str(q) for claim in data.subjects(KEDO.about, KED["dahlgren-2025-regimen"])
        for q in data.objects(claim, KEDO.quote)
    }
    assert any("fire intramuskulære ketamininjeksjoner" in q for q in regimen_quotes)


def test_dahlgren_side_effects_mild_and_transient(data: Graph) -> None:
    reports = set(data.subjects(KEDO.reportedFor, KED["dahlgren-2025"]))
    effects = {e for r in reports for e in data.objects(r, KEDO.adverseEffect)}
    assert effects == {KEDO.MildTransientSideEffects}


# --- Norway (source 002) --------------------------------------------------------------------

def test_norway_funding_is_24_9_million_kroner(data: Graph) -> None:
    funding = [
        f for f in data.subjects(KEDO.statisticKind, KEDO.Funding)
        if (f, KEDO.unit, KEDO.NorwegianKrone) in data
    ]
    assert len(funding) == 1
    finding = funding[0]
    assert isinstance(finding, URIRef)
    assert one(data, finding, KEDO.value) == Decimal("24900000")  # "24,9 millioner kroner"
    assert str(one(data, finding, KEDO.year)) == "2024"


def test_norway_2025_decision(data: Graph) -> None:
    event = KED["norway-decision-2025-ketamine-trd"]
    assert (event, RDF.type, KEDO.RegulatoryEvent) in data
    assert str(one(data, event, KEDO.year)) == "2025"
    assert one(data, event, KEDO.jurisdiction) == "Norway"
    condition = one(data, event, KEDO.forCondition)
    assert (condition, RDF.type, KEDO.TreatmentResistantDepression) in data


def test_solmi_meta_analysis(data: Graph) -> None:
    study = KED["solmi-2024"]
    assert one(data, study, KEDO.hasDesign) == KEDO.MetaAnalysisDesign
    group = one(data, study, KEDO.hasParticipantGroup)
    assert one(data, group, KEDO.sampleSize) == 90000
    remission = KED["solmi-2024-full-remission"]
    assert one(data, remission, KEDO.statisticKind) == KEDO.RemissionProportion
    assert one(data, remission, KEDO.valueMax) == Decimal("50")  # "under halvparten"
    assert one(data, KED["solmi-2024-chronic"], KEDO.value) == Decimal("20")  # "én av fem"


# --- source 004's unverified mentions ------------------------------------------------------

@pytest.mark.parametrize("name,author,year", [("fond-2014", "Fond", "2014"),
                                              ("durdle-2019", "Durdle", "2019")])
def test_unverified_mentions_are_not_studies(
    curated: Curated, name: str, author: str, year: str
) -> None:
    ontology, data = curated
    node = KED[name]
    kinds = set(data.objects(node, RDF.type))
    assert kinds == {KEDO.UnverifiedStudyReference}
    assert not kinds & subclasses(ontology, KEDO.Study)
    assert one(data, node, KEDO.firstAuthor) == author
    assert str(one(data, node, KEDO.publicationYear)) == year
    claims = set(data.subjects(KEDO.about, node))
    assert claims
    for claim in claims:
        assert one(data, claim, KEDO.source) == KED["source-004"]
        assert one(data, claim, KEDO.onlyInSource) is True


# --- the conflict and the side-by-side bibliography claims ---------------------------------

def test_competitive_versus_noncompetitive(data: Graph) -> None:
    competitive = KED["ketamine-claim-competitive"]
    assert one(data, competitive, KEDO.source) == KED["source-000"]
    assert one(data, competitive, KEDO.assertsProperty) == KEDO.antagonismType
    assert one(data, competitive, KEDO.assertsValue) == KEDO.Competitive
    assert one(data, competitive, KEDO.about) == KED["mechanism-nmda-antagonism"]
    assert (competitive, KEDO.conflictsWith, KED["ketamine-claim-noncompetitive"]) in data
    quote = str(one(data, competitive, KEDO.quote))
    assert quote == "Ketamine, a competitive N-methyl-D-aspartate receptor antagonist"


def test_keeler_reference_disagreement_is_kept(data: Graph) -> None:
    by_source = {
        one(data, claim, KEDO.source): str(one(data, claim, KEDO.assertsValue))
        for claim in data.subjects(KEDO.about, KED["pub-keeler-2021"])
        if (claim, KEDO.assertsProperty, KEDO.pages) in data
    }
    # 001: "Nutrients, 13, 1-21."; 002: "Nutrients, 13(11), 4158."
    assert by_source == {KED["source-001"]: "1-21", KED["source-002"]: "4158"}
    pub = KED["pub-keeler-2021"]
    assert str(one(data, pub, KEDO.volume)) == "13"
    assert str(one(data, pub, KEDO.issue)) == "11"
    assert data.value(pub, KEDO.pages) is None, "the sources disagree: no pages on the node"
    assert (KED["pub-keeler-2021-claim-ref-001"], KEDO.conflictsWith,
            KED["pub-keeler-2021-claim-ref-002"]) in data


def test_printed_forms_are_kept(data: Graph) -> None:
    assert one(data, KED["pub-aiger-2011"], KEDO.firstAuthor) == "Aiger"
    assert "mis-adolescence" in str(one(data, KED["pub-chen-2018"], DCTERMS.title))
    assert str(one(data, KED["pub-temizer-2022"], KEDO.publicationYear)) == "2022"


# --- citations --------------------------------------------------------------------------------

CITED = {
    # source: first-author slugs of its reference list, typed from the seed
    "source-000": {"american-psychiatric-association-2013", "solmi-2024"},
    "source-001": {"aiger-2011", "morgan-2011", "duman-2012", "keeler-2021", "hermens-2020",
                   "chen-2018", "temizer-2022", "frank-2016", "keel-2013", "kohmura-2017"},
    "source-002": {"dahlgren-2025", "berthold-losleben-2025", "calder-2023", "drozdz-2022",
                   "isachsen-2024", "kaluzna-2022", "keeler-2021", "kvam-2025",
                   "mollaahmetoglu-2021", "nikolin-2023", "ragnhildstveit-2021",
                   "ragnhildstveit-2022", "robison-2022", "schwartz-2021", "scolnick-2020",
                   "solmi-2024", "timek-2024"},
}


@pytest.mark.parametrize("source", sorted(CITED))
def test_reference_lists_are_cited(data: Graph, source: str) -> None:
    cited = {str(o).removeprefix(str(KED) + "pub-") for o in data.objects(KED[source], CITO.cites)}
    assert cited == CITED[source]
    for slug in cited:
        assert (KED["pub-" + slug], RDF.type, KEDO.Publication) in data, slug


def test_cited_by_and_table_1_citations(data: Graph) -> None:
    citing = set(data.subjects(CITO.cites, KED["pub-timek-2024"]))
    assert {KED["pub-noauthor-2025-a"], KED["pub-noauthor-2024-b"],
            KED["pub-dahlgren-2025"]} <= citing
    table_1 = {KED["pub-mills-1998"], KED["pub-schwartz-2021"], KED["pub-scolnick-2020"],
               KED["pub-ragnhildstveit-2021"]}
    assert table_1 <= set(data.objects(KED["source-003"], CITO.cites))
    assert (KED["source-003"], CITO.cites, KED["pub-keeler-2021"]) not in data


# --- every identifier a seed prints is in the graph ----------------------------------------

# A DOI runs to the next white space. One seed (002) prints a DOI broken by a space inside it
# ("10.1186/s40 337-022-00588-9", Robison et al. 2022); the optional " <digits>-..." group joins
# such a continuation, and the test then expects the repaired form (space removed), which is the
# form verified in identifiers.tsv. Only a space followed by digit-and-hyphen is joined, so a
# DOI at the end of a line followed by a numbered reference ("8)Frank") is not.
DOI_RE = re.compile(r"10\.\d{4,9}/[^\s\"<>]+(?: \d+-[^\s\"<>]+)?")
PMID_RE = re.compile(r"PMID:\s*(\d+)")
PMCID_RE = re.compile(r"\bPMC\d+\b")


def seed_identifiers(shared_dir: Path) -> tuple[set[str], set[str], set[str], set[str]]:
    """DOIs, broken-printed DOIs, PMIDs and PMCIDs printed anywhere in the seed files."""
    dois: set[str] = set()
    broken: set[str] = set()
    pmids: set[str] = set()
    pmcids: set[str] = set()
    for path in sorted((shared_dir / "seeds").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for match in DOI_RE.findall(text):
            doi = match.rstrip(".,;)")
            if " " in doi:
                broken.add(doi)
                doi = doi.replace(" ", "")
            dois.add(doi)
        pmids.update(PMID_RE.findall(text))
        pmcids.update(PMCID_RE.findall(text))
    return dois, broken, pmids, pmcids


def test_seed_identifier_extraction_finds_the_known_ones(shared_dir: Path) -> None:
    dois, broken, pmids, pmcids = seed_identifiers(shared_dir)
    assert "10.1186/s40337-024-01039-3" in dois
    assert "10.1016/j.pnpbp.2020.109921" in dois  # printed with a trailing full stop
    assert broken == {"10.1186/s40 337-022-00588-9"}
    assert {"38867336", "40495248", "34836413"} <= pmids
    assert pmcids == {"PMC11167937"}


def test_every_seed_identifier_is_in_the_graph(data: Graph, shared_dir: Path) -> None:
    dois, broken, pmids, pmcids = seed_identifiers(shared_dir)
    graph_dois = {str(o) for o in data.objects(None, KEDO.doi)}
    graph_pmids = {str(o) for o in data.objects(None, KEDO.pmid)}
    graph_pmcids = {str(o) for o in data.objects(None, KEDO.pmcid)}
    assert not dois - graph_dois, f"DOIs in a seed but not in the graph: {dois - graph_dois}"
    assert not pmids - graph_pmids, f"PMIDs missing: {pmids - graph_pmids}"
    assert not pmcids - graph_pmcids, f"PMCIDs missing: {pmcids - graph_pmcids}"
    see_also = {str(o) for o in data.objects(None, RDFS.seeAlso)}
    assert {f"https://doi.org/{d}" for d in dois} <= see_also
    # the broken printed form survives verbatim in a claim's quote, never in kedo:doi
    quotes = " ".join(str(q) for q in data.objects(None, KEDO.quote))
    for printed in broken:
        assert printed in quotes
        assert printed not in graph_dois
