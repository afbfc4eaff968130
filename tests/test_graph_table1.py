"""The Table 1 studies of the review (source 003) and the group KAP case series (source 002).

Every expected value below is typed from the source text, not copied from the graph: the
review's Table 1 and its paragraphs on Mills, Dechant, Ragnhildstveit, Schwartz and Scolnick,
the reference list of the Norwegian summary (002), the PubMed record (000), and the verified
rows of identifiers.tsv for DOIs and PMIDs no seed prints. ``test_expected_figures_are_in_the_
sources`` checks, where ../shared is present, that the printed forms of those figures really
occur in the seed files, so a typo in this file cannot pass silently.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from ketamine_ed_kg.loading import parse_file
from ketamine_ed_kg.namespaces import DCTERMS, KED, KEDO
from ketamine_ed_kg.paths import ProjectPaths
from support.graph import single
from support.project import Curated

STUDIES = (
    "mills-1998",
    "dechant-undated",
    "ragnhildstveit-2021",
    "schwartz-2021",
    "scolnick-2020",
    "robison-2022",
)

D = Decimal


@pytest.fixture(scope="module")
def data(curated: Curated) -> Graph:
    """The asserted graph, every curated file merged."""
    return curated.data


def integer(node: Node | None) -> int:
    """An integer literal's value."""
    assert isinstance(node, Literal), f"not a literal: {node!r}"
    return int(node)


def num(graph: Graph, subject: Node, prop: URIRef) -> Decimal:
    """A numeric value as a Decimal (exact, so 0.1 + 0.2 issues cannot hide a typo)."""
    value = single(graph, subject, prop)
    assert isinstance(value, Literal), f"{subject} {prop} is not a literal: {value!r}"
    return D(str(value))


def quantity(graph: Graph, node: Node) -> tuple[Decimal, Decimal, Node]:
    """(minimum, maximum, unit) of a kedo:Quantity."""
    low, high = num(graph, node, KEDO.minValue), num(graph, node, KEDO.maxValue)
    return low, high, single(graph, node, KEDO.unit)


def sessions(graph: Graph, regimen: Node) -> tuple[int, int]:
    """(fewest, most) sessions of a regimen."""
    low, high = num(graph, regimen, KEDO.sessionCountMin), num(graph, regimen, KEDO.sessionCountMax)
    return int(low), int(high)


def dose_of(graph: Graph, dose: Node) -> tuple[Decimal, Node]:
    """(value, unit) of a kedo:Dose."""
    return num(graph, dose, KEDO.doseValue), single(graph, dose, KEDO.doseUnit)


def types_of(graph: Graph, subject: Node, prop: URIRef) -> set[Node]:
    """Every rdf:type of every value of ``prop`` on ``subject``."""
    return {t for v in graph.objects(subject, prop) for t in graph.objects(v, RDF.type)}


def regimen_of(graph: Graph, study: URIRef, drug_class: URIRef) -> Node:
    """The study's regimen whose drug is typed with ``drug_class``."""
    found = [
        r for r in graph.objects(study, KEDO.hasRegimen)
        if (single(graph, r, KEDO.hasDrug), RDF.type, drug_class) in graph
    ]
    assert len(found) == 1, f"{study}: expected one {drug_class} regimen, found {found}"
    return found[0]


def outcomes(graph: Graph, study: URIRef) -> set[tuple[Node | None, Node | None]]:
    """(construct, response category) for every construct of every outcome of a study.

    An outcome with no construct gives (None, category); one with two constructs (the
    review's "OCD-related ED symptoms") gives two pairs.
    """
    pairs: set[tuple[Node | None, Node | None]] = set()
    for o in graph.objects(study, KEDO.hasOutcome):
        category = graph.value(o, KEDO.responseCategory)
        constructs: list[Node | None] = [*graph.objects(o, KEDO.construct)] or [None]
        pairs.update((c, category) for c in constructs)
    return pairs


def titration(graph: Graph, regimen: Node) -> list[tuple[int, Decimal, Decimal | None, Node]]:
    """Titration steps in stepIndex order: (index, dose, upper dose or None, unit)."""
    steps = []
    for step in graph.objects(regimen, KEDO.hasTitrationStep):
        upper = graph.value(step, KEDO.doseValueMax)
        steps.append((
            integer(single(graph, step, KEDO.stepIndex)),
            num(graph, step, KEDO.doseValue),
            D(str(upper)) if upper is not None else None,
            single(graph, step, KEDO.doseUnit),
        ))
    return sorted(steps, key=lambda s: s[0])


