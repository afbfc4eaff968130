"""The one table of serialisation formats: every other module draws on :class:`Format`.

Negotiation (which media types and ``format=`` names a response offers, in what order), the
query processes (which pyoxigraph serialiser to call, how to count rows for the row cap), the
service description (``sd:resultFormat`` IRIs), the dumps (file extensions, per-graph or union),
the examples API and the builders (rdflib's names) all read this table, so adding a format is
one member here plus a test.

Media types, file extensions and format IRIs come from pyoxigraph's own
:class:`pyoxigraph.RdfFormat` and :class:`pyoxigraph.QueryResultsFormat` (``Spec`` only adds
what pyoxigraph does not know: aliases, short names, rdflib's name, row markers). Members are
an :class:`~enum.Enum`, so a job names its format by value across the process boundary
(pickled by name: pyoxigraph's format objects themselves do not pickle).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import pyoxigraph as ox

W3C_FORMATS = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class Spec:
    """What this project adds to a pyoxigraph format."""

    engine: ox.RdfFormat | ox.QueryResultsFormat
    names: tuple[str, ...] = ()
    """Short names a client may give as ``format=`` / ``output=`` (besides media types). Unique
    among the results formats and among the RDF formats; a name may mean one of each, as in
    Jena and Fuseki: ``json`` is SPARQL JSON for SELECT/ASK and JSON-LD for CONSTRUCT/DESCRIBE,
    ``xml`` SPARQL XML or RDF/XML, ``text`` (a text table in Jena, which has no equivalent here)
    Turtle."""
    aliases: tuple[str, ...] = ()
    """Further media types offered for this format, after every format's canonical type."""
    extensions: tuple[str, ...] = ()
    """File extensions besides pyoxigraph's own (dumps, source files)."""
    rdflib: str = ""
    """rdflib's serialiser/parser name, for graphs built with rdflib ('' : none)."""
    per_graph: bool = False
    """A dump in this format keeps the named graphs apart (else: their union as triples)."""
    boolean: bool = False
    """The format can carry an ASK result."""
    row_marker: tuple[bytes, int] = (b"", 0)
    """Bytes that start or end each solution in a serialised result, and the correction that
    turns their count into an upper bound on the solutions (the row cap's counter): exact for
    XML and TSV, possibly high for JSON (",{" may occur in a literal) and CSV (a quoted literal
    may hold CR LF)."""
    iri: str = ""
    """The format's IRI in http://www.w3.org/ns/formats/ when pyoxigraph gives another one."""


