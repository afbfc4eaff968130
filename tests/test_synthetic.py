"""The synthetic graph generator: deterministic, valid against our shapes, and every example
query has an answer on it (the benchmarks of issue #14 run the examples at scale)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ketamine_ed_kg.build import build
from ketamine_ed_kg.errors import KedError
from ketamine_ed_kg.examples import load_examples, run_embedded
from ketamine_ed_kg.paths import ProjectPaths, project_paths
from ketamine_ed_kg.store import open_store
from ketamine_ed_kg.synthetic import generate, load_template, parse_size
from ketamine_ed_kg.validation import validate_project


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((folder / "graph" / "synthetic").glob("*.ttl")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def synthetic(sources: ProjectPaths, tmp_path_factory: pytest.TempPathFactory) -> ProjectPaths:
    folder = tmp_path_factory.mktemp("synthetic") / "project"
    stats = generate(sources, folder, parse_size("15k"), seed=7)
    assert stats.triples >= 15_000 and stats.copies > 22
    return project_paths(folder)


def test_same_seed_same_bytes_other_seed_other_graph(sources: ProjectPaths, tmp_path: Path,
                                                      synthetic: ProjectPaths) -> None:
    again = generate(sources, tmp_path / "again", 15_000, seed=7)
    other = generate(sources, tmp_path / "other", 15_000, seed=8)
    assert _digest(again.folder) == _digest(synthetic.root)
    assert _digest(other.folder) != _digest(synthetic.root)


def test_copies_mint_new_nodes_and_keep_shared_ones(sources: ProjectPaths) -> None:
    template = load_template(sources.graph_dir / "studies" / "dahlgren-2025.ttl")
    text = "\n".join(template.lines)
    assert "resource/\x00dahlgren-2025-group>" in text  # the study's own node: per copy
    assert "resource/source-002>" in text  # a source: shared
    assert "\x00source-" not in text


@pytest.mark.slow
def test_the_synthetic_graph_passes_our_shapes(synthetic: ProjectPaths) -> None:
    outcome = validate_project(synthetic)
    assert outcome.conforms, [str(e.result) for e in outcome.entries][:5]


@pytest.mark.slow
@pytest.mark.hermit
def test_every_example_query_has_an_answer(synthetic: ProjectPaths, java: str) -> None:
    result = build(synthetic)
    store = open_store(result.release / "dataset.nq")
    empty = []
    for example in load_examples(synthetic.queries_dir):
        answer = run_embedded(store, example)
        if answer.boolean is None and not answer.rows:
            empty.append(example.name)
    assert empty == []


def test_a_folder_in_use_is_refused(sources: ProjectPaths, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(KedError, match="not empty"):
        generate(sources, tmp_path, 1000)
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize(("text", "n"), [("10k", 10_000), ("1M", 1_000_000), ("2.5m", 2_500_000),
                                         ("1234", 1234)])
def test_sizes(text: str, n: int) -> None:
    assert parse_size(text) == n


def test_a_bad_size_says_what_to_write() -> None:
    with pytest.raises(KedError, match="100k or 1M"):
        parse_size("lots")
