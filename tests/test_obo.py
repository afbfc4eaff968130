"""Protégé- and OBO-clean releases (docs/obo.md).

* what the build adds (``obo.py``): ``rdfs:isDefinedBy``, ``owl:NamedIndividual``, claim labels;
* the OBO report (``queries/report/``, ROBOT's ``report`` checks): every rule fires on a case
  made for it, the levels are ROBOT's, and every file of the real release has 0 ERROR;
* the release as other OWL readers see it: owlready2 and py-horned-owl read its version IRI
  and list its individuals, and the OWL API's profile checker finds it in OWL 2 DL.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import owlready2
import pyhornedowl
import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from pyhornedowl.profile import check_profile
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from ketamine_ed_kg.build import RELEASE_FILES, RELEASE_STEM
from ketamine_ed_kg.cli import cli
from ketamine_ed_kg.iris import ONTOLOGY_IRI
from ketamine_ed_kg.namespaces import KED, KEDO
from ketamine_ed_kg.obo import claim_label, claim_labels, defined_by, named_individuals
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.validation import ReportQuery, load_report_queries, report_file
from support.project import BuiltDataset, Curated

PREFIXES = """\
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix obo: <http://purl.obolibrary.org/obo/> .
@prefix oboInOwl: <http://www.geneontology.org/formats/oboInOwl#> .
@prefix kedo: <https://w3id.org/ketamine-ed/ontology/> .
@prefix ked: <https://w3id.org/ketamine-ed/resource/> .
"""

ROBOT_PROFILE = {
    "annotation_whitespace": "WARN", "deprecated_class_reference": "ERROR",
    "deprecated_property_reference": "ERROR", "duplicate_definition": "ERROR",
    "duplicate_exact_synonym": "WARN", "duplicate_label_synonym": "WARN",
    "duplicate_label": "ERROR", "duplicate_scoped_synonym": "WARN", "equivalent_pair": "WARN",
    "invalid_xref": "WARN", "label_formatting": "ERROR", "label_whitespace": "ERROR",
    "lowercase_definition": "INFO", "missing_definition": "WARN", "missing_label": "ERROR",
    "missing_obsolete_label": "WARN", "missing_ontology_description": "ERROR",
    "missing_ontology_license": "ERROR", "missing_ontology_title": "ERROR",
    "missing_superclass": "INFO", "misused_obsolete_label": "ERROR",
    "multiple_asserted_superclasses": "WARN", "multiple_definitions": "ERROR",
    "multiple_equivalent_classes": "ERROR", "multiple_labels": "ERROR",
}
"""ROBOT's default report profile (robot-core ``report_profile.txt``): rule and level."""
PROJECT_RULES = {
    "deprecated_term_use": "ERROR", "missing_is_defined_by": "ERROR",
    "missing_version_iri": "ERROR", "undeclared_individual": "ERROR",
    "deprecated_without_replacement": "WARN",
}
"""The project's own rules, with the level the project gives them."""

