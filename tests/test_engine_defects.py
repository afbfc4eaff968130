"""The ORDER BY abort of pyoxigraph 0.5.13, reproduced on a few triples, and its handling.

Everything that runs the engine on a query that may abort runs it in a child process: the
abort is a SIGABRT (pyoxigraph is built with ``panic = "abort"``) that would take pytest down.
See docs/engine-defects.md.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyoxigraph as ox
import pytest

from ketamine_ed_kg.engine_defects import (
    KIND_NODE,
    KIND_NUMBER,
    KIND_STRING,
    MAX_REWRITTEN_EXPRESSION,
    ORDER_BY_DEFECT_MESSAGE,
    classify_crash,
    object_kind,
    object_kinds,
    order_by_abort,
    order_edits,
    order_keys,
)
from ketamine_ed_kg.release import pin_dataset
from ketamine_ed_kg.security import QueryRejected, apply_edits, inspect_query
from ketamine_ed_kg.server.zygote import release_object_kinds
from support.project import BuiltDataset

XSD = "http://www.w3.org/2001/XMLSchema#"


def total_order_by(query: str) -> str:
    """``query`` as the service runs it: ORDER BY rewritten on the parse; refused: as is."""
    try:
        info = inspect_query(query)
    except QueryRejected:
        return query
    return apply_edits(query, order_edits(info))
ORDER_QUERY = "SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o"

# What a worker's log holds after the abort (RUST_BACKTRACE unset; faulthandler enabled).
ABORT_LOG = """\
thread '<unnamed>' (4094) panicked at /rustc/58cf8f9c35b355199727627d07ae34a4e2846d67/library/\
core/src/slice/sort/shared/smallsort.rs:854:5:
user-provided comparison function does not correctly implement a total order
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
Fatal Python error: Aborted

Current thread 0x00007f90fe28fb80 (most recent call first):
  File "/x/zygote.py", line 6 in <module>
"""
SEGFAULT_LOG = """\
Fatal Python error: Segmentation fault

Current thread 0x00007f663544bb80 (most recent call first):
  File "/x/zygote.py", line 13 in <module>
"""


def mixed_triples() -> str:
    """21 triples whose objects are 10 integers and 11 strings: the smallest size Rust's sort
    checks (it insertion-sorts 20 or fewer without checking), in an order that trips it."""
    objects = [f'"{k}"^^<{XSD}integer>' for k in range(1, 11)] + [f'"{k}x"' for k in range(1, 12)]
    return "".join(f"<http://example.org/s{i}> <http://example.org/p> {o} .\n"
                   for i, o in enumerate(objects))


CHILD = textwrap.dedent("""\
    import faulthandler, json, sys
    import pyoxigraph as ox
    faulthandler.enable(file=sys.stderr)  # as the service's query workers do
    data, query = sys.argv[1], sys.stdin.read()
    store = ox.Store()
    if data:
        store.load(path=data, format=ox.RdfFormat.N_QUADS)
    try:
        rows = list(store.query(query, use_default_graph_as_union=True))
    except BaseException as exc:  # a Rust panic would be a pyo3 PanicException (BaseException)
        print(json.dumps({"caught": type(exc).__name__}))
        raise SystemExit(3)
    print(json.dumps({"rows": [[str(v) if v is not None else None for v in row] for row in rows]}))
""")


def run_child(tmp_path: Path, query: str, data: str | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``query`` (over ``data``, N-Quads) in a fresh interpreter and return what happened."""
    path = ""
    if data is not None:
        target = tmp_path / "data.nq"
        target.write_text(data, encoding="utf-8")
        path = str(target)
    child_env = {k: v for k, v in os.environ.items() if k != "RUST_BACKTRACE"}
    child_env.update(env or {})
    return subprocess.run([sys.executable, "-c", CHILD, path], input=query, text=True,
                          capture_output=True, env=child_env, timeout=120, check=False)


def rows_of(result: subprocess.CompletedProcess[str]) -> list[list[str | None]]:
    assert result.returncode == 0, result.stderr[-3000:]
    rows: list[list[str | None]] = json.loads(result.stdout)["rows"]
    return rows


def values_query(terms: list[str], order: str = "?x") -> str:
    return f"SELECT ?x WHERE {{ VALUES ?x {{ {' '.join(terms)} }} }} ORDER BY {order}"


