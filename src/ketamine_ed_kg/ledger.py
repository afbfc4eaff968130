"""The sentence ledger: every sentence of a source text backs a claim or is excused with a reason.

The curated graph holds claims with verbatim quotes; the ledger (``graph/ledger/<source>.tsv``,
one per source document) accounts for the *rest* of each text, so that a fact a source states
cannot be left out silently. It never stores the texts (they are not ours to copy): a sentence
is named by its character offset in the text, a SHA-256 of the sentence (white space folded)
and a short prefix a curator can search for.

Sentence segmentation is a small deterministic rule, not a trained model, because one source
is Norwegian (pysbd has no Norwegian rules and NLTK's Punkt needs a data download, which the
project cannot make). The rule, and its known limits (docs/ledger.md):

* every line is its own segment first (headings, list items and table rows are lines);
* inside a line a sentence ends at ``.``, ``!`` or ``?`` (with any closing quote or bracket and
  any footnote digits right after it, as in ``brain.3``) when white space and then an upper-case
  letter, a digit, an opening quote or a bracket follow;
* except after an abbreviation (:data:`ABBREVIATIONS`) or a single capital letter (an initial,
  as in ``C. L. Dahlgren``);
* a segment with no letter or digit (a lone ``-``) is not a sentence.

So a table row broken over two lines is two sentences, and a reference list entry may split at
an author's initials that are two letters long: both are still accounted for, just in pieces.

A sentence is *covered* when the span of some claim quote of its source (the first place the
quote occurs in the text, white space folded) overlaps it in at least three letters or digits
(or all of them, for a sentence such as "2021." that has fewer): a quote that only touches the
next sentence's first character does not cover it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef

from .errors import DataError
from .namespaces import KED, KEDO, RDF

SPLITTER = "ledger-rule-1"
"""The name of the segmentation rule; a ledger written by another rule is stale."""
COVERED = "covered"
TODO = "todo"
REASONS = ("boilerplate", "navigation", "out-of-scope", "not-a-fact", "duplicated")
"""Why a sentence backs no claim: page furniture; links and menus; outside the graph's subject;
no statement of fact (a heading, a question, a wish); the same words as an earlier sentence."""
STATUSES = (COVERED, *REASONS, TODO)
ABBREVIATIONS = frozenset({
    "al", "e.g", "i.e", "vs", "no", "nos", "dr", "mr", "mrs", "ms", "st", "ed", "eds", "vol",
    "fig", "ref", "refs", "approx", "ca", "nr", "f.eks", "bl.a", "dvs", "jf", "mv", "osv",
})
PREFIX_CHARS = 32
HEADER = ("offset", "sha256", "prefix", "status", "note")
MIN_OVERLAP = 3

_END = re.compile(r"[.!?][\"”»’)\]]*\d*(?=\s+[\"“«‘(\[]?[A-ZÆØÅÄÖÉ0-9])")
_TOKEN_BEFORE = re.compile(r"(\S+)$")
_LETTER_OR_DIGIT = re.compile(r"\w")
_ALNUM = re.compile(r"[^\W_]")


def fold(text: str) -> str:
    """Every run of white space as one space, trimmed: quotes are verbatim up to line breaks."""
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Sentence:
    """One sentence of a text: where it is (character offsets) and what it says."""

    start: int
    end: int
    text: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(fold(self.text).encode("utf-8")).hexdigest()[:16]

    @property
    def prefix(self) -> str:
        return fold(self.text)[:PREFIX_CHARS]


def _is_abbreviation(segment: str) -> bool:
    match = _TOKEN_BEFORE.search(segment)
    if match is None:
        return False
    token = match.group(1).lstrip("([\"“«")
    return token.lower() in ABBREVIATIONS or (len(token) == 1 and token.isupper())


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of ``text`` by the rule in the module docstring, in order."""
    sentences: list[Sentence] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        start = 0
        for match in _END.finditer(line):
            period = match.start()
            if line[period] == "." and _is_abbreviation(line[start:period]):
                continue
            _add(sentences, line, offset, start, match.end())
            start = match.end()
        _add(sentences, line, offset, start, len(line))
        offset += len(line)
    return sentences


def _add(sentences: list[Sentence], line: str, offset: int, start: int, end: int) -> None:
    piece = line[start:end]
    stripped = piece.strip()
    if not _LETTER_OR_DIGIT.search(stripped):
        return
    lead = len(piece) - len(piece.lstrip())
    begin = offset + start + lead
    sentences.append(Sentence(begin, begin + len(stripped), stripped))