CASES: dict[str, str] = {
    "missing_label": "ked:a kedo:publicationYear 2020 .",
    "duplicate_label": 'ked:a rdfs:label "x"@en . ked:b rdfs:label "x"@en .',
    "multiple_labels": 'ked:a rdfs:label "x"@en, "y"@en .',
    "label_whitespace": 'ked:a rdfs:label "x "@en .',
    "label_formatting": 'ked:a rdfs:label "x\\ty"@en .',
    "multiple_definitions": 'kedo:A obo:IAO_0000115 "A one."@en, "A two."@en .',
    "duplicate_definition": 'kedo:A obo:IAO_0000115 "A thing."@en . '
                            'kedo:B obo:IAO_0000115 "A thing."@en .',
    "deprecated_class_reference": "kedo:Old a owl:Class ; owl:deprecated true . "
                                  "kedo:Child rdfs:subClassOf kedo:Old .",
    "deprecated_property_reference": "kedo:old a owl:ObjectProperty ; owl:deprecated true . "
                                     "ked:a kedo:old ked:b .",
    "deprecated_term_use": "kedo:Old owl:deprecated true . ked:a kedo:route kedo:Old .",
    "misused_obsolete_label": 'ked:a rdfs:label "obsolete thing"@en .',
    "missing_ontology_title": "<https://example.org/o> a owl:Ontology .",
    "missing_ontology_description": "<https://example.org/o> a owl:Ontology .",
    "missing_ontology_license": "<https://example.org/o> a owl:Ontology .",
    "missing_version_iri": "<https://example.org/o> a owl:Ontology .",
    "multiple_equivalent_classes": "kedo:A owl:equivalentClass kedo:B, kedo:C .",
    "missing_is_defined_by": "<https://example.org/o> a owl:Ontology . kedo:A a owl:Class .",
    "undeclared_individual": "ked:a a kedo:Study .",
    "missing_definition": 'kedo:A a owl:Class ; rdfs:label "a"@en .',
    "missing_obsolete_label": 'kedo:A owl:deprecated true ; rdfs:label "a"@en .',
    "deprecated_without_replacement": "kedo:A owl:deprecated true .",
    "annotation_whitespace": 'rdfs:comment a owl:AnnotationProperty . ked:a rdfs:comment " x" .',
    "duplicate_exact_synonym": 'kedo:A oboInOwl:hasExactSynonym "x" . '
                               'kedo:B oboInOwl:hasExactSynonym "x" .',
    "duplicate_scoped_synonym": 'kedo:A oboInOwl:hasRelatedSynonym "x" . '
                                'kedo:B oboInOwl:hasRelatedSynonym "x" .',
    "duplicate_label_synonym": 'kedo:A rdfs:label "x" ; oboInOwl:hasExactSynonym "x" .',
    "equivalent_pair": "kedo:A owl:equivalentClass kedo:B .",
    "invalid_xref": 'kedo:A oboInOwl:hasDbXref "not a curie" .',
    "multiple_asserted_superclasses": "kedo:A a owl:Class ; rdfs:subClassOf kedo:B, kedo:C .",
    "lowercase_definition": 'kedo:A obo:IAO_0000115 "a thing."@en .',
    "missing_superclass": 'kedo:A a owl:Class ; rdfs:label "a"@en .',
}
"""For each rule, a small graph it must report."""


@pytest.fixture(scope="module")
def report_queries(sources: ProjectPaths) -> list[ReportQuery]:
    return load_report_queries(sources.report_queries_dir)


@pytest.fixture(scope="module")
def release(built_dataset: BuiltDataset) -> Path:
    return built_dataset.result.release


# ------------------------------------------------------------------ what the build adds


def test_claim_label_names_the_claim_its_source_and_its_first_quote() -> None:
    data = Graph()
    claim = KED["x-claim"]
    data.add((claim, RDF.type, KEDO.Claim))
    data.add((claim, KEDO.source, KED["source-003"]))
    data.add((claim, KEDO.quote, Literal("b second quote", lang="en")))
    data.add((claim, KEDO.quote, Literal("a first\nquote " + "word " * 30, lang="en")))
    label = claim_label(claim, data)
    assert label.language == "en"
    assert str(label).startswith('claim ked:x-claim (ked:source-003): "a first quote word')
    assert str(label).endswith('…" (+1 more quote)')
    assert "\n" not in str(label)
    assert claim_label(claim, data) == label  # a function of the graph alone


def test_a_claim_labelled_in_the_turtle_keeps_its_label() -> None:
    data = Graph()
    data.add((KED.a, RDF.type, KEDO.Claim))
    data.add((KED.b, RDF.type, KEDO.Claim))
    data.add((KED.b, RDFS.label, Literal("curated", lang="en")))
    assert {s for s, _, _ in claim_labels(data)} == {KED.a}


def test_individuals_are_declared_and_schema_nodes_are_not() -> None:
    data = Graph()
    data.add((KED.study, RDF.type, KEDO.HumanStudy))
    data.add((KEDO.Thing, RDF.type, OWL.Class))
    data.add((KED.done, RDF.type, KEDO.Dose))
    data.add((KED.done, RDF.type, OWL.NamedIndividual))
    assert set(named_individuals(data)) == {(KED.study, RDF.type, OWL.NamedIndividual)}


def test_every_kedo_term_is_defined_by_the_ontology(curated: Curated) -> None:
    added = defined_by(curated.ontology)
    terms = {s for s, o in curated.ontology.subject_objects(RDF.type)
             if isinstance(s, URIRef) and str(s).startswith(str(KEDO))
             and o in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty,
                       OWL.AnnotationProperty, OWL.NamedIndividual)}
    assert terms and {s for s, _, _ in added} == terms
    assert set(added.objects(None, RDFS.isDefinedBy)) == {URIRef(ONTOLOGY_IRI)}


