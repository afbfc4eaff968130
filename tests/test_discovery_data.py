"""Discovery as data (issue #10): the VoID, the example queries and the service description
are in the store, each in its own named graph, and answer SPARQL like the data does."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from ketamine_ed_kg.iris import GRAPH_EXAMPLES, GRAPH_SERVICE, GRAPH_VOID, SPARQL_ENDPOINT
from ketamine_ed_kg.server.run import LiveServer
from support.server import request

SIB_EXAMPLES_QUERY = """PREFIX sh: <http://www.w3.org/ns/shacl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?sq ?comment ?query
WHERE {
  ?sq a sh:SPARQLExecutable ;
      rdfs:comment ?comment ;
      sh:select|sh:ask|sh:construct|sh:describe ?query .
} ORDER BY ?sq"""
"""The query the SIB sparql-editor sends to find an endpoint's examples (on the default
graph, with its own prefixes)."""


def select(server: LiveServer, query: str) -> list[dict[str, str]]:
    reply = request(f"{server.endpoint}?{urlencode({'query': query})}",
                    headers={"Accept": "application/sparql-results+json"})
    assert reply.status == 200, reply.text
    return [{k: v["value"] for k, v in row.items()}
            for row in json.loads(reply.body)["results"]["bindings"]]


def test_the_sib_editor_finds_the_35_examples(live_server: LiveServer) -> None:
    rows = select(live_server, SIB_EXAMPLES_QUERY)
    assert len(rows) == 35
    assert all(row["query"].strip() and row["comment"].strip() for row in rows)
    in_graph = select(live_server, "SELECT (COUNT(DISTINCT ?sq) AS ?n) WHERE { GRAPH <"
                      + GRAPH_EXAMPLES + "> { ?sq a sh:SPARQLExecutable } }")
    assert in_graph == [{"n": "35"}]


def test_the_void_can_be_queried(live_server: LiveServer) -> None:
    rows = select(live_server, f"""SELECT ?target ?predicate ?n WHERE {{ GRAPH <{GRAPH_VOID}> {{
        ?linkset a void:Linkset ; void:objectsTarget ?target ; void:linkPredicate ?predicate ;
                 void:triples ?n }} }}""")
    targets = {row["target"].rsplit("/", 1)[-1] for row in rows}
    assert {"mondo", "chebi", "pubmed", "doi"} <= targets
    assert all(int(row["n"]) > 0 for row in rows)
    partitions = select(live_server, f"""SELECT ?class ?n WHERE {{ GRAPH <{GRAPH_VOID}> {{
        ?d void:classPartition [ void:class kedo:Claim ; void:entities ?n ] }} }}""")
    assert partitions and int(partitions[0]["n"]) >= 300  # every quoted claim


def test_the_service_description_names_every_graph(live_server: LiveServer) -> None:
    rows = select(live_server, f"""SELECT ?name ?n WHERE {{ GRAPH <{GRAPH_SERVICE}> {{
        ?service sd:endpoint <{SPARQL_ENDPOINT}> ; sd:defaultDataset/sd:namedGraph ?g .
        ?g sd:name ?name ; sd:graph/void:triples ?n }} }}""")
    named = {row["name"]: int(row["n"]) for row in rows}
    assert {GRAPH_VOID, GRAPH_EXAMPLES, GRAPH_SERVICE} <= set(named)
    counted = select(live_server, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } "
                                  "GROUP BY ?g")
    assert named == {row["g"]: int(row["n"]) for row in counted}
