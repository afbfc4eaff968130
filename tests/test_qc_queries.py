"""The QC queries in ``queries/qc/``: format, coverage by fixtures, and the cases they must pass.

The violating cases live in ``tests/shapes/qc-*.ttl`` (run by test_shapes.py); here each query
is also shown *not* to fire on the corrected version of the same data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from ketamine_ed_kg.errors import KedError
from ketamine_ed_kg.loading import parse_file
from ketamine_ed_kg.namespaces import KED, KEDO
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.validation import QcQuery, load_qc_queries, run_qc, short
from support.project import Curated
from support.shapes import FIXTURE_DIR, fixture_paths, load_fixture

REQUIRED = {
    "cited-study-missing-violation", "titration-order-violation", "titration-index-violation",
    "dose-range-violation", "quote-language-violation", "study-without-outcome-violation",
    "unknown-term-violation", "deprecated-term-violation", "duplicate-label-violation",
}


@pytest.fixture(scope="module")
def queries(qc_queries: tuple[QcQuery, ...]) -> dict[str, QcQuery]:
    return {q.name: q for q in qc_queries}


@pytest.fixture(scope="module")
def ontology(curated: Curated) -> Graph:
    return curated.ontology


def _rows(query: QcQuery, data: Graph, ontology: Graph) -> list[str]:
    return sorted(short(r.focus) for r in run_qc(data + ontology, [query]))


def _fixture(name: str) -> Graph:
    return load_fixture(FIXTURE_DIR / f"{name}.ttl").graph


def test_every_required_query_exists_with_a_description(queries: dict[str, QcQuery]) -> None:
    assert REQUIRED <= set(queries)
    for query in queries.values():
        assert query.path.read_text(encoding="utf-8").startswith("# description: ")
        assert len(query.description) > 40
        assert "SELECT" in query.text and "?focus" in query.text


def test_every_query_has_a_violating_fixture(queries: dict[str, QcQuery]) -> None:
    expected_sources = {k[4] for p in fixture_paths() for k in load_fixture(p).expected}
    for name in queries:
        assert f"kedsh:qc-{name}" in expected_sources, name


def test_a_query_without_description_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x-violation.rq").write_text("SELECT ?focus WHERE { ?focus ?p ?o }\n")
    with pytest.raises(KedError, match="description"):
        load_qc_queries(tmp_path)


def test_a_query_without_focus_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x-violation.rq").write_text("# description: rows\nSELECT ?s WHERE { ?s ?p ?o }\n")
    (query,) = load_qc_queries(tmp_path)
    graph = Graph()
    graph.add((URIRef("urn:s"), URIRef("urn:p"), Literal("o")))
    with pytest.raises(KedError, match=r"\?focus"):
        run_qc(graph, [query])


def test_titration_in_source_order_passes(queries: dict[str, QcQuery], ontology: Graph) -> None:
    """Seed 003: Scolnick et al. titrated 0.75, 1.0, 1.1 and 1.2 mg/kg."""
    data = _fixture("qc-titration-order-001")
    query = queries["titration-order-violation"]
    assert _rows(query, data, ontology) == ["ked:scolnick-2020-regimen"]
    step2, step3 = KED["scolnick-2020-step-2"], KED["scolnick-2020-step-3"]
    data.set((step2, KEDO.doseValue, Literal("1.0", datatype=XSD.decimal)))
    data.set((step3, KEDO.doseValue, Literal("1.1", datatype=XSD.decimal)))
    assert _rows(query, data, ontology) == []


def test_distinct_step_indexes_pass(queries: dict[str, QcQuery], ontology: Graph) -> None:
    data = _fixture("qc-titration-index-001")
    query = queries["titration-index-violation"]
    assert _rows(query, data, ontology) == ["ked:scolnick-2020-regimen"]
    data.set((KED["scolnick-2020-step-3"], KEDO.stepIndex, Literal(3)))
    data.set((KED["scolnick-2020-step-4"], KEDO.stepIndex, Literal(4)))
    assert _rows(query, data, ontology) == []


def test_dose_within_the_titration_range_passes(
    queries: dict[str, QcQuery], ontology: Graph
) -> None:
    """Seed 003, Table 1: Schwartz et al., 0.5 mg/kg titrated to 0.9 mg/kg."""
    data = _fixture("qc-dose-range-001")
    query = queries["dose-range-violation"]
    assert _rows(query, data, ontology) == ["ked:schwartz-2021-regimen"]
    data.set((KED["schwartz-2021-dose"], KEDO.doseValueMax, Literal("0.9", datatype=XSD.decimal)))
    assert _rows(query, data, ontology) == []
    # A dose below the lowest step fails too.
    data.set((KED["schwartz-2021-dose"], KEDO.doseValue, Literal("0.4", datatype=XSD.decimal)))
    assert _rows(query, data, ontology) == ["ked:schwartz-2021-regimen"]


def test_reported_study_satisfies_the_citation(
    queries: dict[str, QcQuery], ontology: Graph
) -> None:
    data = _fixture("qc-cited-study-missing-001")
    query = queries["cited-study-missing-violation"]
    assert _rows(query, data, ontology) == ["ked:pub-schwartz-2021"]
    data.add((KED["schwartz-2021"], RDF.type, KEDO.HumanStudy))
    data.add((KED["schwartz-2021"], KEDO.reportedIn, KED["pub-schwartz-2021"]))
    assert _rows(query, data, ontology) == []


def test_study_with_outcome_passes(queries: dict[str, QcQuery], ontology: Graph) -> None:
    data = _fixture("qc-study-without-outcome-001")
    query = queries["study-without-outcome-violation"]
    assert _rows(query, data, ontology) == ["ked:mills-1998"]  # the review is exempt
    data.add((KED["mills-1998-outcome"], KEDO.outcomeOf, KED["mills-1998"]))
    assert _rows(query, data, ontology) == []


def test_quotes_in_english_or_norwegian_pass(queries: dict[str, QcQuery], ontology: Graph) -> None:
    """Seed 002 is Norwegian: its quotes are tagged @nb."""
    query = queries["quote-language-violation"]
    data = Graph()
    claim = KED["dahlgren-2025-claim-title"]
    data.add((claim, RDF.type, KEDO.Claim))
    data.add((claim, KEDO.quote, Literal("Ketaminassistert psykoterapi for anorexia nervosa",
                                         lang="nb")))
    assert _rows(query, data, ontology) == []
    data.add((claim, KEDO.quote, Literal("Ketaminassistert psykoterapi", lang="no")))
    assert _rows(query, data, ontology) == ["ked:dahlgren-2025-claim-title"]


def test_declared_terms_pass_and_misspelt_ones_fail(
    queries: dict[str, QcQuery], ontology: Graph
) -> None:
    query = queries["unknown-term-violation"]
    data = Graph()
    regimen = KED["dechant-undated-regimen"]
    data.add((regimen, RDF.type, KEDO.DosingRegimen))
    data.add((regimen, KEDO.route, KEDO.Intravenous))
    assert _rows(query, data, ontology) == []
    data.add((regimen, KEDO.doseVale, Literal("0.5", datatype=XSD.decimal)))
    assert _rows(query, data, ontology) == ["ked:dechant-undated-regimen"]


def test_the_replacement_of_a_deprecated_term_passes(
    queries: dict[str, QcQuery], ontology: Graph
) -> None:
    """terms-003 once its diagnosis uses the term that replaces the deprecated one; the
    message names the replacement."""
    data = _fixture("terms-003")
    query = queries["deprecated-term-violation"]
    rows = run_qc(data + ontology, [query])
    assert sorted(short(r.focus) for r in rows) == ["ked:x-2099-dx", "ked:x-2099-dx"]
    assert any(f"replaced by <{KEDO.AnorexiaNervosa}>" in r.message for r in rows)
    assert any("names no replacement" in r.message for r in rows)
    dx = KED["x-2099-dx"]
    data.remove((dx, None, None))
    data.add((dx, RDF.type, KEDO.AnorexiaNervosa))
    assert _rows(query, data, ontology) == []


def test_labels_that_say_whose_they_are_pass(queries: dict[str, QcQuery], ontology: Graph
                                             ) -> None:
    data = _fixture("qc-duplicate-label-001")
    query = queries["duplicate-label-violation"]
    assert _rows(query, data, ontology) == ["ked:doe-2099-dose", "ked:roe-2099-dose",
                                            "ked:topiramate"]
    data.set((KED["doe-2099-dose"], RDFS.label, Literal("0.5 mg/kg (Doe dose)", lang="en")))
    data.set((KED["topiramate"], RDFS.label,
              Literal("topiramate (substance in general)", lang="en")))
    assert _rows(query, data, ontology) == []


def test_the_curated_graph_passes_every_query(
    sources: ProjectPaths, queries: dict[str, QcQuery], ontology: Graph
) -> None:
    data = Graph()
    for file in sources.graph_files():
        parse_file(file, data)
    rows = run_qc(data + ontology, list(queries.values()))
    assert [(short(r.focus), short(r.source_shape)) for r in rows] == []


def test_filled_in_template_values_pass(queries: dict[str, QcQuery], ontology: Graph) -> None:
    """Seed 000: the Timek et al. case report, once its label is written from the source."""
    data = _fixture("qc-template-placeholder-001")
    query = queries["template-placeholder-violation"]
    assert _rows(query, data, ontology) == ["ked:timek-2024"]
    data.set((KED["timek-2024"], RDFS.label,
              Literal("Timek et al. 2024 case report of psychotherapy-assisted IV ketamine",
                      lang="en")))
    assert _rows(query, data, ontology) == []
    data.add((KED["example-2099"], RDF.type, KEDO.HumanStudy))
    data.add((KED["example-2099"], KEDO.publicationYear, Literal(2030)))
    assert _rows(query, data, ontology) == ["ked:example-2099"]
