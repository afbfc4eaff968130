"""Every quote checked against a plain-text copy of its source (``validate --source-texts``).

Why in ``validate`` and not only in a test: a curator who types a quote from memory, or fixes a
typo the source has, must hear it before anything else runs, with the passage the quote was
meant to be, so the fix is a copy and paste. The texts are not part of the project (their
licences differ, and nothing at run time may need them): the curator names folders holding
them, and every source whose text is not found is listed as not checked. A registry record
(``kedo:RegistryRecord``: a catalogue entry quoted only for the identifiers and title it shows)
has no text copy to give, so it is listed apart, still as not checked, and its absence is no
reason to suspect a missing folder.

Where the text of ``ked:source-<id>`` is, in each folder given, first match wins:

1. ``<kedo:fileName>`` of the source, when it has one (seed 000: ``000_6cffadb59d25b5a1.txt``);
2. ``<id>.txt`` (``pmid-40495248.txt`` for ``ked:source-pmid-40495248``);
3. ``<id>_<anything>.txt`` (``000_6cffadb59d25b5a1.txt`` for ``ked:source-000``).

A quote is found when it is a substring of the text after every run of white space in both is
folded to one space (docs/data-model.md: quotes are verbatim up to line breaks).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from ..iris import compact
from ..namespaces import KED, KEDO, SH, SHAPES_NS
from .results import ShaclResult

CHECK_IRI = URIRef(f"{SHAPES_NS}qc-quote-in-source-text")
"""The ``sh:sourceShape`` of a quote-not-found result."""
_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Every run of white space folded to one space, ends stripped."""
    return _SPACE.sub(" ", text).strip()


@dataclass
class QuoteCheck:
    """The outcome of checking quotes against source texts."""

    results: list[ShaclResult] = field(default_factory=list)
    """One Violation per quote not found (focus: the claim, path: ``kedo:quote``)."""
    checked: dict[str, Path] = field(default_factory=dict)
    """Source IRI -> the text file its quotes were checked against."""
    unchecked: dict[str, str] = field(default_factory=dict)
    """Source IRI -> why its quotes were not checked (a document whose text was not found)."""
    records: dict[str, str] = field(default_factory=dict)
    """Registry record IRI -> why its quotes were not checked (it has no text copy)."""
    quotes: int = 0
    """How many quotes were checked."""


def text_file(source: URIRef, file_name: str | None, folders: Sequence[Path]) -> Path | None:
    """The plain-text copy of ``source`` in ``folders`` (the mapping in the module docstring)."""
    ident = str(source)[len(str(KED)):].removeprefix("source-")
    for folder in folders:
        candidates = [folder / file_name] if file_name else []
        candidates += [folder / f"{ident}.txt", *sorted(folder.glob(f"{ident}_*.txt"))]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
    return None


def closest_passage(text: str, quote: str) -> tuple[str, float]:
    """The passage of ``text`` (folded) most like ``quote``, and how alike they are (0-1).

    Windows of the quote's length start at every word; ``quick_ratio`` (linear) ranks them and
    the best few are scored with difflib's ``ratio``.
    """
    size = len(quote)
    starts = [0, *(m.end() for m in re.finditer(" ", text))]
    windows = [text[s:s + size] for s in starts if s < len(text)]
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(quote)
    ranked = []
    for window in windows:
        matcher.set_seq1(window)
        ranked.append((matcher.quick_ratio(), window))
    ranked.sort(key=lambda item: item[0], reverse=True)
    best, best_ratio = "", 0.0
    for _, window in ranked[:40]:
        matcher.set_seq1(window)
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best, best_ratio = window, ratio
    return best, best_ratio


def _line_of(original: str, passage: str) -> int | None:
    """The line of ``original`` where the (folded) ``passage`` starts."""
    words = passage.split()[:6]
    if not words:
        return None
    match = re.search(r"\s+".join(re.escape(w) for w in words), original)
    return original.count("\n", 0, match.start()) + 1 if match else None


def check_quotes(data: Graph, folders: Sequence[Path]) -> QuoteCheck:
    """Check every ``kedo:quote`` of every claim against its source's text in ``folders``."""
    outcome = QuoteCheck()
    texts: dict[URIRef, tuple[Path, str, str] | None] = {}
    for source in sorted(s for s in set(data.subjects(RDF.type, KEDO.SourceDocument))
                         if isinstance(s, URIRef)):
        name = data.value(source, KEDO.fileName)
        path = text_file(source, str(name) if name is not None else None, folders)
        if path is None:
            texts[source] = None
            if (source, KEDO.documentKind, KEDO.RegistryRecord) in data:
                outcome.records[str(source)] = "a registry record: no text copy"
                continue
            where = ", ".join(str(f) for f in folders) or "no folder given (--source-texts DIR)"
            outcome.unchecked[str(source)] = f"no text file found in {where}"
            continue
        original = path.read_text(encoding="utf-8")
        texts[source] = (path, original, fold(original))
        outcome.checked[str(source)] = path
    for claim, quote in sorted(data.subject_objects(KEDO.quote)):
        named = data.value(claim, KEDO.source)
        entry = texts.get(named) if isinstance(named, URIRef) else None
        if entry is None or not isinstance(quote, Literal):
            continue
        outcome.quotes += 1
        path, original, folded = entry
        wanted = fold(str(quote))
        if wanted in folded:
            continue
        passage, ratio = closest_passage(folded, wanted)
        line = _line_of(original, passage)
        where = f"{path.name}:{line}" if line else path.name
        outcome.results.append(ShaclResult(
            focus=claim,
            path=KEDO.quote,
            value=quote,
            message=(f"kedo:quote is not in the text of {compact(str(named))} ({path}). "
                     f"Closest passage ({where}, {ratio:.0%} alike): \"{passage}\". Copy the "
                     "quote exactly as the source prints it, typos included."),
            severity="Violation",
            source_shape=CHECK_IRI,
            component=SH.SPARQLConstraintComponent,
        ))
    return outcome


__all__ = ["CHECK_IRI", "QuoteCheck", "check_quotes", "closest_passage", "fold", "text_file"]