def test_release_labels_every_claim(release: Path) -> None:
    store = ox.Store()
    store.load(path=release / f"{RELEASE_STEM}.ttl", format=ox.RdfFormat.TURTLE)
    solutions = store.query(
        f"SELECT ?claim ?label WHERE {{ ?claim a <{KEDO.Claim}> "
        f"OPTIONAL {{ ?claim <{RDFS.label}> ?label }} }}")
    assert isinstance(solutions, ox.QuerySolutions)
    rows = list(solutions)
    assert len(rows) > 300
    labels = [row["label"] for row in rows]
    assert all(isinstance(label, ox.Literal) and label.value.startswith("claim ked:")
               for label in labels)


# ------------------------------------------------------------------ the OBO report


def test_levels_are_robots(report_queries: list[ReportQuery]) -> None:
    levels = {q.name: q.level for q in report_queries}
    assert levels == {**ROBOT_PROFILE, **PROJECT_RULES}
    for query in report_queries:
        project_rule = "(project rule)" in query.description
        assert project_rule == (query.name in PROJECT_RULES), query.name


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_rule_reports_its_case(rule: str, tmp_path: Path,
                                    report_queries: list[ReportQuery]) -> None:
    path = tmp_path / "case.ttl"
    path.write_text(PREFIXES + CASES[rule] + "\n", encoding="utf-8")
    rows = report_file(path, report_queries).rows
    assert rule in {row.rule for row in rows}, rows


def test_every_rule_has_a_case(report_queries: list[ReportQuery]) -> None:
    assert {q.name for q in report_queries} == set(CASES)


def test_a_clean_file_reports_nothing(tmp_path: Path,
                                      report_queries: list[ReportQuery]) -> None:
    path = tmp_path / "clean.ttl"
    path.write_text(PREFIXES + """
kedo:A a owl:Class ; rdfs:label "a"@en ; obo:IAO_0000115 "A thing that is a."@en ;
    rdfs:subClassOf kedo:B .
ked:a a owl:NamedIndividual, kedo:A ; rdfs:label "an a"@en .
""", encoding="utf-8")
    assert report_file(path, report_queries).rows == []


@pytest.mark.parametrize("name", RELEASE_FILES)
def test_release_file_has_no_error(name: str, release: Path,
                                   report_queries: list[ReportQuery]) -> None:
    report = report_file(release / name, report_queries)
    errors = report.at_least("ERROR")
    assert errors == [], "\n".join(row.tsv() for row in errors[:20])


def test_report_command_exit_statuses(release: Path, tmp_path: Path,
                                      sources: ProjectPaths) -> None:
    runner = CliRunner()
    root = ["--root", str(sources.root)]
    ok = runner.invoke(cli, [*root, "report", str(release / f"{RELEASE_STEM}.owl")])
    assert ok.exit_code == 0, ok.output
    assert "0 ERROR" in ok.output
    bad = tmp_path / "bad.ttl"
    bad.write_text(PREFIXES + CASES["duplicate_label"], encoding="utf-8")
    table = tmp_path / "report.tsv"
    failed = runner.invoke(cli, [*root, "report", str(bad), "--output", str(table)])
    assert failed.exit_code != 0
    assert "ERROR\tduplicate_label\tked:a\trdfs:label\tx" in failed.output
    assert table.read_text(encoding="utf-8").startswith("File\tLevel\tRule Name\t")
    broken = tmp_path / "broken.ttl"
    broken.write_text("ked:a ked:b .\n", encoding="utf-8")
    parse_error = runner.invoke(cli, [*root, "report", str(broken)])
    assert parse_error.exit_code != 0
    assert "broken.ttl" in str(parse_error.exception)


# ------------------------------------------------------------------ other OWL readers


def _declared_individuals(path: Path) -> int:
    store = ox.Store()
    store.load(path=path, format=ox.RdfFormat.RDF_XML)
    solutions = store.query(
        f"SELECT (COUNT(DISTINCT ?i) AS ?n) WHERE {{ ?i a <{OWL.NamedIndividual}> }}")
    assert isinstance(solutions, ox.QuerySolutions)
    count = next(iter(solutions))["n"]
    assert isinstance(count, ox.Literal)
    return int(count.value)


def _version_iri(curated: Curated) -> str:
    version = curated.ontology.value(URIRef(ONTOLOGY_IRI), OWL.versionIRI)
    assert version is not None
    return str(version)


