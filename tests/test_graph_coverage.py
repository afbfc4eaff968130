"""Coverage guard: every number in the running text of every seed is in some claim's quote.

Numbers are the facts most easily lost in curation (a dose, a sample size, a year, a share), so
this test walks each seed's running text, finds every number in it, and asks that the very
occurrence lies inside a quote of a claim whose kedo:source is that seed. Checking the
occurrence, not just the digits, means that "1" quoted somewhere does not cover every other "1".

Not running text, and so not checked here:
* bibliographic reference lists (000 "Similar articles", "Cited by", "References"; 001
  "References"; 002 "Referanser"): their DOIs and PMIDs are checked by the bibliography tests;
* bracketed citation numbers such as [136] or [3,14], and 001's citation markers glued to the
  end of a word or sentence ("treat.1", "AN.4", "idealization,9"): they number references and
  state no fact.

Numbers that are deliberately not curated are in EXCLUDED, each with the text around it (so an
exclusion cannot silently cover another occurrence) and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import RDF

from ketamine_ed_kg.namespaces import KEDO
from support.graph import fold
from support.project import Curated

# A number: digits with optional decimal or thousands separators ("0.5", "24,9", "11,808"), or a
# ClinicalTrials.gov identifier. A digit right after a letter, a point or a comma is not the
# start of a number: it is part of an identifier ("PMC111", "s40337") or, in source 001, a
# citation marker ("treat.1").
NUMBER = re.compile(r"NCT\d{8}|(?<![\w.,])\d+(?:[.,]\d+)*")
BRACKETED_CITATION = re.compile(r"\[\d+(?:\s*[,–-]\s*\d+)*\]")

# Where each seed's running text ends: the first bibliographic list (folded text).
RUNNING_TEXT_ENDS = {
    "000": "Similar articles",
    "001": " References 1)",
    "002": " Referanser Berthold-Losleben",
}

# (seed, text around the number as printed, reason). The number is the one(s) inside the text.
EXCLUDED: list[tuple[str, str, str]] = [
    # 003 numbers its reasons and premises "(1)", "(2)", "(3)": list markers, not quantities.
    ("003", "originates from (1) its capacity", "list marker"),
    ("003", "and (2) the pressing need", "list marker"),
    ("003", "Given that ketamine (1) may normalize", "list marker"),
    ("003", "[155,156], (2) promotes synaptogenesis", "list marker"),
    ("003", "[159], and (3) has a short duration", "list marker"),
    # The number of the review's table, in its caption: a label, not a fact.
    ("003", "Table 1. Characteristics and outcomes", "table label"),
]


@dataclass(frozen=True)
class Occurrence:
    """One number in a seed's running text, with its offset in the folded text."""

    seed: str
    number: str
    start: int
    context: str


def running_text_end(seed: str, text: str) -> int:
    """Offset where the bibliographic lists begin (the whole text if the seed has none)."""
    marker = RUNNING_TEXT_ENDS.get(seed)
    if marker is None:
        return len(text)
    end = text.find(marker)
    assert end > 0, f"seed {seed}: its reference list marker {marker!r} is gone"
    return end


def numbers_in_running_text(seed: str, text: str) -> list[Occurrence]:
    """Every number of the running text, minus bracketed citation numbers."""
    end = running_text_end(seed, text)
    citations = [m.span() for m in BRACKETED_CITATION.finditer(text, 0, end)]
    found = []
    for match in NUMBER.finditer(text, 0, end):
        if any(a <= match.start() < b for a, b in citations):
            continue
        context = text[max(0, match.start() - 60): match.end() + 40]
        found.append(Occurrence(seed, match.group(), match.start(), context))
    return found


def spans(text: str, needle: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(re.escape(needle), text)]


@pytest.fixture(scope="module")
def data(curated: Curated) -> Graph:
    return curated.data


@pytest.fixture(scope="module")
def seeds(shared_dir: Path) -> dict[str, str]:
    return {p.name[:3]: fold(p.read_text(encoding="utf-8"))
            for p in sorted((shared_dir / "seeds").glob("*.txt"))}


@pytest.fixture(scope="module")
def quotes_by_seed(data: Graph) -> dict[str, list[str]]:
    """The folded quotes of the claims of each seed, keyed by the seed's three-digit prefix."""
    by_seed: dict[str, list[str]] = {}
    for claim in data.subjects(RDF.type, KEDO.Claim):
        source = data.value(claim, KEDO.source)
        file_name = data.value(source, KEDO.fileName) if source is not None else None
        if not isinstance(file_name, Literal):
            continue
        by_seed.setdefault(str(file_name)[:3], []).extend(
            fold(str(q)) for q in data.objects(claim, KEDO.quote))
    return by_seed


def test_the_extractor_skips_citations_and_identifiers() -> None:
    text = ("1.6% for AN [16], 24,9 millioner, USD 11,808 [3,14] treat.1 PMC11167937 "
            "idealization,9 (N = 1693) NCT04714541")
    found = [o.number for o in numbers_in_running_text("003", text)]
    assert found == ["1.6", "24,9", "11,808", "1693", "NCT04714541"]


def test_every_seed_has_numbers_in_its_running_text(seeds: dict[str, str]) -> None:
    """Guards the extractor itself: figures printed in each seed's text are found."""
    expected = {
        "000": ["33", "13", "16.9"],            # age, BMI, lowest BMI in the literature
        "001": ["2022", "1960"],                # posting year, "the 1960s"
        "002": ["24,9", "19,1", "17,2", "90"],  # NOK millions, BMI before/after, "90 000"
        "003": ["64.7", "11,808", "1693", "0.75", "NCT04714541"],
        "004": ["2014", "2019"],                # Fond G et al. (2014), Durdle et al. (2019)
    }
    assert sorted(seeds) == sorted(expected)
    for seed, numbers in expected.items():
        found = {o.number for o in numbers_in_running_text(seed, seeds[seed])}
        assert set(numbers) <= found, f"seed {seed}: {set(numbers) - found} not extracted"


def test_exclusions_are_found_and_hold_a_number(seeds: dict[str, str]) -> None:
    for seed, context, reason in EXCLUDED:
        assert reason
        assert len(spans(seeds[seed], context)) == 1, f"{seed}: {context!r} not found once"
        assert NUMBER.search(context), f"{seed}: {context!r} holds no number"


def test_every_number_in_the_running_text_is_quoted_by_a_claim_of_its_seed(
    seeds: dict[str, str], quotes_by_seed: dict[str, list[str]]
) -> None:
    problems = []
    counts = []
    for seed, text in sorted(seeds.items()):
        covered = [False] * len(text)
        for quote in quotes_by_seed.get(seed, []):
            for a, b in spans(text, quote):
                covered[a:b] = [True] * (b - a)
        excluded = [span for s, context, _ in EXCLUDED if s == seed
                    for span in spans(text, context)]
        occurrences = numbers_in_running_text(seed, text)
        skipped = 0
        for occurrence in occurrences:
            if any(a <= occurrence.start < b for a, b in excluded):
                skipped += 1
            elif not covered[occurrence.start]:
                problems.append(f"seed {seed}: {occurrence.number!r} in "
                                f"...{occurrence.context}...")
        counts.append(f"{seed}: {len(occurrences)} numbers, {skipped} excluded")
    assert not problems, (
        f"{len(problems)} numbers are in no claim quote of their seed "
        f"({'; '.join(counts)}):\n" + "\n".join(problems))
