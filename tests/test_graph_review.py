"""The review behind source 003 (Ragnhildstveit et al. 2022) and its other content.

Every expected value below is typed from the text of source 003 (or 001 for the second
"no approved drugs" statement), not copied from the graph: if a curator mistypes a figure, or a
node loses its link, these tests say which one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS

from ketamine_ed_kg.namespaces import KED, KEDO
from support.graph import fold, select
from support.project import Curated

SOURCE_003 = "003_d45dc2f78d13051a.txt"

PREFIXES = """
PREFIX kedo: <https://w3id.org/ketamine-ed/ontology/>
PREFIX ked: <https://w3id.org/ketamine-ed/resource/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""


@pytest.fixture(scope="module")
def data(curated: Curated) -> Graph:
    """The asserted graph, with the ontology's class hierarchy so that typed queries work."""
    merged = Graph()
    merged += curated.ontology
    merged += curated.data
    return merged


def number(term: object) -> float:
    assert isinstance(term, Literal), f"expected a number, got {term!r}"
    return float(term.toPython())


# --- the review ------------------------------------------------------------------------


def test_review_is_a_narrative_literature_review(data: Graph) -> None:
    review = KED["ragnhildstveit-2022"]
    assert (review, RDF.type, KEDO.LiteratureReview) in data
    assert data.value(review, KEDO.hasDesign) == KEDO.NarrativeReviewDesign
    assert (review, KEDO.describedIn, KED["source-003"]) in data


def test_review_publication_carries_the_verified_identifiers(data: Graph) -> None:
    pub = data.value(KED["ragnhildstveit-2022"], KEDO.reportedIn)
    assert pub == KED["pub-ragnhildstveit-2022"]
    assert str(data.value(pub, KEDO.doi)) == "10.3390/brainsci12030382"
    assert str(data.value(pub, KEDO.pmcid)) == "PMC8963252"
    assert str(data.value(pub, KEDO.journal)) == "Brain Sciences"
    assert str(data.value(pub, KEDO.publicationYear)) == "2022"
    assert (KED["source-003"], PROV.wasDerivedFrom, pub) in data


# --- the other studies -----------------------------------------------------------------

STUDIES = [
    # (study slug, design, N as the review prints it)
    ("ref152-undated", KEDO.ControlledTrialDesign, 89),
    ("ref150-undated", KEDO.MixedMethodsStudyDesign, 200),
    ("ref151-undated", KEDO.QualitativeStudyDesign, 13),
    ("springs-undated", KEDO.ClinicalStudyDesign, 28),
    ("ref83-undated", KEDO.CohortStudyDesign, 1693),
    ("ref84-undated", KEDO.CohortStudyDesign, 2033),
    ("ref85-undated", KEDO.CohortStudyDesign, 68),
]


@pytest.mark.parametrize(("slug", "design", "n"), STUDIES)
def test_study_design_and_sample_size(data: Graph, slug: str, design: URIRef, n: int) -> None:
    study = KED[slug]
    assert data.value(study, KEDO.hasDesign) == design
    sizes = [
        int(number(data.value(g, KEDO.sampleSize)))
        for g in data.objects(study, KEDO.hasParticipantGroup)
    ]
    assert sizes == [n]


@pytest.mark.parametrize(
    ("slug", "condition", "n", "percent"),
    [
        ("ref83-undated", KEDO.AnorexiaNervosa, 1693, 64.0),
        ("ref84-undated", KEDO.BulimiaNervosa, 2033, 53.0),
        ("ref85-undated", KEDO.BingeEatingDisorder, 68, 30.0),
    ],
)
def test_long_term_cohorts_meeting_full_criteria(
    data: Graph, slug: str, condition: URIRef, n: int, percent: float
) -> None:
    rows = select(data, PREFIXES + """
        SELECT ?value ?n ?min ?max WHERE {
            ?study kedo:hasParticipantGroup/kedo:hasDiagnosis ?dx ;
                   kedo:followUpDuration [ kedo:minValue ?min ; kedo:maxValue ?max ;
                                           kedo:unit kedo:Year ] .
            ?dx a ?condition .
            ?finding kedo:aboutCondition ?dx ;
                     kedo:statisticKind kedo:ProportionMeetingCriteria ;
                     kedo:value ?value ; kedo:sampleSize ?n ; kedo:unit kedo:Percent .
        }""", study=KED[slug], condition=condition)
    assert len(rows) == 1, rows
    value, size, low, high = (number(t) for t in rows[0])
    assert (value, size, low, high) == (percent, n, 10.0, 20.0)


