"""Known defects of the query engine (pyoxigraph 0.5.13) and how the service lives with them.

**ORDER BY aborts the process.** Oxigraph sorts solutions with ``slice::sort_unstable_by`` and a
comparator (``cmp_terms`` in ``lib/spareval/src/eval.rs``) that is not a total order: two
literals are compared by *value* when ``partial_cmp_literals`` knows how (numbers with numbers,
date-times with date-times, strings with strings of the same language...) and otherwise by
their *lexical form* ``(value, datatype, language)``. The two orders disagree, so a handful of
values make a cycle: ``2 < 10`` by value, ``"10" < "1z"`` and ``"1z" < "2"`` by text. Rust's sort
(since 1.81) detects such a comparator on inputs of more than 20 items and panics with
"user-provided comparison function does not correctly implement a total order"; pyoxigraph is
built with ``panic = "abort"``, so the panic is a SIGABRT that no ``except BaseException`` sees.
On 20 items or fewer it uses insertion sort, which does not check, and returns a wrong order
quietly (``10, "1z", 2``). docs/engine-defects.md has the bisection and the upstream report.

This module holds pure functions for both halves of the handling:

* :func:`order_edits` rewrites every ORDER BY condition into a list of keys on which the
  engine's comparator *is* a total order, and which sort in the order SPARQL 1.1 specifies
  (and oxigraph gives wherever its own comparator is consistent). Queries then neither abort
  nor come back misordered.
* :func:`classify_crash` tells, from the tail of a dead query process's stderr, this abort
  (a client-facing 400 naming the defect) from other deaths, for any query the rewrite does not
  cover (RDF 1.2 triple terms) or a service that does not apply it.
"""

from __future__ import annotations

import re
import signal as _signal
from collections.abc import Iterable, Mapping

from .errors import ErrorKind
from .order_bindings import NODE_POSITION
from .security import Edit, QueryInfo

# -- telling the abort apart from other deaths -----------------------------------------------

ORDER_VIOLATION_TEXT = "does not correctly implement a total order"
"""The end of the message Rust's sort panics with on an inconsistent comparator (Rust >= 1.81:
"user-provided comparison function does not correctly implement a total order")."""
ORDER_VIOLATION_FRAME = "panic_on_ord_violation"
"""The panicking frame's name, present when ``RUST_BACKTRACE`` is set (the backtrace can push
the message itself out of a short log tail)."""
RUST_PANIC_TEXT = "panicked at "
"""How Rust's default panic hook starts its report:
``thread '<unnamed>' (N) panicked at FILE:LINE:COLUMN:``."""
MEMORY_TEXT = "memory allocation of "
"""Rust's report before aborting on a failed allocation:
``memory allocation of N bytes failed``."""
SEGFAULT_TEXTS = ("Fatal Python error: Segmentation fault", "Segmentation fault")
"""faulthandler's report of SIGSEGV. A stack overflow in pyoxigraph (deeply nested queries) is a
plain SIGSEGV with nothing else on stderr: Rust's guard-page handler, which would print "has
overflowed its stack", is only installed by Rust executables, not by a library loaded into
Python."""

ORDER_BY_DEFECT_MESSAGE = (
    "the query engine cannot sort these results: a known defect of oxigraph's ORDER BY "
    "(its comparison is not a total order when the sorted values mix kinds of literal, such "
    "as numbers with strings, or date-times with and without a time zone, and it aborts on "
    "such input). Sort by one kind of value: ORDER BY STR(?x) always works, and so does "
    "ORDER BY on values that are all strings, all integers and decimals, or all date-times "
    "with a time zone"
)


def order_by_abort(stderr_tail: str) -> bool:
    """True when the text a process left on stderr is the ORDER BY comparator abort.

    A Rust panic is fatal in pyoxigraph (``panic = "abort"``), so the process has no output
    after it but what faulthandler adds ("Fatal Python error: Aborted"); the *last* panic
    report in the tail is therefore the one that killed it.
    """
    last = stderr_tail.rfind(RUST_PANIC_TEXT)
    report = stderr_tail[last:] if last >= 0 else stderr_tail
    return ORDER_VIOLATION_TEXT in report or ORDER_VIOLATION_FRAME in report


