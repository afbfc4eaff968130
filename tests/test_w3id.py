"""The redirect rules we would submit to w3id.org (docs/w3id/.htaccess), against the live app.

The rules are read from the file and applied as Apache's mod_rewrite applies them in a
directory context: rules in order, each rule's ``RewriteCond`` lines ANDed (``[OR]`` joins a
condition with the next), ``!`` negating, ``$N`` from the rule's pattern, ``%{ENV:...}`` from an
``[E=...]`` flag, the first rule with ``L`` ending. The patterns are Apache PCRE of the kind
Python's ``re`` reads the same way. Sample IRIs of every family, with the Accept headers of a
browser and of RDF clients, must be redirected to a path that is a route of the app, and the
target must answer 200 there with the representation the rule picked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ketamine_ed_kg.iris import BASE
from ketamine_ed_kg.server.run import LiveServer
from support.server import request

HTACCESS = Path(__file__).resolve().parents[1] / "docs" / "w3id" / ".htaccess"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@dataclass
class Rule:
    """One RewriteRule with the RewriteCond lines before it."""

    pattern: str
    target: str
    flags: dict[str, str]
    conditions: list[tuple[str, str, bool]] = field(default_factory=list)
    """(test string, pattern, [OR] with the next)."""


def _flags(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for flag in text.strip("[]").split(","):
        key, _, value = flag.partition("=")
        found[key] = value
    return found


def read_rules(path: Path = HTACCESS) -> list[Rule]:
    """The RewriteRules of an .htaccess file, in order."""
    rules: list[Rule] = []
    pending: list[tuple[str, str, bool]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if parts[0] == "RewriteCond":
            flags = _flags(parts[3]) if len(parts) > 3 else {}
            pending.append((parts[1], parts[2], "OR" in flags))
        elif parts[0] == "RewriteRule":
            rules.append(Rule(parts[1], parts[2], _flags(parts[3]) if len(parts) > 3 else {},
                              pending))
            pending = []
    assert not pending, "a RewriteCond without its RewriteRule"
    return rules


def _condition_holds(test: str, pattern: str, headers: dict[str, str]) -> bool:
    match = re.fullmatch(r"%\{HTTP_([A-Z_]+)\}", test)
    assert match, f"only %{{HTTP_*}} conditions are read here, not {test}"
    value = headers.get(match.group(1).replace("_", "-").lower(), "")
    negated = pattern.startswith("!")
    found = re.search(pattern.lstrip("!"), value) is not None
    return found != negated


def _conditions_hold(conditions: list[tuple[str, str, bool]], headers: dict[str, str]) -> bool:
    """mod_rewrite's reading: ANDed, except that ``[OR]`` joins one with the next."""
    result = True
    group = False
    for test, pattern, joined in conditions:
        group = group or _condition_holds(test, pattern, headers)
        if not joined:
            result = result and group
            group = False
    return result


def rewrite(rules: list[Rule], path: str, headers: dict[str, str], service: str
            ) -> tuple[int, str] | None:
    """(status, target URL) of the redirect for ``path`` (relative to the w3id folder), or
    None when no rule redirects it."""
    env: dict[str, str] = {}
    for rule in rules:
        match = re.search(rule.pattern, path)
        if match is None or not _conditions_hold(rule.conditions, headers):
            continue
        if "E" in rule.flags:
            name, _, _value = rule.flags["E"].partition(":")
            env[name] = service  # the rule names the deployment; the test serves it here
        if rule.target == "-":
            continue
        target = re.sub(r"%\{ENV:([A-Za-z_]+)\}", lambda m: env[m.group(1)], rule.target)
        for number, value in enumerate((match.group(0), *match.groups())):
            target = target.replace(f"${number}", value or "")
        if "R" in rule.flags:
            return int(rule.flags["R"] or 302), target
        if "L" in rule.flags:
            return None
    return None


SAMPLES = (
    "ontology", "ontology/HumanStudy", "ontology/hasDesign", "resource/mills-1998",
    "graph/asserted", "graph/inferred", "graph/ontology", "graph/void", "graph/examples",
    "graph/service-description", "dataset", "external/mondo", "shapes/StudyShape",
    "query/001_table1_ketamine_studies",
)
"""A sample IRI (relative to BASE) of every described family."""

ACCEPTS = (
    (BROWSER, "text/html"),
    ("text/turtle", "text/turtle"),
    ("application/ld+json", "application/ld+json"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("application/n-triples", "application/n-triples"),
    ("", "text/turtle"),
    ("text/turtle, text/html;q=0.5", "text/turtle"),
)
"""Accept headers and the representation the redirect and the service must lead to."""


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    return read_rules()


def test_every_family_is_covered(rules: list[Rule]) -> None:
    patterns = {rule.pattern for rule in rules}
    for sample in SAMPLES:
        assert any(re.search(p, sample) for p in patterns), sample
    # Everything under BASE that is not one of our routes is left alone.
    assert rewrite(rules, "no/such/family", {}, "http://x") is None


@pytest.mark.parametrize(("accept", "media"), ACCEPTS)
def test_redirects_reach_the_app(rules: list[Rule], live_server: LiveServer, accept: str,
                                 media: str) -> None:
    adapter = live_server.app.url_map.bind("127.0.0.1")
    headers = {"accept": accept} if accept else {}
    for sample in SAMPLES:
        found = rewrite(rules, sample, headers, live_server.base)
        assert found is not None, f"{BASE}{sample} is not redirected"
        status, target = found
        assert status == 303  # the IRI names a thing; the service's URL is a document about it
        parts = urlsplit(target)
        assert parts.path == "/" + sample
        endpoint, _ = adapter.match(parts.path)  # a route of the app (raises NotFound if not)
        assert endpoint.startswith("discovery.")
        reply = request(target, headers={"Accept": accept} if accept else None)
        assert reply.status == 200, (target, reply.text[:300])
        assert (reply.header("Content-Type") or "").startswith(media), (target, accept)
        assert "Accept" in (reply.header("Vary") or "")


@pytest.mark.parametrize(("path", "status", "method"), [
    ("sparql", 307, "GET"), ("download/ketamine-ed-kg.ttl", 302, "GET"),
    (".well-known/void", 302, "GET"), ("", 302, "GET"),
])
def test_files_and_endpoint(rules: list[Rule], live_server: LiveServer, path: str, status: int,
                            method: str) -> None:
    found = rewrite(rules, path, {"accept": "*/*"}, live_server.base)
    assert found is not None and found[0] == status
    reply = request(found[1], method=method)
    assert reply.status == 200, (found, reply.text[:300])


def test_version_iri(rules: list[Rule], live_server: LiveServer) -> None:
    """The ontology's owl:versionIRI is redirected to the release file the app serves."""
    version = request(live_server.endpoint + "?query=" + "SELECT%20%3Fv%20WHERE%20%7B%20"
                      "%3Fo%20%3Chttp%3A%2F%2Fwww.w3.org%2F2002%2F07%2Fowl%23versionIRI%3E%20"
                      "%3Fv%20%7D", headers={"Accept": "text/csv"}).text.splitlines()[1:]
    assert version, "the ontology states no owl:versionIRI"
    path = version[0].strip()[len(BASE):]
    found = rewrite(rules, path, {"accept": "application/rdf+xml"}, live_server.base)
    assert found is not None and found[0] == 302
    reply = request(found[1])
    assert reply.status == 200 and "rdf+xml" in (reply.header("Content-Type") or "")
