"""The sentence ledger (graph/ledger/, docs/ledger.md): every sentence of every source text backs
a claim or is excused with a reason, and nothing excused is quoted by a claim.

The texts are in ``../shared/seeds``; the tests that need them skip where it is absent. The
splitter and the coverage rule are tested on small texts of our own, so they run everywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ketamine_ed_kg.cli import cli
from ketamine_ed_kg.ledger import (
    COVERED,
    REASONS,
    TODO,
    Entry,
    Quote,
    SourceText,
    check,
    check_all,
    draft,
    locate,
    read_ledger,
    render_ledger,
    render_reports,
    split_sentences,
)
from ketamine_ed_kg.paths import ProjectPaths
from support.project import Curated, copy_checkout


def _texts(text: str) -> list[str]:
    return [sentence.text for sentence in split_sentences(text)]


def test_lines_and_sentence_ends_split() -> None:
    assert _texts("Heading\nOne thing. Two things! A third?\n") == [
        "Heading", "One thing.", "Two things!", "A third?"]


def test_abbreviations_initials_decimals_and_footnotes_do_not_split() -> None:
    text = ("Keeler et al. (2021) say so, e.g. twice. Dahlgren, C. L. wrote 1.6% of it. "
            "It rises in the brain.3 Glutamate follows. Identification No. NCT04714541 ends.")
    assert _texts(text) == [
        "Keeler et al. (2021) say so, e.g. twice.", "Dahlgren, C. L. wrote 1.6% of it.",
        "It rises in the brain.3", "Glutamate follows.", "Identification No. NCT04714541 ends."]


def test_norwegian_sentences_split() -> None:
    assert _texts("Hun fikk ketamin. Økt energi var målet. Åpenbart (ICD-10 F50.0) var det.") == [
        "Hun fikk ketamin.", "Økt energi var målet.", "Åpenbart (ICD-10 F50.0) var det."]


def test_segments_without_letters_or_digits_are_not_sentences() -> None:
    assert _texts("-\n  •  \nText.\n") == ["Text."]


def test_offsets_point_into_the_text() -> None:
    text = "  First one.  Second one.\nThird"
    for sentence in split_sentences(text):
        assert text[sentence.start:sentence.end] == sentence.text


def test_locate_folds_white_space() -> None:
    text = "Alpha beta\n   gamma delta."
    span = locate(text, "beta gamma")
    assert span is not None and text[span[0]:span[1]] == "beta\n   gamma"
    assert locate(text, "beta  delta") is None


SOURCE = SourceText("https://w3id.org/ketamine-ed/resource/source-999", "source-999", "999.txt",
                    (Quote("https://w3id.org/ketamine-ed/resource/c1", "Ketamine helps."),))
TEXT = "Title\nKetamine helps. Menu item\n"


def test_draft_marks_quoted_sentences_covered_and_the_rest_todo() -> None:
    entries = draft(TEXT, SOURCE)
    assert [entry.status for entry in entries] == [TODO, COVERED, TODO]
    report = check(TEXT, SOURCE, entries)
    assert report.covered == 1 and len(report.problems) == 2
    assert all("todo" in problem for problem in report.problems)


def test_draft_keeps_excuses_by_hash_when_the_text_moves() -> None:
    excused = [Entry(e.offset, e.digest, e.prefix, "not-a-fact" if e.status == TODO else e.status,
                     "heading") for e in draft(TEXT, SOURCE)]
    moved = "\n\n" + TEXT
    entries = draft(moved, SOURCE, excused)
    assert [entry.status for entry in entries] == ["not-a-fact", COVERED, "not-a-fact"]
    assert check(moved, SOURCE, entries).problems == []


def test_an_excused_sentence_a_claim_quotes_is_a_problem() -> None:
    entries = [Entry(e.offset, e.digest, e.prefix, "boilerplate") for e in draft(TEXT, SOURCE)]
    problems = check(TEXT, SOURCE, entries).problems
    assert len(problems) == 1 and "excused as boilerplate but quoted by ked:c1" in problems[0]


def test_a_missing_row_a_stale_row_and_a_lost_quote_are_problems() -> None:
    entries = draft(TEXT, SOURCE)
    stale = Entry(999, "0" * 16, "gone", "not-a-fact")
    nowhere = Quote("https://w3id.org/ketamine-ed/resource/c2", "Nowhere.")
    lost = SourceText(SOURCE.iri, SOURCE.name, SOURCE.file_name, (*SOURCE.quotes, nowhere))
    problems = check(TEXT, lost, [*entries[1:], stale]).problems
    assert any("not in the ledger" in p for p in problems)
    assert any("matches no sentence" in p for p in problems)
    assert any("ked:c2: quote not found" in p for p in problems)


def test_a_ledger_file_round_trips(tmp_path: Path) -> None:
    entries = draft(TEXT, SOURCE)
    path = tmp_path / "source-999.tsv"
    path.write_text(render_ledger(SOURCE, entries), encoding="utf-8")
    assert read_ledger(path) == entries


@pytest.mark.shared
def test_every_sentence_of_every_source_is_covered_or_excused(
        curated: Curated, sources: ProjectPaths, shared_dir: Path) -> None:
    reports = check_all(curated.data, shared_dir / "seeds", sources.ledger_dir)
    print("\n" + render_reports(reports))  # coverage per source, shown with pytest -rP
    checked = {report.source for report in reports if not report.text_missing}
    assert checked == {f"source-00{n}" for n in range(5)}
    problems = [f"{report.source}: {problem}" for report in reports for problem in report.problems]
    assert not problems, "\n".join(problems)
    for report in reports:
        assert report.covered + sum(report.excused.values()) == report.sentences
        assert set(report.excused) <= set(REASONS)


def test_every_excuse_says_why(sources: ProjectPaths) -> None:
    for path in sorted(sources.ledger_dir.glob("*.tsv")):
        for entry in read_ledger(path):
            if entry.status in REASONS:
                assert entry.note, f"{path.name} offset {entry.offset}: excused without a note"


@pytest.mark.shared
def test_ledger_cli_drafts_a_new_source_and_check_reports_it(
        sources: ProjectPaths, shared_dir: Path, tmp_path: Path) -> None:
    """A curator's loop: a source whose ledger is missing fails ``ledger check``; ``ledger
    draft`` writes it with todo rows; ``check`` then names the todo sentences."""
    copy = copy_checkout(sources, tmp_path / "copy", ("ontology", "graph"))
    root = copy.root
    (copy.ledger_dir / "source-004.tsv").unlink()
    runner = CliRunner()
    texts = str(shared_dir / "seeds")
    result = runner.invoke(cli, ["--root", str(root), "ledger", "check", "--texts", texts])
    assert result.exit_code != 0 and "no ledger" in result.output
    result = runner.invoke(cli, ["--root", str(root), "ledger", "draft", "source-004",
                                 "--texts", texts])
    assert result.exit_code == 0, result.output
    assert "todo" in result.output
    result = runner.invoke(cli, ["--root", str(root), "ledger", "check", "--texts", texts])
    assert result.exit_code != 0 and "todo; add a claim" in result.output
    assert "source-004" in result.output


def test_ledger_check_names_the_sources_it_could_not_check(
        sources: ProjectPaths, tmp_path: Path) -> None:
    """With a folder that lacks the texts, ``ledger check`` says which sources it skipped."""
    copy = copy_checkout(sources, tmp_path / "copy", ("ontology", "graph"))
    empty = tmp_path / "texts"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["--root", str(copy.root), "ledger", "check",
                                      "--texts", str(empty)])
    assert result.exit_code == 0, result.output
    assert result.output.count("not checked: no text") == 5
