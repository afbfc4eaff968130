"""Validating the curated graph: SHACL Core shapes, then the QC queries.

The package is cut by concept; each module imports only the ones above it in this list, so
there is no import cycle:

* :mod:`.results`: the result types every step speaks in (imports no other step);
* :mod:`.shacl`: running pyshacl, the project's single SHACL path;
* :mod:`.qc`: the quality-control SPARQL queries, run on Oxigraph;
* :mod:`.locate`: which file and line define a reported node, and how a curator writes it;
* :mod:`.report`: the text report and the ``sh:ValidationReport`` graph;
* :mod:`.project`: :func:`validate_project`, what ``ketamine-ed-kg validate`` runs.

Shapes, ontology and data are parsed by :mod:`ketamine_ed_kg.loading`, like every stage's
input. The names below are the package's public interface (the CLI, the tests and the
benchmark import them from here).
"""

from __future__ import annotations

from .locate import SourceIndex, short
from .project import check_graph, validate_project
from .qc import QcQuery, load_qc_queries, run_qc, to_store
from .report import build_report_graph, render_text
from .results import SEVERITIES, ReportedResult, ShaclResult, ValidationOutcome
from .shacl import Inference, ShaclRun, count_shapes, parse_report, run_shacl

__all__ = [
    "SEVERITIES", "Inference", "QcQuery", "ReportedResult", "ShaclResult", "ShaclRun",
    "SourceIndex", "ValidationOutcome", "build_report_graph", "check_graph", "count_shapes",
    "load_qc_queries", "parse_report", "render_text", "run_qc", "run_shacl", "short",
    "to_store", "validate_project",
]
