"""What every engine is asked: the example queries (``queries/*.rq`` as the service publishes
them) and the stress shapes issue 14 names, plus the UI mix (the shapes with the LIMITs a web
page sends) and the paged join for the load tests.

Why these shapes: each stresses one part of an engine — a property path (``rdfs:subClassOf*``
through the class hierarchy), OPTIONAL with a FILTER (dose ranges), an aggregate (GROUP BY with
ORDER BY on counts), DESCRIBE (a graph result), a text filter (a scan of every quote), a paged
join (``ORDER BY … LIMIT 25``: the whole join sorted for 25 rows) and a full table that passes
the row cap at 1M (the cap's effect, so a cut result is never counted as a win).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ketamine_ed_kg.examples import load_examples

JSON = "application/sparql-results+json"
NTRIPLES = "application/n-triples"

PREFIXES = """PREFIX kedo: <https://w3id.org/ketamine-ed/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
"""


@dataclass(frozen=True)
class Workload:
    """One query: its name, text, form (``select``, ``ask``, ``graph``) and kind."""

    name: str
    text: str
    form: str
    kind: str
    """``example``, ``stress`` or ``ui``."""

    @property
    def accept(self) -> str:
        return NTRIPLES if self.form == "graph" else JSON


STRESS = {
    "subclass path": """SELECT ?study ?dx ?class WHERE {
  ?study kedo:hasParticipantGroup/kedo:hasDiagnosis ?dx .
  ?dx rdf:type ?class . ?class rdfs:subClassOf* kedo:AnorexiaNervosa }""",
    "dose range, OPTIONAL+FILTER": """SELECT ?regimen ?value ?max ?unit WHERE {
  ?regimen kedo:hasDose ?dose . ?dose kedo:doseValue ?value .
  OPTIONAL { ?dose kedo:doseValueMax ?max } OPTIONAL { ?dose kedo:doseUnit ?unit }
  FILTER(?value >= 0.4 && ?value <= 1.0) }""",
    "aggregate": """SELECT ?class (COUNT(?s) AS ?n) WHERE { ?s rdf:type ?class }
GROUP BY ?class ORDER BY DESC(?n)""",
    "DESCRIBE": """DESCRIBE ?study WHERE { ?study rdf:type kedo:HumanStudy ;
  kedo:hasDesign kedo:CaseSeriesDesign } LIMIT 20""",
    "text filter": """SELECT ?claim ?quote WHERE { ?claim kedo:quote ?quote
  FILTER(CONTAINS(LCASE(STR(?quote)), "depress")) }""",
    "paged join": """SELECT ?study ?label ?regimen ?value WHERE {
  ?study rdf:type kedo:HumanStudy ; rdfs:label ?label ; kedo:hasRegimen ?regimen .
  ?regimen kedo:hasDose ?dose . ?dose kedo:doseValue ?value }
ORDER BY ?label ?value LIMIT 25""",
    "full table": """SELECT ?claim ?source ?quote WHERE {
  ?claim kedo:source ?source ; kedo:quote ?quote }""",
}
"""Stress shapes (name -> query body without prefixes)."""

UI_LIMIT = 100
UI_SHAPES = ("subclass path", "dose range, OPTIONAL+FILTER", "aggregate", "DESCRIBE",
             "text filter", "paged join")
"""The UI mix: six shapes, each with the LIMIT a page sends (it shows 100 rows at most)."""


def _form(text: str) -> str:
    head = " ".join(line for line in text.splitlines()
                    if not line.strip().upper().startswith(("PREFIX", "BASE", "#"))).upper()
    for word, form in (("CONSTRUCT", "graph"), ("DESCRIBE", "graph"), ("ASK", "ask")):
        if head.lstrip().startswith(word):
            return form
    return "select"


def examples(queries_dir: Path) -> list[Workload]:
    return [Workload(e.name, e.query, _form(e.query), "example")
            for e in load_examples(queries_dir)]


def stress() -> list[Workload]:
    return [Workload(name, PREFIXES + body, _form(body), "stress")
            for name, body in STRESS.items()]


def ui_mix() -> list[Workload]:
    """The UI mix: the shapes as a page asks for them (``LIMIT`` added where there is none)."""
    found = []
    for name in UI_SHAPES:
        body = STRESS[name]
        if "LIMIT" not in body:
            body += f" LIMIT {UI_LIMIT}"
        found.append(Workload(f"ui: {name}", PREFIXES + body, _form(body), "ui"))
    return found


def paged_join() -> Workload:
    return next(w for w in stress() if w.name == "paged join")


def all_workloads(queries_dir: Path) -> list[Workload]:
    """Stress shapes first: an engine with a total time budget per scale (rdflib) spends it
    on the shapes the rdflib target compares before the example queries."""
    return [*stress(), *ui_mix(), *examples(queries_dir)]


__all__ = ["JSON", "NTRIPLES", "STRESS", "Workload", "all_workloads", "examples", "paged_join",
           "stress", "ui_mix"]