def subgroup_sizes(graph: Graph, group: URIRef) -> dict[str, int]:
    """Subgroup IRI suffix -> sample size, for every subgroup of ``group``."""
    return {
        str(s).rsplit("-subgroup-", 1)[1]: integer(single(graph, s, KEDO.sampleSize))
        for s in graph.subjects(KEDO.subgroupOf, group)
    }


# --- each file stands on its own --------------------------------------------------------


@pytest.mark.parametrize("slug", STUDIES)
def test_each_study_file_parses_alone_and_backs_its_nodes(sources: ProjectPaths, slug: str) -> None:
    graph = parse_file(sources.graph_dir / "studies" / f"{slug}.ttl")
    study = KED[slug]
    assert (study, RDF.type, KEDO.HumanStudy) in graph
    about = set(graph.objects(None, KEDO.about))
    claims = set(graph.subjects(RDF.type, KEDO.Claim))
    unbacked = sorted(
        str(s) for s in set(graph.subjects(RDF.type, None))
        if isinstance(s, URIRef) and s not in claims and s not in about
    )
    assert not unbacked, f"{slug}: nodes no claim in the same file is about: {unbacked}"
    for claim in claims:
        source = single(graph, claim, KEDO.source)
        assert str(source) in {str(KED[f"source-00{i}"]) for i in range(5)}, claim
        for quote in graph.objects(claim, KEDO.quote):
            assert isinstance(quote, Literal) and quote.language in ("en", "nb"), (claim, quote)
            expected = "nb" if source == KED["source-002"] else "en"
            assert quote.language == expected, f"{claim}: {source} quote is @{quote.language}"
            assert len(str(quote)) <= 200, claim


# --- studies: design, reference number, year, sources -----------------------------------

STUDY_FACTS = [
    # slug, design, reference number in the review, year, seed documents that describe it
    ("mills-1998", KEDO.CaseSeriesDesign, "[136]", "1998", {"003"}),
    ("dechant-undated", KEDO.CaseReportDesign, "[139]", None, {"003"}),
    ("ragnhildstveit-2021", KEDO.CaseReportDesign, "[140]", "2021", {"000", "002", "003"}),
    ("schwartz-2021", KEDO.CaseSeriesDesign, "[137]", "2021", {"002", "003"}),
    ("scolnick-2020", KEDO.CaseReportDesign, "[138]", "2020", {"002", "003"}),
    ("robison-2022", KEDO.CaseSeriesDesign, None, "2022", {"002"}),
]


@pytest.mark.parametrize(("slug", "design", "ref", "year", "described_by"), STUDY_FACTS)
def test_study_design_reference_year_and_sources(
    data: Graph, slug: str, design: URIRef, ref: str | None, year: str | None,
    described_by: set[str],
) -> None:
    study = KED[slug]
    assert single(data, study, KEDO.hasDesign) == design
    refs = [str(r) for r in data.objects(study, KEDO.referenceNumberIn)]
    assert refs == ([ref] if ref else [])
    years = [str(y) for y in data.objects(study, KEDO.publicationYear)]
    assert years == ([year] if year else []), "a year no source gives must not appear"
    described = {str(s).rsplit("-", 1)[1] for s in data.objects(study, KEDO.describedIn)}
    assert described == described_by
    assert single(data, study, KEDO.firstAuthor) == Literal(slug.split("-")[0].capitalize())


# --- publications -----------------------------------------------------------------------

PUBLICATIONS = [
    # slug, DOI, PMID, PMCID, journal, title start
    # No seed names the journal of Mills et al.; only its DOI and PMID are verified identifiers.
    ("mills-1998", "10.1093/qjmed/91.7.493", "9797933", None, None,
     "Treatment of compulsive behaviour in eating disorders"),
    ("ragnhildstveit-2021", "10.3389/fpsyt.2021.764112", "34867548", None,
     "Frontiers in Psychiatry",
     "Case Report: Unexpected Remission From Extreme and Enduring Bulimia Nervosa"),
    ("schwartz-2021", "10.1002/ccr3.3869", None, None, "Clinical Case Reports",
     "A longitudinal case series of IM ketamine"),
    ("scolnick-2020", "10.3389/fpsyt.2020.00763", "32848935", None,
     "Frontiers in Psychiatry",
     "Remission from Chronic Anorexia Nervosa With Ketogenic Diet and Ketamine"),
    ("robison-2022", "10.1186/s40337-022-00588-9", "35524316", "PMC9077943",
     "Journal of Eating Disorders",
     "A case series of group-based ketamine-assisted psychotherapy"),
]


