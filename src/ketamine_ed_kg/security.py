"""Deciding what a SPARQL request may do, on a real parse of it, before the engine runs it.

pyoxigraph will happily run ``SERVICE <http://...>`` (it ships an HTTP client), so every request
is parsed first and refused if it is an update, names a SERVICE or a graph the operator has not
allowed, or nests deeper than the engine's stack can take. The old keyword-spotting lexer read
``<http://a/\\u0041#>`` as an IRI ending at ``\\`` and a comment from ``#`` on, and so missed the
``SERVICE`` after it; it also took seconds on 1 MB of ``a.``. This module keeps no tokenizer of
its own.

The parser (chosen by measurement, see docs/parser-choice.md and scripts/parser_choice.py) is
Lark's LALR(1) parser on the SPARQL 1.1 grammar shipped by ``sparqlib``: linear time, no
recursion (so no RecursionError on deep input), and the closest of the measured parsers to
pyoxigraph on the W3C syntax suites. Where that grammar and the engine's (spargebra 0.4, a PEG
parser) could read one text two ways, the request is refused rather than guessed at:

* the skipped text between tokens must be white space and comments exactly as the engine defines
  them (only space, tab, CR and LF; a comment ends at CR *or* LF), so no comment or string can
  swallow text that the engine reads as a query (the grammar's own comment rule ran to LF only,
  which would have hidden ``#...\\r SERVICE <...> {...}``; it is replaced);
* every string, IRI, prefixed name, variable, blank node label, language tag and number must be
  exactly the token the engine's own rule for it would read at that place (``\\uXXXX`` escapes
  are read inside IRIs and strings only, as the engine does; the SPARQL text's rule that they
  may appear anywhere is *not* what pyoxigraph 0.5 implements);
* keywords must be ASCII (the engine compares them ASCII-case-insensitively, Python's regex
  engine would also take ``ſ`` for ``s``);
* ``<p>+1`` is refused: the engine reads the ``+`` as the path modifier, the grammar as a sign;
* LIMIT and OFFSET must fit the engine's 64-bit counters.

Since nothing that the grammar skips as opaque (a string or a comment) can differ from what the
engine skips, every ``{`` the engine reads as structure is structure here too, so a SERVICE
clause cannot hide. Depth (nested ``{}``, ``()``, ``[]``) and operator chains are measured on the
parse tree and capped below the engine's stack limits (docs/parser-choice.md has the numbers).

``inspect_query`` runs inside the query worker process, whose deadline and memory cap bound it;
it never lets an exception other than :class:`QueryRejected` escape.
"""

from __future__ import annotations

import gc
import importlib.util
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from copy import copy
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternRE, PatternStr, TerminalDef

from .errors import ErrorKind
from .order_bindings import object_predicates

QUERY_FORMS = {"select_query": "SELECT", "ask_query": "ASK", "construct_query": "CONSTRUCT",
               "describe_query": "DESCRIBE"}

ENGINE_MAX_COUNT = 2**64 - 1
"""LIMIT and OFFSET are ``usize`` in the engine: larger values are its syntax error."""


class QueryRejected(Exception):
    """The request is refused before it reaches the engine.

    ``kind`` is ``syntax`` (HTTP 400: the parser cannot read it, or the parser and the engine
    could read it differently), ``limit`` (400: deeper or longer than the engine's stack
    allows) or ``update`` (403: this endpoint is read-only).
    """

    def __init__(self, kind: ErrorKind | str, message: str) -> None:
        super().__init__(message)
        self.kind = ErrorKind(kind)
        self.message = message


@dataclass(frozen=True)
class OrderCondition:
    """One ORDER BY condition as written: its expression text and whether it is DESC."""

    expression: str
    descending: bool
    objects_of: frozenset[str] | None = None
    """When ``expression`` is a bare variable that the query binds only as the object of
    triple patterns with constant predicates: those predicates (empty: never bound). Else
    None (:mod:`ketamine_ed_kg.order_bindings`)."""


@dataclass(frozen=True)
class OrderClause:
    """One ORDER BY clause (top level or in a sub-query): its text span and conditions."""

    start: int
    end: int
    conditions: tuple[OrderCondition, ...]


