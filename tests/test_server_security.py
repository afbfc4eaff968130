"""The query inspector: what a request may do is read from a real parse, never guessed.

Engine checks run pyoxigraph in a forked child that cannot open Internet sockets (a seccomp
filter), against an empty store, with SERVICE endpoints of the ``urn:`` scheme, which the
engine refuses ("A URI scheme must be set") before any connection: so "the engine called the
SERVICE" is observable with no network at all.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
from pathlib import Path

import pyoxigraph as ox
import pytest
from lark.exceptions import UnexpectedInput, UnexpectedToken
from rdflib import RDF, Graph, Namespace
from rdflib.collection import Collection

from ketamine_ed_kg import security
from ketamine_ed_kg.security import (
    PolicyViolation,
    QueryRejected,
    check_policy,
    engine_syntax_message,
    inspect_query,
    resolve_iri,
)
from ketamine_ed_kg.store.rowcap import apply_row_cap

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
MB = 1_000_000


def rejected(text: str, max_depth: int = 200, max_chain: int = 1000) -> QueryRejected:
    with pytest.raises(QueryRejected) as caught:
        inspect_query(text, max_depth=max_depth, max_chain=max_chain)
    return caught.value


def _block_inet() -> None:
    """seccomp: socket() for anything but AF_UNIX fails with EACCES (x86-64 only)."""
    libc = ctypes.CDLL(None, use_errno=True)

    def ins(code: int, jt: int, jf: int, k: int) -> bytes:
        return struct.pack("HBBI", code, jt, jf, k)

    prog = b"".join([ins(0x20, 0, 0, 4), ins(0x15, 0, 5, 0xC000003E), ins(0x20, 0, 0, 0),
                     ins(0x15, 0, 3, 41), ins(0x20, 0, 0, 16), ins(0x15, 1, 0, 1),
                     ins(0x06, 0, 0, 0x00050000 | 13), ins(0x06, 0, 0, 0x7FFF0000)])
    buf = ctypes.create_string_buffer(prog)

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Prog(len(prog) // 8, ctypes.addressof(buf))
    if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0):
        raise OSError(ctypes.get_errno(), "seccomp")


def engine(text: str) -> str:
    """How pyoxigraph reads ``text``: "syntax", "service" (it tried to call one) or "ok"."""
    if platform.machine() != "x86_64":
        pytest.skip("the engine oracle's seccomp filter is written for x86-64")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        verdict = "ok"
        try:
            _block_inet()
            import pyoxigraph
            result = pyoxigraph.Store().query(text)
            if not isinstance(result, pyoxigraph.QueryBoolean):
                for _ in result:
                    pass
        except SyntaxError:
            verdict = "syntax"
        except OSError as exc:
            verdict = "service" if "scheme" in str(exc) else f"error {exc}"
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            verdict = f"error {exc}"
        os.write(write, verdict.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        out = pipe.read().decode()
    os.waitpid(pid, 0)
    return out


def test_forms() -> None:
    assert inspect_query("PREFIX a: <http://a/> SELECT * {}").form == "SELECT"
    assert inspect_query("# comment\nask {}").form == "ASK"
    assert inspect_query("BASE <http://b/> CONSTRUCT WHERE {}").form == "CONSTRUCT"
    assert inspect_query("DESCRIBE <http://x>").form == "DESCRIBE"
    assert inspect_query("SELECT *\r\n{\r\n}\r\n# CRLF line ends\r\n").form == "SELECT"


@pytest.mark.parametrize("update", ["INSERT DATA {}", "load <http://x>", "CLEAR ALL",
                                    "WITH <http://g> DELETE {} WHERE {}",
                                    "SELECT * {} ; DROP ALL", "DELETE WHERE { ?s ?p ?o }"])
def test_updates_refused(update: str) -> None:
    exc = rejected(update)
    assert exc.kind == "update" and "read-only" in exc.message


@pytest.mark.parametrize("text", ["", "  # nothing\n", "PREFIX a: <http://a/>"])
def test_no_query(text: str) -> None:
    assert rejected(text).kind == "syntax"


def test_ssrf_reproducer_finds_the_service() -> None:
    text = ("SELECT * WHERE { BIND(<http://a/\\u0041#> AS ?z) "
            "SERVICE <http://127.0.0.1:8080/internal> { ?s ?p ?o } }")
    info = inspect_query(text)
    assert info.services == ["http://127.0.0.1:8080/internal"]
    with pytest.raises(PolicyViolation, match="SERVICE"):
        check_policy(info, graphs_in_store=set())


def test_service_forms() -> None:
    assert inspect_query("SELECT * { SERVICE <http://e/> { ?s ?p ?o } }").services == [
        "http://e/"]
    assert inspect_query("SELECT * { SERVICE SILENT <http://e/> {} }").services == ["http://e/"]
    assert inspect_query("SELECT * { service silent ?ep { } }").services == ["?ep"]
    assert inspect_query("SELECT * { SERVICE $ep {} }").services == ["?ep"]
    assert inspect_query("PREFIX e: <http://e/> SELECT * { SERVICE e:sparql {} }").services == [
        "http://e/sparql"]
    assert inspect_query("BASE <http://b/x/> SELECT * { SERVICE <../s> {} }").services == [
        "http://b/s"]
    nested = "SELECT * { FILTER EXISTS { { SELECT * { SERVICE <http://n/> {} } } } }"
    assert inspect_query(nested).services == ["http://n/"]


def test_service_not_found_where_it_is_no_keyword() -> None:
    text = ('PREFIX ex: <http://x/> SELECT ("SERVICE <http://a/>" AS ?x) ?service '
            "{ ex:SERVICE ex:p '''SERVICE <http://b/> {}''' } # SERVICE <http://c/> {}")
    assert inspect_query(text).services == []
    assert inspect_query('SELECT * { ?s ?p "x\\" SERVICE <http://d/> {}" }').services == []


# Texts on which a lexer can disagree with the engine; each case says where the SERVICE is.
ADVERSARIAL = [
    # The engine reads \uXXXX inside IRIs and strings only: \u0022 does not close a string.
    'SELECT * { BIND("a\\u0022 AS ?z) SERVICE <urn:evil> {} BIND(" AS ?w) }',
    "SELECT * { BIND(<urn:a/\\u0041#> AS ?z) SERVICE <urn:evil> {} }",
    # A comment ends at CR as well as LF.
    "SELECT * { BIND(1 AS ?x) # comment\rSERVICE <urn:evil> {} }",
    "SELECT * { BIND(1 AS ?x) # comment\r\nSERVICE <urn:evil> {} }",
    # ...but not at other line separators.
    "SELECT * { BIND(1 AS ?x) # comment\u2028SERVICE <urn:evil> {} }",
    "SELECT * { BIND(1 AS ?x) # comment\x0bSERVICE <urn:evil> {} }",
    "SELECT * { BIND(1 AS ?x) # comment\x85SERVICE <urn:evil> {} }",
    # Long strings with runs of quotes, escaped quotes, pnames with escapes.
    "SELECT * { BIND('''a''''' AS ?x) SERVICE <urn:evil> {} }",
    'SELECT * { BIND("""a\\"""" AS ?x) SERVICE <urn:evil> {} BIND(""" """ AS ?y) }',
    "PREFIX e: <urn:e:> SELECT * { BIND(e:a\\#b AS ?x) SERVICE <urn:evil> {} }",
    "PREFIX e: <urn:e:> SELECT * { BIND(e:a\\# AS ?x) SERVICE <urn:evil> {} }",
    # Keywords glued to other tokens, odd cases, Unicode look-alikes.
    "SELECT*{BIND(1 AS ?x)SERVICE<urn:evil>{}}",
    "SELECT * { BIND(1 AS ?x) sErViCe <urn:evil> {} }",
    "SELECT * { BIND(1 AS ?x) \u017fERVICE <urn:evil> {} }",
    "SELECT * { BIND(1 AS ?x) SERVICE\u00a0<urn:evil> {} }",
    # An IRI that a spec lexer and the engine would bound differently.
    "SELECT * { BIND(<urn:a b> AS ?x) SERVICE <urn:evil> {} }",
    "SELECT * { BIND(1 AS ?x) SERVICE <urn:evil\\u003E {} }",
]


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_parse_and_engine_agree_on_service(text: str) -> None:
    """Either we refuse the text, or we find a SERVICE exactly when the engine calls one."""
    verdict = engine(text)
    assert verdict in ("ok", "syntax", "service"), verdict
    try:
        info = inspect_query(text)
    except QueryRejected as exc:
        assert exc.kind == "syntax"
        return
    assert verdict != "syntax", "accepted a text the engine cannot read"
    assert bool(info.services) == (verdict == "service"), info.services


def test_ambiguous_path_modifier_refused() -> None:
    # The engine reads "<p>+1" as the path <p>+ and the object 1; the grammar as <p> and +1.
    exc = rejected("SELECT * { ?s <http://p>+1 }")
    assert exc.kind == "syntax" and "path modifier" in exc.message
    assert inspect_query("SELECT * { ?s <http://p> 1, +1 }").services == []



PATHS_AND_OPERATORS = [
    "SELECT * { ?s <http://p>* ?o }", "SELECT * { ?s <http://p>+ ?o }",
    "PREFIX e: <http://e/> SELECT * { ?s (e:a/e:b*|^e:c)+ ?o . ?o e:d* 1 }",
    "PREFIX e: <http://e/> SELECT * { ?s e:a/e:b+/e:c* ?o }",
    "SELECT (<http://f>(?x) * 2 AS ?y) (<http://f>(?x) + 3 AS ?z) { ?s <http://p>* ?x }",
    "SELECT * { ?s a* ?o . ?s !<http://p>* ?o }",
    "SELECT * { ?s ?p ?o } GROUP BY <http://f>*", "SELECT * { ?s <http://p> <http://o>+ }",
    "ASK { <http://s>* ?p ?o }",
]


@pytest.mark.parametrize("text", PATHS_AND_OPERATORS)
def test_path_modifier_decision_is_lark_accepts(text: str) -> None:
    """Where the lexer took a ``*`` or ``+`` for an operator, the parse reads it as the path
    modifier exactly when Lark's own ``accepts`` (every terminal tried) would allow
    ``PATH_MOD`` there: the check for that one terminal decides as the whole set did."""
    seen: list[tuple[bool, bool]] = []

    def both(exc: UnexpectedInput) -> bool:
        if isinstance(exc, UnexpectedToken) and exc.token.type in ("ASTERIX", "PLUS"):
            seen.append((security._accepts_path_mod(exc), "PATH_MOD" in exc.accepts))
        return security._path_modifier(exc)

    try:
        security.parser().parse(text, start="unit", on_error=both)
    except UnexpectedInput:
        pass  # a refusal is the same refusal either way; the decisions are compared below
    assert seen and all(mine == lark for mine, lark in seen), seen

def test_tokens_the_engine_reads_otherwise_refused() -> None:
    assert rejected("PREFIX e: <http://e/> SELECT * { ?s e:a.b.c 1 }").kind == "syntax"
    assert rejected("SELECT * { ?s ?p '\\uD800' }").kind == "syntax"
    assert rejected("SELECT * { ?s ?p <http://a/\\uD800> }").kind == "syntax"
    assert rejected("SELECT * {\u00a0}").kind == "syntax"
    assert rejected("SELECT * { ?s ?p ?o } LIMIT 18446744073709551616").kind == "syntax"
    assert inspect_query("SELECT * { ?s ?p ?o } LIMIT 18446744073709551615").limit == 2**64 - 1
    assert "unknown prefix x:" in rejected("SELECT * FROM x:g { ?s ?p ?o }").message
    assert "unknown prefix x:" in rejected("SELECT * { SERVICE x:s {} }").message


def test_default_prefixes_are_declared_before_the_prologue() -> None:
    """The service's prefixes (pyoxigraph's prefixes=) resolve FROM and SERVICE targets as the
    engine resolves them; the query's own declaration wins."""
    defaults = {"g": "http://g.example/"}
    assert inspect_query("SELECT * FROM g:one {}", prefixes=defaults).from_graphs == [
        "http://g.example/one"]
    own = inspect_query("PREFIX g: <http://own/> SELECT * FROM g:one {}", prefixes=defaults)
    assert own.from_graphs == ["http://own/one"]
    with pytest.raises(QueryRejected) as caught:
        inspect_query("SELECT * { SERVICE x:s {} }", prefixes=defaults)
    assert "unknown prefix x:" in caught.value.message and "(g:)" in caught.value.message


