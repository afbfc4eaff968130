"""The SPARQL parser saved beside a release (parser_cache): read back, it must decide exactly
what a freshly built one decides, with our terminal edits and bracket-depth callbacks; any
file it cannot trust or read, or one saved by other code, must give a built parser instead."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import lark
import pyoxigraph as ox
import pytest
from lark import Lark
from lark.lexer import PatternRE, TerminalDef

import test_server_security as security_tests
from ketamine_ed_kg import parser_cache, security
from ketamine_ed_kg.build import build
from ketamine_ed_kg.examples import load_examples
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.security import QueryRejected, inspect_query
from support.project import copy_checkout
from support.server import request, waitress_server, write_dataset


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the parser saved by this code."""
    folder = tmp_path_factory.mktemp("release")
    assert parser_cache.save(security.parser(), folder) == parser_cache.cache_file(
        folder, parser_cache.cache_key())
    return folder


@pytest.fixture()
def loaded(saved: Path) -> Iterator[Lark]:
    """The saved parser, read back and installed as this process's parser for one test."""
    parser = parser_cache.load(saved)
    assert parser is not None
    assert parser is not security.parser()
    kept = list(security._PARSER)
    security._PARSER[:] = [parser]
    try:
        yield parser
    finally:
        security._PARSER[:] = kept


def _verdict(text: str) -> object:
    """What ``inspect_query`` makes of ``text``: its QueryInfo, or the refusal."""
    try:
        return inspect_query(text)
    except QueryRejected as exc:
        return (exc.kind, exc.message)


def test_loaded_parser_reads_every_example_as_the_built_one(loaded: Lark,
                                                             sources: ProjectPaths) -> None:
    texts = [example.query for example in load_examples(sources.queries_dir)]
    texts += security_tests.ADVERSARIAL
    assert len(texts) > 30
    with_loaded = [_verdict(text) for text in texts]
    security._PARSER[:] = [security.build_parser()]
    assert [_verdict(text) for text in texts] == with_loaded
    assert any(not isinstance(v, tuple) for v in with_loaded), "some query is read"


def test_loaded_parser_keeps_the_depth_callbacks(loaded: Lark) -> None:
    assert security.parser() is loaded
    security_tests.test_depth_cap()
    security_tests.test_chain_cap()


@pytest.mark.parametrize("text", security_tests.ADVERSARIAL)
def test_loaded_parser_agrees_with_the_engine_on_service(loaded: Lark, text: str) -> None:
    """Our comment rule (``_engine_whitespace``, an ``edit_terminals`` edit) survives saving."""
    security_tests.test_parse_and_engine_agree_on_service(text)


def test_loaded_parser_on_the_w3c_syntax_suites(loaded: Lark, shared_dir: Path) -> None:
    security_tests.test_w3c_syntax_suites(shared_dir)


def test_loaded_parser_refuses_what_the_built_one_refuses(loaded: Lark) -> None:
    security_tests.test_forms()
    security_tests.test_ambiguous_path_modifier_refused()
    security_tests.test_tokens_the_engine_reads_otherwise_refused()
    with pytest.raises(QueryRejected) as caught:
        inspect_query("INSERT DATA { <urn:a> <urn:b> <urn:c> }")
    assert caught.value.kind == "update"


def _other_edit(term: TerminalDef) -> None:
    if term.name == "__IGNORE_0":
        term.pattern = PatternRE(r"(?:[ \t\n]|#[^\n]*)+")


def test_key_follows_grammar_lark_options_and_our_edits(monkeypatch: pytest.MonkeyPatch) -> None:
    key = parser_cache.cache_key()
    assert parser_cache.cache_key() == key
    assert parser_cache.cache_key(security.grammar_text() + "\n// changed\n") != key
    monkeypatch.setattr(security, "PARSER_EDITS", (_other_edit,))
    assert parser_cache.cache_key() != key
    monkeypatch.undo()
    monkeypatch.setattr(security, "PARSER_OPTIONS", {**security.PARSER_OPTIONS,
                                                     "keep_all_tokens": False})
    assert parser_cache.cache_key() != key
    monkeypatch.undo()
    monkeypatch.setattr(lark, "__version__", "0.0.1")
    assert parser_cache.cache_key() != key