def test_owlready2_reads_version_iri_and_individuals(release: Path, curated: Curated) -> None:
    path = release / f"{RELEASE_STEM}.owl"
    world = owlready2.World()
    onto = world.get_ontology(path.as_uri()).load()
    versions = list(world.sparql(
        "SELECT ?v WHERE { ?o <http://www.w3.org/2002/07/owl#versionIRI> ?v }"))
    assert [str(row[0]) for row in versions] == [_version_iri(curated)]
    individuals = list(onto.individuals())
    assert len(individuals) == _declared_individuals(path) > 900
    world.close()


def test_py_horned_owl_reads_version_iri_and_individuals(release: Path,
                                                          curated: Curated) -> None:
    path = release / f"{RELEASE_STEM}.owl"
    onto = pyhornedowl.open_ontology_from_file(str(path))
    assert str(onto.get_iri()) == ONTOLOGY_IRI
    assert str(onto.get_version_iri()) == _version_iri(curated)
    assert len(onto.get_named_individuals()) == _declared_individuals(path)


def test_py_horned_owl_profile_check_finds_only_its_known_defect(release: Path,
                                                                  curated: Curated) -> None:
    """py-horned-owl 2.0 reads an object property assertion whose object is a blank node
    (``kedo:hasDose [ a kedo:Dose ; ... ]``, OWL 2 RDF mapping: an assertion about an
    anonymous individual) as an annotation assertion, and then reports the object property as
    an undeclared annotation property (docs/obo.md). Any other violation fails."""
    onto = pyhornedowl.open_ontology_from_file(str(release / f"{RELEASE_STEM}.owl"))
    report = check_profile(onto, "DL")
    object_properties = {str(p) for p in curated.ontology.subjects(RDF.type, OWL.ObjectProperty)}
    others = [v for v in report.violations
              if type(v).__name__ != "UseOfUndeclaredAnnotationProperty"
              or str(getattr(v, "iri", "")) not in object_properties]
    assert others == []


def _owl_api_profile(java: str, path: Path) -> list[str]:
    """The OWL API's OWL 2 DL profile check (the OWL API jar that owlready2 ships)."""
    owlapi = Path(owlready2.__file__).parent / "pellet" / "owlapi-distribution-3.4.3-bin.jar"
    if not owlapi.is_file():
        pytest.skip(f"the OWL API is not where owlready2 ships it: {owlapi}")
    checker = Path(__file__).parent / "support" / "java" / "OwlDlProfile.java"
    done = subprocess.run([java, "-cp", str(owlapi), str(checker), str(path)],
                          capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


@pytest.mark.slow
def test_release_is_owl2_dl_for_the_owl_api(java: str, release: Path) -> None:
    lines = _owl_api_profile(java, release / f"{RELEASE_STEM}.owl")
    violations = [line for line in lines if line.startswith("violation:")]
    assert violations == [] and "in-profile: true" in lines, "\n".join(violations[:20])


@pytest.mark.slow
def test_owl_api_profile_check_finds_an_undeclared_class(java: str, tmp_path: Path) -> None:
    path = tmp_path / "undeclared.ttl"
    path.write_text(PREFIXES + "<https://example.org/o> a owl:Ontology .\n"
                    "ked:a a owl:NamedIndividual, kedo:NotDeclared .\n", encoding="utf-8")
    lines = _owl_api_profile(java, path)
    assert "in-profile: false" in lines
    assert any("NotDeclared" in line for line in lines if line.startswith("violation:"))


def test_dataset_report_is_the_release_files_report(release: Path,
                                                    report_queries: list[ReportQuery]) -> None:
    """``dataset.nq`` is checked as the graphs a release file holds (ontology, data, VoID):
    the same rows as the Turtle release file."""
    quads = report_file(release / "dataset.nq", report_queries).rows
    turtle = report_file(release / f"{RELEASE_STEM}.ttl", report_queries).rows
    assert quads == turtle


def test_declarations_are_in_the_release_files_not_in_the_served_data(
        release: Path) -> None:
    turtle = ox.Store()
    turtle.load(path=release / f"{RELEASE_STEM}.ttl", format=ox.RdfFormat.TURTLE)
    served = ox.Store()
    served.load(path=release / "dataset.nq", format=ox.RdfFormat.N_QUADS)
    study = ox.Quad(ox.NamedNode(str(KED["mills-1998"])), ox.NamedNode(str(RDF.type)),
                    ox.NamedNode(str(OWL.NamedIndividual)))
    assert study in turtle
    assert not list(served.quads_for_pattern(study.subject, study.predicate, study.object))
