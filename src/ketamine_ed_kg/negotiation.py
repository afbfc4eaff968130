"""Content negotiation: ``Accept`` with q-values and wildcards, or a ``format=`` parameter.

Clients differ: SPARQLWrapper and rdflib send one precise type, browsers send
``text/html,...,*/*;q=0.8``, curl sends ``*/*``, some editors send several types at once
(rdflib-endpoint mishandled combined headers). The rules, in order:

1. ``format=`` (or ``output=``), a short name or a media type, wins over ``Accept``
   (Fuseki and the Wikidata Query Service do the same).
2. Otherwise each offered type gets the q-value of the most specific matching range
   (RFC 9110 section 12.5.1); the highest non-zero q wins, ties go to the server's order.
3. A browser (it names ``text/html`` explicitly and prefers it to anything offered) gets
   something it can display: JSON as ``application/json``, RDF as Turtle in ``text/plain``.
4. No acceptable type: 406.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    """A negotiated representation: the serialiser's name and the Content-Type to send."""

    name: str
    media_type: str


# Server preference order first; aliases after the canonical types.
RESULT_TYPES: list[tuple[str, str]] = [
    ("json", "application/sparql-results+json"),
    ("xml", "application/sparql-results+xml"),
    ("csv", "text/csv"),
    ("tsv", "text/tab-separated-values"),
    ("json", "application/json"),
    ("xml", "application/xml"),
    ("xml", "text/xml"),
]
BOOLEAN_TYPES: list[tuple[str, str]] = [t for t in RESULT_TYPES if t[0] in ("json", "xml")]
GRAPH_TYPES: list[tuple[str, str]] = [
    ("turtle", "text/turtle"),
    ("ntriples", "application/n-triples"),
    ("jsonld", "application/ld+json"),
    ("rdfxml", "application/rdf+xml"),
    ("trig", "application/trig"),
    ("nquads", "application/n-quads"),
    ("n3", "text/n3"),
    ("turtle", "application/x-turtle"),
    ("ntriples", "text/plain"),
    ("jsonld", "application/json"),
    ("rdfxml", "application/xml"),
]
FORMAT_NAMES: dict[str, str] = {
    "json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv", "tsv": "tsv",
    "ttl": "turtle", "turtle": "turtle", "nt": "ntriples", "ntriples": "ntriples",
    "n-triples": "ntriples", "jsonld": "jsonld", "json-ld": "jsonld", "rdf": "rdfxml",
    "rdfxml": "rdfxml", "rdf+xml": "rdfxml", "owl": "rdfxml", "trig": "trig", "nq": "nquads",
    "nquads": "nquads", "n-quads": "nquads", "n3": "n3",
}
BROWSER_RESULTS = Choice("json", "application/json")
BROWSER_GRAPH = Choice("turtle", "text/plain")


class NotAcceptable(Exception):
    """No offered representation is acceptable (HTTP 406)."""

    def __init__(self, message: str, offered: list[str]) -> None:
        super().__init__(message)
        self.offered = offered


def parse_accept(header: str | None) -> list[tuple[str, str, float, int]]:
    """Ranges of an Accept header as (type, subtype, q, order); malformed parts are skipped."""
    ranges: list[tuple[str, str, float, int]] = []
    if not header:
        return ranges
    for order, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if "/" not in media:
            continue
        main, _, sub = media.partition("/")
        q = 1.0
        for param in pieces[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append((main.strip(), sub.strip(), q, order))
    return ranges


def quality(media_type: str, ranges: list[tuple[str, str, float, int]]) -> float:
    """q-value the client gives ``media_type``: from the most specific matching range."""
    main, _, sub = media_type.partition("/")
    best: tuple[int, float] | None = None
    for r_main, r_sub, q, _ in ranges:
        if r_main == main and r_sub == sub:
            rank = 3
        elif r_main == main and r_sub == "*":
            rank = 2
        elif r_main == "*" and r_sub == "*":
            rank = 1
        else:
            continue
        if best is None or rank > best[0]:
            best = (rank, q)
    return best[1] if best else 0.0


def negotiate(offered: list[tuple[str, str]], accept: str | None, fmt: str | None,
              browser_default: Choice) -> Choice:
    """Pick a representation from ``offered`` (server order) for this request."""
    media_types = [m for _, m in offered]
    if fmt:
        wanted = fmt.strip().lower()
        name = FORMAT_NAMES.get(wanted)
        for offer_name, media in offered:
            if media == wanted.split(";")[0].strip() or (name is not None and offer_name == name):
                return Choice(offer_name, media)
        raise NotAcceptable(f"format={fmt} is not available for this response", media_types)
    ranges = parse_accept(accept)
    if not ranges:
        return Choice(*offered[0])
    scored = [(quality(media, ranges), -i, name, media) for i, (name, media) in enumerate(offered)]
    q, _, name, media = max(scored)
    html_q = quality("text/html", [r for r in ranges if (r[0], r[1]) == ("text", "html")])
    if html_q > q:
        return browser_default
    if q <= 0:
        raise NotAcceptable(f"none of the types in Accept: {accept} can be produced here",
                            media_types)
    return Choice(name, media)


__all__ = ["BOOLEAN_TYPES", "BROWSER_GRAPH", "BROWSER_RESULTS", "Choice", "GRAPH_TYPES",
           "NotAcceptable", "RESULT_TYPES", "negotiate", "parse_accept", "quality"]
