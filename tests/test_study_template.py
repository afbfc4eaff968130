"""The curators' study template (docs/study-template.ttl) is a valid study file as it stands.

Curators start a new study by copying the template into ``graph/studies/``; if the template
itself broke a shape, a QC query or an OWL axiom, every new study would start with errors that
are not the curator's. So the template is placed, under its placeholder slug, into a temporary
checkout with the real ontology, shapes, QC queries and graph, and run through the same
functions as ``ketamine-ed-kg validate`` and ``ketamine-ed-kg reason``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from ketamine_ed_kg.loading import parse_file
from ketamine_ed_kg.namespaces import KED, KEDO
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.reasoning import ReasoningResult, reason
from ketamine_ed_kg.validation import ValidationOutcome, validate_project
from support.graph import single
from support.project import VALIDATION_SOURCES, copy_checkout

SLUG = "example-2099"
TEMPLATE_NAME = "study-template.ttl"


@pytest.fixture(scope="module")
def template_file(sources: ProjectPaths) -> Path:
    return sources.root / "docs" / TEMPLATE_NAME


@pytest.fixture(scope="module")
def checkout(
    tmp_path_factory: pytest.TempPathFactory, sources: ProjectPaths, template_file: Path
) -> ProjectPaths:
    """Ontology, shapes, QC queries and the real graph, plus the template as a study file."""
    checkout = copy_checkout(sources, tmp_path_factory.mktemp("template-checkout"),
                             (*VALIDATION_SOURCES, "graph"))
    shutil.copyfile(template_file, checkout.graph_dir / "studies" / f"{SLUG}.ttl")
    return checkout


@pytest.fixture(scope="module")
def study_file(checkout: ProjectPaths) -> Path:
    return checkout.graph_dir / "studies" / f"{SLUG}.ttl"


@pytest.fixture(scope="module")
def template(template_file: Path) -> Graph:
    return parse_file(template_file)


@pytest.fixture(scope="module")
def validation(checkout: ProjectPaths, study_file: Path) -> ValidationOutcome:
    """What `ketamine-ed-kg validate graph/studies/example-2099.ttl` computes."""
    return validate_project(checkout, [study_file])


@pytest.fixture(scope="module")
def reasoned(checkout: ProjectPaths, java: str) -> ReasoningResult:
    """One HermiT run over ontology + graph + template, shared by the reasoning tests."""
    return reason(checkout, include_data=True)


# --- the template as a file ------------------------------------------------------------------


def test_template_parses_and_every_node_uses_the_placeholder_slug(template: Graph) -> None:
    subjects = {s for s in template.subjects() if isinstance(s, URIRef)}
    assert subjects, "the template defines no node"
    own = (str(KED[SLUG]), str(KED[f"pub-{SLUG}"]))
    strays = sorted(str(s) for s in subjects
                    if not any(str(s) == p or str(s).startswith(p + "-") for p in own))
    assert strays == [], f"nodes outside ked:{SLUG}-...: {strays}"


def test_template_has_every_part_of_a_study(template: Graph) -> None:
    study = KED[SLUG]
    assert (study, RDF.type, KEDO.HumanStudy) in template
    publication = single(template, study, KEDO.reportedIn)
    assert (publication, RDF.type, KEDO.Publication) in template
    group = single(template, study, KEDO.hasParticipantGroup)
    assert (group, RDF.type, KEDO.ParticipantGroup) in template
    assert len(list(template.objects(group, KEDO.hasDiagnosis))) >= 2
    regimen = single(template, study, KEDO.hasRegimen)
    assert (regimen, RDF.type, KEDO.DosingRegimen) in template
    drug = single(template, regimen, KEDO.hasDrug)
    assert (drug, RDF.type, KEDO.Ketamine) in template
    for prop in (KEDO.hasDose, KEDO.infusionDuration, KEDO.sessionCountMin,
                 KEDO.sessionCountMax, KEDO.dosingInterval, KEDO.route):
        assert list(template.objects(regimen, prop)), f"the regimen lacks {prop}"
    steps = list(template.objects(regimen, KEDO.hasTitrationStep))
    assert sorted(int(str(single(template, s, KEDO.stepIndex))) for s in steps) == [1, 2]
    outcome = single(template, study, KEDO.hasOutcome)
    assert list(template.objects(outcome, KEDO.measuredWith))
    assert list(template.objects(outcome, KEDO.responseCategory))
    claims = set(template.subjects(RDF.type, KEDO.Claim))
    assert claims
    about = {o for c in claims for o in template.objects(c, KEDO.about)}
    # The publication too: kedo:citesReference alone leaves it a node with no claim behind it.
    for node in (study, publication, group, regimen, drug, outcome):
        assert node in about, f"no claim is about {node}"


def test_every_quote_and_label_is_a_todo_placeholder(template: Graph) -> None:
    """A forgotten placeholder must never read like a real quote or name."""
    texts = [o for p in (KEDO.quote, RDFS.label) for o in template.objects(None, p)]
    assert texts
    not_marked = [str(t) for t in texts if not (isinstance(t, Literal) and "TODO" in str(t))]
    assert not_marked == []


# --- validate and reason, as the curator will ------------------------------------------------


PLACEHOLDER_CHECK = "qc-template-placeholder-violation"


def test_validate_reports_only_the_placeholders_of_the_template(
    validation: ValidationOutcome, study_file: Path
) -> None:
    """The template is complete and well-formed: the only violations are its own placeholders,
    which the QC query reports until the curator has replaced every one of them."""
    assert study_file.resolve() in [f.resolve() for f in validation.files]
    violations = [(e.line, e.node_label, e.result.message)
                  for e in validation.entries if e.result.severity == "Violation"
                  and not str(e.result.source_shape).endswith(PLACEHOLDER_CHECK)]
    assert violations == []
    placeholders = [e for e in validation.entries
                    if str(e.result.source_shape).endswith(PLACEHOLDER_CHECK)]
    assert placeholders, "the placeholder check must flag an unfilled template"
    assert {e.file.resolve() for e in placeholders if e.file} == {study_file.resolve()}


def test_validate_would_catch_a_mistake_in_the_template(
    checkout: ProjectPaths, template_file: Path, tmp_path: Path
) -> None:
    """The same run flags the template once a required part is removed (so the check can fail)."""
    text = template_file.read_text(encoding="utf-8")
    broken = text.replace("    kedo:hasDrug ked:example-2099-ketamine ;\n", "", 1)
    assert broken != text
    target = checkout.graph_dir / "studies" / f"{SLUG}-broken.ttl"
    target.write_text(broken.replace(SLUG, f"{SLUG}-broken"), encoding="utf-8")
    try:
        outcome = validate_project(checkout, [target])
    finally:
        target.unlink()
    paths_flagged = {str(e.result.path) for e in outcome.entries
                     if e.result.severity == "Violation"}
    assert str(KEDO.hasDrug) in paths_flagged


def test_hermit_finds_ontology_graph_and_template_consistent(
    reasoned: ReasoningResult, template: Graph
) -> None:
    assert reasoned.included_data
    assert reasoned.triples > len(template)
    assert reasoned.consistent
    assert reasoned.unsatisfiable == ()