@pytest.mark.parametrize("text", ["SELECT * {} LIMIT 1.5", "SELECT * {} LIMIT 1e3",
                                  "SELECT * {} OFFSET -1", "SELECT * {} LIMIT"])
def test_limit_takes_an_integer(text: str) -> None:
    exc = rejected(text)
    assert exc.kind == "syntax" and "line 1, column" in exc.message


def test_graph_patterns_found_wherever_they_are() -> None:
    """An external store is sent the named graphs only when a GRAPH pattern can read them."""
    for text in ("SELECT * { GRAPH ?g { ?s ?p ?o } }",
                 "ASK { ?s ?p ?o graph <urn:g> {} }",
                 "SELECT * { FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } }",
                 "SELECT * { { SELECT ?s { GRAPH ?g { ?s ?p ?o } } } }",
                 "CONSTRUCT { ?s ?p ?o } WHERE { OPTIONAL { GRAPH ?g { ?s ?p ?o } } }",
                 "DESCRIBE ?s WHERE { GRAPH ?g { ?s ?p ?o } }"):
        assert inspect_query(text).graph_patterns, text
    for text in ('PREFIX ex: <http://x/> SELECT ("GRAPH ?g {}" AS ?x) { ex:GRAPH ex:p ?graph }',
                 "SELECT * FROM NAMED <urn:g> { ?s ?p ?o } # GRAPH ?g { }",
                 "DESCRIBE <urn:x>"):
        assert not inspect_query(text).graph_patterns, text


