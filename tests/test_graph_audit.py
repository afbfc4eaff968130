"""Faithfulness rules found by auditing the curated graph against the five seeds.

Each test generalises one kind of mistake the audit found, so that it cannot come back:
* a bibliographic fact no seed states (a journal name taken from outside the seeds);
* a claim whose kedo:assertsValue is not what the node it is about holds, without the claim
  being one side of a recorded conflict;
* two outcomes of one study at the same time point with different time-point orders;
* a citing sentence of source 002 used as provenance for another source's detailed outcome (a
  response category or time point that 002 does not state).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from ketamine_ed_kg.namespaces import KED, KEDO
from support.graph import fold
from support.project import Curated


@pytest.fixture(scope="module")
def data(curated: Curated) -> Graph:
    return curated.data


def test_every_journal_name_is_printed_by_a_seed(data: Graph, shared_dir: Path) -> None:
    """Journals come from the seeds; identifiers.tsv may supply identifiers, not journals."""
    seeds = " ".join(fold(p.read_text(encoding="utf-8")).lower()
                     for p in (shared_dir / "seeds").glob("*.txt"))
    missing = sorted(f"{pub}: {journal}" for pub, journal in data.subject_objects(KEDO.journal)
                     if fold(str(journal)).lower() not in seeds)
    assert not missing, "journal names no seed prints:\n" + "\n".join(missing)


def test_mills_publication_has_no_journal(data: Graph) -> None:
    # 003 cites Mills et al. only as "[136]" and "in 1998"; no seed names its journal.
    assert list(data.objects(KED["pub-mills-1998"], KEDO.journal)) == []


def same_value(a: object, b: object) -> bool:
    if isinstance(a, Literal) and isinstance(b, Literal):
        return bool(a.eq(b)) or str(a) == str(b)
    return a == b


def test_asserted_values_hold_on_the_nodes_claims_are_about(data: Graph) -> None:
    """kedo:assertsValue is on a node the claim is about, unless the claim is one side of a
    recorded conflict, or it keeps a DOI as printed (with a space) beside the verified form."""
    problems = []
    for claim in data.subjects(RDF.type, KEDO.Claim):
        prop = data.value(claim, KEDO.assertsProperty)
        if not isinstance(prop, URIRef) or data.value(claim, KEDO.conflictsWith) is not None:
            continue
        values = list(data.objects(claim, KEDO.assertsValue))
        held = [v for node in data.objects(claim, KEDO.about) for v in data.objects(node, prop)]
        for value in values:
            if any(same_value(value, h) for h in held):
                continue
            if prop == KEDO.doi and any(str(value).replace(" ", "") == str(h) for h in held):
                continue  # source 002 prints Robison's DOI as "s40 337-..."
            problems.append(f"{claim}: asserts {prop} = {value!r}; its nodes hold {held!r}")
    assert not problems, "\n".join(problems)


def test_hermens_journal_and_volume_as_printed(data: Graph) -> None:
    # 001: "Biological Psychiatry, 101." - the reference list writes "Journal, volume".
    pub = KED["pub-hermens-2020"]
    assert [str(j) for j in data.objects(pub, KEDO.journal)] == ["Biological Psychiatry"]
    assert [str(v) for v in data.objects(pub, KEDO.volume)] == ["101"]
    # 001: "Synapse, 77." with the year printed as 2022; kept as printed.
    temizer = KED["pub-temizer-2022"]
    assert [str(v) for v in data.objects(temizer, KEDO.volume)] == ["77"]
    assert [int(str(y)) for y in data.objects(temizer, KEDO.publicationYear)] == [2022]


def test_one_time_point_one_order_within_a_study(data: Graph) -> None:
    problems = []
    for study in set(data.subjects(KEDO.hasOutcome, None)):
        orders: dict[str, set[int]] = {}
        for outcome in data.objects(study, KEDO.hasOutcome):
            point = data.value(outcome, KEDO.timePoint)
            order = data.value(outcome, KEDO.timePointOrder)
            if point is not None and isinstance(order, Literal):
                orders.setdefault(str(point), set()).add(int(order))
        problems += [f"{study}: {point!r} has orders {sorted(o)}"
                     for point, o in orders.items() if len(o) > 1]
    assert not problems, "\n".join(problems)


def test_002_citing_sentences_back_only_what_002_says(data: Graph) -> None:
    """002 cites Keeler, Ragnhildstveit 2021, Schwartz, Scolnick, Robison and Timek for symptoms
    that "can be reduced" / "seem to decrease in parallel": a direction, with no response
    category and no time point. Such claims must not be the provenance of outcome nodes that
    carry those (they come from source 003's account)."""
    source = KED["source-002"]
    dahlgren = KED["pub-dahlgren-2025"]
    problems = []
    for claim in data.subjects(KEDO.source, source):
        cited = set(data.objects(claim, KEDO.citesReference)) - {dahlgren}
        if not cited:
            continue
        for node in data.objects(claim, KEDO.about):
            if (node, RDF.type, KEDO.Outcome) not in data:
                continue
            for prop in (KEDO.responseCategory, KEDO.timePoint):
                if data.value(node, prop) is not None:
                    problems.append(f"{claim} is about {node}, which has {prop}")
    assert not problems, "\n".join(problems)


def test_the_reviews_course_of_illness_findings_cite_the_review_only(data: Graph) -> None:
    # 003: "More than 50 years of literature on EDs further suggests that less than half of
    # sufferers achieve full remission, a third experience residual symptoms, and a fifth become
    # chronically ill [86,87,88]". 002 gives the same shares for Solmi et al. 2024 (nearly
    # 90 000 patients): those are the solmi-2024 findings, a different body of evidence.
    for slug in ("course-full-remission", "course-residual-symptoms", "course-chronic-illness"):
        sources = {data.value(c, KEDO.source) for c in data.subjects(KEDO.about, KED[slug])}
        assert sources == {KED["source-003"]}, f"{slug}: {sources}"
    for slug in ("solmi-2024-full-remission", "solmi-2024-persistent-symptoms",
                 "solmi-2024-chronic"):
        sources = {data.value(c, KEDO.source) for c in data.subjects(KEDO.about, KED[slug])}
        assert sources == {KED["source-002"]}, f"{slug}: {sources}"
