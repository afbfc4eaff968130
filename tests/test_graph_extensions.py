"""The curators' workarounds replaced by the terms added for issues #2, #3 and #5.

Each expected value is typed from the seed text quoted beside it (never copied from the graph),
so a test fails if a migrated node loses the structure or the number the source gives.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from ketamine_ed_kg.namespaces import KED, KEDO
from support.graph import one
from support.project import Curated


@pytest.fixture(scope="module")
def data(curated: Curated) -> Graph:
    return curated.ontology + curated.data


def types(graph: Graph, node: Any) -> set[Any]:
    return set(graph.objects(node, RDF.type))


# --- studies whose regimen no source gives: kedo:studiedIntervention -------------------------

@pytest.mark.parametrize(("study", "kinds"), [
    # 002: "group-based ketamine-assisted psychotherapy" (Robison et al. 2022)
    ("robison-2022", {KEDO.KetamineAssistedPsychotherapy}),
    # 001: "female adolescent mice injected with a single dose of ketamine"
    ("chen-2018", {KEDO.Ketamine}),
    # 001: "adolescent ketamine treatment in a female mouse model"
    ("temizer-2022", {KEDO.Ketamine}),
    # 001: "starting AN treatment with ketamine ... later treatments, such as zinc supplementation"
    ("hermens-2020", {KEDO.Ketamine, KEDO.ZincSupplementation}),
    # 003: "following MDMA-AT compared to therapy with placebo"
    ("ref152-undated", {KEDO.MDMA, KEDO.Placebo}),
    # 003: "ceremonial ayahuasca"
    ("ref151-undated", {KEDO.Ayahuasca}),
    # 003: "acute psychological effects of psychedelics"
    ("springs-undated", {KEDO.Psychedelic}),
])
def test_studied_interventions(data: Graph, study: str, kinds: set[URIRef]) -> None:
    found = set()
    for intervention in data.objects(KED[study], KEDO.studiedIntervention):
        assert isinstance(intervention, URIRef)
        found |= types(data, intervention) & kinds
    assert found == kinds


def test_hermens_is_a_theoretical_proposal(data: Graph) -> None:
    # 001: Hermens et al. "suggest" a treatment; no patients were treated.
    assert one(data, KED["hermens-2020"], KEDO.hasDesign) == KEDO.TheoreticalProposalDesign


def test_placebo_comparator_of_the_2000_trial(data: Graph) -> None:
    # 003: "In 2000, the first double-blind, placebo-controlled trial of ketamine"
    placebo = one(data, KED["ref108-2000"], KEDO.studiedIntervention)
    assert KEDO.Placebo in types(data, placebo)


# --- Table 1 studies ---------------------------------------------------------------------------

def test_kap_session_steps_are_reached_from_regimen_and_kap(data: Graph) -> None:
    # 003: "30 min of preparatory psychotherapy, 40 min of intravenous ketamine ... and 30 min of
    # integration psychotherapy"
    expected = {1: (KEDO.PreparatoryPsychotherapy, 30), 2: (KEDO.KetamineDosingSession, 40),
                3: (KEDO.IntegrationPsychotherapy, 30)}
    for owner in (KED["ragnhildstveit-2021-regimen"], KED["ragnhildstveit-2021-kap"]):
        steps = {}
        for step in data.objects(owner, KEDO.hasSessionStep):
            kinds = {t for k in data.objects(step, KEDO.stepKind) for t in types(data, k)}
            kind = next(k for k, _ in expected.values() if k in kinds)
            minutes = one(data, one(data, step, KEDO.duration), KEDO.minValue)
            steps[one(data, step, KEDO.stepIndex)] = (kind, minutes)
        assert steps == expected
    # the steps are no longer the regimen's adjuncts
    adjuncts = set(data.objects(KED["ragnhildstveit-2021-regimen"], KEDO.adjunctTreatment))
    assert KED["ragnhildstveit-2021-preparatory"] not in adjuncts


def test_kap_model_lists_its_three_steps(data: Graph) -> None:
    # 003: "KAP generally follows a three-step model"
    steps = set(data.objects(KED["kap-model"], KEDO.hasSessionStep))
    assert {one(data, s, KEDO.stepIndex) for s in steps} == {1, 2, 3}


def test_mills_subgroup_outcomes_p_value_and_threshold(data: Graph) -> None:
    # 003: "remissions were observed in responders (n = 9) compared to nonresponders (n = 6)"
    responders = KED["mills-1998-subgroup-responders"]
    nonresponders = KED["mills-1998-subgroup-nonresponders"]
    assert one(data, responders, KEDO.sampleSize) == 9
    assert one(data, nonresponders, KEDO.sampleSize) == 6
    assert one(data, KED["mills-1998-outcome-responders-remission"],
               KEDO.outcomeForGroup) == responders
    assert one(data, KED["mills-1998-outcome-nonresponders"],
               KEDO.outcomeForGroup) == nonresponders
    # "responders showed significant reductions in obsessive–compulsive neurosis (p 0.001)"
    neurosis = KED["mills-1998-outcome-oc-neurosis"]
    assert one(data, neurosis, KEDO.pValueAsPrinted) == "p 0.001"
    assert one(data, neurosis, KEDO.outcomeForGroup) == responders
    # "clinical response (≥50% reduction in symptom severity)"
    assert one(data, KED["mills-1998-outcome-clinical-response"],
               KEDO.responseThresholdPercent) == Decimal("50")


def test_schwartz_subgroup_outcomes_and_negative_affectivity(data: Graph) -> None:
    # 003: "patients with AN-R demonstrated robust and sustained responses, compared to their
    # EDNOS-BP counterparts"; "reported persistent negative affectivity"
    anr = KED["schwartz-2021-subgroup-anr"]
    assert one(data, KED["schwartz-2021-outcome-anr-sustained"], KEDO.outcomeForGroup) == anr
    constructs = {
        c for o in data.objects(KED["schwartz-2021"], KEDO.hasOutcome)
        for c in data.objects(o, KEDO.construct)
    }
    assert KEDO.NegativeAffectivity in constructs


def test_open_ended_quantities(data: Graph) -> None:
    # 003 (Schwartz): "Repeat dosing ... spanning 12+ months"
    span = one(data, KED["schwartz-2021-regimen"], KEDO.treatmentSpan)
    assert one(data, span, KEDO.minValue) == Decimal("12")
    assert data.value(span, KEDO.maxValue) is None
    assert one(data, span, KEDO.unit) == KEDO.Month
    assert one(data, span, KEDO.boundsAsPrinted) == "12+"
    # 003 (Ragnhildstveit): "complete cessation ... that sustained for over one year"
    follow_up = one(data, KED["ragnhildstveit-2021"], KEDO.followUpDuration)
    assert one(data, follow_up, KEDO.minValue) == Decimal("1")
    assert data.value(follow_up, KEDO.maxValue) is None
    assert one(data, follow_up, KEDO.boundsAsPrinted) == "over one year"
    # 002 (Dahlgren): "Hele oppfølgingsløpet varte litt over ni måneder."
    course = KED["dahlgren-2025-whole-course"]
    assert one(data, course, KEDO.minValue) == Decimal("9")
    assert data.value(course, KEDO.maxValue) is None


def test_scolnick_diet_duration_and_alcohol_use(data: Graph) -> None:
    # 003: "After adopting the high-fat, low-carbohydrate regimen for three months"
    duration = one(data, KED["scolnick-2020-ketogenic-diet"], KEDO.interventionDuration)
    assert (one(data, duration, KEDO.minValue), one(data, duration, KEDO.maxValue),
            one(data, duration, KEDO.unit)) == (Decimal("3"), Decimal("3"), KEDO.Month)
    # "The adjunctive therapy was also useful for managing her periodic alcohol dependence."
    assert one(data, KED["scolnick-2020-outcome-alcohol-dependence"],
               KEDO.construct) == KEDO.AlcoholUse


def test_ragnhildstveit_prior_outpatient_care(data: Graph) -> None:
    # 003: "despite care at the outpatient, inpatient, and residential level"
    assert KEDO.OutpatientCare in types(data, KED["ragnhildstveit-2021-prior-outpatient"])


# --- the review's statistics and substances ----------------------------------------------------

@pytest.mark.parametrize(("finding", "kind"), [
    ("course-symptom-persistence", KEDO.SymptomPersistenceDuration),   # "(12 months)"
    ("course-severe-enduring-cutoff", KEDO.IllnessDurationThreshold),  # "seven years"
    ("course-severe-enduring-range", KEDO.IllnessDurationThreshold),   # "5–10 years"
    ("ketamine-antidepressant-onset", KEDO.TimeToOnset),               # "2–24 h"
    ("ketamine-antidepressant-relapse", KEDO.TimeToRelapse),           # "2–6 weeks"
    ("esketamine-nmda-affinity", KEDO.BindingAffinityRatio),           # "3–4 fold"
    ("cost-us-wellbeing", KEDO.WellBeingLoss),                         # "USD 326.5 billion"
    ("course-residual-symptoms", KEDO.ResidualSymptomProportion),      # "a third"
    ("course-chronic-illness", KEDO.ChronicIllnessProportion),         # "a fifth"
    ("solmi-2024-persistent-symptoms", KEDO.ResidualSymptomProportion),  # "en tredjedel"
    ("solmi-2024-chronic", KEDO.ChronicIllnessProportion),             # "én av fem"
    ("timek-2024-literature-lowest-bmi", KEDO.LowestReportedValue),    # "lowest documented"
])
def test_precise_statistic_kinds(data: Graph, finding: str, kind: URIRef) -> None:
    assert one(data, KED[finding], KEDO.statisticKind) == kind
    assert "closest" not in str(data.value(KED[finding], URIRef(
        "http://www.w3.org/2000/01/rdf-schema#comment")) or "")


def test_trial_count_is_open_ended_with_access_date(data: Graph) -> None:
    # 003: "more than 140 clinical trials ... (ClinicalTrials.gov, accessed on 5 February 2022)"
    total = KED["ketamine-trials-total"]
    assert one(data, total, KEDO.value) == Decimal("140")
    assert data.value(total, KEDO.valueMax) is None
    assert one(data, total, KEDO.boundsAsPrinted) == "more than 140"
    accessed = list(data.objects(total, KEDO.accessedOn))
    assert accessed == [Literal("2022-02-05", datatype=XSD.date)]
    # "less than half of sufferers achieve full remission"
    remission = KED["course-full-remission"]
    assert one(data, remission, KEDO.valueMax) == Decimal("50")
    assert data.value(remission, KEDO.value) is None
    assert one(data, remission, KEDO.boundsAsPrinted) == "less than half"


@pytest.mark.parametrize(("drug", "cls"), [
    # 003: "antidepressants (e.g., fluoxetine, citalopram, fluvoxamine, and sertraline),
    # antiepileptics (e.g., carbamazepine and topiramate) ... neurostimulants (e.g.,
    # lisdexamfetamine)"
    ("citalopram", KEDO.Citalopram), ("fluvoxamine", KEDO.Fluvoxamine),
    ("sertraline", KEDO.Sertraline), ("carbamazepine", KEDO.Carbamazepine),
    ("topiramate", KEDO.Topiramate), ("lisdexamfetamine", KEDO.Lisdexamfetamine),
])
def test_second_line_drugs_have_their_classes(data: Graph, drug: str, cls: URIRef) -> None:
    assert cls in types(data, KED[drug])


def test_enantiomers_and_emergence_phenomena(data: Graph) -> None:
    # 003: "a 1:1 racemic mixture of its two optic enantiomers: S(+)-ketamine (esketamine) and
    # R(-)-ketamine (arketamine)"
    for enantiomer in ("esketamine", "arketamine"):
        assert one(data, KED[enantiomer], KEDO.enantiomerOf) == KED["ketamine"]
    # 003: "emergence phenomena ... characterized by euphoria, lucid dreams, and hallucinations"
    effects = set(data.objects(KED["adverse-ketamine-emergence"], KEDO.adverseEffect))
    assert {KEDO.Euphoria, KEDO.LucidDreams, KEDO.Hallucinations} <= effects
    # "intensive outpatient, partial hospitalization, and residential programs"
    assert KEDO.IntensiveOutpatientCare in types(data, KED["treatment-intensive-outpatient"])


def test_long_term_cohorts_outcome_predictors(data: Graph) -> None:
    # 003: "symptom severity (AN), illness duration (AN), psychiatric comorbidity (BN, BED),
    # treatment age (BN), follow-up length (AN, BN), global functioning (BN), body
    # dissatisfaction (BED), drive for thinness (BN), impulsivity (BED), sexual abuse (BED), and
    # self-injury (BN)"
    expected = {
        "ref83-undated": {KEDO.SymptomSeverity, KEDO.IllnessDuration, KEDO.FollowUpLength},
        "ref84-undated": {KEDO.PsychiatricComorbidity, KEDO.AgeAtTreatment, KEDO.FollowUpLength,
                          KEDO.GlobalFunctioning, KEDO.DriveForThinness, KEDO.SelfInjury},
        "ref85-undated": {KEDO.PsychiatricComorbidity, KEDO.BodyDissatisfaction,
                          KEDO.Impulsivity, KEDO.SexualAbuse},
    }
    for study, predictors in expected.items():
        assert set(data.objects(KED[study], KEDO.outcomePredictor)) == predictors


def test_dahlgren_follow_up_direction(data: Graph) -> None:
    # 002: "Stabilisering eller videre reduksjon i symptomer ved fem måneders oppfølging."
    assert one(data, KED["dahlgren-2025-outcome-follow-up"],
               KEDO.direction) == KEDO.StableOrImproved