def test_from_resolved_with_prefix_and_base() -> None:
    info = inspect_query("BASE <http://base.example/dir/> PREFIX g: <http://g.example/> "
                         "SELECT * FROM <rel.ttl> FROM NAMED g:one FROM NAMED <../up> WHERE {}")
    assert info.base == "http://base.example/dir/"
    assert info.from_graphs == ["http://base.example/dir/rel.ttl"]
    assert info.from_named == ["http://g.example/one", "http://base.example/up"]
    relative = inspect_query("PREFIX p: <rel/> SELECT * FROM <x> FROM p:y {}")
    assert relative.from_graphs == ["x", "rel/y"]  # no BASE: left relative, so refused
    info = inspect_query("BASE <http://a/b/> BASE <c/> PREFIX : <d#> CONSTRUCT {} "
                         "FROM :e\\.f WHERE {}")
    assert info.from_graphs == ["http://a/b/c/d#e.f"]


@pytest.mark.parametrize("ref", ["g", "./g", "g/", "/g", "//g", "?y", "g?y", "#s", "g#s",
                                 "g?y#s", ";x", "g;x", "", ".", "./", "..", "../", "../g",
                                 "../..", "../../", "../../g", "../../../g", "/./g", "/../g",
                                 "g.", ".g", "g..", "..g", "./../g", "./g/.", "g/./h",
                                 "g/../h", "g;x=1/./y", "g;x=1/../y", "http:g"])
