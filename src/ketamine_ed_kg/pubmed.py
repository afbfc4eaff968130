"""Reading a PubMed record in the plain-text form of the seed ``000_6cffadb59d25b5a1.txt``.

Why this format and not MEDLINE or XML: it is what the curators already hold for seed 000 (the
record as PubMed shows it, copied as text), and quotes are taken from that text, so the file
``add-source`` reads is the same file ``validate --source-texts`` later checks quotes against.

The record is a title line followed by ``- Field: value`` lines, then the record's text (the
title again, ``Abstract``, ...). Seed 000 has ``PMID``, ``PMCID`` and ``DOI`` lines; a record
given to ``add-source`` also has the citation, in the same style::

    Ketamine for a made-up eating disorder : a case report
    - PMID: 99999901
    - PMCID: PMC9999901
    - DOI: 10.9999/made-up.2023.1
    - Authors: Doe J, Roe R
    - Journal: J Made Up Stud
    - Year: 2023
    - Volume: 11
    - Issue: 1
    - Pages: 42

or, instead of the Journal ... Pages lines, PubMed's own citation line
(``- Citation: J Made Up Stud. 2023 Mar 3;11(1):42.``). Required: the title, PMID, Authors,
Journal and Year; PMCID, DOI, Volume, Issue and Pages are read when present. A missing or
malformed field is a :class:`PubMedRecordError` that names it and the line to add
(CONTRIBUTING.md, "Adding a source", documents the format for curators).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError

FIELDS = ("PMID", "PMCID", "DOI", "Authors", "Journal", "Year", "Volume", "Issue", "Pages",
          "Citation")
"""The ``- Field: value`` lines the reader knows (any other dash line is record text)."""
REQUIRED = ("PMID", "Authors", "Journal", "Year")

_FIELD_RE = re.compile(r"^-\s*(" + "|".join(FIELDS) + r")\s*:\s*(.*?)\s*$", re.IGNORECASE)
_PATTERNS = {
    "PMID": (re.compile(r"[1-9][0-9]{0,8}"), "digits only, e.g. 38867336"),
    "PMCID": (re.compile(r"PMC[0-9]+"), "PMC followed by digits, e.g. PMC11167937"),
    "DOI": (re.compile(r"10\.[0-9]{4,9}/\S+"), "a bare DOI starting with 10., e.g. "
            "10.1186/s40337-024-01039-3"),
    "Year": (re.compile(r"(19[0-9]{2}|20[0-2][0-9]|2030)"), "a year between 1900 and 2030"),
    "Volume": (re.compile(r"[0-9A-Za-z]+"), "as printed, e.g. 13"),
    "Issue": (re.compile(r"[0-9A-Za-z-]+"), "as printed, e.g. 1"),
}
_CITATION_RE = re.compile(
    r"^(?P<journal>[^.]+(?:\.[^.;]+)*?)\.\s+(?P<year>\d{4})[^;]*;\s*(?P<volume>[0-9A-Za-z]+)"
    r"(?:\((?P<issue>[0-9A-Za-z-]+)\))?(?::(?P<pages>[^.\s]+))?\.?"
)
_SURNAME_RE = re.compile(r"^(?P<surname>.+?)\s+[A-Z]{1,4}$")


class PubMedRecordError(DataError):
    """A PubMed record lacks a required field, or a field is malformed."""


@dataclass(frozen=True)
class PubMedRecord:
    """The bibliographic fields of one record, as printed, and the lines they came from."""

    path: Path
    title: str
    pmid: str
    authors: tuple[str, ...]
    journal: str
    year: int
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    rights: str | None = None
    """A rights line of the record text as printed (``© 2024. The Author(s).``), if any."""
    lines: tuple[tuple[str, str], ...] = ()
    """``(field, line)`` for every field line, verbatim: the quotes of the source's claims."""

    @property
    def first_author(self) -> str:
        """The first author's family name (``Doe J`` -> ``Doe``)."""
        first = self.authors[0]
        match = _SURNAME_RE.match(first)
        return match.group("surname") if match else first


def _fail(path: Path, field: str, problem: str) -> PubMedRecordError:
    example = {"Authors": "- Authors: Doe J, Roe R", "Journal": "- Journal: J Eat Disord",
               "Year": "- Year: 2023", "PMID": "- PMID: 38867336"}.get(field, f"- {field}: ...")
    return PubMedRecordError(
        f"{path}: PubMed record {problem} field {field!r}; add a line such as `{example}` after "
        "the title line (CONTRIBUTING.md, 'Adding a source')"
    )


def parse_record(path: Path) -> PubMedRecord:
    """Read ``path``; raise :class:`PubMedRecordError` naming the first missing or bad field."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PubMedRecordError(f"{path}: cannot read the PubMed record: {exc}") from exc
    lines = text.splitlines()
    title = lines[0].strip() if lines else ""
    if not title or _FIELD_RE.match(title):
        raise PubMedRecordError(f"{path}: a PubMed record starts with its title line; the first "
                                "line is empty or a field line")
    values: dict[str, str] = {}
    quoted: list[tuple[str, str]] = []
    for line in lines[1:]:
        match = _FIELD_RE.match(line.strip())
        if match is None:
            if values:
                break  # the field block ends at the first other line (the record text)
            continue
        field = next(f for f in FIELDS if f.lower() == match.group(1).lower())
        if field in values:
            raise _fail(path, field, "repeats the")
        values[field] = match.group(2)
        quoted.append((field, line.strip()))
    if "Citation" in values:
        cited = _CITATION_RE.match(values["Citation"])
        if cited is None:
            raise _fail(path, "Citation", "cannot read the")
        for field in ("journal", "year", "volume", "issue", "pages"):
            if cited.group(field) and field.capitalize() not in values:
                values[field.capitalize()] = cited.group(field)
    for field in REQUIRED:
        if not values.get(field):
            raise _fail(path, field, "has no")
    for field, (pattern, wanted) in _PATTERNS.items():
        if field in values and not pattern.fullmatch(values[field]):
            raise PubMedRecordError(f"{path}: field {field!r} is {values[field]!r}; write it as "
                                    f"{wanted}")
    authors = tuple(a.strip() for a in values["Authors"].split(",") if a.strip())
    rights = next((line.strip() for line in lines if line.strip().startswith("©")), None)
    return PubMedRecord(
        path=path, title=title, pmid=values["PMID"], authors=authors,
        journal=values["Journal"], year=int(values["Year"]), volume=values.get("Volume"),
        issue=values.get("Issue"), pages=values.get("Pages") or None,
        pmcid=values.get("PMCID"), doi=values.get("DOI"), rights=rights, lines=tuple(quoted),
    )


__all__ = ["FIELDS", "REQUIRED", "PubMedRecord", "PubMedRecordError", "parse_record"]