def test_cohort_outcome_predictors_are_recorded(data: Graph) -> None:
    text = {
        slug: " ".join(str(d) for d in data.objects(KED[f"{slug}-outcome-predictors"],
                                                    KEDO.description))
        for slug in ("ref83-undated", "ref84-undated", "ref85-undated")
    }
    assert "symptom severity" in text["ref83-undated"]
    assert "illness duration" in text["ref83-undated"]
    assert "drive for thinness" in text["ref84-undated"]
    assert "self-injury" in text["ref84-undated"]
    assert "impulsivity" in text["ref85-undated"]
    assert "sexual abuse" in text["ref85-undated"]


def test_first_ketamine_trial_in_depression(data: Graph) -> None:
    study = KED["ref108-2000"]
    assert str(data.value(study, KEDO.publicationYear)) == "2000"
    regimen = data.value(study, KEDO.hasRegimen)
    dose = data.value(regimen, KEDO.hasDose)
    assert number(data.value(dose, KEDO.doseValue)) == 0.5
    assert data.value(dose, KEDO.doseUnit) == KEDO.MilligramPerKilogram
    duration = data.value(regimen, KEDO.infusionDuration)
    assert number(data.value(duration, KEDO.minValue)) == 40.0
    assert data.value(duration, KEDO.unit) == KEDO.Minute
    assert (data.value(regimen, KEDO.hasDrug), RDF.type, KEDO.Ketamine) in data


def test_attitudes_study_keeps_the_participant_quote(data: Graph) -> None:
    quotes = [str(q) for q in data.objects(KED["ref150-undated-claim-participant-quote"],
                                           KEDO.quote)]
    assert any("I think it is essential to be open minded in regard to treatment" in q
               for q in quotes)


# --- statistics ------------------------------------------------------------------------


def lifetime(data: Graph, condition: URIRef, population: str) -> tuple[float, int]:
    rows = select(data, PREFIXES + """
        SELECT ?value ?rank WHERE {
            ?f kedo:statisticKind kedo:LifetimePrevalence ; kedo:aboutCondition ?dx ;
               kedo:population ?population ; kedo:value ?value ; kedo:rank ?rank ;
               kedo:unit kedo:Percent .
            ?dx a ?condition .
        }""", condition=condition, population=Literal(population))
    assert len(rows) == 1, (condition, population, rows)
    return number(rows[0][0]), int(number(rows[0][1]))


@pytest.mark.parametrize(
    ("condition", "overall", "women", "men"),
    [
        (KEDO.AnorexiaNervosa, 1.6, 1.4, 0.2),
        (KEDO.BulimiaNervosa, 2.5, 1.9, 0.6),
        (KEDO.BingeEatingDisorder, 3.8, 2.8, 1.0),
        (KEDO.OtherSpecifiedEatingDisorder, 7.9, 4.3, 3.6),
    ],
)
def test_lifetime_prevalence(
    data: Graph, condition: URIRef, overall: float, women: float, men: float
) -> None:
    assert lifetime(data, condition, "weighted population mean")[0] == overall
    assert lifetime(data, condition, "women")[0] == women
    assert lifetime(data, condition, "men")[0] == men


def test_prevalence_ranking_orders_ednos_bed_bn_an(data: Graph) -> None:
    rows = select(data, PREFIXES + """
        SELECT ?class ?value WHERE {
            ?f kedo:statisticKind kedo:LifetimePrevalence ; kedo:aboutCondition ?dx ;
               kedo:population "weighted population mean" ; kedo:value ?value ; kedo:rank ?rank .
            ?dx a ?class .
            FILTER (?class IN (kedo:AnorexiaNervosa, kedo:BulimiaNervosa,
                               kedo:BingeEatingDisorder, kedo:OtherSpecifiedEatingDisorder))
        } ORDER BY ?rank""")
    assert [r[0] for r in rows] == [
        KEDO.OtherSpecifiedEatingDisorder,
        KEDO.BingeEatingDisorder,
        KEDO.BulimiaNervosa,
        KEDO.AnorexiaNervosa,
    ]
    values = [number(r[1]) for r in rows]
    assert values == sorted(values, reverse=True), "rank 1 must be the highest prevalence"


def test_child_and_adult_prevalence(data: Graph) -> None:
    child = KED["prevalence-children-adolescents"]
    assert (number(data.value(child, KEDO.value)), number(data.value(child, KEDO.valueMax))) == (
        8.0, 15.0)
    assert number(data.value(KED["prevalence-adults"], KEDO.value)) == 16.0


