"""HermiT over the ontology, over the ontology plus the curated graph, and over known mistakes.

Each HermiT run starts a Java VM, so the two runs over the project files are shared by the
module's tests; every test that needs Java asks for the ``java`` fixture and is thereby marked
``hermit`` (conftest.py), so ``make test-fast`` leaves it out. The negative tests prove the
check can fail: a curation mistake the data model forbids (a diagnosis instance that is also a
drug) must make the graph inconsistent, while the same snippet without the mistake stays
consistent.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import owlready2
import pytest
from rdflib import Graph

from ketamine_ed_kg.cli import main
from ketamine_ed_kg.errors import DataError, InconsistentOntologyError, ReasonerUnavailableError
from ketamine_ed_kg.loading import parse_file
from ketamine_ed_kg.namespaces import KEDO
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.reasoning import (
    ReasoningResult,
    reason,
    reason_graph,
    render_text,
)
from support.project import Curated

PREFIXES = """
@prefix kedo: <https://w3id.org/ketamine-ed/ontology/> .
@prefix ked: <https://w3id.org/ketamine-ed/resource/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""

# A participant group with an AN-R diagnosis and a ketamine regimen, as the data model's worked
# example has it. MISTAKES below each add one triple to it.
CORRECT = """
ked:t-group a kedo:ParticipantGroup ; kedo:sampleSize 1 ; kedo:hasDiagnosis ked:t-dx-anr .
ked:t-dx-anr a kedo:AnorexiaNervosaRestrictingType .
ked:t-regimen a kedo:DosingRegimen ; kedo:hasDrug ked:t-ketamine ; kedo:route kedo:Intravenous .
ked:t-ketamine a kedo:Ketamine .
"""
MISTAKES = {
    "diagnosis typed as a drug": "ked:t-dx-anr a kedo:Ketamine .",
    "regimen gives a diagnosis": "ked:t-regimen kedo:hasDrug ked:t-dx-anr .",
    "route used as a unit": "ked:t-dose a kedo:Dose ; kedo:doseUnit kedo:Intravenous .",
    "two designs for one study": (
        "ked:t-study a kedo:HumanStudy ; kedo:hasDesign kedo:CaseReportDesign , "
        "kedo:CaseSeriesDesign ."
    ),
    "AN-R and AN-BP at once": "ked:t-dx-anr a kedo:AnorexiaNervosaBingePurgeType .",
    "zero participants": "ked:t-group2 a kedo:ParticipantGroup ; kedo:sampleSize 0 .",
}


@pytest.fixture(scope="module")
def ontology_result(sources: ProjectPaths, java: str) -> ReasoningResult:
    return reason(sources, include_data=False)


@pytest.fixture(scope="module")
def graph_result(sources: ProjectPaths, java: str) -> ReasoningResult:
    return reason(sources, include_data=True)


def with_snippet(sources: ProjectPaths, *snippets: str) -> Graph:
    graph = parse_file(sources.ontology_file)
    graph.parse(data=PREFIXES + "\n".join(snippets), format="turtle")
    return graph


# --- the project's files -------------------------------------------------------------------


def test_ontology_alone_is_consistent_and_satisfiable(ontology_result: ReasoningResult) -> None:
    assert ontology_result.consistent
    assert ontology_result.unsatisfiable == ()
    assert ontology_result.ok
    assert not ontology_result.included_data
    assert ontology_result.timings["hermit"] > 0
    ontology_result.raise_for_problems()


def test_ontology_and_curated_graph_are_consistent(
    graph_result: ReasoningResult, ontology_result: ReasoningResult
) -> None:
    assert graph_result.included_data
    assert graph_result.triples > ontology_result.triples, "graph/ adds triples"
    assert graph_result.consistent, render_text(graph_result)
    assert graph_result.unsatisfiable == ()


def test_report_names_the_outcome(graph_result: ReasoningResult) -> None:
    text = render_text(graph_result)
    assert "consistent: yes" in text
    assert "unsatisfiable classes: none" in text
    assert "hermit" in text


# --- proving the check can fail ------------------------------------------------------------


def test_the_correct_snippet_is_consistent(sources: ProjectPaths, java: str) -> None:
    result = reason_graph(with_snippet(sources, CORRECT), included_data=True)
    assert result.ok, render_text(result)


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_curation_mistake_makes_the_graph_inconsistent(
    sources: ProjectPaths, java: str, mistake: str
) -> None:
    result = reason_graph(with_snippet(sources, CORRECT, MISTAKES[mistake]), included_data=True)
    assert not result.consistent
    assert "consistent: NO" in render_text(result)
    with pytest.raises(InconsistentOntologyError, match="inconsistent"):
        result.raise_for_problems()


def test_unsatisfiable_classes_are_listed(sources: ProjectPaths, java: str) -> None:
    # A class under two disjoint classes can have no member: HermiT must name it.
    snippet = (
        "kedo:TestDrugDiagnosis a owl:Class ; rdfs:subClassOf kedo:Ketamine , kedo:Diagnosis ."
    )
    result = reason_graph(with_snippet(sources, snippet), included_data=False)
    assert result.consistent
    assert result.unsatisfiable == (str(KEDO.TestDrugDiagnosis),)
    with pytest.raises(InconsistentOntologyError, match="TestDrugDiagnosis"):
        result.raise_for_problems()