def classify_crash(stderr_tail: str, signal: int | None = None,
                   memory_cap: int | None = None) -> tuple[ErrorKind, str]:
    """The ``QueryError`` kind and client message for a query process that died.

    ``stderr_tail`` is the end of what the process wrote on stderr (its worker log, with
    faulthandler enabled); ``signal`` is the signal that ended it when the caller knows it
    (``-returncode`` of a child), else None: the service's workers are grandchildren reaped by
    the kernel, so it usually only has the log; ``memory_cap`` (bytes) goes into the memory
    message. Kinds follow ``STATUS_BY_KIND``:

    * ``engine-defect`` (400): the ORDER BY comparator abort: the same query would take every
      worker down, so it is the client's to change, and the message says how.
    * ``memory`` (503): Rust's failed allocation under the memory cap, or MemoryError.
    * ``crash`` (500): a segmentation fault (a stack overflow on deep nesting looks exactly
      like any other: no Rust text), another Rust panic, or an abort without a reason.
    * ``killed`` (503): SIGKILL, or no trace at all (the OOM killer, an operator).
    """
    if order_by_abort(stderr_tail):
        return ErrorKind.ENGINE_DEFECT, ORDER_BY_DEFECT_MESSAGE
    if MEMORY_TEXT in stderr_tail or "MemoryError" in stderr_tail:
        cap = f" ({memory_cap >> 20} MiB, setting max_query_memory)" if memory_cap else \
            " (setting max_query_memory)"
        return ErrorKind.MEMORY, (f"the query needed more memory than this service allows one "
                          f"query{cap} and was stopped; make it more selective")
    if signal == _signal.SIGSEGV or any(text in stderr_tail for text in SEGFAULT_TEXTS):
        return ErrorKind.CRASH, ("the query engine crashed on this query (segmentation fault; very "
                         "deeply nested queries are a known cause)")
    if RUST_PANIC_TEXT in stderr_tail:
        return ErrorKind.CRASH, ("the query engine stopped on an internal error (a panic) "
                                 "in this query")
    if signal == _signal.SIGKILL or (signal is None and not stderr_tail.strip()):
        return ErrorKind.KILLED, ("the query process was stopped from outside while running "
                                  "this query")
    return ErrorKind.CRASH, "the query process died while running this query"


# -- a total order for ORDER BY ---------------------------------------------------------------

XSD = "http://www.w3.org/2001/XMLSchema#"
_DOUBLE = f"<{XSD}double>"
_FLOAT = f"<{XSD}float>"
_DURATION_REFERENCE = f'"1969-09-01T00:00:00"^^<{XSD}dateTime>'
"""The first of the four points oxigraph measures durations from (oxsdatatypes duration.rs;
XSD names 1696-09-01, oxigraph uses 1969-09-01). It orders two durations only when all four
agree, so measuring from any one of them keeps every order it gives. (Not another one: at run
time 1697-02-01 and 1903-07-01 plus a duration evaluate to an error in 0.5.13.)"""

_BUCKET_NODE, _BUCKET_LEXICAL, _BUCKET_NUMERIC, _BUCKET_CALENDAR, _BUCKET_DURATION, \
    _BUCKET_TRIPLE = range(6)