def test_costs(data: Graph) -> None:
    assert number(data.value(KED["cost-us-annual"], KEDO.value)) == 64.7e9
    assert number(data.value(KED["cost-us-per-individual"], KEDO.value)) == 11808.0
    assert number(data.value(KED["cost-us-wellbeing"], KEDO.value)) == 326.5e9
    for node in ("cost-us-annual", "cost-us-per-individual", "cost-us-wellbeing"):
        assert data.value(KED[node], KEDO.unit) == KEDO.USDollar


def test_anorexia_mortality(data: Graph) -> None:
    rows = select(data, PREFIXES + """
        SELECT ?low ?high WHERE {
            ?f kedo:statisticKind kedo:StandardizedMortalityRatio ; kedo:aboutCondition ?dx ;
               kedo:value ?low ; kedo:valueMax ?high .
            ?dx a kedo:AnorexiaNervosa .
        }""")
    assert [(number(low), number(high)) for low, high in rows] == [(5.9, 10.5)]
    risk = KED["mortality-an-relative-risk"]
    assert data.value(risk, KEDO.statisticKind) == KEDO.RelativeRiskOfDeath
    assert number(data.value(risk, KEDO.value)) == 12.0


def test_course_of_illness(data: Graph) -> None:
    assert number(data.value(KED["course-symptom-persistence"], KEDO.value)) == 12.0
    assert data.value(KED["course-symptom-persistence"], KEDO.unit) == KEDO.Month
    assert number(data.value(KED["course-full-remission"], KEDO.valueMax)) == 50.0
    assert number(data.value(KED["course-chronic-illness"], KEDO.value)) == 20.0
    assert number(data.value(KED["course-severe-enduring-cutoff"], KEDO.value)) == 7.0
    enduring = KED["course-severe-enduring-range"]
    assert (number(data.value(enduring, KEDO.value)),
            number(data.value(enduring, KEDO.valueMax))) == (5.0, 10.0)


def test_ketamine_response_figures(data: Graph) -> None:
    def span(node: str) -> tuple[float, float]:
        return (number(data.value(KED[node], KEDO.value)),
                number(data.value(KED[node], KEDO.valueMax)))

    assert span("ketamine-antidepressant-effect-size") == (0.9, 1.2)
    assert span("ketamine-antidepressant-onset") == (2.0, 24.0)
    assert data.value(KED["ketamine-antidepressant-onset"], KEDO.unit) == KEDO.Hour
    assert span("ketamine-antidepressant-relapse") == (2.0, 6.0)
    assert data.value(KED["ketamine-antidepressant-relapse"], KEDO.unit) == KEDO.Week
    assert span("esketamine-nmda-affinity") == (3.0, 4.0)


def test_every_finding_has_exactly_one_statistic_kind(data: Graph) -> None:
    findings = set(data.subjects(RDF.type, KEDO.Finding))
    assert len(findings) >= 48
    problems = [str(f) for f in findings if len(list(data.objects(f, KEDO.statisticKind))) != 1]
    assert not problems, problems


TRIALS = [
    # (condition class, number of trials, percentage) as printed in source 003
    (KEDO.MajorDepressiveDisorder, 98, 70.0),
    (KEDO.SuicidalIdeation, 21, 15.0),
    (KEDO.PostTraumaticStressDisorder, 7, 5.0),
    (KEDO.ObsessiveCompulsiveDisorder, 5, 3.6),
    (KEDO.AutismSpectrumDisorder, 2, 1.4),
    (KEDO.GeneralisedAnxietyDisorder, 1, 0.7),
    (KEDO.BorderlinePersonalityDisorder, 1, 0.7),
    (KEDO.CognitiveImpairment, 1, 0.7),
    (KEDO.Schizophrenia, 1, 0.7),
]


def trial_findings(data: Graph) -> dict[URIRef, dict[str, float]]:
    out: dict[URIRef, dict[str, float]] = {}
    for row in select(data, PREFIXES + """
        SELECT ?class ?value ?unit ?rank WHERE {
            ?f kedo:statisticKind kedo:TrialCount ; kedo:aboutCondition ?dx ;
               kedo:value ?value ; kedo:rank ?rank .
            ?dx a ?class .
            OPTIONAL { ?f kedo:unit ?unit }
            FILTER (STRSTARTS(STR(?class), STR(kedo:)) && ?class NOT IN (
                kedo:Diagnosis, kedo:MentalDisorder, kedo:DepressiveDisorder,
                kedo:AnxietyDisorder, kedo:PersonalityDisorderFeatures))
        }"""):
        cls, value, unit, rank = row
        assert isinstance(cls, URIRef)
        key = "percent" if unit == KEDO.Percent else "count"
        out.setdefault(cls, {})[key] = number(value)
        out[cls]["rank"] = number(rank)
    return out