@pytest.mark.parametrize(("slug", "doi", "pmid", "pmcid", "journal", "title"), PUBLICATIONS)
def test_publication_identifiers(
    data: Graph, slug: str, doi: str, pmid: str | None, pmcid: str | None, journal: str | None,
    title: str
) -> None:
    pub = KED[f"pub-{slug}"]
    assert single(data, KED[slug], KEDO.reportedIn) == pub
    assert (pub, RDF.type, KEDO.Publication) in data
    assert single(data, pub, KEDO.doi) == Literal(doi)
    assert [str(p) for p in data.objects(pub, KEDO.pmid)] == ([pmid] if pmid else [])
    assert [str(p) for p in data.objects(pub, KEDO.pmcid)] == ([pmcid] if pmcid else [])
    assert [str(j) for j in data.objects(pub, KEDO.journal)] == ([journal] if journal else [])
    assert str(single(data, pub, DCTERMS.title)).startswith(title)
    see_also = {str(o) for o in data.objects(pub, RDFS.seeAlso)}
    assert f"https://doi.org/{doi}" in see_also
    if pmid:
        assert f"https://pubmed.ncbi.nlm.nih.gov/{pmid}" in see_also
    if pmcid:
        assert f"https://www.ncbi.nlm.nih.gov/pmc/articles/{pmcid}" in see_also


def test_dechant_has_no_invented_publication(data: Graph) -> None:
    """No source gives Dechant's title, year or identifiers: nothing may be made up."""
    assert not list(data.objects(KED["dechant-undated"], KEDO.reportedIn))
    assert (KED["pub-dechant-undated"], None, None) not in data


def test_robison_doi_is_kept_as_printed_in_a_claim(data: Graph) -> None:
    printed = Literal("10.1186/s40 337-022-00588-9")
    claims = [c for c in data.subjects(KEDO.assertsValue, printed)
              if (c, KEDO.about, KED["pub-robison-2022"]) in data]
    assert claims, "the DOI as 002 prints it (with a space) must be recorded in a claim"
    for claim in claims:
        assert single(data, claim, KEDO.assertsProperty) == KEDO.doi
        assert single(data, claim, KEDO.source) == KED["source-002"]


# --- Mills et al. 1998 ------------------------------------------------------------------


def test_mills_sample_age_and_illness_duration_are_both_kept(data: Graph) -> None:
    group = KED["mills-1998-group"]
    assert (KED["mills-1998"], KEDO.hasParticipantGroup, group) in data
    assert num(data, group, KEDO.sampleSize) == 15
    # Table 1 "N = 15, 33.3 years ± 6.5" is the mean age ...
    assert num(data, group, KEDO.meanAge) == D("33.3")
    assert num(data, group, KEDO.ageSD) == D("6.5")
    # ... the text's "AN of 11.3 years ± 5.0" is the illness duration.
    assert num(data, group, KEDO.illnessDurationYears) == D("11.3")
    assert num(data, group, KEDO.illnessDurationSD) == D("5.0")
    asserted = {
        (data.value(c, KEDO.assertsProperty), D(str(data.value(c, KEDO.assertsValue))))
        for c in data.subjects(KEDO.about, group)
        if data.value(c, KEDO.assertsProperty) in (KEDO.meanAge, KEDO.illnessDurationYears)
    }
    assert asserted == {(KEDO.meanAge, D("33.3")), (KEDO.illnessDurationYears, D("11.3"))}


def test_mills_subgroups(data: Graph) -> None:
    sizes = subgroup_sizes(data, KED["mills-1998-group"])
    assert sizes == {
        "no-comorbidity": 5, "bn": 2, "ocd": 5, "bn-ocd": 1, "bn-aud": 2,
        "responders": 9, "nonresponders": 6,
    }
    comorbidity = sum(v for k, v in sizes.items() if "responders" not in k)
    assert comorbidity == 15
    assert sizes["responders"] + sizes["nonresponders"] == 15
    # the BN + AUD subgroup carries both comorbid diagnoses
    dx_types = {
        t for dx in data.objects(KED["mills-1998-subgroup-bn-aud"], KEDO.hasDiagnosis)
        for t in data.objects(dx, RDF.type)
    }
    assert {KEDO.BulimiaNervosa, KEDO.AlcoholUseDisorder} <= dx_types