def test_iri_resolution_matches_the_engine(ref: str) -> None:
    """RFC 3986 section 5.4's examples, checked against the engine itself (no network)."""
    import pyoxigraph

    base = "http://a/b/c/d;p?q"
    solutions = pyoxigraph.Store().query(f"BASE <{base}> SELECT ?o {{ VALUES ?o {{ <{ref}> }} }}")
    assert isinstance(solutions, pyoxigraph.QuerySolutions)
    expected = [row["o"] for row in solutions][0]
    assert isinstance(expected, pyoxigraph.NamedNode)
    assert resolve_iri(base, ref) == expected.value


def test_policy() -> None:
    store = {"http://g/1"}
    check_policy(inspect_query("SELECT * FROM <http://g/1> {}"), graphs_in_store=store)
    with pytest.raises(PolicyViolation, match="not in this store"):
        check_policy(inspect_query("SELECT * FROM <http://g/2> {}"), graphs_in_store=store)
    check_policy(inspect_query("SELECT * FROM <http://g/2> {}"), graphs_in_store=store,
                 allowed_graph_prefixes=["http://g/"])
    with pytest.raises(PolicyViolation, match="SERVICE"):
        check_policy(inspect_query("SELECT * { SERVICE <http://w/sparql> {} }"),
                     graphs_in_store=store)
    check_policy(inspect_query("SELECT * { SERVICE <http://w/sparql> {} }"),
                 graphs_in_store=store, allowed_service_prefixes=["http://w/"])
    with pytest.raises(PolicyViolation, match="SERVICE"):
        check_policy(inspect_query("SELECT * { SERVICE ?x {} }"), graphs_in_store=store,
                     allowed_service_prefixes=["http://w/"])
    with pytest.raises(PolicyViolation, match="not in this store"):
        check_policy(inspect_query("ASK {}"), graphs_in_store=store,
                     extra_graphs=["file:///etc/passwd"])


