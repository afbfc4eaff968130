"""Downloads users can cite (issue #10): every RDF format with prefixes or a JSON-LD @context,
a gzip copy and a SHA-256 file, the licence, version, VoID and citation inside, and the
ontology's versionIRI dereferenceable."""

from __future__ import annotations

import gzip
import hashlib
import json

import pyoxigraph as ox
import pytest

from ketamine_ed_kg.downloads import JSONLD_CONTEXT
from ketamine_ed_kg.formats import RDF_FORMATS, Format
from ketamine_ed_kg.server.run import LiveServer
from support.project import BuiltDataset
from support.server import request

DATASET = "https://w3id.org/ketamine-ed/dataset"


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=lambda f: f.name)
def test_each_download_has_its_gzip_and_checksum(live_server: LiveServer, fmt: Format) -> None:
    url = f"{live_server.base}/download/ketamine-ed-kg.{fmt.extensions[0]}"
    plain = request(url)
    assert plain.status == 200, plain.text
    assert plain.header("content-type") == fmt.content_type
    packed = request(url + ".gz", headers={"Accept-Encoding": "identity"})
    assert packed.header("content-type") == "application/gzip"
    assert gzip.decompress(packed.body) == plain.body
    checksum = request(url + ".sha256")
    assert checksum.text == f"{hashlib.sha256(plain.body).hexdigest()}  ketamine-ed-kg." \
                            f"{fmt.extensions[0]}\n"
    store = ox.Store()
    store.load(plain.body, format=fmt.rdf)
    # The dataset's licence, version and citation travel with every download.
    found = store.query(f"""SELECT ?licence ?version ?citation WHERE {{ GRAPH ?g {{
        <{DATASET}> dcterms:license ?licence ; dcterms:hasVersion ?version ;
                    dcterms:bibliographicCitation ?citation }} }}""",
                        prefixes={"dcterms": "http://purl.org/dc/terms/"}) if fmt.spec.per_graph \
        else store.query(f"""SELECT ?licence ?version ?citation WHERE {{
        <{DATASET}> dcterms:license ?licence ; dcterms:hasVersion ?version ;
                    dcterms:bibliographicCitation ?citation }}""",
                         prefixes={"dcterms": "http://purl.org/dc/terms/"})
    rows = list(found)  # type: ignore[arg-type]
    assert len(rows) == 1
    assert "creativecommons.org/licenses/by/4.0" in str(rows[0]["licence"])


def test_turtle_has_prefixes_and_json_ld_a_context(live_server: LiveServer) -> None:
    turtle = request(f"{live_server.base}/download/ketamine-ed-kg.ttl").text
    assert "@prefix kedo: <https://w3id.org/ketamine-ed/ontology/> ." in turtle
    assert "kedo:Study" in turtle
    document = json.loads(request(f"{live_server.base}/download/ketamine-ed-kg.jsonld").body)
    assert document["@context"] == JSONLD_CONTEXT["@context"]
    context = json.loads(request(f"{live_server.base}/download/context.jsonld").body)
    assert context == JSONLD_CONTEXT


def test_downloads_are_the_release_files(live_server: LiveServer,
                                         built_dataset: BuiltDataset) -> None:
    """Sent as the build wrote them (so every process sends the same bytes); the manifest
    lists their checksums."""
    manifest = json.loads((built_dataset.result.release / "manifest.json").read_text())
    body = request(f"{live_server.base}/download/ketamine-ed-kg.nq").body
    assert hashlib.sha256(body).hexdigest() == manifest["sha256"]["download/ketamine-ed-kg.nq"]
    listing = request(f"{live_server.base}/download/").text
    assert "ketamine-ed-kg.ttl.gz\tapplication/gzip" in listing


def test_the_ontology_version_iri_dereferences(live_server: LiveServer) -> None:
    ontology = request(f"{live_server.base}/download/ketamine-ed-kg.ttl").body
    store = ox.Store()
    store.load(ontology, format=ox.RdfFormat.TURTLE)
    (row,) = list(store.query(  # type: ignore[arg-type]
        "SELECT ?v WHERE { <https://w3id.org/ketamine-ed/ontology> owl:versionIRI ?v }",
        prefixes={"owl": "http://www.w3.org/2002/07/owl#"}))
    path = str(row["v"].value).removeprefix("https://w3id.org/ketamine-ed")
    reply = request(live_server.base + path)
    assert reply.status == 200, reply.text
    assert reply.header("content-type") == "application/rdf+xml; charset=utf-8"
    assert b"owl:versionIRI" in reply.body
    other = request(f"{live_server.base}/ontology/releases/1999-01-01/ketamine-ed.owl")
    assert other.status == 404 and "serves version" in other.text