def test_mills_diagnoses(data: Graph) -> None:
    types = {
        t for dx in data.objects(KED["mills-1998-group"], KEDO.hasDiagnosis)
        for t in data.objects(dx, RDF.type)
    }
    assert {KEDO.AnorexiaNervosaRestrictingType, KEDO.AnorexiaNervosaBingePurgeType} <= types
    assert (KED["mills-1998-dx-an"], KEDO.hasQualifier, KEDO.ChronicRefractory) in data


def test_mills_regimen(data: Graph) -> None:
    study = KED["mills-1998"]
    ketamine = regimen_of(data, study, KEDO.Ketamine)
    assert list(data.objects(ketamine, KEDO.route)) == [KEDO.Intravenous]
    dose = single(data, ketamine, KEDO.hasDose)
    assert dose_of(data, dose) == (D(20), KEDO.MilligramPerHour)
    infusion = single(data, ketamine, KEDO.infusionDuration)
    assert quantity(data, infusion) == (D(10), D(10), KEDO.Hour)
    assert sessions(data, ketamine) == (2, 15)
    assert quantity(data, single(data, ketamine, KEDO.dosingInterval)) == (D(5), D(21), KEDO.Day)
    nalmefene = regimen_of(data, study, KEDO.Nalmefene)
    assert list(data.objects(nalmefene, KEDO.route)) == [KEDO.Oral]
    assert (single(data, ketamine, KEDO.adjunctTreatment), RDF.type, KEDO.Nalmefene) in data
    assert quantity(data, single(data, study, KEDO.followUpDuration)) == (D(7), D(24), KEDO.Month)


def test_mills_outcomes(data: Graph) -> None:
    found = outcomes(data, KED["mills-1998"])
    assert (KEDO.Depression, KEDO.PartialRemission) in found
    assert (KEDO.EatingDisorderSymptoms, KEDO.PartialRemission) in found
    assert (KEDO.ObsessiveCompulsiveSymptoms, KEDO.PartialRemission) in found  # "OCD-related"
    assert (KEDO.EatingDisorderSymptoms, KEDO.SustainedRemission) in found
    assert (None, KEDO.NoResponse) in found
    constructs = {c for c, _ in found}
    assert {KEDO.ObsessiveCompulsiveSymptoms, KEDO.WeightAcceptance, KEDO.BodyWeight,
            KEDO.Amenorrhea} <= constructs
    quotes = " ".join(str(q) for q in data.objects(None, KEDO.quote))
    assert "(p 0.001)" in quotes
    assert "(≥50% reduction in symptom severity)" in quotes


# --- Dechant et al. ---------------------------------------------------------------------


def test_dechant_patient_and_regimen(data: Graph) -> None:
    group = KED["dechant-undated-group"]
    assert num(data, group, KEDO.sampleSize) == 1
    assert num(data, group, KEDO.age) == 29
    assert single(data, group, KEDO.sex) == KEDO.Female
    assert single(data, group, KEDO.illnessDurationDescription) == Literal("11+ years")
    prior = types_of(data, group, KEDO.priorTreatment)
    assert {KEDO.Antidepressant, KEDO.Antipsychotic, KEDO.ElectroconvulsiveTherapy} <= prior
    dx = types_of(data, group, KEDO.hasDiagnosis)
    assert {KEDO.AnorexiaNervosaRestrictingType, KEDO.MajorDepressiveDisorder,
            KEDO.BorderlinePersonalityFeatures, KEDO.NarcissisticPersonalityFeatures,
            KEDO.SuicidalIdeation} <= dx
    regimen = regimen_of(data, KED["dechant-undated"], KEDO.Ketamine)
    dose = single(data, regimen, KEDO.hasDose)
    assert dose_of(data, dose) == (D("0.5"), KEDO.MilligramPerKilogram)
    infusion = single(data, regimen, KEDO.infusionDuration)
    assert quantity(data, infusion) == (D(40), D(40), KEDO.Minute)
    assert sessions(data, regimen) == (9, 9)
    assert "twice weekly for 4 weeks" in str(single(data, regimen, KEDO.frequencyDescription))