# -- the defect ---------------------------------------------------------------------------------

def test_order_by_over_mixed_literals_aborts_the_process(tmp_path: Path) -> None:
    result = run_child(tmp_path, ORDER_QUERY, mixed_triples())
    assert result.returncode == -signal.SIGABRT, (result.returncode, result.stderr[-2000:])
    assert "caught" not in result.stdout  # not even `except BaseException` sees it
    assert "does not correctly implement a total order" in result.stderr
    assert "Fatal Python error: Aborted" in result.stderr
    assert order_by_abort(result.stderr)
    assert classify_crash(result.stderr, -result.returncode) == (
        "engine-defect", ORDER_BY_DEFECT_MESSAGE)
    assert classify_crash(result.stderr) == ("engine-defect", ORDER_BY_DEFECT_MESSAGE)


def test_the_abort_is_recognised_with_a_rust_backtrace_too(tmp_path: Path) -> None:
    result = run_child(tmp_path, ORDER_QUERY, mixed_triples(), {"RUST_BACKTRACE": "1"})
    assert result.returncode == -signal.SIGABRT
    assert "panic_on_ord_violation" in result.stderr
    # The frame name alone is enough when a long backtrace pushed the message out of the tail.
    tail = result.stderr[result.stderr.index("stack backtrace:"):]
    assert order_by_abort(tail)


def test_under_21_values_the_engine_misorders_quietly(tmp_path: Path) -> None:
    """Three values make the comparator cycle: 2 < 10 by value, "10" < "1z" < "2" by text.
    Insertion sort does not check, so this comes back in an order that puts 10 before 2."""
    rows = rows_of(run_child(tmp_path, values_query(['"1z"', "10", "2"])))
    assert [row[0] for row in rows] == [
        f'"10"^^<{XSD}integer>', '"1z"', f'"2"^^<{XSD}integer>']


# -- the rewrite --------------------------------------------------------------------------------

def test_rewritten_query_sorts_what_aborted(tmp_path: Path) -> None:
    rows = rows_of(run_child(tmp_path, total_order_by(ORDER_QUERY), mixed_triples()))
    values = [row[0] for row in rows]
    assert values == (sorted(f'"{k}x"' for k in range(1, 12))
                      + [f'"{k}"^^<{XSD}integer>' for k in range(1, 11)])
    descending = total_order_by(ORDER_QUERY.replace("BY ?o", "BY DESC(?o)"))
    assert [row[0] for row in rows_of(run_child(tmp_path, descending, mixed_triples()))] \
        == values[::-1]


def test_rewritten_order_is_the_engine_order_within_one_kind(tmp_path: Path) -> None:
    texts = ['"b"', '"a"@en', '"a"', '"B"@de', f'"true"^^<{XSD}boolean>', '"x"^^<http://e/t>',
             f'"abc"^^<{XSD}integer>', '"é"', '""', '"a"@de']
    numbers = ["10", "2", "-3", "2.5", "0.1", "100", "7", "99.99", "-0.5", "1"]
    for terms in (texts, numbers):
        plain = rows_of(run_child(tmp_path, values_query(terms)))
        rewritten = rows_of(run_child(tmp_path, total_order_by(values_query(terms))))
        assert rewritten == plain


def test_rewrite_keeps_numeric_order_and_settles_unequal_equals(tmp_path: Path) -> None:
    """16777216 and 16777217 both equal "16777216"^^xsd:float to the engine; 0.1 (decimal) and
    0.100000000000000001 both equal "0.1"^^xsd:double. Padded past 20 values, that aborts."""
    tricky = ["16777216", "16777217", f'"16777216"^^<{XSD}float>', "0.1",
              "0.100000000000000001", f'"0.1"^^<{XSD}double>', f'"NaN"^^<{XSD}double>',
              f'"-INF"^^<{XSD}float>', "3", f'"3"^^<{XSD}int>']
    terms = tricky * 3
    rows = rows_of(run_child(tmp_path, total_order_by(values_query(terms))))
    order = [row[0] for row in rows]
    assert order[:3] == [f'"-INF"^^<{XSD}float>'] * 3
    assert order[-3:] == [f'"NaN"^^<{XSD}double>'] * 3
    assert order.index(f'"16777216"^^<{XSD}integer>') < order.index(f'"16777217"^^<{XSD}integer>')
    assert order.index(f'"0.1"^^<{XSD}decimal>') \
        < order.index(f'"0.100000000000000001"^^<{XSD}decimal>')