def order_keys(expression: str) -> list[str]:
    """SPARQL expressions that, used in this order as ORDER BY keys, sort ``expression`` totally.

    The first key is a bucket; the engine's comparator is a total order inside each bucket on
    the keys that follow, and buckets never meet, so the whole is one:

    0. IRIs and blank nodes: the engine's own order (blank nodes, then IRIs by code point).
    1. every literal the engine compares by text ``(value, datatype, language)``: strings,
       language strings, booleans, unknown datatypes, invalid lexical forms. Its value order
       agrees with that text order there, so this bucket sorts exactly as the engine does.
    2. numbers: by ``xsd:double`` (NaN last, where the engine puts it too), then integers and
       decimals before floats and doubles of the same double value, then by the engine (exact
       among integers and decimals). Two numbers the engine orders strictly keep that order
       (for every integer, and every decimal of at most 15 significant digits: longer ones go
       through the engine's own decimal-to-double conversion, which rounds twice); its
       equalities are not transitive (16777216 = "16777216"^^xsd:float = 16777217), and this
       breaks those ties.
    3. dates and times (dateTime, date, time, gYearMonth, gYear, gMonthDay, gDay, gMonth): by
       datatype, then by value with a missing time zone read as Z (XPath's implicit time zone;
       the engine instead calls such a pair within 14 hours indeterminate and falls back to
       text, which is what makes a cycle), then by text.
    4. durations: by their length from 1969-09-01, then by text. The engine compares two
       durations at four reference points and falls back to text where those disagree (P1M
       against P30D), which cycles; any order it does give holds at 1969-09-01 too. A
       duration too long to add to that date is one the engine never compares by value
       either: it stays in bucket 1.
    5. RDF 1.2 triple terms: the engine's order, *not* made total (triples whose objects mix
       kinds still cycle). Not in this dataset; only TRIPLE() makes them.

    An unbound or erroring ``expression`` leaves every key unbound: lowest, as SPARQL says.
    SPARQL fixes only "unbound, blank nodes, IRIs, literals" between kinds; between kinds of
    literal it fixes nothing, and the engine's text interleaving there is exactly what is not
    transitive, so that is the one place the order differs from the engine's on inputs the
    engine does sort (e.g. ``"abc"`` now comes before ``5``, the engine put ``"5" < "abc"``).

    ``expression`` is evaluated once per key for each solution (oxigraph binds every ORDER BY
    key to a variable per solution), so a random expression stays random, and total.
    """
    e = f"({expression})"
    span = f"(({_DURATION_REFERENCE} + {e}) - {_DURATION_REFERENCE})"
    bucket = (
        f"IF(isIRI({e}) || isBlank({e}), {_BUCKET_NODE}, IF(isLiteral({e}), "
        f"IF(isNumeric({e}), {_BUCKET_NUMERIC}, COALESCE("
        f"{_BUCKET_CALENDAR} + 0 * STRLEN(TZ({e})), "
        f"{_BUCKET_DURATION} + 0 * STRLEN(STR({span})), "
        f"{_BUCKET_LEXICAL})), {_BUCKET_TRIPLE}))"
    )
    family = f'COALESCE(CONCAT(STR(DATATYPE({e})), SUBSTR(TZ({e}), 1, 0)), "")'
    value = (
        f"IF(isNumeric({e}), {_DOUBLE}({e}), COALESCE("
        f'IF(TZ({e}) = "", STRDT(CONCAT(STR({e}), "Z"), DATATYPE({e})), {e}), {span}, 0))'
    )
    floating = (f"IF(isNumeric({e}), IF(sameTerm(DATATYPE({e}), {_FLOAT}) || "
                f"sameTerm(DATATYPE({e}), {_DOUBLE}), 1, 0), 0)")
    text = f'IF(isLiteral({e}) && !isNumeric({e}), STR({e}), "")'
    return [bucket, family, value, floating, text, e]


# -- rewriting ORDER BY on the parse ---------------------------------------------------------

MAX_REWRITTEN_EXPRESSION = 2048
"""Longest ORDER BY expression (characters) that is rewritten. Each key repeats the expression
(about twenty times in all), so a longer one is left to the engine: sorting by a 2 KB
expression is not a real query, and the crash classification still covers it."""


def order_edits(info: QueryInfo, object_kinds: Mapping[str, str] | None = None) -> list[Edit]:
    """Edits that replace every ORDER BY clause of a parsed query with total keys.

    Works on the spans of the real parse (:mod:`ketamine_ed_kg.security`), so ``ORDER BY``
    inside strings, IRIs or comments is never touched, and every condition form the grammar
    allows (variables, brackets, calls, EXISTS, ASC/DESC) is read as the engine reads it.

    ``object_kinds`` (the release's record, :func:`object_kinds`: predicate IRI -> the one
    safe kind of all its objects) spares the conditions the engine already sorts totally: a
    variable bound only as the object of predicates whose objects are all of one safe kind
    (:func:`total_for`) is kept as written, and a clause with only such conditions is left
    alone. The order is then the engine's own, which is the order the keys give there.
    """
    edits: list[Edit] = []
    kinds = object_kinds or {}
    for clause in info.order:
        if any(len(c.expression) > MAX_REWRITTEN_EXPRESSION for c in clause.conditions):
            continue
        total = [total_for(c.objects_of, kinds) for c in clause.conditions]
        if all(total):
            continue
        keys: list[str] = []
        for condition, is_total in zip(clause.conditions, total, strict=True):
            direction = "DESC" if condition.descending else "ASC"
            if is_total:
                keys.append(f"{direction}({condition.expression})")
            else:
                keys.extend(f"{direction}({key})" for key in order_keys(condition.expression))
        edits.append((clause.start, clause.end, "ORDER BY " + " ".join(keys)))
    return edits