def test_dechant_suicidality_course_in_order(data: Graph) -> None:
    timeline = sorted(
        (integer(o_order), data.value(o, KEDO.responseCategory), data.value(o, KEDO.direction))
        for o in data.objects(KED["dechant-undated"], KEDO.hasOutcome)
        if data.value(o, KEDO.construct) == KEDO.Suicidality
        and (o_order := data.value(o, KEDO.timePointOrder)) is not None
    )
    assert timeline == [
        (3, None, KEDO.Improved),  # active -> passive ideation after infusion three
        (8, KEDO.CompleteRemission, KEDO.Improved),  # complete remission after infusion eight
        (9, KEDO.Relapse, KEDO.Worsened),  # acute relapse following infusion nine
    ]
    found = outcomes(data, KED["dechant-undated"])
    assert {(KEDO.Depression, KEDO.PartialRemission), (KEDO.Suicidality, KEDO.PartialRemission),
            (None, KEDO.InitialResponseNotSustained)} <= found


# --- Ragnhildstveit et al. 2021 ---------------------------------------------------------


def test_ragnhildstveit_patient(data: Graph) -> None:
    group = KED["ragnhildstveit-2021-group"]
    assert num(data, group, KEDO.age) == 21
    assert single(data, group, KEDO.sex) == KEDO.Female
    assert num(data, group, KEDO.illnessDurationYears) == 9
    dx = single(data, group, KEDO.hasDiagnosis)
    assert (dx, RDF.type, KEDO.BulimiaNervosaBingePurgeType) in data
    qualifiers = set(data.objects(dx, KEDO.hasQualifier))
    assert {KEDO.ExtremeSeverity, KEDO.ExtremeAndEnduring} <= qualifiers
    assert KEDO.SevereAndEnduring not in qualifiers  # the source says "extreme and enduring"
    measurement = single(data, group, KEDO.hasMeasurement)
    assert num(data, measurement, KEDO.numericValue) == 40
    assert single(data, measurement, KEDO.unit) == KEDO.EpisodesPerDay
    prior = types_of(data, group, KEDO.priorTreatment)
    assert {KEDO.InpatientCare, KEDO.ResidentialTreatment} <= prior
    # outpatient, inpatient and residential care
    assert len(list(data.objects(group, KEDO.priorTreatment))) == 3


def test_ragnhildstveit_kap_regimen_and_session_steps(data: Graph) -> None:
    regimen = regimen_of(data, KED["ragnhildstveit-2021"], KEDO.Ketamine)
    assert list(data.objects(regimen, KEDO.route)) == [KEDO.Intravenous]
    dose = single(data, regimen, KEDO.hasDose)
    assert num(data, dose, KEDO.doseValue) == D("0.5")
    infusion = single(data, regimen, KEDO.infusionDuration)
    assert quantity(data, infusion) == (D(40), D(40), KEDO.Minute)
    assert num(data, regimen, KEDO.courseCount) == 3
    assert num(data, regimen, KEDO.sessionsPerCourse) == 6
    assert sessions(data, regimen) == (18, 18)
    assert quantity(data, single(data, regimen, KEDO.dosingInterval)) == (D(48), D(48), KEDO.Hour)
    frequency = single(data, regimen, KEDO.frequencyDescription)
    assert frequency == Literal("twice weekly at 48 h intervals")
    adjuncts = types_of(data, regimen, KEDO.adjunctTreatment)
    assert {KEDO.KetamineAssistedPsychotherapy, KEDO.HumanisticTherapy} <= adjuncts
    # the KAP session: 30 min preparatory, 40 min IV ketamine, 30 min integration, in that order
    steps = []
    for step in data.subjects(RDF.type, KEDO.SessionStep):
        if not str(step).startswith(str(KED["ragnhildstveit-2021-"])):
            continue
        kinds = types_of(data, step, KEDO.stepKind)
        steps.append((integer(single(data, step, KEDO.stepIndex)),
                      kinds & {KEDO.PreparatoryPsychotherapy, KEDO.KetamineDosingSession,
                               KEDO.IntegrationPsychotherapy},
                      quantity(data, single(data, step, KEDO.duration))))
    assert sorted(steps, key=lambda s: s[0]) == [
        (1, {KEDO.PreparatoryPsychotherapy}, (D(30), D(30), KEDO.Minute)),
        (2, {KEDO.KetamineDosingSession}, (D(40), D(40), KEDO.Minute)),
        (3, {KEDO.IntegrationPsychotherapy}, (D(30), D(30), KEDO.Minute)),
    ]


