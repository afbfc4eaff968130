"""Copies of the project's sources in temporary folders, and what a build of them produced.

Tests never build, validate into or otherwise write the checkout: whatever writes gets a copy
of the parts it needs under ``tmp_path`` (or ``tmp_path_factory``), with the checkout's layout,
so that :func:`ketamine_ed_kg.paths.project_paths` of the copy finds them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest
from rdflib import Graph

from ketamine_ed_kg.build import BuildResult
from ketamine_ed_kg.cli import main
from ketamine_ed_kg.paths import ProjectPaths, project_paths
from ketamine_ed_kg.release import DATASET_FILE, MANIFEST_FILE

BUILD_SOURCES = ("ontology", "graph", "queries")
"""What a build reads."""
VALIDATION_SOURCES = ("ontology", "shapes", "queries/qc")
"""What ``validate`` reads besides the graph."""


def copy_checkout(sources: ProjectPaths, root: Path, parts: tuple[str, ...] = BUILD_SOURCES
                  ) -> ProjectPaths:
    """Copy ``parts`` (folders relative to the checkout, e.g. ``"queries/qc"``) of ``sources``
    to ``root`` and return the paths of that copy."""
    for part in parts:
        shutil.copytree(sources.root / part, root / part)
    return project_paths(root)


class Curated(NamedTuple):
    """The ontology and the asserted graph as :func:`ketamine_ed_kg.loading.load_sources` reads
    them. Shared by the session: read them, never change them."""

    ontology: Graph
    data: Graph


@dataclass(frozen=True)
class BuiltDataset:
    """The project's real sources built once, into a copy of the checkout."""

    checkout: ProjectPaths
    """The copy (ontology and graph) the build ran in; its ``build/`` holds the release."""
    result: BuildResult

    @property
    def dataset(self) -> Path:
        """The release's N-Quads file (a versioned path, as the service pins it)."""
        return self.result.release / DATASET_FILE

    @property
    def manifest(self) -> Path:
        return self.result.release / MANIFEST_FILE


def run_cli(root: Path, *args: str) -> int:
    """Run ``ketamine-ed-kg --root ROOT ARGS...`` in this process; its exit status."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--root", str(root), *args])
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


__all__ = ["BUILD_SOURCES", "VALIDATION_SOURCES", "BuiltDataset", "Curated", "copy_checkout",
           "run_cli"]