def test_a_file_of_other_code_is_not_read(saved: Path, tmp_path: Path) -> None:
    key = parser_cache.cache_key()
    other = "0" * 64
    # Same bytes under another key's name, and this key's name with another key's header.
    (tmp_path / parser_cache.cache_file(tmp_path, other).name).write_bytes(
        parser_cache.cache_file(saved, key).read_bytes())
    assert parser_cache.load(tmp_path, other) is None
    body = parser_cache.cache_file(saved, key).read_bytes()
    parser_cache.cache_file(tmp_path, key).write_bytes(
        body.replace(key.encode(), other.encode(), 1))
    assert parser_cache.load(tmp_path, key) is None


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_file_gives_a_built_parser(saved: Path, tmp_path: Path, damage: str) -> None:
    key = parser_cache.cache_key()
    good = parser_cache.cache_file(saved, key).read_bytes()
    header = good[:good.index(b"\n") + 1]
    body = {"truncated": good[:len(good) // 2], "garbage": header + b"\x80\x05not a pickle",
            "empty": b""}[damage]
    target = parser_cache.cache_file(tmp_path, key)
    target.write_bytes(body)
    assert parser_cache.load(tmp_path, key) is None
    prepared = parser_cache.prepare(tmp_path)
    assert prepared is security.parser()
    assert target.read_bytes() == good, "a damaged file is replaced by a good one"
    assert parser_cache.load(tmp_path, key) is not None


def test_a_file_others_may_write_is_not_read(saved: Path, tmp_path: Path) -> None:
    key = parser_cache.cache_key()
    target = parser_cache.cache_file(tmp_path, key)
    target.write_bytes(parser_cache.cache_file(saved, key).read_bytes())
    assert parser_cache.load(tmp_path, key) is not None
    target.chmod(0o666)
    assert parser_cache.load(tmp_path, key) is None
    target.chmod(0o644)
    target.rename(tmp_path / "elsewhere")
    target.symlink_to(tmp_path / "elsewhere")
    assert parser_cache.load(tmp_path, key) is None, "a symlink is not followed"


def test_a_folder_that_cannot_be_written_still_gives_a_parser(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-release"
    assert parser_cache.save(security.parser(), missing) is None
    assert parser_cache.prepare(missing) is security.parser()
    assert not missing.exists()
    assert parser_cache.prepare(None) is security.parser()


def test_provide_copies_a_trusted_sibling_and_never_an_untrusted_one(
        saved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``build``'s path: a new release gets the file of another release of the same build
    folder (a copy, no parser built), but only from a file that load would trust."""
    key = parser_cache.cache_key()
    releases = tmp_path / "releases"
    old, untrusted, new = (releases / name for name in ("a-old", "b-untrusted", "c-new"))
    for folder in (old, untrusted, new):
        folder.mkdir(parents=True)
    payload = parser_cache.cache_file(saved, key).read_bytes()
    parser_cache.cache_file(old, key).write_bytes(payload)
    built: list[int] = []

    def counted() -> Lark:
        built.append(1)
        return security.build_parser()

    monkeypatch.setattr(security, "parser", counted)
    assert parser_cache.provide(new) == parser_cache.cache_file(new, key)
    assert parser_cache.cache_file(new, key).read_bytes() == payload
    assert not built, "copied, not built"
    assert parser_cache.provide(new) == parser_cache.cache_file(new, key), "kept as it is"

    parser_cache.cache_file(old, key).unlink()
    parser_cache.cache_file(new, key).unlink()
    sibling = parser_cache.cache_file(untrusted, key)
    sibling.write_bytes(payload)
    sibling.chmod(0o666)
    assert parser_cache.provide(new) == parser_cache.cache_file(new, key)
    assert built == [1], "a file others may write is not copied: the parser is built"
    assert parser_cache.load(new, key) is not None


@pytest.mark.rebuild
def test_build_leaves_the_parser_in_the_release(sources: ProjectPaths, tmp_path: Path) -> None:
    """The first start of a fresh build reads the parser too (no service ran on it)."""
    result = build(copy_checkout(sources, tmp_path))
    assert parser_cache.load(result.release) is not None


def test_save_leaves_a_file_only_its_owner_writes(saved: Path) -> None:
    mode = parser_cache.cache_file(saved, parser_cache.cache_key()).stat().st_mode
    assert not mode & (stat.S_IWGRP | stat.S_IWOTH)
    assert [p.name for p in saved.iterdir()] == [
        parser_cache.cache_file(saved, parser_cache.cache_key()).name], "no temporary file left"


def test_a_fresh_process_prepares_from_the_saved_file(saved: Path) -> None:
    """The zygote's path: a new interpreter reads the file and never builds the tables."""
    code = ("import sys; from pathlib import Path; from unittest import mock\n"
            "from ketamine_ed_kg import parser_cache, security\n"
            "with mock.patch.object(security, 'build_parser', side_effect=AssertionError)"
            " as build:\n"
            "    p = parser_cache.prepare(Path(sys.argv[1]))\n"
            "assert p is security.parser() and not build.called\n"
            "info = security.inspect_query('SELECT * { ' + '{' * 20 + '}' * 20 + ' }')\n"
            "print(info.depth)\n")
    done = subprocess.run([sys.executable, "-c", code, str(saved)], capture_output=True,
                          text=True, check=False, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              p for p in sys.path if p)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "21"


def test_the_service_saves_the_parser_beside_its_dataset(tmp_path: Path) -> None:
    """First start: built and saved beside the dataset; next start: read, and the depth cap
    (a lexer callback) still refuses a deep query with the limit's 400."""
    dataset = write_dataset(tmp_path / "dataset.nq", {
        "http://example.org/g": ("<urn:a> <urn:b> <urn:c> .", ox.RdfFormat.N_TRIPLES)})
    saved_file = parser_cache.cache_file(tmp_path, parser_cache.cache_key())
    for start in (1, 2):
        with waitress_server(dataset, workers=1, max_query_depth=5) as server:
            assert saved_file.exists(), f"start {start}"
            ok = request(server.endpoint + "?" + urlencode(
                {"query": "ASK { <urn:a> <urn:b> <urn:c> }"}),
                headers={"Accept": "application/sparql-results+json"})
            assert ok.status == 200 and json.loads(ok.body)["boolean"] is True
            deep = request(server.endpoint + "?" + urlencode({"query": "ASK " + "{" * 9
                                                                        + "}" * 9}))
            assert deep.status == 400 and "max_query_depth" in deep.text