def test_inferred_hierarchy_reports_unasserted_subclasses(sources: ProjectPaths, java: str) -> None:
    snippet = """
    kedo:TestCaseReportStudy a owl:Class ; owl:equivalentClass [ a owl:Class ; owl:intersectionOf (
        kedo:Study [ a owl:Restriction ; owl:onProperty kedo:hasDesign ;
                     owl:hasValue kedo:CaseReportDesign ] ) ] .
    kedo:TestHumanCaseReport a owl:Class ; rdfs:subClassOf kedo:HumanStudy ,
        [ a owl:Restriction ; owl:onProperty kedo:hasDesign ; owl:hasValue kedo:CaseReportDesign ] .
    """
    result = reason_graph(with_snippet(sources, snippet), included_data=False)
    assert result.ok
    expected = (str(KEDO.TestHumanCaseReport), str(KEDO.TestCaseReportStudy))
    assert expected in result.inferred_subclasses
    assert "kedo:TestHumanCaseReport" in render_text(result)


# --- HermiT with default settings (as Protégé runs it) ---------------------------------------

# The OWL 2 datatype map (OWL 2 Structural Specification, section 4): HermiT rejects any other
# datatype unless told to ignore it, and Protégé's HermiT is not told.
OWL2_DATATYPE_MAP = {
    f"http://www.w3.org/2001/XMLSchema#{name}"
    for name in (
        "decimal integer nonNegativeInteger nonPositiveInteger positiveInteger negativeInteger "
        "long int short byte unsignedLong unsignedInt unsignedShort unsignedByte double float "
        "string normalizedString token language Name NCName NMTOKEN boolean hexBinary "
        "base64Binary anyURI dateTime dateTimeStamp"
    ).split()
} | {
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#PlainLiteral",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#XMLLiteral",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString",  # tagged literals (= PlainLiteral)
    "http://www.w3.org/2000/01/rdf-schema#Literal",
    "http://www.w3.org/2002/07/owl#real",
    "http://www.w3.org/2002/07/owl#rational",
}


def test_every_range_and_data_value_is_in_the_owl2_datatype_map(curated: Curated) -> None:
    from rdflib import OWL, RDF, RDFS, Literal

    merged = curated.ontology + curated.data
    data_properties = set(merged.subjects(RDF.type, OWL.DatatypeProperty))
    outside = {
        (str(p), str(r)) for p in data_properties for r in merged.objects(p, RDFS.range)
        if str(r) not in OWL2_DATATYPE_MAP
    }
    assert outside == set()
    for s, p, o in merged:
        if p in data_properties and isinstance(o, Literal) and o.datatype is not None:
            assert str(o.datatype) in OWL2_DATATYPE_MAP, (s, p, o)


def test_a_datatype_outside_the_map_is_rejected(sources: ProjectPaths, java: str) -> None:
    # HermiT runs with its default settings, as Protégé runs it, so a datatype outside the
    # map stops it (an xsd:gYear year, what the graph used before); with
    # ignore_unsupported_datatypes it would pass. The project's own files reach a result
    # (test_ontology_alone_is_consistent_and_satisfiable,
    # test_ontology_and_curated_graph_are_consistent), so HermiT accepted every datatype.
    snippet = (
        'ked:t-pub a kedo:Publication ; '
        'kedo:publicationYear "2020"^^<http://www.w3.org/2001/XMLSchema#gYear> .'
    )
    with pytest.raises(DataError, match="HermiT rejected the input"):
        reason_graph(with_snippet(sources, snippet), included_data=True)


@pytest.mark.parametrize("outcome", ["inconsistent", "rejected"])
def test_hermit_leaves_no_temporary_file(sources: ProjectPaths, java: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, outcome: str) -> None:
    """owlready2 unlinks HermiT's input file only after a success; an inconsistent graph or
    a rejected one must not leave it in the temporary folder (here a folder of the test's)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    if outcome == "inconsistent":
        graph = with_snippet(sources, CORRECT, MISTAKES["diagnosis typed as a drug"])
        assert not reason_graph(graph, included_data=True).consistent
    else:
        graph = with_snippet(sources, 'ked:t-pub a kedo:Publication ; kedo:publicationYear '
                                      '"2020"^^<http://www.w3.org/2001/XMLSchema#gYear> .')
        with pytest.raises(DataError, match="HermiT rejected the input"):
            reason_graph(graph, included_data=True)
    assert tempfile.gettempdir() == str(folder)
    assert sorted(folder.iterdir()) == []


# --- errors and the command line -----------------------------------------------------------


def test_missing_java_is_reported(sources: ProjectPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(owlready2, "JAVA_EXE", "/nonexistent/java-for-test")
    with pytest.raises(ReasonerUnavailableError, match="Java"):
        reason_graph(parse_file(sources.ontology_file), included_data=False)


def test_reason_command_exits_zero_on_the_ontology(
    java: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["reason", "--ontology-only"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "HermiT on the ontology only" in out
    assert "consistent: yes" in out


def test_reason_command_exits_one_on_an_inconsistent_checkout(
    sources: ProjectPaths, java: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path
    (root / "ontology").mkdir()
    (root / "graph" / "studies").mkdir(parents=True)
    (root / "ontology" / "ketamine-ed.ttl").write_bytes(sources.ontology_file.read_bytes())
    (root / "graph" / "studies" / "bad.ttl").write_text(
        PREFIXES + CORRECT + MISTAKES["diagnosis typed as a drug"], encoding="utf-8"
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["--root", str(root), "reason"])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert "consistent: NO" in captured.out
    assert "inconsistent" in captured.err