def test_rewrite_orders_times_with_and_without_zone(tmp_path: Path) -> None:
    """Within 14 hours the engine calls a zoned and an unzoned time indeterminate and compares
    their text, which cycles; the rewrite reads a missing zone as Z (XPath's implicit one)."""
    def dt(text: str) -> str:
        return f'"{text}"^^<{XSD}dateTime>'
    cycle = [dt("2020-01-01T10:00:00+05:00"), dt("2020-01-01T06:00:00Z"),
             dt("2020-01-01T08:00:00")]
    terms = cycle * 7
    rows = rows_of(run_child(tmp_path, total_order_by(values_query(terms))))
    order = [row[0] for row in rows]
    assert order == [f'"2020-01-01T10:00:00+05:00"^^<{XSD}dateTime>'] * 7 + [
        f'"2020-01-01T06:00:00Z"^^<{XSD}dateTime>'] * 7 + [
        f'"2020-01-01T08:00:00"^^<{XSD}dateTime>'] * 7


def test_rewrite_sorts_a_cycle_of_durations(tmp_path: Path) -> None:
    """P301D < P10M at all four reference points; P2M242D is indeterminate with both and its
    text sorts between them: a cycle."""
    def dur(text: str) -> str:
        return f'"{text}"^^<{XSD}duration>'
    terms = [dur("P10M"), dur("P301D"), dur("P2M242D")] * 7
    rows = rows_of(run_child(tmp_path, total_order_by(values_query(terms))))
    order = [row[0] for row in rows]
    # Measured from 1969-09-01: P301D, P10M = 303 days, P2M242D = 303 days (then by text).
    assert order == [f'"P301D"^^<{XSD}duration>'] * 7 + [f'"P10M"^^<{XSD}duration>'] * 7 + [
        f'"P2M242D"^^<{XSD}duration>'] * 7


def test_rewrite_keeps_unbound_first_then_nodes_then_literals(tmp_path: Path) -> None:
    query = ("SELECT ?x WHERE { VALUES ?x { 5 UNDEF <http://e/b> \"a\" <http://e/a> } } "
             "ORDER BY ?x")
    order = [row[0] for row in rows_of(run_child(tmp_path, total_order_by(query)))]
    assert order == [None, "<http://e/a>", "<http://e/b>", '"a"', f'"5"^^<{XSD}integer>']


def test_every_key_is_a_sparql_expression(tmp_path: Path) -> None:
    keys = order_keys("?x")
    query = "SELECT * WHERE { VALUES ?x { 1 } " + " ".join(
        f"BIND({key} AS ?k{i})" for i, key in enumerate(keys)) + " }"
    assert len(rows_of(run_child(tmp_path, query))[0]) == len(keys) + 1


# -- reading ORDER BY ---------------------------------------------------------------------------

def conditions(query: str) -> list[list[tuple[str, bool]]]:
    return [[(c.expression, c.descending) for c in clause.conditions]
            for clause in inspect_query(query).order]


def test_queries_without_order_by_are_returned_as_they_are() -> None:
    query = ("PREFIX ex: <http://e/> SELECT ?o WHERE { ?s ex:ORDER ?o . "
             "?s <http://e/#ORDER_BY> ?o FILTER(?o != 'ORDER BY ?o') } # ORDER BY ?o\n")
    assert conditions(query) == []
    assert total_order_by(query) is query


def test_order_by_conditions_are_read() -> None:
    query = ("PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> "
             "SELECT * WHERE { { SELECT ?s WHERE { ?s ?p ?o } ORDER BY STR(?s) LIMIT 2 } } "
             "order by desc(?s) (?s + 1) xsd:string(?s) <http://f>(?s) "
             "NOT EXISTS { ?s ?p 1 } EXISTS{?s ?p 2} ASC(?o) OFFSET 1")
    assert conditions(query) == [
        [("STR(?s)", False)],
        [("?s", True), ("(?s + 1)", False), ("xsd:string(?s)", False),
         ("<http://f>(?s)", False), ("NOT EXISTS { ?s ?p 1 }", False),
         ("EXISTS{?s ?p 2}", False), ("?o", False)],
    ]
    assert conditions("SELECT ?c WHERE {} ORDER BY (?a<?b) ?c VALUES ?c { 1 }") == [
        [("(?a<?b)", False), ("?c", False)]]