def _folded_with_positions(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` and, for each of its characters, its offset in ``text``."""
    chars: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        if char.isspace():
            if chars and chars[-1] != " ":
                chars.append(" ")
                where.append(index)
            continue
        chars.append(char)
        where.append(index)
    if chars and chars[-1] == " ":
        chars.pop()
        where.pop()
    return "".join(chars), where


def locate(text: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` first occurs in ``text`` (white space folded), as offsets in ``text``."""
    return _locate_folded(_folded_with_positions(text), quote)


def _locate_folded(folded_text: tuple[str, list[int]], quote: str) -> tuple[int, int] | None:
    folded, where = folded_text
    needle = fold(quote)
    found = folded.find(needle) if needle else -1
    if found < 0:
        return None
    return where[found], where[found + len(needle) - 1] + 1


@dataclass(frozen=True)
class Quote:
    """One quote of one claim."""

    claim: str
    text: str


@dataclass(frozen=True)
class SourceText:
    """A source document of the graph, the file name of its text and its claims' quotes."""

    iri: str
    name: str
    file_name: str
    quotes: tuple[Quote, ...]


def sources_in(data: Graph) -> list[SourceText]:
    """Every source document of ``data`` with a ``kedo:fileName``, with its claims' quotes."""
    found: list[SourceText] = []
    for source in sorted(set(data.subjects(RDF.type, KEDO.SourceDocument)), key=str):
        file_name = data.value(source, KEDO.fileName)
        if not isinstance(source, URIRef) or file_name is None:
            continue
        quotes = sorted(
            (Quote(str(claim), str(quote))
             for claim in data.subjects(KEDO.source, source)
             for quote in data.objects(claim, KEDO.quote) if isinstance(quote, Literal)),
            key=lambda q: (q.claim, q.text))
        found.append(SourceText(str(source), str(source).removeprefix(str(KED)), str(file_name),
                                tuple(quotes)))
    return found


def coverage(text: str, sentences: list[Sentence], quotes: Iterable[Quote]
             ) -> tuple[dict[int, list[str]], list[Quote]]:
    """For each sentence index, the claims whose quotes cover it; and the quotes not found."""
    covered: dict[int, list[str]] = {}
    missing: list[Quote] = []
    folded = _folded_with_positions(text)
    for quote in quotes:
        span = _locate_folded(folded, quote.text)
        if span is None:
            missing.append(quote)
            continue
        for index, sentence in enumerate(sentences):
            low, high = max(span[0], sentence.start), min(span[1], sentence.end)
            needed = min(MIN_OVERLAP, len(_ALNUM.findall(sentence.text)))
            if high > low and len(_ALNUM.findall(text[low:high])) >= needed:
                claims = covered.setdefault(index, [])
                if quote.claim not in claims:
                    claims.append(quote.claim)
    return covered, missing


@dataclass(frozen=True)
class Entry:
    """One row of a ledger."""

    offset: int
    digest: str
    prefix: str
    status: str
    note: str = ""


def read_ledger(path: Path) -> list[Entry]:
    """The rows of a ledger file; :class:`DataError` naming the file and line if one is bad."""
    entries: list[Entry] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        cells = line.split("\t")
        if tuple(cells) == HEADER:
            continue
        if len(cells) != len(HEADER) or not cells[0].isdigit():
            raise DataError(f"{path}:{number}: expected {len(HEADER)} tab-separated cells "
                            f"({', '.join(HEADER)}), found {len(cells)}")
        if cells[3] not in STATUSES:
            raise DataError(f"{path}:{number}: status {cells[3]!r} is not one of "
                            f"{', '.join(STATUSES)}")
        entries.append(Entry(int(cells[0]), cells[1], cells[2], cells[3], cells[4]))
    return entries


def render_ledger(source: SourceText, entries: Iterable[Entry]) -> str:
    """A ledger file's text (see docs/ledger.md)."""
    lines = [
        f"# Sentence ledger of ked:{source.name} ({source.file_name}); splitter {SPLITTER}.",
        "# Each sentence backs a claim (covered) or is excused: " + ", ".join(REASONS) + ".",
        "# Regenerate with: ketamine-ed-kg ledger draft " + source.name,
        "\t".join(HEADER),
    ]
    for entry in entries:
        note = fold(entry.note).replace("\t", " ")
        lines.append(f"{entry.offset}\t{entry.digest}\t{entry.prefix}\t{entry.status}\t{note}")
    return "\n".join(lines) + "\n"


def draft(text: str, source: SourceText, existing: Iterable[Entry] = ()) -> list[Entry]:
    """A ledger for ``text``: covered sentences marked so, excuses kept from ``existing`` (by
    the sentence's hash, so they survive an edit elsewhere in the text), the rest ``todo``."""
    sentences = split_sentences(text)
    covered, _ = coverage(text, sentences, source.quotes)
    kept = {entry.digest: entry for entry in existing if entry.status in REASONS}
    entries: list[Entry] = []
    for index, sentence in enumerate(sentences):
        if index in covered:
            entries.append(Entry(sentence.start, sentence.digest, sentence.prefix, COVERED))
            continue
        old = kept.get(sentence.digest)
        entries.append(Entry(sentence.start, sentence.digest, sentence.prefix,
                             old.status if old else TODO, old.note if old else ""))
    return entries


@dataclass
class SourceReport:
    """How one source's ledger stands against its text and claims."""

    source: str
    sentences: int = 0
    text_missing: bool = False
    """True when the folder of texts has no file for this source: nothing could be checked."""
    covered: int = 0
    excused: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def check(text: str, source: SourceText, entries: list[Entry]) -> SourceReport:
    """Hold a ledger against its text and the source's claims: every sentence has one row, a
    ``covered`` row is quoted by a claim, an excused row by none, no row is ``todo``."""
    report = SourceReport(source.name)
    sentences = split_sentences(text)
    covered, missing = coverage(text, sentences, source.quotes)
    report.sentences = len(sentences)
    for quote in missing:
        report.problems.append(f"{_short(quote.claim)}: quote not found in {source.file_name}: "
                               f"{quote.text[:60]!r}")
    rows = {(entry.offset, entry.digest): entry for entry in entries}
    keys = set()
    for index, sentence in enumerate(sentences):
        key = (sentence.start, sentence.digest)
        keys.add(key)
        where = f"{source.file_name} offset {sentence.start} ({sentence.prefix!r})"
        entry = rows.get(key)
        claims = covered.get(index, [])
        if entry is None:
            report.problems.append(f"{where}: not in the ledger; run `ketamine-ed-kg ledger "
                                   f"draft {source.name}` and give it a status")
        elif entry.status == TODO:
            report.problems.append(f"{where}: todo; add a claim quoting it or excuse it "
                                   f"({', '.join(REASONS)})")
        elif entry.status == COVERED and not claims:
            report.problems.append(f"{where}: marked covered but no claim of ked:{source.name} "
                                   "quotes it")
        elif entry.status in REASONS and claims:
            report.problems.append(f"{where}: excused as {entry.status} but quoted by "
                                   + ", ".join(_short(claim) for claim in claims))
        if claims:
            report.covered += 1
        elif entry is not None and entry.status in REASONS:
            report.excused[entry.status] += 1
    for key, entry in rows.items():
        if key not in keys:
            report.problems.append(f"ledger row offset {entry.offset} ({entry.prefix!r}) matches "
                                   f"no sentence of {source.file_name}: the text or the splitter "
                                   "changed; run ledger draft again")
    return report


def _short(iri: str) -> str:
    return "ked:" + iri.removeprefix(str(KED)) if iri.startswith(str(KED)) else iri


def ledger_path(ledger_dir: Path, source: SourceText) -> Path:
    """``graph/ledger/<source>.tsv``."""
    return ledger_dir / f"{source.name}.tsv"


def check_all(data: Graph, texts: Path, ledger_dir: Path) -> list[SourceReport]:
    """Check the ledger of every source whose text is in ``texts``; a source with a text and
    no ledger file is a problem, a source without a text is reported as not checked."""
    reports: list[SourceReport] = []
    for source in sources_in(data):
        text_file = texts / source.file_name
        if not text_file.is_file():
            reports.append(SourceReport(source.name, text_missing=True))
            continue
        path = ledger_path(ledger_dir, source)
        text = text_file.read_text(encoding="utf-8")
        if not path.is_file():
            report = SourceReport(source.name, len(split_sentences(text)))
            report.problems.append(f"{path.name}: no ledger; run `ketamine-ed-kg ledger draft "
                                   f"{source.name}`")
            reports.append(report)
            continue
        reports.append(check(text, source, read_ledger(path)))
    return reports


def render_reports(reports: Iterable[SourceReport]) -> str:
    """The coverage table: per source, sentences, covered, excused by reason, problems."""
    lines = ["source       sentences  covered  " + "  ".join(REASONS) + "  problems"]
    for report in reports:
        if report.text_missing:
            lines.append(f"{report.source:<12} not checked: no text of it in the folder")
            continue
        counts = "  ".join(str(report.excused[reason]).rjust(len(reason)) for reason in REASONS)
        lines.append(f"{report.source:<12} {report.sentences:>9}  {report.covered:>7}  {counts}"
                     f"  {len(report.problems):>8}")
    return "\n".join(lines) + "\n"


def find_source(data: Graph, name: str) -> SourceText:
    """The source named ``source-NNN`` (or its full IRI); :class:`DataError` if there is none."""
    wanted = name.removeprefix("ked:").removeprefix(str(KED))
    for source in sources_in(data):
        if source.name == wanted:
            return source
    raise DataError(f"no kedo:SourceDocument ked:{wanted} with a kedo:fileName in graph/")