@pytest.mark.parametrize(("condition", "count", "percent"), TRIALS)
def test_registered_ketamine_trials_per_indication(
    data: Graph, condition: URIRef, count: int, percent: float
) -> None:
    found = trial_findings(data)[condition]
    assert (found["count"], found["percent"]) == (count, percent)


def test_trial_ranks_follow_counts(data: Graph) -> None:
    found = trial_findings(data)
    indications = [t[0] for t in TRIALS]
    for a in indications:
        for b in indications:
            if found[a]["count"] > found[b]["count"]:
                assert found[a]["rank"] < found[b]["rank"], (a, b)
            elif found[a]["count"] == found[b]["count"]:
                assert found[a]["rank"] == found[b]["rank"], (a, b)
    assert found[KEDO.MajorDepressiveDisorder]["rank"] == 1


def test_total_registered_trials(data: Graph) -> None:
    total = KED["ketamine-trials-total"]
    assert number(data.value(total, KEDO.value)) == 140.0
    assert str(data.value(total, KEDO.year)) == "2022"
    assert "5 February 2022" in str(data.value(total, KEDO.population))


# --- regulation and trial registrations ------------------------------------------------


def test_fda_approval_of_intranasal_esketamine_in_2019(data: Graph) -> None:
    rows = select(data, PREFIXES + """
        SELECT ?year ?agency WHERE {
            ?e a kedo:RegulatoryEvent ; kedo:year ?year ; kedo:agency ?agency ;
               kedo:regulatesSubstance ?drug ; kedo:forCondition ?dx .
            ?drug a kedo:Esketamine . ?dx a kedo:TreatmentResistantDepression .
        }""")
    assert len(rows) == 1
    assert str(rows[0][0]) == "2019"
    assert "FDA" in str(rows[0][1])


def test_no_approved_drugs_for_anorexia_is_stated_by_two_sources(data: Graph) -> None:
    event = KED["regulatory-no-approved-drugs-an"]
    dx = data.value(event, KEDO.forCondition)
    assert (dx, RDF.type, KEDO.AnorexiaNervosa) in data
    sources = {data.value(c, KEDO.source) for c in data.subjects(KEDO.about, event)}
    assert {KED["source-001"], KED["source-003"]} <= sources


NCT_IDS = {
    "NCT04714541": KEDO.Ketamine,
    "NCT04661514": KEDO.Psilocybin,
    "NCT05035927": KEDO.Psilocybin,
    "NCT04052568": KEDO.Psilocybin,
    "NCT04505189": KEDO.Psilocybin,
    "NCT04454684": KEDO.MDMA,
    "NCT04878627": KEDO.Cannabis,
}


@pytest.mark.parametrize(("nct", "substance_class"), sorted(NCT_IDS.items()))
def test_trial_registration(data: Graph, nct: str, substance_class: URIRef) -> None:
    registrations = list(data.subjects(KEDO.nctId, Literal(nct)))
    assert len(registrations) == 1, f"{nct}: {registrations}"
    reg = registrations[0]
    assert (reg, RDF.type, KEDO.TrialRegistration) in data
    assert data.value(reg, KEDO.investigatesSubstance) is not None
    assert (data.value(reg, KEDO.investigatesSubstance), RDF.type, substance_class) in data
    assert URIRef(f"https://clinicaltrials.gov/study/{nct}") in set(data.objects(reg, RDFS.seeAlso))


# --- mechanisms ------------------------------------------------------------------------


@pytest.mark.parametrize("end", ["mechanism-synaptogenesis", "mechanism-neuroplasticity"])
def test_mechanism_chain_reaches_from_nmda_antagonism(data: Graph, end: str) -> None:
    ask = data.query(PREFIXES + """
        ASK { ked:mechanism-nmda-antagonism kedo:leadsTo+ ?end .
              ked:mechanism-nmda-antagonism kedo:leadsTo/kedo:leadsTo ?signal .
              ?signal a kedo:MTORSignalling . }""", initBindings={"end": KED[end]})
    assert ask.askAnswer


def test_every_chain_step_is_a_mechanism_of_ketamine(data: Graph) -> None:
    steps = {
        "mechanism-nmda-antagonism": KEDO.NMDAReceptorAntagonism,
        "mechanism-glutamate-release": KEDO.GlutamateRelease,
        "mechanism-bdnf-signalling": KEDO.BDNFSignalling,
        "mechanism-mtor-signalling": KEDO.MTORSignalling,
        "mechanism-synaptogenesis": KEDO.Synaptogenesis,
        "mechanism-neuroplasticity": KEDO.Neuroplasticity,
    }
    for slug, cls in steps.items():
        assert (KED[slug], RDF.type, cls) in data, slug
        assert (KED[slug], KEDO.mechanismOf, KED["ketamine"]) in data, slug


