"""Where the project's data lives.

Code finds data through these paths (overridable with ``KETAMINE_ED_KG_ROOT``) rather than
through strings relative to the working directory, so the CLI works from any folder of a
checkout and tests can point it at a temporary copy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _default_root() -> Path:
    env = os.environ.get("KETAMINE_ED_KG_ROOT")
    if env:
        return Path(env).resolve()
    # src/ketamine_ed_kg/paths.py -> repository root
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ProjectPaths:
    """The folders of one checkout."""

    root: Path

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def ontology_file(self) -> Path:
        return self.ontology_dir / "ketamine-ed.ttl"

    @property
    def graph_dir(self) -> Path:
        return self.root / "graph"

    @property
    def shared_graph_dir(self) -> Path:
        """``graph/shared``: the sources, publications and substances study files link to.

        Validating single files loads these as context, so links to them resolve."""
        return self.graph_dir / "shared"

    @property
    def ledger_dir(self) -> Path:
        """``graph/ledger``: one sentence ledger per source document (docs/ledger.md)."""
        return self.graph_dir / "ledger"

    @property
    def shapes_dir(self) -> Path:
        return self.root / "shapes"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def qc_queries_dir(self) -> Path:
        """``queries/qc``: the quality-control queries ``validate`` runs after SHACL."""
        return self.queries_dir / "qc"

    @property
    def report_queries_dir(self) -> Path:
        """``queries/report``: the OBO report's rules (ROBOT's ``report`` checks as SPARQL)."""
        return self.queries_dir / "report"

    @property
    def web_dir(self) -> Path:
        """``server/web``: the query editor's npm package (package.json, package-lock.json)."""
        return self.root / "server" / "web"

    @property
    def yasgui_dir(self) -> Path:
        """The built YASGUI files (``npm ci`` in :attr:`web_dir` puts them there)."""
        return self.web_dir / "node_modules" / "@zazuko" / "yasgui" / "build"

    @property
    def docs_dir(self) -> Path:
        return self.root / "docs"

    @property
    def queries_doc(self) -> Path:
        """``docs/queries.md``, generated from the example queries by ``queries --write-docs``."""
        return self.docs_dir / "queries.md"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def shared_dir(self) -> Path:
        """``../shared`` beside the clone: read by some tests, never needed at run time."""
        return self.root.parent / "shared"

    def graph_files(self) -> list[Path]:
        """Every curated Turtle file, in a stable order (the ledgers are TSV, not graph)."""
        return sorted(self.graph_dir.rglob("*.ttl"))

    def shared_graph_files(self) -> list[Path]:
        """The Turtle files of ``graph/shared``, in a stable order."""
        return sorted(self.shared_graph_dir.glob("*.ttl"))

    def example_files(self) -> list[Path]:
        """The example queries, ``queries/*.ttl`` (not ``queries/qc/``), in a stable order."""
        return sorted(self.queries_dir.glob("*.ttl"))

    def shape_files(self) -> list[Path]:
        """The Turtle files of ``shapes/``, in a stable order."""
        return sorted(self.shapes_dir.glob("*.ttl"))


def project_paths(root: Path | None = None) -> ProjectPaths:
    """Paths for ``root``, or for this checkout."""
    return ProjectPaths(root.resolve() if root else _default_root())