def test_each_condition_becomes_its_keys() -> None:
    rewritten = total_order_by("SELECT * WHERE { ?s ?p ?o } ORDER BY DESC(?o) STR(?s) LIMIT 3")
    keys_o = " ".join(f"DESC({key})" for key in order_keys("?o"))
    keys_s = " ".join(f"ASC({key})" for key in order_keys("STR(?s)"))
    assert rewritten == f"SELECT * WHERE {{ ?s ?p ?o }} ORDER BY {keys_o} {keys_s} LIMIT 3"


def test_a_subject_or_predicate_is_sorted_as_written() -> None:
    """RDF puts only IRIs and blank nodes there, which the engine orders totally."""
    query = "SELECT * WHERE { ?s ?p ?o } ORDER BY DESC(?p) ?s LIMIT 3"
    assert total_order_by(query) == query


def test_a_comment_inside_a_condition_stays_closed() -> None:
    rewritten = total_order_by("SELECT * WHERE { ?s ?p ?o } ORDER BY ASC( ?o # the object\n)")
    assert rewritten.startswith("SELECT * WHERE { ?s ?p ?o } ORDER BY ASC(IF(isIRI((?o))")
    assert inspect_query(rewritten).order[0].conditions[0].descending is False


def test_an_oversized_expression_is_left_to_the_engine() -> None:
    long = " + ".join(["?o"] * (MAX_REWRITTEN_EXPRESSION // 5 + 1))
    query = f"SELECT * WHERE {{ ?s ?p ?o }} ORDER BY ({long})"
    assert total_order_by(query) is query


@pytest.mark.parametrize("query", [
    "SELECT ?o WHERE { ?s ?p ?o } ORDER BY",
    "SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o .",
    "SELECT ?o WHERE { ?s ?p ?o } ORDER BY (?o",
    "SELECT ?o WHERE { ?s ?p ?o } ORDER BY \"open",
])
def test_broken_order_by_clauses_are_refused_before_any_rewrite(query: str) -> None:
    with pytest.raises(QueryRejected) as caught:
        inspect_query(query)
    assert caught.value.kind == "syntax"


# -- telling deaths apart -----------------------------------------------------------------------

def test_classify_crash_kinds() -> None:
    assert classify_crash(ABORT_LOG)[0] == "engine-defect"
    assert classify_crash(ABORT_LOG, signal.SIGABRT)[0] == "engine-defect"
    assert classify_crash(SEGFAULT_LOG)[0] == "crash"
    assert classify_crash("", signal.SIGSEGV)[0] == "crash"
    assert classify_crash("memory allocation of 1048576 bytes failed\n")[0] == "memory"
    assert classify_crash("")[0] == "killed"
    assert classify_crash("", signal.SIGKILL)[0] == "killed"
    assert classify_crash("", signal.SIGABRT)[0] == "crash"
    other_panic = "thread '<unnamed>' (1) panicked at lib/x.rs:1:1:\nindex out of bounds\n"
    assert classify_crash(other_panic)[0] == "crash"
    # Only the last panic counts: a process dies at its first one, so an earlier report is
    # from text that merely quotes one.
    assert classify_crash(ABORT_LOG + other_panic)[0] == "crash"
    assert classify_crash(ABORT_LOG)[1] == ORDER_BY_DEFECT_MESSAGE
    assert "ORDER BY" in ORDER_BY_DEFECT_MESSAGE


def test_a_stack_overflow_leaves_no_rust_text(tmp_path: Path) -> None:
    depth = 2500
    query = "SELECT * WHERE " + "{" * depth + " ?s ?p ?o " + "}" * depth
    result = run_child(tmp_path, query)
    if result.returncode == 0:
        pytest.skip("the engine survived this nesting with this stack size")
    assert result.returncode == -signal.SIGSEGV
    assert "panicked" not in result.stderr and "overflow" not in result.stderr
    assert "Fatal Python error: Segmentation fault" in result.stderr
    assert classify_crash(result.stderr, -result.returncode)[0] == "crash"


# -- conditions the engine already sorts totally (the release's object-kinds record) ------------

EX = "http://example.org/"


def kind_triples(objects: list[str]) -> str:
    return "".join(f"<{EX}s{i}> <{EX}p> {o} .\n" for i, o in enumerate(objects))


SAFE_OBJECTS = {
    # Equal values in several languages and as xsd:string; more than 20, so Rust's sort checks.
    KIND_STRING: [f'"{v}"{tag}' for v in ("b", "a", "B", "é", "", "a b", "10", "9")
                  for tag in ("", "@en", "@de", f"^^<{XSD}string>")],
    # Integers and decimals, equal values written differently among them.
    KIND_NUMBER: [f'"{v}"^^<{XSD}{t}>' for v in ("10", "2", "-3", "01", "1", "0", "99", "-0")
                  for t in ("integer", "decimal")] + [f'"{v}"^^<{XSD}decimal>' for v in (
                      "1.0", "0.1", "2.50", "-0.5", "99.99", "100.00000000000000001")],
    KIND_NODE: [f"<{EX}n{k}>" for k in (10, 2, 1, 30, 4)] + [f"_:b{k}" for k in range(8)]
    + [f"<{EX}{c}>" for c in "zZaA0é"] + ["<urn:x>", "<http://a/>"],
}


def test_object_kinds_of_a_record() -> None:
    def term(text: str) -> object:
        return next(ox.parse(f"<{EX}s> <{EX}p> {text} .", format=ox.RdfFormat.N_TRIPLES)).object

    for kind, objects in SAFE_OBJECTS.items():
        assert {object_kind(term(o)) for o in objects} == {kind}, kind
    for unsafe in (f'"abc"^^<{XSD}integer>', f'"99999999999999999999"^^<{XSD}integer>',
                   f'"1.5"^^<{XSD}double>', f'"1"^^<{XSD}float>', f'"true"^^<{XSD}boolean>',
                   f'"2020-01-01"^^<{XSD}date>', f'" 1"^^<{XSD}integer>', '"x"^^<http://e/t>',
                   f'"1."^^<{XSD}decimal>'):
        assert object_kind(term(unsafe)) is None, unsafe
    p, q, r = ox.NamedNode(f"{EX}p"), ox.NamedNode(f"{EX}q"), ox.NamedNode(f"{EX}r")
    pairs = [(p, term('"a"')), (p, term('"b"@en')), (q, term('"1"^^<http://www.w3.org/2001/'
                                                               'XMLSchema#integer>')),
             (q, term('"a"')), (r, term(f"<{EX}x>"))]
    assert object_kinds(pairs) == {f"{EX}p": KIND_STRING, f"{EX}r": KIND_NODE}


@pytest.mark.parametrize("kind", sorted(SAFE_OBJECTS))
def test_a_safe_kind_sorts_as_written_like_the_rewrite(tmp_path: Path, kind: str) -> None:
    """The claim the record rests on: on objects of one safe kind the engine's own ORDER BY
    neither aborts nor differs from the rewritten (total) order, ascending and descending."""
    data = kind_triples(SAFE_OBJECTS[kind])
    record = {f"{EX}p": kind}
    for order in ("?o", "DESC(?o)"):
        query = f"SELECT ?o WHERE {{ ?s <{EX}p> ?o }} ORDER BY {order} ?s"
        info = inspect_query(query)
        assert order_edits(info, record) == []  # left as written
        plain = rows_of(run_child(tmp_path, query, data))
        rewritten = rows_of(run_child(tmp_path, apply_edits(query, order_edits(info)), data))
        values = [row[0] for row in plain]
        assert len(values) == len(SAFE_OBJECTS[kind])
        if kind == KIND_NODE:  # blank node labels are the store's own: compare IRIs only
            values = [v for v in values if v and v.startswith("<")]
            rewritten = [row for row in rewritten if row[0] and row[0].startswith("<")]
        assert values == [row[0] for row in rewritten]


def test_mixed_objects_stay_rewritten_and_sort(tmp_path: Path) -> None:
    """The record leaves out a predicate with mixed objects, so its condition is rewritten:
    the query that aborts as written sorts."""
    pairs = [(t.predicate, t.object) for t in ox.parse(mixed_triples(),
                                                       format=ox.RdfFormat.N_TRIPLES)]
    record = object_kinds(pairs)
    assert record == {}
    query = f"SELECT ?o WHERE {{ ?s <{EX}p> ?o }} ORDER BY ?o"
    edits = order_edits(inspect_query(query), record)
    assert edits
    assert len(rows_of(run_child(tmp_path, apply_edits(query, edits), mixed_triples()))) == 21


RECORD = {f"{EX}label": KIND_STRING, f"{EX}value": KIND_NUMBER, f"{EX}link": KIND_NODE,
          f"{EX}other": KIND_STRING}
PAGED = (f"PREFIX : <{EX}> SELECT * WHERE {{ ?s :label ?label ; :link ?t . ?t :value ?value }} "
         "ORDER BY ?label DESC(?value) ?s ?t LIMIT 25")


def test_conditions_the_record_covers_are_left_as_written() -> None:
    info = inspect_query(PAGED)
    assert order_edits(info, RECORD) == []
    assert len(order_edits(info)) == 1  # without the record: every condition rewritten
    # One condition not covered: only that one becomes keys.
    mixed = PAGED.replace("?s ?t LIMIT", "?s ?t ?unknown LIMIT").replace(
        "?t :value ?value", "?t :value ?value . ?t :mixed ?unknown")
    [(_, _, text)] = order_edits(inspect_query(mixed), RECORD)
    assert text.startswith("ORDER BY ASC(?label) DESC(?value) ASC(?s) ASC(?t) ASC(")
    assert text.count("?unknown") > 10


@pytest.mark.parametrize("where", [
    "?s :label ?x . ?s :value ?x",  # two kinds
    "?s :label ?x . ?s :mixed ?x",  # a predicate the record leaves out
    "?s :label/:other ?x",  # a property path
    "?s :link* ?x",  # zero-length: any term, literals too
    "?x :link* ?s",
    "?x ^:link ?s",
    "?s ?p ?x",  # a variable predicate
    "?s :label ?y BIND(?y AS ?x)",
    "?s :label ?x VALUES ?x { 1 }",
    "{ ?s :label ?x } UNION { ?s :value ?x }",
    "?s :label ?y { SELECT (MAX(?v) AS ?x) WHERE { ?a :value ?v } }",
    "?s :link ( ?x )",  # a collection: rdf:first's object
    "GRAPH ?x { ?s :link ?t }",
    "?s :link ?t OPTIONAL { ?t :other ?x } OPTIONAL { ?t :value ?x }",
])
def test_other_bindings_keep_the_rewrite(where: str) -> None:
    query = f"PREFIX : <{EX}> SELECT * WHERE {{ {where} }} ORDER BY ?x"
    assert order_edits(inspect_query(query), RECORD), where


@pytest.mark.parametrize("where", [
    "?x :link ?t",  # a subject
    "?x :link/:link* ?t",  # a path's subject after a first step
    "?t :link ?x . ?x a ?c",
    "?t ?x ?o",  # a predicate
    "?t :label ?y FILTER(?x = ?y)",  # never bound: unbound everywhere
    "?s :label ?x OPTIONAL { ?s :other ?x } FILTER(STRLEN(?x) > 1)",
    "?s :link [ :label ?x ]",
])
def test_node_and_single_kind_bindings_need_no_rewrite(where: str) -> None:
    query = f"PREFIX : <{EX}> SELECT ?x (COUNT(*) AS ?n) WHERE {{ {where} }} GROUP BY ?x " \
            "ORDER BY DESC(?x)"
    assert order_edits(inspect_query(query), RECORD) == [], where


def test_the_build_records_object_kinds_and_the_query_processes_read_them(
        built_dataset: BuiltDataset, tmp_path: Path) -> None:
    kinds = release_object_kinds(built_dataset.dataset)
    rdfs, kedo = "http://www.w3.org/2000/01/rdf-schema#", "https://w3id.org/ketamine-ed/ontology/"
    assert kinds[f"{rdfs}label"] == KIND_STRING
    assert kinds[f"{kedo}doseValue"] == KIND_NUMBER
    assert kinds[f"{kedo}hasDose"] == KIND_NODE
    # A manifest that does not describe the file (another size) is not believed.
    copy = tmp_path / "dataset.nq"
    copy.write_bytes(built_dataset.dataset.read_bytes() + b"\n")
    manifest = json.loads((pin_dataset(built_dataset.dataset).parent / "manifest.json")
                          .read_text(encoding="utf-8"))
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert release_object_kinds(copy) == {}