class Format(Enum):
    """Every format the service reads or writes, in the server's order of preference."""

    # SPARQL query results (SELECT, ASK)
    JSON = Spec(ox.QueryResultsFormat.JSON, names=("json", "srj"),
                aliases=("application/json",), boolean=True, row_marker=(b",{", 1))
    XML = Spec(ox.QueryResultsFormat.XML, names=("xml", "srx"),
               aliases=("application/xml", "text/xml"), boolean=True,
               row_marker=(b"<result>", 0))
    CSV = Spec(ox.QueryResultsFormat.CSV, names=("csv",), row_marker=(b"\r\n", -1))
    TSV = Spec(ox.QueryResultsFormat.TSV, names=("tsv",), row_marker=(b"\n", -1))
    # RDF graphs (CONSTRUCT, DESCRIBE, the service description, VoID, dumps)
    TURTLE = Spec(ox.RdfFormat.TURTLE, names=("ttl", "turtle", "text"),
                  aliases=("application/x-turtle",), rdflib="turtle")
    NTRIPLES = Spec(ox.RdfFormat.N_TRIPLES, names=("nt", "ntriples", "n-triples"),
                    aliases=("text/plain",), rdflib="nt")
    JSONLD = Spec(ox.RdfFormat.JSON_LD, names=("jsonld", "json-ld", "json"),
                  aliases=("application/json",), rdflib="json-ld",
                  iri=W3C_FORMATS + "JSON-LD")
    RDFXML = Spec(ox.RdfFormat.RDF_XML, names=("rdf", "rdfxml", "rdf+xml", "owl", "xml"),
                  aliases=("application/xml",), extensions=("owl",), rdflib="xml")
    TRIG = Spec(ox.RdfFormat.TRIG, names=("trig",), aliases=("application/x-trig",),
                rdflib="trig", per_graph=True)
    NQUADS = Spec(ox.RdfFormat.N_QUADS, names=("nq", "nquads", "n-quads"),
                  aliases=("text/x-nquads",), rdflib="nt", per_graph=True)
    """rdflib writes N-Quads only from a context-aware store; the graphs it builds here are
    single graphs, whose N-Triples lines are exactly their N-Quads (in the default graph)."""
    N3 = Spec(ox.RdfFormat.N3, names=("n3",), rdflib="n3")

    def __repr__(self) -> str:  # short and stable: ETags are derived from it
        return f"Format.{self.name}"

    def __reduce_ex__(self, protocol: object) -> tuple[object, tuple[object, ...]]:
        # Pickled by name (an Enum pickles its value by default: pyoxigraph's formats do not
        # pickle), so a Job can name its format across the process boundary.
        return getattr, (self.__class__, self.name)

    @property
    def spec(self) -> Spec:
        value: Spec = self.value
        return value

    @property
    def is_results(self) -> bool:
        """A SPARQL results format (else an RDF format)."""
        return isinstance(self.spec.engine, ox.QueryResultsFormat)

    @property
    def media_type(self) -> str:
        """The canonical media type, without parameters."""
        return self.spec.engine.media_type.split(";")[0].strip()

    @property
    def content_type(self) -> str:
        """The Content-Type header for a body in this format (every body is UTF-8)."""
        return self.media_type + "; charset=utf-8"

    @property
    def media_types(self) -> tuple[str, ...]:
        """Every media type offered for this format, canonical first."""
        return (self.media_type, *self.spec.aliases)

    @property
    def iri(self) -> str:
        """The format's IRI (``sd:resultFormat``)."""
        return self.spec.iri or self.spec.engine.iri

    @property
    def extensions(self) -> tuple[str, ...]:
        """File extensions, pyoxigraph's first."""
        return (self.spec.engine.file_extension, *self.spec.extensions)

    @property
    def rdf(self) -> ox.RdfFormat:
        """pyoxigraph's RDF serialiser (ValueError for a results format)."""
        engine = self.spec.engine
        if not isinstance(engine, ox.RdfFormat):
            raise ValueError(f"{self.name} is not an RDF format")
        return engine

    @property
    def results(self) -> ox.QueryResultsFormat:
        """pyoxigraph's results serialiser (ValueError for an RDF format)."""
        engine = self.spec.engine
        if not isinstance(engine, ox.QueryResultsFormat):
            raise ValueError(f"{self.name} is not a SPARQL results format")
        return engine


RESULT_FORMATS: tuple[Format, ...] = tuple(f for f in Format if f.is_results)
BOOLEAN_FORMATS: tuple[Format, ...] = tuple(f for f in RESULT_FORMATS if f.spec.boolean)
RDF_FORMATS: tuple[Format, ...] = tuple(f for f in Format if not f.is_results)

Offer = tuple[Format, str]
"""A format and one of its media types, as offered to content negotiation."""


def offers(formats: tuple[Format, ...]) -> tuple[Offer, ...]:
    """``formats`` as negotiation offers, in the server's order: every canonical media type
    first (so ``*/*`` and ties pick those), then the aliases."""
    canonical = [(f, f.media_type) for f in formats]
    aliases = [(f, alias) for f in formats for alias in f.spec.aliases]
    return (*canonical, *aliases)


def by_name(name: str, among: tuple[Format, ...]) -> Format | None:
    """The format among ``among`` that a ``format=`` short name (``ttl``, ``srj``, ...) stands
    for, if any."""
    wanted = name.strip().lower()
    return next((f for f in among if wanted in f.spec.names), None)


def is_known(name_or_media_type: str) -> bool:
    """Whether any format of the table has this short name or media type."""
    wanted = name_or_media_type.strip().lower()
    media = wanted.split(";")[0].strip()
    return any(wanted in f.spec.names or media in f.media_types for f in Format)


def by_extension(extension: str, among: tuple[Format, ...] = RDF_FORMATS) -> Format | None:
    """The format of a file extension (``ttl``, ``owl``, ...), if any."""
    wanted = extension.lstrip(".").lower()
    return next((f for f in among if wanted in f.extensions), None)


def of_path(path: Path) -> Format:
    """The RDF format of a file, from its extension; Turtle when the extension is unknown
    (source files are Turtle)."""
    return by_extension(path.suffix) or Format.TURTLE


__all__ = ["BOOLEAN_FORMATS", "Format", "Offer", "RDF_FORMATS", "RESULT_FORMATS", "Spec",
           "W3C_FORMATS", "by_extension", "by_name", "is_known", "of_path", "offers"]
