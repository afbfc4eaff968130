"""The query inspector: keywords are found only where they are keywords."""

from __future__ import annotations

import pytest

from ketamine_ed_kg.security import (
    PolicyViolation,
    apply_row_cap,
    check_policy,
    inspect_query,
)


def test_forms() -> None:
    assert inspect_query("PREFIX a: <http://a/> SELECT * {}").form == "SELECT"
    assert inspect_query("# comment\nask {}").form == "ASK"
    assert inspect_query("BASE <http://b/> CONSTRUCT WHERE {}").form == "CONSTRUCT"
    assert inspect_query("DESCRIBE <http://x>").form == "DESCRIBE"
    for update in ("INSERT DATA {}", "load <http://x>", "WITH <g> DELETE {} WHERE {}",
                   "CLEAR ALL", "SELECT * {} ; DROP ALL"):
        assert inspect_query(update).is_update, update


def test_service_found_only_as_keyword() -> None:
    assert inspect_query("SELECT * { SERVICE <http://e/> { ?s ?p ?o } }").services == [
        "http://e/"]
    assert inspect_query("SELECT * { service silent ?ep { } }").services == ["?ep"]
    text = ('PREFIX ex: <http://x/> SELECT ("SERVICE <http://a/>" AS ?x) ?service '
            "{ ex:SERVICE ex:p '''SERVICE <http://b/>''' } # SERVICE <http://c/>")
    assert inspect_query(text).services == []


def test_from_resolved_with_prefix_and_base() -> None:
    info = inspect_query("BASE <http://base.example/dir/> PREFIX g: <http://g.example/> "
                         "SELECT * FROM <rel.ttl> FROM NAMED g:one WHERE {}")
    assert info.from_graphs == ["http://base.example/dir/rel.ttl"]
    assert info.from_named == ["http://g.example/one"]


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
    with pytest.raises(PolicyViolation, match="read-only"):
        check_policy(inspect_query("INSERT DATA {}"), graphs_in_store=store)
    with pytest.raises(PolicyViolation, match="not in this store"):
        check_policy(inspect_query("ASK {}"), graphs_in_store=store,
                     extra_graphs=["file:///etc/passwd"])


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
    values = "SELECT * { ?s ?p ?o } VALUES ?s { <http://a> } # end"
    capped = apply_row_cap(values, inspect_query(values), 3)
    assert capped is not None
    assert capped.text.index("LIMIT 3") < capped.text.index("VALUES")