# -- which objects the engine already orders totally -------------------------------------------

RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
KIND_NODE, KIND_STRING, KIND_NUMBER = "node", "string", "number"
"""The kinds of term on which the engine's comparator is a total order (each on its own; two
of them mixed are not: a number against a string compares by value or by text):

* ``node``: IRIs and blank nodes (blank nodes, then IRIs by code point);
* ``string``: ``xsd:string`` and language-tagged strings: the engine compares two of them by
  value (same language) or else by ``(value, datatype, language)``, which agree;
* ``number``: valid ``xsd:integer`` (64-bit, as the engine stores them) and ``xsd:decimal``
  literals, compared exactly by value. Doubles and floats are not (NaN, and their equalities
  with decimals are not transitive), nor is a number the engine would store as invalid text.
"""
_INTEGER_RE = re.compile(r"[+-]?[0-9]{1,18}")
_DECIMAL_RE = re.compile(r"[+-]?[0-9]{1,18}(?:\.[0-9]{1,17})?")
"""Lexical forms certainly valid for the engine (its decimals hold 18 digits each side of
the point; anything longer, or any other form XSD allows, counts as not safe)."""


def object_kind(term: object) -> str | None:
    """The safe kind (``KIND_*``) of a pyoxigraph term in object position, or None."""
    import pyoxigraph as ox  # the query processes have it; nothing else here needs it

    if isinstance(term, (ox.NamedNode, ox.BlankNode)):
        return KIND_NODE
    if not isinstance(term, ox.Literal):
        return None
    datatype = term.datatype.value
    if term.language is not None or datatype in (f"{XSD}string", RDF_LANG_STRING):
        return KIND_STRING
    if datatype == f"{XSD}integer" and _INTEGER_RE.fullmatch(term.value):
        return KIND_NUMBER
    if datatype == f"{XSD}decimal" and _DECIMAL_RE.fullmatch(term.value):
        return KIND_NUMBER
    return None


MIXED = "mixed"


def object_kinds(triples: Iterable[tuple[object, object]]) -> dict[str, str]:
    """The record for a release: each predicate IRI whose objects (``(predicate, object)``
    pairs of every quad) are all of one safe kind, with that kind; other predicates are left
    out, so their conditions keep the rewrite."""
    found: dict[str, str] = {}
    for predicate, obj in triples:
        iri = getattr(predicate, "value", "")
        seen = found.get(iri)
        if seen == MIXED:
            continue
        kind = object_kind(obj) or MIXED
        found[iri] = kind if seen is None or seen == kind else MIXED
    return {iri: kind for iri, kind in sorted(found.items()) if kind != MIXED}


def total_for(objects_of: frozenset[str] | None, kinds: Mapping[str, str]) -> bool:
    """True when a condition needs no rewrite: its variable is bound only as the object of
    predicates (``objects_of``, from the parse) whose objects share one safe kind."""
    if objects_of is None:
        return False
    seen = {KIND_NODE if p == NODE_POSITION else kinds.get(p) for p in objects_of}
    return len(seen) <= 1 and None not in seen


__all__ = [
    "MEMORY_TEXT",
    "ORDER_BY_DEFECT_MESSAGE",
    "ORDER_VIOLATION_FRAME",
    "ORDER_VIOLATION_TEXT",
    "RUST_PANIC_TEXT",
    "SEGFAULT_TEXTS",
    "MAX_REWRITTEN_EXPRESSION",
    "KIND_NODE",
    "KIND_NUMBER",
    "KIND_STRING",
    "classify_crash",
    "object_kind",
    "object_kinds",
    "order_by_abort",
    "order_edits",
    "order_keys",
    "total_for",
]
