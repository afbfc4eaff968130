"""The release build of the real sources: every format round-trips and VoID is attached
(rebuilds, releases, pinning and reproducibility: test_release.py).

The session's build of the real sources (``built_dataset``) is read where a test only reads;
tests that build again (marked ``rebuild``) build their own copy of the checkout."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph
import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal
from rdflib.namespace import OWL, RDF, RDFS

from ketamine_ed_kg.build import RELEASE_FORMATS, RELEASE_STEM
from ketamine_ed_kg.cli import cli
from ketamine_ed_kg.inference import infer
from ketamine_ed_kg.namespaces import (
    GRAPH_ASSERTED,
    GRAPH_INFERRED,
    GRAPH_ONTOLOGY,
    KED,
    KEDO,
    VOID,
)
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.void import DATASET_IRI
from support.project import BuiltDataset, copy_checkout


@pytest.fixture()
def checkout(tmp_path: Path, sources: ProjectPaths) -> ProjectPaths:
    """A copy of the ontology and graph in a temporary checkout, so builds do not touch ours."""
    return copy_checkout(sources, tmp_path)


def test_build_writes_every_format_and_they_parse_back(built_dataset: BuiltDataset) -> None:
    checkout, result = built_dataset.checkout, built_dataset.result
    assert result.rebuilt
    sizes = set()
    oxi_formats = {"ttl": pyoxigraph.RdfFormat.TURTLE, "nt": pyoxigraph.RdfFormat.N_TRIPLES,
                   "owl": pyoxigraph.RdfFormat.RDF_XML, "jsonld": pyoxigraph.RdfFormat.JSON_LD}
    assert set(oxi_formats) == set(RELEASE_FORMATS)
    void_type = (str(DATASET_IRI), str(RDF.type), str(VOID.Dataset))
    for ext, fmt in oxi_formats.items():
        # Read back with a different parser (Oxigraph) from the writer (rdflib).
        path = checkout.build_dir / f"{RELEASE_STEM}.{ext}"
        triples = {(t.subject.value, t.predicate.value, t.object.value)
                   for t in pyoxigraph.parse(path=path, format=fmt)}
        sizes.add(len(triples))
        assert void_type in triples, f"{path.name} lacks its VoID"
    assert len(sizes) == 1, f"formats disagree on the triple count: {sizes}"


def test_dataset_has_three_named_graphs(built_dataset: BuiltDataset) -> None:
    checkout = built_dataset.checkout
    quads = list(pyoxigraph.parse(path=checkout.build_dir / "dataset.nq",
                                  format=pyoxigraph.RdfFormat.N_QUADS))
    names = {q.graph_name.value for q in quads if isinstance(q.graph_name, pyoxigraph.NamedNode)}
    assert GRAPH_ONTOLOGY in names
    assert (GRAPH_ASSERTED in names) == bool(checkout.graph_files())
    # Curated studies are typed HumanStudy etc., so the closure always adds kedo:Study types.
    assert (GRAPH_INFERRED in names) == bool(checkout.graph_files())
    assert any(
        q.graph_name.value == GRAPH_ONTOLOGY
        and q.subject.value == "https://w3id.org/ketamine-ed/ontology"
        and q.object.value == str(OWL.Ontology)
        for q in quads if isinstance(q.graph_name, pyoxigraph.NamedNode)
    )
    assert all(isinstance(q.graph_name, pyoxigraph.NamedNode) for q in quads)


def test_void_counts_the_triples(built_dataset: BuiltDataset) -> None:
    checkout = built_dataset.checkout
    graph = Graph().parse(checkout.build_dir / "void.ttl")
    merged = Graph().parse(checkout.build_dir / f"{RELEASE_STEM}.nt", format="nt")
    void_triples = len(graph)
    stated = graph.value(DATASET_IRI, VOID.triples)
    assert isinstance(stated, Literal)
    assert int(stated) == len(merged) - void_triples


def test_inference_closes_classes_properties_and_symmetry() -> None:
    g = Graph()
    g.add((KEDO.A, RDFS.subClassOf, KEDO.B))
    g.add((KEDO.B, RDFS.subClassOf, KEDO.C))
    g.add((KEDO.p, RDFS.subPropertyOf, KEDO.q))
    g.add((KEDO.sym, RDF.type, OWL.SymmetricProperty))
    g.add((KEDO.t, RDF.type, OWL.TransitiveProperty))
    g.add((KED.x, RDF.type, KEDO.A))
    g.add((KED.x, KEDO.p, KED.y))
    g.add((KED.x, KEDO.sym, KED.z))
    g.add((KED.a, KEDO.t, KED.b))
    g.add((KED.b, KEDO.t, KED.c))
    out = infer(g)
    assert (KEDO.A, RDFS.subClassOf, KEDO.C) in out
    assert (KED.x, RDF.type, KEDO.B) in out and (KED.x, RDF.type, KEDO.C) in out
    assert (KED.x, KEDO.q, KED.y) in out
    assert (KED.z, KEDO.sym, KED.x) in out
    assert (KED.a, KEDO.t, KED.c) in out
    assert not any(t in g for t in out), "inferred graph must hold only new triples"


@pytest.mark.rebuild
def test_cli_build_and_stats(checkout: ProjectPaths) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--root", str(checkout.root), "build"])
    assert result.exit_code == 0, result.output
    assert "ketamine-ed-kg.owl" in result.output
    stats = runner.invoke(cli, ["--root", str(checkout.root), "stats"])
    assert stats.exit_code == 0, stats.output
    assert "(triples)" in stats.output


def test_cli_reports_a_turtle_syntax_error_with_file_and_line(
    checkout: ProjectPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    from ketamine_ed_kg.cli import main

    broken = checkout.graph_dir / "studies" / "broken-2000.ttl"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text("@prefix ked: <https://w3id.org/ketamine-ed/resource/> .\n\n"
                      "ked:a ked:b ked:c ;\n  ked:d .\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["--root", str(checkout.root), "build"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "broken-2000.ttl" in err and "syntax error" in err
    assert ":4" in err or "line 4" in err


def test_a_missing_file_is_not_reported_as_a_syntax_error(tmp_path: Path) -> None:
    from ketamine_ed_kg.loading import parse_file

    with pytest.raises(FileNotFoundError):
        parse_file(tmp_path / "absent.ttl")
