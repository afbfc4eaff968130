"""The curators' commands one error path at a time: add-source, new-study, queries --update,
and the culprit search of ``reason`` (issue #12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ketamine_ed_kg.culprit import find_culprit, minimal_subset
from ketamine_ed_kg.examples import Answer, load_examples
from ketamine_ed_kg.namespaces import KED
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.pubmed import PubMedRecordError, parse_record
from ketamine_ed_kg.snapshots import render_expected
from ketamine_ed_kg.validation.quotes import closest_passage, text_file
from support.project import copy_checkout, run_cli

GOOD = """A made-up title : a case report
- PMID: 99999902
- Authors: Roe R, Doe J
- Citation: J Made Up Stud. 2024 Jan 5;12(3):77.
A made-up title : a case report
Abstract
Invented for a test.
"""


def test_a_citation_line_gives_journal_year_volume_issue_and_pages(tmp_path: Path) -> None:
    path = tmp_path / "record.txt"
    path.write_text(GOOD, encoding="utf-8")
    record = parse_record(path)
    assert (record.journal, record.year, record.volume, record.issue, record.pages) == (
        "J Made Up Stud", 2024, "12", "3", "77")
    assert record.first_author == "Roe"
    assert record.pmcid is None and record.doi is None


@pytest.mark.parametrize(("line", "field"), [
    ("- PMID: 99999902\n", "PMID"),
    ("- Authors: Roe R, Doe J\n", "Authors"),
    ("- Citation: J Made Up Stud. 2024 Jan 5;12(3):77.\n", "Journal"),
])
def test_a_record_without_a_required_field_is_refused_naming_it(
    tmp_path: Path, line: str, field: str
) -> None:
    path = tmp_path / "record.txt"
    path.write_text(GOOD.replace(line, ""), encoding="utf-8")
    with pytest.raises(PubMedRecordError, match=f"has no field '{field}'"):
        parse_record(path)


def test_the_seed_record_alone_lacks_the_citation_fields(shared_dir: Path) -> None:
    with pytest.raises(PubMedRecordError, match="has no field 'Authors'"):
        parse_record(shared_dir / "seeds" / "000_6cffadb59d25b5a1.txt")


def test_a_malformed_record_writes_nothing(sources: ProjectPaths, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    checkout = copy_checkout(sources, tmp_path / "checkout", ("ontology", "graph"))
    before = sorted(p.relative_to(checkout.root) for p in checkout.graph_dir.rglob("*"))
    path = tmp_path / "record.txt"
    path.write_text(GOOD.replace("- PMID: 99999902", "- PMID: PMID99"), encoding="utf-8")
    assert run_cli(checkout.root, "add-source", str(path)) == 1
    assert "field 'PMID' is 'PMID99'" in capsys.readouterr().err
    assert sorted(p.relative_to(checkout.root) for p in checkout.graph_dir.rglob("*")) == before


def test_a_record_of_a_publication_in_the_graph_reuses_it(
    sources: ProjectPaths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dahlgren 2025 is in the graph (pub-dahlgren-2025, PMID from source 000's list)."""
    checkout = copy_checkout(sources, tmp_path / "checkout", ("ontology", "graph", "docs"))
    path = tmp_path / "dahlgren.txt"
    path.write_text(
        "Reconnecting through dissociation: a 5-month follow-up case study on "
        "ketamine-assisted psychotherapy for anorexia nervosa\n- PMID: 40495248\n"
        "- Authors: Dahlgren CL, Tverrli E, Stewart LH\n"
        "- Citation: J Eat Disord. 2025 Jun 10;13(1):107.\n", encoding="utf-8")
    assert run_cli(checkout.root, "add-source", str(path)) == 0
    out = capsys.readouterr().out
    assert "kedo:describesPublication ked:pub-dahlgren-2025" in out
    assert "ked:pub-dahlgren-2025 a kedo:Publication" not in out
    assert run_cli(checkout.root, "new-study", "--source", "ked:source-pmid-40495248") == 1
    assert "ked:dahlgren-2025 exists already" in capsys.readouterr().err
    assert run_cli(checkout.root, "new-study", "--source", "ked:source-999") == 1
    assert "no kedo:SourceDocument" in capsys.readouterr().err


def test_text_files_are_found_by_file_name_or_identifier(tmp_path: Path) -> None:
    (tmp_path / "pmid-1.txt").write_text("x", encoding="utf-8")
    (tmp_path / "007_abc.txt").write_text("x", encoding="utf-8")
    (tmp_path / "mine.txt").write_text("x", encoding="utf-8")
    assert text_file(KED["source-pmid-1"], None, [tmp_path]) == tmp_path / "pmid-1.txt"
    assert text_file(KED["source-007"], None, [tmp_path]) == tmp_path / "007_abc.txt"
    assert text_file(KED["source-pmid-1"], "mine.txt", [tmp_path]) == tmp_path / "mine.txt"
    assert text_file(KED["source-008"], None, [tmp_path]) is None


def test_the_closest_passage_is_the_one_with_the_typo() -> None:
    text = "The cat sat on the mat. A dog slept in the sun all afternoon. Birds sang."
    passage, ratio = closest_passage(text, "A dog slep in the sun all afternoon.")
    assert passage.startswith("A dog slept in the sun")
    assert ratio > 0.9


def test_an_update_keeps_old_rows_in_place_and_appends_new_ones(sources: ProjectPaths) -> None:
    example = next(e for e in load_examples(sources.queries_dir)
                   if e.name == "002_studies_by_route")
    assert not example.ordered
    old = "study,route\r\nked:b,kedo:Oral\r\nked:a,kedo:Intravenous\r\n"
    actual = Answer(variables=("study", "route"), rows=(
        (str(KED["a"]), "https://w3id.org/ketamine-ed/ontology/Intravenous"),
        (str(KED["c"]), "https://w3id.org/ketamine-ed/ontology/Intranasal")))
    assert render_expected(example, actual, old) == (
        "study,route\r\nked:a,kedo:Intravenous\r\nked:c,kedo:Intranasal\r\n")


def test_minimal_subset_finds_the_members_that_matter() -> None:
    calls: list[list[int]] = []

    def bad(subset: list[int]) -> bool:
        calls.append(subset)
        return {3, 17} <= set(subset)

    assert sorted(minimal_subset(list(range(40)), bad)) == [3, 17]
    assert len(calls) < 20


@pytest.mark.slow
def test_reason_names_the_file_and_node_of_an_inconsistency(
    sources: ProjectPaths, tmp_path: Path, java: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deliberately inconsistent copy: a drug instance also typed as a diagnosis."""
    checkout = copy_checkout(sources, tmp_path / "checkout", ("ontology", "graph"))
    study = checkout.studies_dir / "chen-2018.ttl"
    text = study.read_text(encoding="utf-8")
    wrong = text.replace("ked:chen-2018-ketamine a kedo:Ketamine ;",
                         "ked:chen-2018-ketamine a kedo:Ketamine, kedo:AnorexiaNervosa ;", 1)
    assert wrong != text
    study.write_text(wrong, encoding="utf-8")
    culprit = find_culprit(checkout)
    assert [p.name for p in culprit.files] == ["chen-2018.ttl"]
    assert culprit.nodes == ("ked:chen-2018-ketamine",)
    assert run_cli(checkout.root, "reason") == 1
    out = capsys.readouterr().out
    assert "consistent: NO" in out
    assert "file: graph/studies/chen-2018.ttl" in out
    assert "node: ked:chen-2018-ketamine" in out