def test_antagonism_type_conflict(data: Graph) -> None:
    mine = KED["ketamine-claim-noncompetitive"]
    assert data.value(mine, KEDO.source) == KED["source-003"]
    assert data.value(mine, KEDO.assertsProperty) == KEDO.antagonismType
    assert data.value(mine, KEDO.assertsValue) == KEDO.Noncompetitive
    other = KED["ketamine-claim-competitive"]
    if (other, RDF.type, KEDO.Claim) not in data:
        pytest.skip("ked:ketamine-claim-competitive (source 000) is not curated yet")
    assert data.value(other, KEDO.source) == KED["source-000"]
    assert data.value(other, KEDO.assertsValue) == KEDO.Competitive
    assert (mine, KEDO.conflictsWith, other) in data or (other, KEDO.conflictsWith, mine) in data
    # The antagonism type is a conflict: neither value may be asserted on the node itself.
    assert data.value(KED["mechanism-nmda-antagonism"], KEDO.antagonismType) is None


# --- treatment landscape ---------------------------------------------------------------


def test_kap_three_step_model_in_order(data: Graph) -> None:
    rows = select(data, PREFIXES + """
        SELECT ?index ?kind WHERE {
            ?step a kedo:SessionStep ; kedo:stepIndex ?index ; kedo:stepKind ?what .
            ?what a ?kind .
            FILTER (STRSTARTS(STR(?step), STR(ked:kap-model-step-)))
        } ORDER BY ?index""")
    assert [(int(number(i)), k) for i, k in rows] == [
        (1, KEDO.PreparatoryPsychotherapy),
        (2, KEDO.KetamineDosingSession),
        (3, KEDO.IntegrationPsychotherapy),
    ]


def test_ketamine_side_effects(data: Graph) -> None:
    effects = select(data, PREFIXES + """
        SELECT ?effect WHERE {
            ?r a kedo:AdverseEffectReport ; kedo:reportedFor ked:ketamine ;
               kedo:adverseEffect ?effect .
        }""")
    assert {e[0] for e in effects} >= {
        KEDO.Depersonalization, KEDO.Derealization, KEDO.EmergencePhenomena}


def test_cbt_efficacy_claims_name_bn_bed_and_an(data: Graph) -> None:
    about = {
        cls
        for claim in data.subjects(KEDO.about, KED["treatment-cbt"])
        for node in data.objects(claim, KEDO.about)
        for cls in data.objects(node, RDF.type)
    }
    assert {KEDO.BulimiaNervosa, KEDO.BingeEatingDisorder, KEDO.AnorexiaNervosa} <= about


# --- the figures are the source's ------------------------------------------------------


@pytest.mark.parametrize(
    "figure",
    [
        "(N = 89)", "(N = 200)", "(N = 13)", "(N = 28)", "(N = 1693)", "(N = 2033)",
        "(N = 68)", "64% of patients with AN", "53% of patients with BN",
        "30% of patients with BED", "10–20 years follow-up", "SMR) = 5.9–10.5",
        "1.6% for anorexia nervosa (AN: 1.4% women, 0.2% men)",
        "2.5% for bulimia nervosa (BN: 1.9% women, 0.6% men)",
        "3.8% for binge eating disorder (BED: 2.8% women, 1.0% men)",
        "7.9% for eating disorder not otherwise specified (EDNOS: 4.3% women, 3.6% men)",
        "major depression (98; 70%)", "suicidal ideation (21; 15%)",
        "obsessive–compulsive disorder (5; 3.6%)", "schizophrenia (1; 0.7%)",
        "more than 140 clinical trials", "in 2019", "0.5 mg/kg infused over 40 min",
        "d = 0.9–1.2", "2–24 h", "(2–6 weeks)", "3–4 fold higher", "USD 64.7 billion",
        "USD 11,808", "USD 326.5 billion", "8–15% of children and adolescents",
        "16% of adults", "12-fold", "symptom persistence (12 months)", "seven years",
        "(e.g., 5–10 years)", "NCT04714541", "NCT04878627",
    ],
)
def test_expected_figures_are_printed_in_source_003(shared_dir: Path, figure: str) -> None:
    """Guards the expectations above: each figure is copied from the seed, not the graph."""
    text = fold((shared_dir / "seeds" / SOURCE_003).read_text(encoding="utf-8"))
    assert figure in text