def test_depth_cap() -> None:
    braces = "SELECT * WHERE " + "{" * 200 + "}" * 200
    assert inspect_query(braces).depth == 200
    for deep in ("SELECT * WHERE " + "{" * 201 + "}" * 201,
                 "SELECT (" + "STR(" * 200 + "?x" + ")" * 200 + " AS ?y) {}",
                 "SELECT (" + "(" * 200 + "?x" + ")" * 200 + " AS ?y) {}",
                 "SELECT * { ?s <http://p> " + "[ <http://p> " * 201 + "1" + " ]" * 201 + " }"):
        exc = rejected(deep)
        assert exc.kind == "limit" and "max_query_depth" in exc.message and "200" in exc.message
    exc = rejected("SELECT * { { { } } }", max_depth=2)
    assert exc.kind == "limit" and "the limit is 2" in exc.message
    # NIL "()" and ANON "[]" are single tokens, not nesting.
    assert inspect_query("SELECT * { ?s ?p () . ?s ?p [] }").depth == 1


def _or_chain(n: int) -> str:
    return "SELECT * { FILTER(" + " || ".join(f"?o = {i}" for i in range(n)) + ") }"


def test_chain_cap() -> None:
    assert inspect_query(_or_chain(1001)).chain == 1000
    exc = rejected(_or_chain(1002))
    assert exc.kind == "limit" and "max_operator_chain" in exc.message and "1000" in exc.message
    for text in ("SELECT * { " + " UNION ".join(["{}"] * 12) + " }",
                 "SELECT * { " + " ".join(f"OPTIONAL {{ ?s ?p ?o{i} }}" for i in range(12)) + " }",
                 "SELECT * { " + " ".join(f"BIND({i} AS ?v{i})" for i in range(12)) + " }",
                 "SELECT * { ?s " + "/".join(["<http://p>"] * 12) + " ?o }",
                 "SELECT (" + " + ".join(["1"] * 12) + " AS ?x) {}"):
        assert inspect_query(text).chain == 11, text
        assert rejected(text, max_chain=10).kind == "limit", text
    # Chains nested in one another add up: the engine's recursion does.
    nested = "SELECT * { FILTER(?a || ?b || (?c || ?d || ?e)) }"
    assert inspect_query(nested).chain == 4