Edit = tuple[int, int, str]
"""Replace ``text[start:end]`` with the string."""


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with non-overlapping edits applied (``text`` itself when there are none)."""
    ordered = sorted(edits, reverse=True)
    if not ordered:
        return text
    out = text
    for start, end, new in ordered:
        out = out[:start] + new + out[end:]
    return out


@dataclass
class QueryInfo:
    """What the parse says the request does."""

    form: str
    """SELECT, ASK, CONSTRUCT or DESCRIBE."""
    base: str | None = None
    """The BASE in force after the prologue (resolved), or None."""
    from_graphs: list[str] = field(default_factory=list)
    from_named: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    """SERVICE targets, resolved; ``?name`` for a variable endpoint."""
    graph_patterns: bool = False
    """The query has a ``GRAPH`` pattern (anywhere, sub-queries and EXISTS included): only
    then can its named graphs change the answer."""
    limit: int | None = None
    offset: int | None = None
    """The top-level solution modifiers (a sub-query's own LIMIT is not here)."""
    depth: int = 0
    """Deepest nesting of ``{}``, ``()`` and ``[]`` constructs."""
    chain: int = 0
    """Most operators and group items met along one path of nesting (see ``_CHAINS``)."""
    order: list[OrderClause] = field(default_factory=list)
    """Every ORDER BY clause, in text order."""
    limit_span: tuple[int, int] | None = field(default=None, repr=False)
    offset_span: tuple[int, int] | None = field(default=None, repr=False)
    insert_at: int | None = field(default=None, repr=False)
    """Where a missing LIMIT / OFFSET goes: before a trailing VALUES block, else the end."""


# --- the engine's lexical rules (spargebra 0.4, lib/spargebra/src/parser.rs) -----------------
# PEG repetition never gives back what it consumed, hence the possessive quantifiers and
# atomic groups: each pattern reads exactly what the engine's rule reads.
_HEX = "[0-9A-Fa-f]"
_UCHAR = rf"\\u{_HEX}{{4}}|\\U{_HEX}{{8}}"
_ECHAR = r"""\\[tbnrf"'\\]"""
_PN_CHARS_BASE = ("A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
                  "\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd")
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_PN_PREFIX = rf"[{_PN_CHARS_BASE}][{_PN_CHARS}]*+(?:\.++[{_PN_CHARS}]++)*+"
_PN_LOCAL = (rf"(?:[{_PN_CHARS_U}:0-9]|{_PLX})(?:[{_PN_CHARS}:]|{_PLX})*+"
             rf"(?:\.++(?:[{_PN_CHARS}:]|{_PLX})++)?+")
_VARNAME = rf"[{_PN_CHARS_U}0-9][{_PN_CHARS_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*+"
_INTEGER = "[0-9]+"
_DECIMAL = r"[0-9]*\.[0-9]+"
_DOUBLE = r"(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)[eE][+-]?[0-9]+"
_ENGINE_TOKENS: dict[str, re.Pattern[str]] = {name: re.compile(pattern) for name, pattern in {
    "IRIREF": r"<[^>]*>",
    "STRING_LITERAL1": rf"'(?:[^'\\\n\r]|{_ECHAR}|{_UCHAR})*+'",
    "STRING_LITERAL2": rf'"(?:[^"\\\n\r]|{_ECHAR}|{_UCHAR})*+"',
    "STRING_LITERAL_LONG1": rf"'''(?:(?>''|')?+(?:[^'\\]|{_ECHAR}|{_UCHAR}))*+'''",
    "STRING_LITERAL_LONG2": rf'"""(?:(?>""|")?+(?:[^"\\]|{_ECHAR}|{_UCHAR}))*+"""',
    "PNAME_NS": rf"(?:{_PN_PREFIX})?:",
    "PNAME_LN": rf"(?:{_PN_PREFIX})?:{_PN_LOCAL}",
    "VAR1": rf"\?{_VARNAME}",
    "VAR2": rf"\${_VARNAME}",
    "BLANK_NODE_LABEL": rf"_:[{_PN_CHARS_U}0-9][{_PN_CHARS}]*+(?:\.++[{_PN_CHARS}]++)*+",
    "LANGTAG": r"@[a-zA-Z]++(?:-[a-zA-Z0-9]++)*+",
    "INTEGER": _INTEGER, "DECIMAL": _DECIMAL, "DOUBLE": _DOUBLE,
    "INTEGER_POSITIVE": rf"\+{_INTEGER}", "DECIMAL_POSITIVE": rf"\+{_DECIMAL}",
    "DOUBLE_POSITIVE": rf"\+{_DOUBLE}", "INTEGER_NEGATIVE": f"-{_INTEGER}",
    "DECIMAL_NEGATIVE": f"-{_DECIMAL}", "DOUBLE_NEGATIVE": f"-{_DOUBLE}",
    "NIL": r"\([ \t\r\n]*+\)", "ANON": r"\[[ \t\r\n]*+\]",
}.items()}
_ENGINE_SPACE = re.compile(r"(?:[ \t\r\n]|#[^\r\n]*+)*+")
"""The engine's ``_`` rule: what may stand between two tokens."""
_UCHAR_RE = re.compile(_UCHAR)
_ESCAPE_RE = re.compile(f"{_ECHAR}|{_UCHAR}")
_ESCAPING = frozenset({"IRIREF", "STRING_LITERAL1", "STRING_LITERAL2", "STRING_LITERAL_LONG1",
                       "STRING_LITERAL_LONG2"})
_IRI_TOKENS = frozenset({"IRIREF", "PNAME_LN", "PNAME_NS"})
_POSITIVE_NUMBERS = frozenset({"INTEGER_POSITIVE", "DECIMAL_POSITIVE", "DOUBLE_POSITIVE"})

_OPEN = frozenset({"LEFT_CURLY_BRACE", "LEFT_PARENTHESIS", "LSQB"})
_CLOSE = frozenset({"RIGHT_CURLY_BRACE", "RIGHT_PARENTHESIS", "RSQB"})

_CHAINS: dict[str, frozenset[str] | None] = {
    "conditional_or_expression": frozenset({"DOUBLE_PIPE"}),
    "conditional_and_expression": frozenset({"LOGICAL_AND"}),
    "additive_expression": frozenset({"PLUS", "MINUS", "ASTERIX", "FORWARD_SLASH"}),
    "multiplicative_expression": frozenset({"ASTERIX", "FORWARD_SLASH"}),
    "group_or_union_graph_pattern": None,
    "path_alternative": frozenset({"PIPE"}),
    "path_sequence": frozenset({"FORWARD_SLASH"}),
    "group_graph_pattern_sub": None,
}
"""Productions the engine folds into a left-deep binary tree, one level per operator.

For these the engine's evaluator recurses once per operator: ``a || b || c`` is
``Or(Or(a, b), c)``, and so is a run of OPTIONAL / BIND / MINUS / FILTER / sub-group items in
one group (``LeftJoin(Extend(...))``). The value names the operator tokens to count; None means
count child nodes (UNION operands, group items and the triple blocks between them).
"""


@dataclass
class _Limits:
    depth: int = 0
    max_depth: int = 200


_STATE = threading.local()


class _TooDeep(Exception):
    """Raised from the lexer as soon as the open brackets exceed the depth cap."""


def _limits() -> _Limits:
    limits: _Limits | None = getattr(_STATE, "limits", None)
    if limits is None:
        limits = _STATE.limits = _Limits()
    return limits


def _open(token: Token) -> Token:
    limits = _limits()
    limits.depth += 1
    if limits.depth > limits.max_depth:
        raise _TooDeep(token)
    return token


def _close(token: Token) -> Token:
    _limits().depth -= 1
    return token


def _engine_whitespace(term: TerminalDef) -> None:
    """Make the grammar skip exactly what the engine skips between tokens."""
    if term.name == "__IGNORE_0":
        term.pattern = PatternRE(r"(?:[ \t\r\n]|#[^\r\n]*)+")


def _grammar_path() -> Path:
    """sparqlib's grammar file, found without importing sparqlib (its import builds three
    Earley parsers we never use)."""
    spec = importlib.util.find_spec("sparqlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the sparqlib package (the SPARQL grammar) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "grammar.lark"


@cache
def parser() -> Lark:
    """The LALR parser; built once per process (about a second), so call it before forking."""
    callbacks: dict[str, Callable[[Token], Token]] = {name: _open for name in _OPEN}
    callbacks.update({name: _close for name in _CLOSE})
    built = Lark(_grammar_path().read_text("utf-8"), parser="lalr", lexer="contextual",
                 start=["unit", "update_unit"], keep_all_tokens=True,
                 edit_terminals=_engine_whitespace, lexer_callbacks=callbacks)
    names = {t.name for t in built.terminals}
    missing = (_OPEN | _CLOSE | {"__IGNORE_0", "SEMICOLON"}) - names
    if missing:
        raise RuntimeError(f"the sparqlib grammar has changed: no terminal {sorted(missing)}")
    return built


def warm_up(texts: Iterable[str]) -> int:
    """Parse each text once, so that this process holds the lexer tables those queries need;
    return how many were read without a refusal.

    Lark's contextual lexer compiles one scanner (a large regular expression, tens of
    milliseconds: the terminals' Unicode classes) per set of terminals a parser state allows,
    on first use. The zygote calls this with the example queries (what clients send most),
    one at a time while no worker is asked for, so that query processes forked afterwards
    inherit the scanners instead of compiling them again during their first requests.
    """
    read = 0
    for text in texts:
        try:
            inspect_query(text)
            read += 1
        except QueryRejected:
            continue
    return read


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic collector while a parse allocates a million tree nodes.

    The tree has no cycles, and the collector's passes over it made 1 MB parses 2-4x slower.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _describe_expected(expected: Iterable[str]) -> str:
    terminals = {t.name: t for t in parser().terminals}
    shown: list[str] = []
    for name in sorted(expected):
        term = terminals.get(name)
        if name == "$END":
            shown.append("end of query")
        elif term is not None and isinstance(term.pattern, PatternStr):
            shown.append(repr(term.pattern.value))
        elif term is not None and re.fullmatch(r"[A-Za-z_]+", term.pattern.value):
            shown.append(term.pattern.value.upper())
        else:
            shown.append(name)
    if len(shown) > 12:
        shown = [*shown[:12], "..."]
    return ", ".join(shown)


def _syntax_error(exc: UnexpectedInput, text: str) -> QueryRejected:
    where = f"line {exc.line}, column {exc.column}"
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        return QueryRejected("syntax", f"SPARQL syntax error at {where}: unexpected character "
                                       f"{char!r}; expected {_describe_expected(exc.allowed)}")
    if isinstance(exc, UnexpectedToken):
        got = "end of query" if exc.token.type == "$END" else repr(str(exc.token))
        return QueryRejected("syntax", f"SPARQL syntax error at {where}: unexpected {got}; "
                                       f"expected {_describe_expected(exc.expected)}")
    return QueryRejected("syntax", f"SPARQL syntax error at {where}")


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line}, column {pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


def _depth_error(max_depth: int, depth: int | None = None) -> QueryRejected:
    found = f"{depth} levels" if depth is not None else f"more than {max_depth} levels"
    return QueryRejected(
        "limit", f"query nesting too deep: {found} of nested {{}}, () or [] (the limit is "
                 f"{max_depth}, setting max_query_depth; deeper queries overflow the engine)")


_PATH_MOD_LOOKALIKES = frozenset({"ASTERIX", "PLUS"})


def _path_modifier(exc: UnexpectedInput) -> bool:
    """Read a ``*`` or ``+`` the lexer took for an operator as the path modifier it is.

    The state after an IRI is shared by expressions (``<f> * 2``) and property paths
    (``<p>*``), so the contextual lexer offers both terminals and takes the operator; the
    engine's PEG parser decides by context. Where the parser, after reducing the IRI to a path
    element, accepts only the modifier, feed the same text as ``PATH_MOD`` (Lark's documented
    ``on_error`` recovery: returning True drops the offending token).
    """
    if not isinstance(exc, UnexpectedToken) or exc.token.type not in _PATH_MOD_LOOKALIKES:
        return False
    if not _accepts_path_mod(exc):
        return False
    exc.interactive_parser.feed_token(Token.new_borrow_pos("PATH_MOD", str(exc.token),
                                                           exc.token))
    return True


def _accepts_path_mod(exc: UnexpectedToken) -> bool:
    """``"PATH_MOD" in exc.accepts``, deciding for that one terminal only.

    Lark's ``accepts`` tries every terminal the parser state has an action for, each fed to
    its own copy of the parser (dozens after an IRI), and a query with property paths met
    this once per ``*`` or ``+``: most of its parse time. Here the same two steps for
    ``PATH_MOD`` alone: the state must have an action for it, and a copy of the parser
    (callbacks off, as ``accepts`` does) must take it, reductions included (an LALR state's
    reduce actions can name a terminal that the state reached after reducing refuses).
    """
    current: Any = exc.interactive_parser  # (Lark's InteractiveParser is not typed)
    if "PATH_MOD" not in current.choices():
        return False
    trial = current.copy(deepcopy_values=False)
    quiet = copy(trial.parser_state.parse_conf)
    quiet.callbacks = {}
    trial.parser_state.parse_conf = quiet
    try:
        trial.feed_token(Token("PATH_MOD", ""))
    except UnexpectedToken:
        return False
    return True


def _parse(text: str, start: str, max_depth: int) -> Tree[Token]:
    limits = _limits()
    limits.depth, limits.max_depth = 0, max_depth
    with _no_gc():
        return parser().parse(text, start=start, on_error=_path_modifier)


def _update_operation(tree: Tree[Token]) -> str | None:
    """The first operation keyword of an update (``INSERT DATA``, ``LOAD``...), else None."""
    for sub in tree.iter_subtrees():
        if sub.data == "update1":
            op = sub.children[0]
            if not isinstance(op, Tree):
                return "update"
            words = [str(t) for t in op.scan_values(lambda v: isinstance(v, Token))][:2]
            if op.data in ("insert_data", "delete_data", "delete_where"):
                return " ".join(words).upper()
            return words[0].upper() if words else "update"
    return None


def _read_only(operation: str) -> QueryRejected:
    return QueryRejected("update", f"this endpoint is read-only: SPARQL Update ({operation}) "
                                   "is refused")


def _parse_or_reject(text: str, max_depth: int) -> Tree[Token]:
    try:
        return _parse(text, "unit", max_depth)
    except _TooDeep:
        raise _depth_error(max_depth) from None
    except UnexpectedToken as exc:
        # "SELECT ... ; DROP ALL": a complete query, then an update. Say it is an update.
        if exc.token.type == "SEMICOLON" and "$END" in exc.expected:
            try:
                rest = _parse(text[exc.token.end_pos:], "update_unit", max_depth)
            except (LarkError, _TooDeep, RecursionError):
                rest = None
            operation = _update_operation(rest) if rest is not None else None
            if operation is not None:
                raise _read_only(operation) from None
        raise _syntax_error(exc, text) from None
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    except LarkError as exc:
        raise QueryRejected("syntax", f"SPARQL syntax error: {exc}") from None
    except RecursionError:
        raise _depth_error(max_depth) from None
    except MemoryError:
        raise QueryRejected("limit", "the query is too large to parse within the worker's "
                                     "memory cap (setting max_query_memory)") from None


# --- IRIs ------------------------------------------------------------------------------------
_URI = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.S)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4."""
    out: list[str] = []
    while path:
        if path.startswith("../"):
            path = path[3:]
        elif path.startswith("./"):
            path = path[2:]
        elif path.startswith("/./") or path == "/.":
            path = "/" + path[3:]
        elif path.startswith("/../") or path == "/..":
            path = "/" + path[4:]
            if out:
                out.pop()
        elif path in (".", ".."):
            path = ""
        else:
            end = path.find("/", 1)
            end = len(path) if end < 0 else end
            out.append(path[:end])
            path = path[end:]
    return "".join(out)


def resolve_iri(base: str | None, ref: str) -> str:
    """Resolve ``ref`` against ``base`` as RFC 3986 section 5.2 (and the engine's oxiri) do.

    Without a base a relative reference stays as written: the engine would resolve it against
    the service's own URL, so the policy check must see it as "not an allowed IRI".
    """
    r = _URI.fullmatch(ref)
    if base is None or r is None or r.group(1) is not None:
        if r is not None and r.group(1) is not None:
            return _recompose(r.group(1), r.group(2), _remove_dot_segments(r.group(3)),
                              r.group(4), r.group(5))
        return ref
    b = _URI.fullmatch(base)
    if b is None:
        return ref
    scheme, authority, path, query = b.group(1), b.group(2), b.group(3), b.group(4)
    if r.group(2) is not None:
        authority, path, query = r.group(2), _remove_dot_segments(r.group(3)), r.group(4)
    elif r.group(3) == "":
        if r.group(4) is not None:
            query = r.group(4)
    else:
        if r.group(3).startswith("/"):
            path = _remove_dot_segments(r.group(3))
        else:
            merged = ("/" + r.group(3) if authority is not None and path == ""
                      else path[:path.rfind("/") + 1] + r.group(3))
            path = _remove_dot_segments(merged)
        query = r.group(4)
    return _recompose(scheme, authority, path, query, r.group(5))


def _recompose(scheme: str | None, authority: str | None, path: str, query: str | None,
               fragment: str | None) -> str:
    out = f"{scheme}:" if scheme is not None else ""
    if authority is not None:
        out += "//" + authority
    out += path
    if query is not None:
        out += "?" + query
    if fragment is not None:
        out += "#" + fragment
    return out


def _unescape_iri(token: Token) -> str:
    """The IRI inside an IRIREF token, with ``\\uXXXX`` escapes read as the engine reads them."""
    def char(match: re.Match[str]) -> str:
        code = int(match.group()[2:], 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise QueryRejected("syntax", f"invalid escape {match.group()} in IRI {token}")
        return chr(code)
    return _UCHAR_RE.sub(char, str(token)[1:-1])


class _Resolver:
    """The prologue's BASE and PREFIX declarations, applied as the engine applies them."""

    def __init__(self, defaults: Mapping[str, str]) -> None:
        self.base: str | None = None
        self.prefixes: dict[str, str] = dict(defaults)

    def iri(self, node: Tree[Token] | Token) -> str:
        token = next(node.scan_values(lambda v: isinstance(v, Token) and v.type in _IRI_TOKENS)) \
            if isinstance(node, Tree) else node
        if token.type == "IRIREF":
            return resolve_iri(self.base, _unescape_iri(token))
        prefix, _, local = str(token).partition(":")
        if prefix not in self.prefixes:
            known = ", ".join(f"{p}:" for p in sorted(self.prefixes)) or "none"
            raise QueryRejected("syntax", f"unknown prefix {prefix}: at line {token.line}, "
                                          f"column {token.column}; declare it (PREFIX {prefix}: "
                                          f"<...>) or use a known one ({known})")
        return self.prefixes[prefix] + local.replace("\\", "")

    def declare(self, decl: Tree[Token]) -> None:
        tokens = [c for c in decl.scan_values(lambda v: isinstance(v, Token))]
        iri = resolve_iri(self.base, _unescape_iri(tokens[-1]))
        if decl.data == "base_decl":
            self.base = iri
        else:
            self.prefixes[str(tokens[1]).rstrip(":")] = iri


def _token_error(token: Token, what: str) -> QueryRejected:
    return QueryRejected("syntax", f"SPARQL syntax error at line {token.line}, column "
                                   f"{token.column}: {what}")


def _check_token(token: Token, text: str, previous_end: int) -> None:
    """Refuse a token the engine would read differently, or a gap it would not skip."""
    start = token.start_pos or 0
    if start != previous_end and _ENGINE_SPACE.fullmatch(text, previous_end, start) is None:
        raise QueryRejected("syntax", "SPARQL syntax error at "
                                      f"{_line_col(text, previous_end)}: only space, tab, CR, LF "
                                      "and # comments may separate tokens")
    rule = _ENGINE_TOKENS.get(token.type)
    if rule is not None:
        if rule.fullmatch(token) is None:
            raise _token_error(token, f"{str(token)[:80]!r} is not a {token.type} as the query "
                                      "engine reads it")
        if token.type in _ESCAPING and "\\" in token:
            for escape in _ESCAPE_RE.finditer(token):
                code = int(escape.group()[2:], 16) if len(escape.group()) > 2 else 0
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise _token_error(token, f"invalid escape {escape.group()}")
    elif not token.isascii():
        raise _token_error(token, f"keyword {str(token)!r} is not ASCII")


def _node_chain(node: Tree[Token]) -> int:
    """How many binary levels the engine builds for this node (operands - 1)."""
    if len(node.children) < 2:
        return 0
    operators = _CHAINS[node.data]
    if node.data == "group_graph_pattern_sub":
        # A leading triple block, then each item and the triple block after it.
        parts = sum(1 for c in node.children if isinstance(c, Tree) and c.data == "triples_block")
        for item in node.children:
            if isinstance(item, Tree) and item.data == "group_graph_pattern_sub_other":
                parts += 1 + sum(1 for c in item.children
                                 if isinstance(c, Tree) and c.data == "triples_block")
        return max(0, parts - 1)
    if operators is None:
        return max(0, sum(1 for c in node.children if isinstance(c, Tree)) - 1)
    count = 0
    for child in node.children:
        if isinstance(child, Token):
            count += child.type in operators
        elif child.data in ("numeric_literal_positive", "numeric_literal_negative"):
            count += 1
    return count


_SERVICE, _VERB_PATH, _ORDER, _GRAPH = 1, 2, 3, 4
_KINDS: dict[str, int] = {**{name: 0 for name in _CHAINS}, "service_graph_pattern": _SERVICE,
                          "order_clause": _ORDER,
                          "verb_path": _VERB_PATH,
                          "graph_graph_pattern": _GRAPH}


@dataclass
class _Walk:
    depth: int = 0
    chain: int = 0
    services: list[Tree[Token]] = field(default_factory=list)
    orders: list[Tree[Token]] = field(default_factory=list)
    graphs: bool = False


def _walk(tree: Tree[Token], text: str, max_depth: int, max_chain: int) -> _Walk:
    """One pass over the tree in text order, without recursion (trees can be 100k deep).

    Checks every token and gap against the engine's lexical rules; measures depth (the
    bracketed productions enclosing each token: their ``(``/``{``/``[`` and closing tokens are
    children of the same node, so a running count over the tokens in order is that number)
    and chains (summed down each path); collects the SERVICE clauses.
    """
    result = _Walk()
    previous_end = 0
    depth = 0
    after_path = False
    kinds = _KINDS
    stack: list[tuple[Tree[Token] | Token, int, bool]] = [(tree, 0, False)]
    pop, push = stack.pop, stack.append
    while stack:
        node, chain, path_end = pop()
        if isinstance(node, Token):
            kind = node.type
            if kind in _OPEN:
                depth += 1
                if depth > max_depth:
                    raise _depth_error(max_depth, depth)
                result.depth = max(result.depth, depth)
            elif kind in _CLOSE:
                depth -= 1
            _check_token(node, text, previous_end)
            if after_path and kind in _POSITIVE_NUMBERS:
                raise _token_error(node, f"ambiguous: the query engine reads the '+' of "
                                         f"{str(node)!r} after a property path as the path "
                                         "modifier '+'; write the number unsigned")
            after_path = path_end
            previous_end = node.end_pos or previous_end
            continue
        special = kinds.get(node.data)
        if special == 0:
            chain += _node_chain(node)
            if chain > max_chain:
                raise QueryRejected(
                    "limit", f"operator chain too long: {chain} binary operators or group items "
                             "(||, &&, +, *, UNION, /, |, OPTIONAL, BIND, FILTER...) along one "
                             f"nesting path (the limit is {max_chain}, setting "
                             "max_operator_chain; the engine recurses once per operator and "
                             "overflows beyond)")
            result.chain = max(result.chain, chain)
        elif special == _SERVICE:
            result.services.append(node)
        elif special == _ORDER:
            result.orders.append(node)
        elif special == _GRAPH:
            result.graphs = True
        children = node.children
        if path_end or special == _VERB_PATH:
            push((children[-1], chain, True))
            for child in reversed(children[:-1]):
                push((child, chain, False))
        else:
            stack.extend([(child, chain, False) for child in reversed(children)])
    if previous_end < len(text) and _ENGINE_SPACE.fullmatch(text, previous_end) is None:
        raise QueryRejected("syntax", f"SPARQL syntax error at {_line_col(text, previous_end)}: "
                                      "only white space and comments may follow the query")
    return result


def _child(node: Tree[Token], data: str) -> Tree[Token] | None:
    for child in node.children:
        if isinstance(child, Tree) and child.data == data:
            return child
    return None


def _count(token: Token, clause: str) -> tuple[int, tuple[int, int]]:
    value = int(str(token))
    if value > ENGINE_MAX_COUNT:
        raise QueryRejected("syntax", f"{clause} {value} is larger than the query engine "
                                      f"accepts ({ENGINE_MAX_COUNT})")
    return value, (token.start_pos or 0, token.end_pos or 0)


def _edge_token(node: Tree[Token] | Token, last: bool) -> Token:
    """The first or last token under ``node``, found without recursion (trees run deep)."""
    while isinstance(node, Tree):
        node = node.children[-1 if last else 0]
    return node


def _order_clause(clause: Tree[Token], text: str) -> OrderClause:
    """The span and conditions of an ``order_clause`` node (``ORDER BY condition+``)."""
    conditions: list[OrderCondition] = []
    for condition in clause.children:
        if not isinstance(condition, Tree):
            continue  # the ORDER and BY keywords
        head = condition.children[0]
        if isinstance(head, Token):  # ASC( expression ) or DESC( expression )
            brackets = condition.children[1]
            assert isinstance(brackets, Tree)  # ( expression )
            inner = brackets.children[1]
            start = _edge_token(inner, last=False).start_pos or 0
            end = _edge_token(inner, last=True).end_pos or 0
            conditions.append(OrderCondition(text[start:end], str(head).upper() == "DESC"))
        else:
            start = _edge_token(condition, last=False).start_pos or 0
            end = _edge_token(condition, last=True).end_pos or 0
            conditions.append(OrderCondition(text[start:end], False))
    return OrderClause(_edge_token(clause, last=False).start_pos or 0,
                       _edge_token(clause, last=True).end_pos or 0, tuple(conditions))


def inspect_query(text: str, *, max_depth: int = 200, max_chain: int = 1000,
                  prefixes: Mapping[str, str] | None = None) -> QueryInfo:
    """Parse ``text`` and say what it would do; raise :class:`QueryRejected` if it may not run.

    ``prefixes`` are declared before the query's own prologue (which may redeclare them), as
    the engine's ``prefixes=`` option declares them.

    ``max_depth`` caps nested ``{}``/``()``/``[]`` constructs and ``max_chain`` the operators
    and group items met along one nesting path; both are kept below the depths at which
    pyoxigraph 0.5.13 overflows an 8 MB stack (docs/parser-choice.md).
    """
    if not text.strip(" \t\r\n"):
        raise QueryRejected("syntax", "empty query: expected SELECT, ASK, CONSTRUCT or DESCRIBE")
    try:
        return _inspect(text, max_depth, max_chain, prefixes or {})
    except QueryRejected:
        raise
    except RecursionError:
        raise _depth_error(max_depth) from None
    except MemoryError:
        raise QueryRejected("limit", "the query is too large to inspect within the worker's "
                                     "memory cap (setting max_query_memory)") from None


def _inspect(text: str, max_depth: int, max_chain: int,
             prefixes: Mapping[str, str]) -> QueryInfo:
    root = _parse_or_reject(text, max_depth)
    unit = root.children[0]
    assert isinstance(unit, Tree)
    if unit.data == "update_unit":
        operation = _update_operation(unit)
        if operation is not None:
            raise _read_only(operation)
        raise QueryRejected("syntax", "no query: expected SELECT, ASK, CONSTRUCT or DESCRIBE "
                                      "after the prologue")
    with _no_gc():
        walk = _walk(root, text, max_depth, max_chain)
    query = unit.children[0]
    assert isinstance(query, Tree)
    resolver = _Resolver(prefixes)
    prologue = _child(query, "prologue")
    for decl in prologue.children if prologue is not None else ():
        if isinstance(decl, Tree):
            resolver.declare(decl)
    form_node = next(c for c in query.children
                     if isinstance(c, Tree) and c.data in QUERY_FORMS)
    info = QueryInfo(form=QUERY_FORMS[form_node.data], base=resolver.base,
                     depth=walk.depth, chain=walk.chain, graph_patterns=walk.graphs)
    # CONSTRUCT keeps its clauses one level down (construct_construct_template / _triples_).
    holder = form_node
    if form_node.data == "construct_query":
        inner = next(c for c in form_node.children if isinstance(c, Tree))
        holder = inner
    for clause in holder.children:
        if isinstance(clause, Tree) and clause.data == "dataset_clause":
            named = _child(clause, "named_graph_clause")
            target = named or _child(clause, "default_graph_clause")
            assert target is not None
            (info.from_named if named else info.from_graphs).append(resolver.iri(target))
    for service in walk.services:
        endpoint = _child(service, "var_or_iri")
        assert endpoint is not None
        var = _child(endpoint, "var")
        info.services.append("?" + str(_edge_token(var, last=False))[1:] if var is not None
                             else resolver.iri(endpoint))
    modifier = _child(holder, "solution_modifier")
    clauses = _child(modifier, "limit_offset_clauses") if modifier is not None else None
    if clauses is not None:
        limit, offset = _child(clauses, "limit_clause"), _child(clauses, "offset_clause")
        if limit is not None:
            info.limit, info.limit_span = _count(limit.children[-1], "LIMIT")  # type: ignore[arg-type]
        if offset is not None:
            info.offset, info.offset_span = _count(offset.children[-1], "OFFSET")  # type: ignore[arg-type]
    values = _child(query, "values_clause")
    if values is not None and values.children:
        info.insert_at = _edge_token(values, last=False).start_pos
    # The walk is pre-order in text order, so the clauses come in text order.
    info.order = [_order_clause(node, text) for node in walk.orders]
    if info.order and not info.services:
        info.order = _with_bindings(info.order, query, resolver)
    return info


def _bare_variable(expression: str) -> str | None:
    """The name of the variable ``expression`` is, if it is one (``?x`` or ``$x``)."""
    if _ENGINE_TOKENS["VAR1"].fullmatch(expression) or \
            _ENGINE_TOKENS["VAR2"].fullmatch(expression):
        return expression[1:]
    return None


def _with_bindings(order: list[OrderClause], query: Tree[Token],
                   resolver: _Resolver) -> list[OrderClause]:
    """The clauses with ``objects_of`` filled in for their bare-variable conditions."""
    names = {name for clause in order for c in clause.conditions
             if (name := _bare_variable(c.expression)) is not None}
    if not names:
        return order
    bound = object_predicates(query, names, resolver.iri)
    return [replace(clause, conditions=tuple(
        replace(c, objects_of=bound.get(_bare_variable(c.expression) or "")) for c in
        clause.conditions)) for clause in order]


class PolicyViolation(Exception):
    """The request asks for something this read-only endpoint refuses (HTTP 403)."""


def _allowed(iri: str, prefixes: Iterable[str]) -> bool:
    return any(iri.startswith(p) for p in prefixes if p)


def check_policy(info: QueryInfo, *, graphs_in_store: set[str], extra_graphs: Iterable[str] = (),
                 allowed_service_prefixes: Iterable[str] = (),
                 allowed_graph_prefixes: Iterable[str] = ()) -> None:
    """Raise PolicyViolation for SERVICE calls and graphs the store does not hold.

    Updates never get here: :func:`inspect_query` refuses them.
    """
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


# --- the engine's syntax errors, made readable ------------------------------------------------

_ENGINE_ERROR = re.compile(r"error at (\d+):(\d+): expected (?:one of )?(.*)", re.S)
_EXPECTED_WORD = re.compile(r'"[^"]*"|\b[A-Z][A-Za-z ]*[A-Za-z]\b')
_PREFIX_BEFORE = re.compile(r"([A-Za-z][\w.\-]*)?:[\w.\-]*$")


def engine_syntax_message(text: str, message: str, prefixes: Mapping[str, str]) -> str:
    """pyoxigraph's syntax error as one line a person can act on: where, what is there, what
    would be valid; an unknown prefix is named with the prefixes the service knows.

    pyoxigraph says e.g. ``error at 1:35: expected one of HAVING, OFFSET, ['0'..='9']`` (the
    character classes can run to several lines); anything it says that does not have that
    shape is passed on as is, on one line.
    """
    found = _ENGINE_ERROR.match(message.strip())
    if found is None:
        return "SPARQL syntax error: " + " ".join(message.split())
    line, column, expected = int(found.group(1)), int(found.group(2)), found.group(3)
    lines = text.splitlines() or [""]
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    where = f"line {line}, column {column}"
    if "Prefix not found" in expected:
        name = _PREFIX_BEFORE.search(here[:max(column - 1, 0)])
        prefix = name.group(1) or "" if name else "?"
        known = ", ".join(f"{p}:" for p in sorted(prefixes)) or "none"
        return (f"unknown prefix {prefix}: at {where}; declare it (PREFIX {prefix}: <...>) or "
                f"use a known one ({known})")
    near = here[max(column - 1, 0):][:30].strip()
    got = f"'{near}'" if near else "the end of the query"
    if "IRI parsing failed" in expected:
        return (f"SPARQL syntax error at {where}: the IRI before {got} is not valid (an IRI "
                "has no spaces, quotes or braces; percent-encode them)")
    words = list(dict.fromkeys(_EXPECTED_WORD.findall(expected)))
    if "[" in expected:
        words.append("a character of a name or number")
    return (f"SPARQL syntax error at {where}: found {got}, expected "
            + (("one of " + ", ".join(words)) if len(words) > 1 else "".join(words) or "more"))


__all__ = ["Edit", "OrderClause", "OrderCondition", "PolicyViolation",
           "QueryInfo", "QueryRejected", "apply_edits", "check_policy",
           "engine_syntax_message", "inspect_query", "parser", "resolve_iri", "warm_up"]
