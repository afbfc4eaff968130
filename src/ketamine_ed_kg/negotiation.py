"""Content negotiation: ``Accept`` with q-values and wildcards, or a ``format=`` parameter.

Clients differ: SPARQLWrapper and rdflib send one precise type (SPARQLWrapper also sends
``format=xml`` for a CONSTRUCT, rdflib ``Accept: text/csv`` for one), browsers send
``text/html,...,*/*;q=0.8``, curl sends ``*/*``, some editors send several types at once.
The rules, in order, as Fuseki applies them (docs/sparql-service.md has them as a table):

1. ``format=`` (or ``output=``), a short name or a media type, wins over ``Accept``. A short
   name means what it means in Jena for the query's form: ``json`` is SPARQL JSON for SELECT and
   ASK, JSON-LD for CONSTRUCT and DESCRIBE; ``xml`` SPARQL XML or RDF/XML.
2. Otherwise each offered type gets the q-value of the most specific matching range
   (RFC 9110 section 12.5.1); the highest non-zero q wins, ties go to the server's order.
3. A browser (it names ``text/html`` explicitly and prefers it to anything offered) gets
   something it can display: JSON as ``application/json``, RDF as Turtle in ``text/plain``.
4. Nothing offered matches (``Accept: text/csv`` on a CONSTRUCT, ``format=csv`` on an ASK): the
   form's default format, the first offered one the client did not refuse (the response says
   ``Vary: Accept``). A client reads the Content-Type, so it still gets an answer it can parse.
5. 406 only when nothing is sensible: ``format=`` names no format at all, or ``Accept`` gives
   every offered type q=0.
"""

from __future__ import annotations

from dataclasses import dataclass

from .formats import (
    BOOLEAN_FORMATS,
    RDF_FORMATS,
    RESULT_FORMATS,
    Format,
    Offer,
    by_name,
    is_known,
    offers,
)


@dataclass(frozen=True)
class Choice:
    """A negotiated representation: the format to write and the Content-Type to send."""

    format: Format
    media_type: str

    @property
    def content_type(self) -> str:
        """The Content-Type header: the negotiated media type, in UTF-8."""
        return self.media_type + "; charset=utf-8"


# Offers in server preference order (formats.py): canonical types first, then aliases.
RESULT_TYPES: tuple[Offer, ...] = offers(RESULT_FORMATS)
BOOLEAN_TYPES: tuple[Offer, ...] = offers(BOOLEAN_FORMATS)
GRAPH_TYPES: tuple[Offer, ...] = offers(RDF_FORMATS)
BROWSER_RESULTS = Choice(Format.JSON, "application/json")
BROWSER_GRAPH = Choice(Format.TURTLE, "text/plain")


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


def _match(media_type: str, ranges: list[tuple[str, str, float, int]]) -> float | None:
    """q-value of the most specific range matching ``media_type``; None when none matches."""
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
    return best[1] if best else None


def quality(media_type: str, ranges: list[tuple[str, str, float, int]]) -> float:
    """q-value the client gives ``media_type``: from the most specific matching range."""
    return _match(media_type, ranges) or 0.0


def negotiate(offered: tuple[Offer, ...], accept: str | None, fmt: str | None,
              browser_default: Choice) -> Choice:
    """Pick a representation from ``offered`` (server order) for this request."""
    media_types = [m for _, m in offered]
    if fmt:
        wanted = fmt.strip().lower()
        media = wanted.split(";")[0].strip()
        for offer_format, offer_media in offered:
            if offer_media == media:
                return Choice(offer_format, offer_media)
        named = by_name(wanted, tuple(f for f, _ in offered))
        if named is not None:
            return Choice(named, named.media_type)
        if is_known(wanted):  # a format of another form: this form's default
            return Choice(*offered[0])
        raise NotAcceptable(f"format={fmt} names no format this service knows",
                            media_types)
    ranges = parse_accept(accept)
    if not ranges:
        return Choice(*offered[0])
    matched = [(_match(media, ranges), -i) for i, (_, media) in enumerate(offered)]
    q, best = max((q or 0.0, i) for q, i in matched)
    html_q = quality("text/html", [r for r in ranges if (r[0], r[1]) == ("text", "html")])
    if html_q > q:
        return browser_default
    if q > 0:
        return Choice(*offered[-best])
    unrefused = [-i for q, i in matched if q is None]
    if unrefused:  # nothing matches, nothing refused: the form's default
        return Choice(*offered[unrefused[0]])
    raise NotAcceptable(f"Accept: {accept} refuses every type this response can have",
                        media_types)


def prefers_html(accept: str | None, fmt: str | None = None) -> bool:
    """Whether a client wants a web page rather than RDF: ``format=html``, or an Accept that
    names ``text/html`` with a higher q than any RDF type it accepts (a browser's header does;
    ``*/*`` alone, curl's default, does not)."""
    if fmt:
        return fmt.strip().lower() in ("html", "text/html")
    ranges = parse_accept(accept)
    html_q = quality("text/html", [r for r in ranges if (r[0], r[1]) == ("text", "html")])
    return html_q > 0 and html_q > max(quality(media, ranges) for _, media in GRAPH_TYPES)


__all__ = ["BOOLEAN_TYPES", "BROWSER_GRAPH", "BROWSER_RESULTS", "Choice", "GRAPH_TYPES",
           "NotAcceptable", "RESULT_TYPES", "negotiate", "parse_accept", "prefers_html",
           "quality"]