def _values_query(size: int) -> str:
    head = ("PREFIX ex: <http://example.org/id/>\nPREFIX rdfs: "
            "<http://www.w3.org/2000/01/rdf-schema#>\nSELECT ?s ?label WHERE {\n  VALUES ?s {\n")
    tail = "  }\n  ?s rdfs:label ?label .\n}\nORDER BY ?label\nLIMIT 100\n"
    rows = [f"    ex:item{i}\n" for i in range(size // 16)]
    return head + "".join(rows) + tail


@pytest.mark.slow
def test_one_megabyte_inputs() -> None:
    """The shapes that took the old lexer 13-27 s; timings are in scripts/parser_choice.py."""
    assert rejected("SELECT * { " + "a." * (MB // 2) + " }").kind == "syntax"
    assert rejected("SELECT * " + "VALUES " * (MB // 7)).kind == "syntax"
    assert rejected("SELECT * WHERE " + "{" * (MB // 2) + "}" * (MB // 2)).kind == "limit"
    assert rejected("SELECT * WHERE " + "{" * MB).kind == "limit"
    assert rejected(_or_chain(MB // 14)).kind == "limit"
    info = inspect_query(_values_query(MB))
    assert info.form == "SELECT" and info.limit == 100
    assert inspect_query('SELECT * { ?s ?p "' + "x" * MB + '" }').services == []
    triples = "SELECT * { " + " ".join(f"?s <http://p> ?o{i} ." for i in range(MB // 26)) + " }"
    assert inspect_query(triples).depth == 1


def test_row_cap_rewrite() -> None:
    text = "SELECT * WHERE { { SELECT * { ?s ?p ?o } LIMIT 5 } }"
    capped = apply_row_cap(text, inspect_query(text), 100)
    assert capped is not None
    assert capped.text.rstrip().endswith("LIMIT 100")
    assert capped.probe is not None and "OFFSET 100" in capped.probe
    own = "SELECT * {} LIMIT 500 OFFSET 20"
    capped = apply_row_cap(own, inspect_query(own), 100)
    assert capped is not None and capped.text == "SELECT * {} LIMIT 100 OFFSET 20"
    assert capped.probe == "SELECT * {} LIMIT 1 OFFSET 120"
    assert apply_row_cap("SELECT * {} LIMIT 10", inspect_query("SELECT * {} LIMIT 10"), 100) is None
    assert apply_row_cap("ASK {}", inspect_query("ASK {}"), 100) is None
    assert apply_row_cap("SELECT * {}", inspect_query("SELECT * {}"), 0) is None
    values = "SELECT * { ?s ?p ?o } VALUES ?s { <http://a> } # end"
    capped = apply_row_cap(values, inspect_query(values), 3)
    assert capped is not None
    assert capped.text.index("LIMIT 3") < capped.text.index("VALUES")
    commented = "SELECT * { ?s ?p ?o } # no newline at the end"
    capped = apply_row_cap(commented, inspect_query(commented), 3)
    assert capped is not None and inspect_query(capped.text).limit == 3
    offset_only = "select * { ?s ?p ?o } offset 7"
    capped = apply_row_cap(offset_only, inspect_query(offset_only), 3)
    assert capped is not None and capped.probe is not None
    probe = inspect_query(capped.probe)
    assert (probe.limit, probe.offset) == (1, 10)
    for rewritten in (capped.text, capped.probe):
        assert engine(rewritten) == "ok"


# W3C negative syntax tests that this parser passes on: the engine refuses them for static
# errors (variable scope in BIND / SELECT / GROUP BY, aggregates, VALUES arity, blank node
# labels shared across groups), which are not grammar and do not change what a query may do.
LEFT_TO_THE_ENGINE = {
    "aggregates/agg08", "aggregates/agg09", "aggregates/agg10", "aggregates/agg11",
    "aggregates/agg12", "grouping/group06", "grouping/group07", "syntax-query/test_43",
    "syntax-query/test_44", "syntax-query/test_45", "syntax-query/test_60",
    "syntax-query/test_61a", "syntax-query/test_62a", "syntax-query/test_65",
    "syntax-query/test_bad_values_too_few", "syntax-query/test_bad_values_too_many",
}
KINDS = {"PositiveSyntaxTest11": True, "NegativeSyntaxTest11": False}


def _syntax_tests(root: Path) -> list[tuple[str, bool, Path]]:
    cases = []
    for manifest in sorted(root.glob("*/manifest.ttl")):
        graph = Graph()
        graph.parse(manifest, publicID=manifest.as_uri())
        for entries in graph.objects(None, MF.entries):
            for test in Collection(graph, entries):
                kind = str(graph.value(test, RDF.type)).rpartition("#")[2]
                if kind in KINDS:
                    action = graph.value(test, MF.action)
                    query = graph.value(action, QT.query) or action
                    name = f"{manifest.parent.name}/{str(test).rpartition('#')[2]}"
                    cases.append((name, KINDS[kind], Path(str(query).removeprefix("file://"))))
    return cases


@pytest.mark.shared
@pytest.mark.w3c
def test_w3c_syntax_suites(shared_dir: Path) -> None:
    root = shared_dir / "conformance" / "sparql11"
    if not root.is_dir():
        pytest.skip(f"{root} is absent: the W3C suites are not beside this clone")
    cases = _syntax_tests(root)
    assert len(cases) == 103
    wrong = []
    for name, positive, path in cases:
        try:
            inspect_query(path.read_text("utf-8"))
            accepted = True
        except QueryRejected as exc:
            assert exc.kind == "syntax", (name, exc.message)
            accepted = False
        expected = positive or name in LEFT_TO_THE_ENGINE
        if accepted != expected:
            wrong.append(name)
    assert wrong == []


@pytest.mark.parametrize(("text", "expected"), [
    ("SELECT * WHERE { ?s foo:bar ?o }",
     "unknown prefix foo: at line 1, column 28; declare it (PREFIX foo: <...>) or use a known "
     "one (g:)"),
    ("SELECT * WHERE { ?s ?p ?o } LIMIT x",
     "SPARQL syntax error at line 1, column 35: found 'x', expected one of HAVING, OFFSET, "
     "OPTIONAL, VALUES, a character of a name or number"),
    ("SELECT * WHERE {\n ?s <a b> ?o }", "SPARQL syntax error at line 2, column 10: the IRI "
     "before '?o }' is not valid (an IRI has no spaces, quotes or braces; percent-encode them)"),
])
def test_engine_syntax_errors_read_as_one_line(text: str, expected: str) -> None:
    with pytest.raises(SyntaxError) as caught:
        ox.Store().query(text)
    assert engine_syntax_message(text, str(caught.value), {"g": "http://g/"}) == expected
    assert engine_syntax_message(text, "something else\nentirely", {}) == (
        "SPARQL syntax error: something else entirely")