def test_ragnhildstveit_outcomes(data: Graph) -> None:
    found = outcomes(data, KED["ragnhildstveit-2021"])
    assert (KEDO.EatingDisorderSymptoms, KEDO.CompleteAndSustainedRemission) in found
    timepoints = {str(t) for o in data.objects(KED["ragnhildstveit-2021"], KEDO.hasOutcome)
                  for t in data.objects(o, KEDO.timePoint)}
    assert "three months post-treatment, sustained for over one year" in timepoints


# --- Schwartz et al. 2021 ---------------------------------------------------------------


def test_schwartz_sample(data: Graph) -> None:
    group = KED["schwartz-2021-group"]
    assert num(data, group, KEDO.sampleSize) == 4
    assert num(data, group, KEDO.meanAge) == D("36.8")
    assert num(data, group, KEDO.ageSD) == D("8.4")
    assert num(data, group, KEDO.illnessDurationYears) == D("11.0")
    assert num(data, group, KEDO.illnessDurationSD) == D("1.4")
    assert subgroup_sizes(data, group) == {"anr": 2, "ednos-bp": 2}
    ednos = KED["schwartz-2021-dx-ednos-bp"]
    assert (KED["schwartz-2021-subgroup-ednos-bp"], KEDO.hasDiagnosis, ednos) in data
    assert (KED["schwartz-2021-dx-ednos-bp"], RDF.type, KEDO.EDNOSBingePurgeType) in data
    assert (KED["schwartz-2021-dx-trd"], RDF.type, KEDO.TreatmentResistantDepression) in data
    prior = types_of(data, group, KEDO.priorTreatment)
    assert {KEDO.PartialHospitalization, KEDO.Antidepressant} <= prior


def test_schwartz_regimen(data: Graph) -> None:
    regimen = regimen_of(data, KED["schwartz-2021"], KEDO.Ketamine)
    assert set(data.objects(regimen, KEDO.route)) == {KEDO.Intravenous, KEDO.Intramuscular}
    assert titration(data, regimen) == [
        (1, D("0.5"), None, KEDO.MilligramPerKilogram),
        (2, D("0.8"), D("0.9"), KEDO.MilligramPerKilogram),  # text: "titrated to 0.8–0.9 mg/kg"
    ]
    infusion = single(data, regimen, KEDO.infusionDuration)
    assert quantity(data, infusion) == (D(30), D(90), KEDO.Minute)
    assert sessions(data, regimen) == (5, 9)
    assert quantity(data, single(data, regimen, KEDO.dosingInterval)) == (D(4), D(6), KEDO.Week)
    assert "12+ months" in str(single(data, regimen, KEDO.frequencyDescription))


def test_schwartz_table_and_text_titration_conflict(data: Graph) -> None:
    """Table 1 says "titrated to 0.9 mg/kg", the text "0.8–0.9 mg/kg": two claims, linked."""
    table = KED["schwartz-2021-claim-table-titration"]
    text = KED["schwartz-2021-claim-text-titration"]
    assert (table, KEDO.conflictsWith, text) in data or (text, KEDO.conflictsWith, table) in data
    assert single(data, table, KEDO.assertsProperty) == KEDO.doseValue
    assert single(data, text, KEDO.assertsProperty) == KEDO.doseValue
    assert D(str(single(data, table, KEDO.assertsValue))) == D("0.9")
    assert D(str(single(data, text, KEDO.assertsValue))) == D("0.8")
    assert "titrated to 0.9 mg/kg" in str(single(data, table, KEDO.quote))
    assert "0.8–0.9 mg/kg" in str(single(data, text, KEDO.quote))


def test_schwartz_route_statements_side_by_side(data: Graph) -> None:
    regimen = KED["schwartz-2021-regimen"]
    stated = {
        str(next(iter(data.objects(c, KEDO.quote)))): set(data.objects(c, KEDO.assertsValue))
        for c in data.subjects(KEDO.about, regimen)
        if data.value(c, KEDO.assertsProperty) == KEDO.route
    }
    assert stated == {
        "IV/IM ketamine, 5–9 × 0.5 mg/kg": {KEDO.Intravenous, KEDO.Intramuscular},
        "Ketamine was administered intramuscularly and/or intravenously":
            {KEDO.Intramuscular, KEDO.Intravenous},
        "A longitudinal case series of IM ketamine for patients with severe and enduring "
        "eating disorders": {KEDO.Intramuscular},
    }


