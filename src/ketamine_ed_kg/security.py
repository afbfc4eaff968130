"""Inspecting a SPARQL request before it reaches the engine.

pyoxigraph will happily run ``SERVICE <http://...>`` (it ships an HTTP client) and executes
updates such as ``LOAD``. The endpoint is read-only and must never be made to open a URL, so
every query is first read by a small SPARQL *lexer* (not a full parser: the engine's parser
still decides what is valid). The lexer skips strings, IRIs and comments, which is what makes
keyword spotting reliable: ``"SERVICE"`` in a literal or ``ex:service`` is not a SERVICE
clause. It yields the query form, the graphs named by FROM / FROM NAMED (resolved against BASE
and PREFIX), the SERVICE targets, and the top-level LIMIT / OFFSET / VALUES positions that the
row cap needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY",
                             "MOVE", "ADD", "WITH"})

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*(?:'''|$)
              |\"\"\"(?:[^"\\]|\\.|"(?!""))*(?:\"\"\"|$)
              |'(?:[^'\\\n\r]|\\.)*'?
              |"(?:[^"\\\n\r]|\\.)*"?)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][\w\u00B7\u00C0-\uFFFF]+)
  | (?P<bnode>_:[\w.\-\u00B7\u00C0-\uFFFF]*)
  | (?P<pname>(?:[A-Za-z\u00C0-\uFFFF][\w.\-\u00B7\u00C0-\uFFFF]*)?:
               (?:[\w.\-:%\u00B7\u00C0-\uFFFF]|\\[_~.\-!$&'()*+,;=/?\#@%])*)
  | (?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    """One lexical token: kind, text and its span in the query."""

    kind: str
    text: str
    start: int
    end: int
    depth: int
    """Brace depth at the token (0 = outside every group)."""


def tokenize(text: str) -> list[Token]:
    """Significant tokens of ``text`` (no white space or comments); never raises."""
    tokens: list[Token] = []
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        if kind in ("ws", "comment"):
            continue
        value = match.group()
        if value == "}":
            depth = max(0, depth - 1)
        tokens.append(Token(kind, value, match.start(), match.end(), depth))
        if value == "{":
            depth += 1
    return tokens


@dataclass
class QueryInfo:
    """What the lexer learned about a request."""

    form: str | None
    """SELECT, ASK, CONSTRUCT, DESCRIBE, UPDATE, or None when no form keyword was found."""
    base: str | None = None
    from_graphs: list[str] = field(default_factory=list)
    from_named: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    """SERVICE targets; ``?var`` for a variable endpoint."""
    update_keyword: str | None = None
    limit: Token | None = None
    offset: Token | None = None
    trailing_values: Token | None = None

    @property
    def is_update(self) -> bool:
        return self.form == "UPDATE"


def _resolve(token: Token, prefixes: dict[str, str], base: str | None) -> str | None:
    if token.kind == "iri":
        iri = token.text[1:-1]
        return urljoin(base, iri) if base else iri
    if token.kind == "pname":
        prefix, _, local = token.text.partition(":")
        if prefix in prefixes:
            return prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
    return None


def inspect_query(text: str) -> QueryInfo:
    """Read the prologue, form, dataset clauses, SERVICE targets and solution modifiers."""
    tokens = tokenize(text)
    prefixes: dict[str, str] = {}
    base: str | None = None
    info = QueryInfo(form=None)
    i = 0
    # Prologue.
    while i < len(tokens):
        word = tokens[i].text.upper() if tokens[i].kind == "word" else ""
        if word == "BASE" and i + 1 < len(tokens) and tokens[i + 1].kind == "iri":
            base = _resolve(tokens[i + 1], prefixes, base)
            i += 2
        elif word == "PREFIX" and i + 2 < len(tokens) and tokens[i + 1].kind == "pname":
            iri = _resolve(tokens[i + 2], prefixes, base) if tokens[i + 2].kind == "iri" else None
            if iri is not None:
                prefixes[tokens[i + 1].text.rstrip(":").split(":")[0]] = iri
            i += 3
        else:
            break
    info.base = base
    if i < len(tokens) and tokens[i].kind == "word":
        word = tokens[i].text.upper()
        if word in QUERY_FORMS:
            info.form = word
        elif word in UPDATE_KEYWORDS:
            info.form = "UPDATE"
            info.update_keyword = word
    for j in range(i, len(tokens)):
        tok = tokens[j]
        if tok.kind != "word":
            continue
        word = tok.text.upper()
        nxt = tokens[j + 1] if j + 1 < len(tokens) else None
        if word in UPDATE_KEYWORDS and info.update_keyword is None and tok.depth == 0 and (
                j > 0 and tokens[j - 1].text == ";"):
            info.form = "UPDATE"
            info.update_keyword = word
        if word == "FROM" and nxt is not None:
            named = nxt.kind == "word" and nxt.text.upper() == "NAMED"
            target = tokens[j + 2] if named and j + 2 < len(tokens) else nxt
            iri = _resolve(target, prefixes, base)
            if iri is not None:
                (info.from_named if named else info.from_graphs).append(iri)
        elif word == "SERVICE" and nxt is not None:
            target = nxt
            if nxt.kind == "word" and nxt.text.upper() == "SILENT" and j + 2 < len(tokens):
                target = tokens[j + 2]
            if target.kind == "var":
                info.services.append(target.text)
            else:
                info.services.append(_resolve(target, prefixes, base) or target.text)
        elif tok.depth == 0 and word == "LIMIT" and nxt is not None and nxt.kind == "number":
            info.limit = nxt
        elif tok.depth == 0 and word == "OFFSET" and nxt is not None and nxt.kind == "number":
            info.offset = nxt
        elif tok.depth == 0 and word == "VALUES" and j > 0 and any(
                t.text == "}" and t.depth == 0 for t in tokens[:j]):
            info.trailing_values = tok
    return info


class PolicyViolation(Exception):
    """The request asks for something this read-only endpoint refuses (HTTP 403)."""


def _allowed(iri: str, prefixes: Iterable[str]) -> bool:
    return any(iri.startswith(p) for p in prefixes if p)


def check_policy(info: QueryInfo, *, graphs_in_store: set[str], extra_graphs: Iterable[str] = (),
                 allowed_service_prefixes: Iterable[str] = (),
                 allowed_graph_prefixes: Iterable[str] = ()) -> None:
    """Raise PolicyViolation for updates, SERVICE, and graphs the store does not hold."""
    if info.is_update:
        raise PolicyViolation(
            f"this endpoint is read-only: SPARQL Update ({info.update_keyword}) is refused")
    service_prefixes = tuple(allowed_service_prefixes)
    for target in info.services:
        if target.startswith(("?", "$")) or not _allowed(target, service_prefixes):
            raise PolicyViolation(
                f"SERVICE {target} is refused: federated queries may only call endpoints the "
                "operator allow-lists (allowed_service_prefixes)")
    graph_prefixes = tuple(allowed_graph_prefixes)
    for iri in [*info.from_graphs, *info.from_named, *extra_graphs]:
        if iri not in graphs_in_store and not _allowed(iri, graph_prefixes):
            raise PolicyViolation(
                f"graph <{iri}> is not in this store, and this service never fetches graphs "
                "from the web (allow-list it in allowed_graph_prefixes to use it as an empty "
                "graph)")


@dataclass(frozen=True)
class CappedQuery:
    """A query rewritten to honour the row cap, and a probe that tells if rows were cut."""

    text: str
    probe: str | None
    """Same query asking for the first row past the cap; None when the cap cannot bite."""
    cap: int


def apply_row_cap(text: str, info: QueryInfo, cap: int) -> CappedQuery | None:
    """Rewrite the top-level LIMIT so at most ``cap`` solutions come back.

    Returns None when no rewrite is needed (ASK, no cap, or the query's own LIMIT is lower).
    """
    if cap <= 0 or info.form not in ("SELECT", "CONSTRUCT", "DESCRIBE"):
        return None
    own_limit = int(info.limit.text) if info.limit is not None else None
    if own_limit is not None and own_limit <= cap:
        return None
    offset = int(float(info.offset.text)) if info.offset is not None else 0

    def rewrite(limit: int, new_offset: int) -> str:
        edits: list[tuple[int, int, str]] = []
        if info.limit is not None:
            edits.append((info.limit.start, info.limit.end, str(limit)))
        if info.offset is not None:
            edits.append((info.offset.start, info.offset.end, str(new_offset)))
        insert = ""
        if info.limit is None:
            insert += f" LIMIT {limit}"
        if info.offset is None and new_offset:
            insert += f" OFFSET {new_offset}"
        if insert:
            at = info.trailing_values.start if info.trailing_values is not None else len(text)
            edits.append((at, at, "\n" + insert.strip() + "\n"))
        out = text
        for start, end, new in sorted(edits, reverse=True):
            out = out[:start] + new + out[end:]
        return out

    return CappedQuery(rewrite(cap, offset), rewrite(1, offset + cap), cap)


__all__ = ["CappedQuery", "PolicyViolation", "QueryInfo", "Token", "apply_row_cap",
           "check_policy", "inspect_query", "tokenize"]
