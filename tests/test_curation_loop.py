"""The curator's loop of CONTRIBUTING.md, run end to end on a made-up study (issue #12).

A made-up PubMed record goes in with ``add-source``, a made-up study with ``new-study`` (its
TODOs filled from the record's text), then ``validate --source-texts``, ``reason``,
``queries --update``, and finally the checks the suite runs (the example-query and provenance
tests, in a nested pytest on the copy): all must be green, in a temporary copy of the checkout.
An invented quote must be caught by ``validate`` with the passage it was meant to be.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ketamine_ed_kg.paths import ProjectPaths
from support.project import BUILD_SOURCES, VALIDATION_SOURCES, copy_checkout, run_cli

SENTENCES = (
    "We report a made-up case of severe and enduring anorexia nervosa treated with ketamine.",
    "She was followed up for 6 months after the last infusion.",
    "A 30-year-old woman had anorexia nervosa (F50.0) for 10 years and comorbid major "
    "depressive disorder for 5 years.",
    "She received six intravenous ketamine infusions over 40 minutes every 3 to 4 days for 3 "
    "weeks, titrated from 0.5 mg/kg to 0.8 mg/kg.",
    "Her MADRS score showed a response after the last infusion.",
)
RECORD = "\n".join([
    "Ketamine for a made-up case of severe and enduring anorexia nervosa : a case report",
    "- PMID: 99999901",
    "- PMCID: PMC9999901",
    "- DOI: 10.9999/made-up.2023.1",
    "- Authors: Doe J, Roe R",
    "- Journal: J Made Up Stud",
    "- Year: 2023",
    "- Volume: 11",
    "- Issue: 1",
    "- Pages: 42",
    "Ketamine for a made-up case of severe and enduring anorexia nervosa : a case report",
    "Abstract",
    "Background: This record is invented for the project's tests. " + " ".join(SENTENCES),
    "© 2023. The Author(s).",
    "",
])


def fill_in(text: str) -> str:
    """What a curator does with the new file: every TODO from the (made-up) source."""
    quotes = iter(SENTENCES * 2)
    text = re.sub(r'"TODO: verbatim quote[^"]*"', lambda _: f'"{next(quotes)}"', text)
    parts = itertools.count(1)  # labels say whose they are: no two nodes share one
    text = re.sub(r'"TODO[^"]*"', lambda _: f'"Doe et al. 2023 (made-up), part {next(parts)}"',
                  text)
    return re.sub(r"\s*# TODO.*$", "", text, flags=re.MULTILINE)


@pytest.fixture()
def checkout(sources: ProjectPaths, tmp_path: Path) -> ProjectPaths:
    return copy_checkout(sources, tmp_path / "checkout", (*BUILD_SOURCES, "shapes", "docs"))


@pytest.fixture()
def texts(tmp_path: Path) -> Path:
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "doe-2023-record.txt").write_text(RECORD, encoding="utf-8")
    return folder


@pytest.mark.slow
@pytest.mark.rebuild
def test_a_made_up_study_goes_in_and_everything_is_green(
    checkout: ProjectPaths, texts: Path, shared_dir: Path, java: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = checkout.root
    assert run_cli(root, "add-source", str(texts / "doe-2023-record.txt")) == 0
    printed = capsys.readouterr().out
    written = checkout.sources_graph_dir / "pmid-99999901.ttl"
    assert printed == written.read_text(encoding="utf-8")
    assert "ked:pub-doe-2023 a kedo:Publication" in printed
    for value in ('kedo:volume "11"', 'kedo:issue "1"', 'kedo:pages "42"',
                  'kedo:pmcid "PMC9999901"', 'kedo:journal "J Made Up Stud"'):
        assert value in printed

    assert run_cli(root, "new-study", "--source", "ked:source-pmid-99999901") == 0
    study = checkout.studies_dir / "doe-2023.ttl"
    started = study.read_text(encoding="utf-8")
    assert "example-2099" not in started and "ked:source-003" not in started
    assert "kedo:reportedIn ked:pub-doe-2023" in started
    study.write_text(fill_in(started), encoding="utf-8")
    capsys.readouterr()

    seeds = shared_dir / "seeds"
    assert run_cli(root, "validate", "--source-texts", str(texts),
                   "--source-texts", str(seeds)) == 0
    out = capsys.readouterr().out
    assert "0 violation(s)" in out
    assert "quotes NOT checked" not in out, out
    assert "checked against the texts of 6 source(s)" in out

    assert run_cli(root, "reason") == 0
    assert "consistent: yes" in capsys.readouterr().out

    assert run_cli(root, "queries", "--update") == 0
    out = capsys.readouterr().out
    assert "ked:doe-2023" in out, "the new study changes no expected answer?"
    assert re.search(r"^\+\+\+ b/queries/\d{3}_\w+\.csv$", out, re.MULTILINE)
    matched = re.search(r"(\d+)/(\d+) queries match", out)
    assert matched and matched.group(1) == matched.group(2), out

    # The checks the suite runs, on the copy: the example queries and the provenance rules
    # (with the seeds beside the copy, as ../shared is beside the checkout).
    (root.parent / "shared").symlink_to(shared_dir, target_is_directory=True)
    suite = Path(__file__).resolve().parent
    env = {**os.environ, "KETAMINE_ED_KG_ROOT": str(root)}
    nested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "nested"), "--rootdir", str(suite.parent),
         str(suite / "test_queries.py"), str(suite / "test_graph_provenance.py"),
         "-k", "not over_http"],
        cwd=suite.parent, env=env, capture_output=True, text=True, check=False)
    assert nested.returncode == 0, nested.stdout[-4000:] + nested.stderr[-2000:]
    assert " skipped" not in nested.stdout.splitlines()[-1], nested.stdout[-2000:]


def test_an_invented_quote_is_caught_with_the_closest_passage(
    sources: ProjectPaths, shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = copy_checkout(sources, tmp_path / "checkout", (*VALIDATION_SOURCES, "graph"))
    study = checkout.studies_dir / "timek-2024.ttl"
    text = study.read_text(encoding="utf-8")
    real = "received it intravenously for seven sessions"
    assert real in text
    study.write_text(text.replace(real, "received it intravenously for eight sessions", 1),
                     encoding="utf-8")
    line = next(n for n, row in enumerate(study.read_text(encoding="utf-8").splitlines(), 1)
                if "for eight sessions" in row)
    assert run_cli(checkout.root, "validate", "--source-texts", str(shared_dir / "seeds")) == 1
    out = capsys.readouterr().out
    block = out[out.index("graph/studies/timek-2024.ttl"):]
    assert "kedo:quote is not in the text of ked:source-000" in block
    assert "Closest passage (000_6cffadb59d25b5a1.txt:" in block
    assert real in block.split("Closest passage", 1)[1]
    claim = re.search(r"^  (ked:timek-2024-claim-\S+)  \(graph/studies/timek-2024.ttl:(\d+)\)\n"
                      r"(?:    .*\n)*?.*kedo:quote is not in", block, re.MULTILINE)
    assert claim is not None, block[:2000]
    assert int(claim.group(2)) < line  # the claim's own line, where its description starts


def test_without_texts_validate_names_the_sources_it_could_not_check(
    sources: ProjectPaths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = copy_checkout(sources, tmp_path / "checkout", (*VALIDATION_SOURCES, "graph"))
    run_cli(checkout.root, "validate")
    out = capsys.readouterr().out
    assert ("quotes NOT checked against a source text (give --source-texts DIR, e.g. "
            "../shared/seeds) for 5 source(s): ked:source-000, ked:source-001") in out


def test_registry_records_are_listed_as_not_checked_apart_from_the_documents(
    sources: ProjectPaths, shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A registry record (kedo:RegistryRecord) has no text copy: with every document's text
    given, validate passes and lists the records as not checked, on a line of their own."""
    checkout = copy_checkout(sources, tmp_path / "checkout", (*VALIDATION_SOURCES, "graph"))
    assert run_cli(checkout.root, "validate", "--source-texts", str(shared_dir / "seeds")) == 0
    out = capsys.readouterr().out
    assert "quotes NOT checked" not in out
    line = next(row for row in out.splitlines() if "registry record(s) not checked" in row)
    assert "ked:source-fatcat-l7dg66n2azgefaqu7ctcyuxv3a" in line
    assert "ked:source-pmc8625822" in line and "ked:source-000" not in line