def test_schwartz_outcomes(data: Graph) -> None:
    found = outcomes(data, KED["schwartz-2021"])
    for construct in (KEDO.Depression, KEDO.Anxiety, KEDO.EatingDisorderSymptoms):
        assert (construct, KEDO.PartialRemission) in found
    constructs = {c for c, _ in found}
    assert {KEDO.PsychosocialFunctioning, KEDO.HealthRelatedQualityOfLife} <= constructs


# --- Scolnick et al. 2020 ---------------------------------------------------------------


def test_scolnick_patient(data: Graph) -> None:
    group = KED["scolnick-2020-group"]
    assert num(data, group, KEDO.age) == 29
    assert single(data, group, KEDO.sex) == KEDO.Female
    assert num(data, group, KEDO.illnessDurationYears) == 15
    dx = types_of(data, group, KEDO.hasDiagnosis)
    assert {KEDO.AnorexiaNervosaRestrictingType, KEDO.MajorDepressiveDisorder,
            KEDO.AlcoholUseDisorder} <= dx
    assert (KED["scolnick-2020-dx-anr"], KEDO.hasQualifier, KEDO.SevereAndEnduring) in data


def test_scolnick_titration_in_order(data: Graph) -> None:
    regimen = regimen_of(data, KED["scolnick-2020"], KEDO.Ketamine)
    mgkg = KEDO.MilligramPerKilogram
    assert titration(data, regimen) == [
        (1, D("0.75"), None, mgkg), (2, D("1.0"), None, mgkg),
        (3, D("1.1"), None, mgkg), (4, D("1.2"), None, mgkg),
    ]
    assert list(data.objects(regimen, KEDO.route)) == [KEDO.Intravenous]
    infusion = single(data, regimen, KEDO.infusionDuration)
    assert quantity(data, infusion) == (D(45), D(45), KEDO.Minute)
    assert sessions(data, regimen) == (4, 4)
    assert quantity(data, single(data, regimen, KEDO.treatmentSpan)) == (D(14), D(14), KEDO.Day)
    frequency = single(data, regimen, KEDO.frequencyDescription)
    assert frequency == Literal("14 days at unspecified intervals")
    assert (single(data, regimen, KEDO.adjunctTreatment), RDF.type, KEDO.KetogenicDiet) in data


def test_scolnick_ondansetron_as_printed(data: Graph) -> None:
    """The review prints "4 g of sublingual ondansetron": recorded as printed, never fixed."""
    study = KED["scolnick-2020"]
    ketamine = regimen_of(data, study, KEDO.Ketamine)
    ondansetron = regimen_of(data, study, KEDO.Ondansetron)
    assert single(data, ketamine, KEDO.precededBy) == single(data, ondansetron, KEDO.hasDrug)
    assert list(data.objects(ondansetron, KEDO.route)) == [KEDO.Sublingual]
    dose = single(data, ondansetron, KEDO.hasDose)
    assert dose_of(data, dose) == (D(4), KEDO.Gram)
    quotes = [str(q) for c in data.subjects(KEDO.about, dose) for q in data.objects(c, KEDO.quote)]
    assert any("4 g of sublingual ondansetron" in q for q in quotes)
    # "to prevent ketamine-associated nausea and vomiting"
    reports = [r for r in data.subjects(KEDO.reportedFor, single(data, ketamine, KEDO.hasDrug))
               if (r, RDF.type, KEDO.AdverseEffectReport) in data]
    assert {e for r in reports for e in data.objects(r, KEDO.adverseEffect)} == {
        KEDO.Nausea, KEDO.Vomiting}


def test_scolnick_outcomes(data: Graph) -> None:
    found = outcomes(data, KED["scolnick-2020"])
    assert (KEDO.Depression, KEDO.CompleteAndSustainedRemission) in found
    assert (KEDO.EatingDisorderSymptoms, KEDO.CompleteAndSustainedRemission) in found
    assert (KEDO.ObsessiveCompulsiveSymptoms, KEDO.CompleteAndSustainedRemission) in found
    assert {KEDO.ObsessiveCompulsiveSymptoms, KEDO.BodyWeight} <= {c for c, _ in found}
    follow_up = single(data, KED["scolnick-2020"], KEDO.followUpDuration)
    assert quantity(data, follow_up) == (D(6), D(6), KEDO.Month)


# --- Robison et al. 2022 ----------------------------------------------------------------


