"""The data model's contract where the graph used to keep facts only in labels, comments or one
source's word (issue 12, section 7): each fact is structured and has a claim of its own, and
each disagreement between sources is two linked claims, not a structured fact."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import OWL, RDF
from rdflib.term import Node

from ketamine_ed_kg.namespaces import KED, KEDO
from support.graph import one
from support.project import Curated

INSTRUMENTS = ("EDE-Q", "PHQ-9", "GAD-7", "MADRS", "AAQ-II", "EQ-5D-5L", "BDI", "KSET")


@pytest.fixture(scope="module")
def data(curated: Curated) -> Graph:
    return curated.data


def _claims_asserting(data: Graph, about: Node, prop: Node) -> list[Node]:
    return [c for c in data.subjects(KEDO.about, about)
            if (c, KEDO.assertsProperty, prop) in data]


@pytest.mark.parametrize("name", INSTRUMENTS)
def test_every_instrument_measures_a_construct_a_claim_states(data: Graph, name: str) -> None:
    instrument = KEDO[name]
    constructs = set(data.objects(instrument, KEDO.measuresConstruct))
    assert len(constructs) == 1, f"{name}: {constructs}"
    claims = _claims_asserting(data, instrument, KEDO.measuresConstruct)
    assert claims and {data.value(c, KEDO.assertsValue) for c in claims} == constructs


def test_the_approved_route_is_structured_with_its_claim(data: Graph) -> None:
    event = KED["regulatory-fda-esketamine-2019"]
    assert one(data, event, KEDO.approvedRoute) == KEDO.Intranasal
    claims = _claims_asserting(data, event, KEDO.approvedRoute)
    assert [data.value(c, KEDO.assertsValue) for c in claims] == [KEDO.Intranasal]


def test_no_regulatory_event_regulates_racemic_ketamine(data: Graph) -> None:
    for event in data.subjects(RDF.type, KEDO.RegulatoryEvent):
        for drug in data.objects(event, KEDO.regulatesSubstance):
            assert (drug, RDF.type, KEDO.RacemicKetamine) not in data, f"{event} -> {drug}"


def test_abstract_and_body_of_003_conflict_on_the_approved_substance(data: Graph) -> None:
    abstract = KED["regulatory-claim-ketamine-trd-approval"]
    body = KED["regulatory-claim-fda-esketamine-2019"]
    assert (abstract, KEDO.conflictsWith, body) in data
    assert one(data, abstract, KEDO.assertsValue) == KED.ketamine
    assert one(data, body, KEDO.assertsValue) == KED.esketamine


def test_the_dsm5_extreme_threshold_is_a_number(data: Graph) -> None:
    finding = KED["dsm5-bn-extreme-threshold"]
    assert one(data, finding, KEDO.statisticKind) == KEDO.SeverityThreshold
    assert float(one(data, finding, KEDO.value)) == 14
    assert one(data, finding, KEDO.unit) == KEDO.EpisodesPerWeek
    assert one(data, finding, KEDO.boundsAsPrinted) == "≥14"
    assert _claims_asserting(data, finding, KEDO.value)


def test_esketamine_is_the_enantiomer_that_binds_more_strongly(data: Graph) -> None:
    finding = KED["esketamine-nmda-affinity"]
    assert one(data, finding, KEDO.aboutSubstance) == KED.esketamine
    assert one(data, finding, KEDO.comparedWithSubstance) == KED.arketamine
    assert _claims_asserting(data, finding, KEDO.aboutSubstance)


@pytest.mark.parametrize("trial", ["nct04661514", "nct05035927", "nct04052568", "nct04505189"])
def test_the_psilocybin_grouping_is_a_claim(data: Graph, trial: str) -> None:
    node = KED[f"trial-{trial}"]
    claims = _claims_asserting(data, node, KEDO.investigatesSubstance)
    assert [data.value(c, KEDO.assertsValue) for c in claims] == [KED.psilocybin]


def test_the_opioid_mechanism_is_001s_claim_only(data: Graph) -> None:
    mechanism = KED["mechanism-opioid"]
    assert not list(data.objects(mechanism, KEDO.mechanismOf))
    claim = KED["mechanism-claim-opioid-001"]
    assert one(data, claim, KEDO.onlyInSource) is True
    others = list(data.objects(claim, KEDO.conflictsWith))
    assert [data.value(other, KEDO.source) for other in others] == [KED["source-003"]]


def test_pain_and_anaesthesia_are_conflicting_claims(data: Graph) -> None:
    pain = KED["ketamine-claim-pain-1960s-001"]
    assert one(data, pain, KEDO.assertsProperty) == KEDO.originalMedicalUse
    others = set(data.objects(pain, KEDO.conflictsWith))
    assert {data.value(c, KEDO.source) for c in others} == {KED["source-003"], KED["source-004"]}
    assert not list(data.objects(KED.ketamine, KEDO.originalMedicalUse))


def test_extreme_and_enduring_is_the_sources_qualifier(data: Graph) -> None:
    dx = KED["ragnhildstveit-2021-dx-bnbp"]
    qualifiers = set(data.objects(dx, KEDO.hasQualifier))
    assert KEDO.ExtremeAndEnduring in qualifiers and KEDO.SevereAndEnduring not in qualifiers


def test_nearly_90000_is_marked_approximate(data: Graph) -> None:
    assert one(data, KED["solmi-2024-group"], KEDO.boundsAsPrinted) == "nesten 90 000"


def test_the_first_link_of_the_mechanism_chain_is_curator_inference(data: Graph) -> None:
    source, target = KED["mechanism-nmda-antagonism"], KED["mechanism-glutamate-release"]
    assert (source, KEDO.leadsTo, target) in data
    axioms = [a for a in data.subjects(OWL.annotatedSource, source)
              if (a, OWL.annotatedProperty, KEDO.leadsTo) in data
              and (a, OWL.annotatedTarget, target) in data]
    assert len(axioms) == 1
    assert isinstance(data.value(axioms[0], KEDO.curatorInference), Literal)
    claimed = [c for c in data.subjects(KEDO.assertsProperty, KEDO.leadsTo)
               if (c, KEDO.about, source) in data and (c, KEDO.assertsValue, target) in data]
    assert not claimed, "a curator inference claims no source"
