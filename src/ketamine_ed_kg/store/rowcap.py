"""The row cap, in one place: how a query is rewritten for it, how a result is measured
against it, and how the query process decides whether the cap cut the result.

A public query may return at most ``row_cap`` solutions (``config.row_cap``). The query process
rewrites the query's top-level LIMIT on the real parse (:func:`apply_row_cap`).

A SELECT on the embedded store is evaluated once, with one solution of lookahead (``LIMIT
cap+1``) by :func:`capped_body`. The solutions are written in the client's format and
counted in C (:class:`RowBound`); only when that count may exceed the cap is the result turned
into SPARQL TSV, where every solution is exactly one line (the format escapes newlines in
terms), so ``bytes.count`` and ``bytes.rindex`` cut the (cap+1)-th solution off, and written
again in the client's format. So the truncation is known before the first byte, without a
second evaluation, and a result below the cap costs what serialising it costs.

Graph results (CONSTRUCT, DESCRIBE: LIMIT counts solutions of the pattern, not triples) and an
external store still use a probe: the same query asking for the first solution past the cap.
While such a result streams, :class:`RowBound` counts an upper bound on the solutions from the
serialised bytes; :class:`CapCheck` runs the probe only if that bound reached the cap, so a
small result never costs a second evaluation. The HTTP process only reports the outcome
(``X-SPARQL-Row-Cap``, ``X-SPARQL-Truncated``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from ..formats import Format
from ..security import Edit, QueryInfo, apply_edits


@dataclass(frozen=True)
class CappedQuery:
    """A query rewritten to honour the row cap, and a probe that tells if rows were cut."""

    text: str
    probe: str | None
    """Same query asking for the first row past the cap; None when the cap cannot bite."""
    cap: int
    lookahead: str | None = None
    """SELECT only: the query with ``LIMIT cap+1``, evaluated once by :func:`capped_body`
    (the probe is then not needed)."""


def apply_row_cap(text: str, info: QueryInfo, cap: int,
                  edits: Iterable[Edit] = ()) -> CappedQuery | None:
    """Rewrite the top-level LIMIT so at most ``cap`` solutions come back.

    Returns None when no rewrite is needed (ASK, no cap, or the query's own LIMIT is lower).
    The edits replace the INTEGER tokens the parse found, or insert the clauses before a
    trailing VALUES block (or at the end, after a newline that closes any final comment).
    ``edits`` (other rewrites on spans of the same parse) go into both the query and the probe.
    """
    others = list(edits)
    if cap <= 0 or info.form not in ("SELECT", "CONSTRUCT", "DESCRIBE"):
        return None
    if info.limit is not None and info.limit <= cap:
        return None
    offset = info.offset or 0

    def rewrite(limit: int, new_offset: int) -> str:
        edits: list[Edit] = list(others)
        if info.limit_span is not None:
            edits.append((*info.limit_span, str(limit)))
        if info.offset_span is not None:
            edits.append((*info.offset_span, str(new_offset)))
        insert = ""
        if info.limit_span is None:
            insert += f" LIMIT {limit}"
        if info.offset_span is None and new_offset:
            insert += f" OFFSET {new_offset}"
        if insert:
            at = info.insert_at if info.insert_at is not None else len(text)
            edits.append((at, at, "\n" + insert.strip() + "\n"))
        return apply_edits(text, edits)

    return CappedQuery(rewrite(cap, offset), rewrite(1, offset + cap), cap,
                       rewrite(cap + 1, offset) if info.form == "SELECT" else None)


LOOKAHEAD_FORMAT = Format.TSV
"""Where a solution is exactly one line: TSV writes terms in N-Triples syntax, which escapes
line breaks, and ends every line (the variables', then each solution's) with LF."""


def capped_body(results: Any, cap: int, result_format: Format) -> tuple[bytes, bool]:
    """The body of a ``LIMIT cap+1`` SELECT's solutions (pyoxigraph ``QuerySolutions``) in
    ``result_format``, holding at most ``cap`` of them, and whether one past the cap was cut.

    The usual case pays nothing over serialising: the solutions are written in the client's
    format and :class:`RowBound` counts an upper bound in C; at most ``cap`` means nothing was
    cut. Only a result that may hold ``cap+1`` solutions goes through TSV (re-read from the
    body when pyoxigraph can parse the client's format; CSV it cannot, so CSV is written from
    TSV), is cut there on lines, and is written again in the client's format.
    """
    if result_format is Format.CSV:
        tsv: bytes = results.serialize(format=LOOKAHEAD_FORMAT.results)
    else:
        body: bytes = results.serialize(format=result_format.results)
        bound = RowBound(result_format)
        bound.feed(body)
        if bound.bound() <= cap:
            return body, False
        tsv = body if result_format is LOOKAHEAD_FORMAT else _reserialize(
            body, result_format, LOOKAHEAD_FORMAT)
    kept, cut = _cut_lines(tsv, cap)
    if result_format is LOOKAHEAD_FORMAT:
        return kept, cut
    if not cut and result_format is not Format.CSV:
        return body, False  # the bound overcounted: the body stands as written
    return _reserialize(kept, LOOKAHEAD_FORMAT, result_format), cut


def _reserialize(body: bytes, source: Format, target: Format) -> bytes:
    """A results document written in ``source`` format, written again in ``target``."""
    out = ox.parse_query_results(body, format=source.results).serialize(format=target.results)
    assert out is not None  # no output given: serialize returns the bytes
    return out


def _cut_lines(tsv: bytes, cap: int) -> tuple[bytes, bool]:
    """The header and first ``cap`` solution lines of a TSV result; whether any were cut."""
    extra = tsv.count(b"\n") - 1 - cap
    if extra <= 0:
        return tsv, False
    end = len(tsv)
    for _ in range(extra):
        end = tsv.rindex(b"\n", 0, end - 1) + 1
    return tsv[:end], True


class RowBound:
    """Upper bound on the solutions in a serialised result, counted with ``bytes.count`` as
    the chunks go by (the marker and its correction come from the format table)."""

    def __init__(self, result_format: Format) -> None:
        self.marker, self.offset = result_format.spec.row_marker
        if not self.marker:
            raise ValueError(f"{result_format.name} has no row marker: it cannot carry "
                             "solutions")
        self.count = 0
        self.tail = b""

    def feed(self, data: bytes) -> None:
        joined = self.tail + data
        self.count += joined.count(self.marker)
        keep = len(self.marker) - 1
        self.tail = joined[max(0, len(joined) - keep):] if keep else b""

    def bound(self) -> int:
        return max(0, self.count + self.offset)


@dataclass
class CapCheck:
    """Whether the row cap cut a result: decided once, before its first byte goes out."""

    probe: Callable[[], bool] | None
    """Runs the probe query: True when a solution exists past the cap (None: ``known``)."""
    cap: int
    rows: RowBound | None = None
    """Counts solutions as they are written (None for graph results: always probe)."""
    probed: bool = False
    known: bool | None = None
    """Decided before the body (:func:`capped_body`): no counting, no probe."""

    @classmethod
    def decided(cls, cap: int, truncated: bool) -> CapCheck:
        """The outcome of a result evaluated with lookahead."""
        return cls(None, cap, known=truncated)

    def feed(self, data: bytes) -> None:
        if self.rows is not None:
            self.rows.feed(data)

    def truncated(self, complete: bool) -> bool:
        """True when rows were cut. ``complete``: the whole result has been written, so a
        count below the cap settles it without the probe."""
        if self.known is not None:
            return self.known
        if complete and self.rows is not None and self.rows.bound() < self.cap:
            return False
        assert self.probe is not None
        self.probed = True
        return self.probe()


__all__ = ["LOOKAHEAD_FORMAT", "CapCheck", "CappedQuery", "RowBound", "apply_row_cap",
           "capped_body"]