def test_robison_group_kap_case_series(data: Graph) -> None:
    study = KED["robison-2022"]
    group = single(data, study, KEDO.hasParticipantGroup)
    # no seed gives the sample size, so none may be recorded
    assert not list(data.objects(group, KEDO.sampleSize))
    dx = types_of(data, group, KEDO.hasDiagnosis)
    assert {KEDO.EatingDisorder, KEDO.DepressiveDisorder, KEDO.AnxietyDisorder} <= dx
    assert (KED["robison-2022-kap"], RDF.type, KEDO.KetamineAssistedPsychotherapy) in data
    assert (KED["robison-2022-kap"], RDF.type, KEDO.GroupPsychotherapy) in data
    constructs = {c for c, _ in outcomes(data, study)}
    assert constructs == {KEDO.Anxiety, KEDO.Depression, KEDO.Suicidality}


# --- the expected figures really are in the sources -------------------------------------

PRINTED = {
    "003": [
        "N = 15, 33.3 years ± 6.5", "AN of 11.3 years ± 5.0", "2–15 × 20 mg/h over 10 h",
        "no comorbidity (n = 5)", "BN comorbidity (n = 2)", "OCD comorbidity (n = 5)",
        "BN and OCD multicomorbidity (n = 1)", "BN and AUD multicomorbidity (n = 2)",
        "responders (n = 9)", "nonresponders (n = 6)", "5–21-day intervals",
        "7–24 months follow-up",
        "N = 1, 29 AN-R + MDD IV ketamine, 9 × 0.5 mg/kg over 40 min", "MDD of 11+ years",
        "Following infusion three", "complete remission after infusion eight",
        "relapse of suicidality following infusion nine",
        "N = 1, 21 BN-BP IV ketamine, 18 × 0.5 mg/kg",
        "three courses of repeated KAP", "six sessions scheduled twice weekly at 48 h intervals",
        "30 min of preparatory psychotherapy, 40 min of intravenous ketamine (0.5 mg/kg)",
        "30 min of integration psychotherapy", "40 times daily", "≥14 episodes/week",
        "N = 4, 36.8 years ± 8.4", "AN-R (n = 2) or EDNOS-BP (n = 2)", "11.0 years ± 1.4",
        "IV/IM ketamine, 5–9 × 0.5 mg/kg titrated to 0.9 mg/kg over 30–90 min",
        "titrated to 0.8–0.9 mg/kg", "4–6-week intervals spanning 12+ months",
        "N = 1, 29 AN-R + MDD IV ketamine, 4 × 0.75 mg/kg titrated to 1.2 mg/kg over 45 min",
        "titrated to 1.0 mg/kg, 1.1 mg/kg, and 1.2 mg/kg", "AN-R of 15 years",
        "spanned 14 days at unspecified intervals", "4 g of sublingual ondansetron",
        "for six months post-treatment", "Mills et al. [136]", "Schwartz et al. [137]",
        "Scolnick et al. [138]", "Dechant et al. [139]", "Ragnhildstveit et al. [140]",
    ],
    "002": [
        "https://doi.org/10.1002/ccr3.3869", "https://doi.org/10.3389/fpsyt.2020.00763",
        "https://doi.org/10.3389/fpsyt.2021.764112", "https://doi.org/10.1186/s40 337-022-00588-9",
        "Robison et al., 2022",
        "Ragnhildstveit et al., 2021; Schwartz et al., 2021; Scolnick et al., 2020",
    ],
    "000": ["doi: 10.3389/fpsyt.2021.764112", "PMID: 34867548"],
}


def test_expected_figures_are_in_the_sources(shared_dir: Path) -> None:
    texts = {
        p.name[:3]: re.sub(r"\s+", " ", p.read_text(encoding="utf-8"))
        for p in (shared_dir / "seeds").iterdir()
    }
    missing = [(key, s) for key, strings in PRINTED.items() for s in strings if s not in texts[key]]
    assert not missing, missing


def test_verified_identifiers_come_from_the_reference_table(shared_dir: Path) -> None:
    """DOIs and PMIDs no seed prints must be verified rows (with an id) of identifiers.tsv."""
    table = (shared_dir / "reference" / "identifiers.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in table.splitlines()[1:]]
    ids = {r[2] for r in rows if len(r) > 2 and r[2]}
    for identifier in ("10.1093/qjmed/91.7.493", "9797933", "32848935",
                       "10.1186/s40337-022-00588-9", "35524316", "PMC9077943"):
        assert identifier in ids, identifier
