"""Validating the curated graph: SHACL Core shapes, then the QC queries.

The package is cut by concept; each module imports only the ones above it in this list, so
there is no import cycle:

* :mod:`.results`: the result types every step speaks in (imports no other step);
* :mod:`.shacl`: running pyshacl, the project's single SHACL path;
* :mod:`.qc`: the quality-control SPARQL queries, run on Oxigraph;
* :mod:`.locate`: which file and line define a reported node, and how a curator writes it;
* :mod:`.report`: the text report and the ``sh:ValidationReport`` graph;
* :mod:`.project`: :func:`validate_project`, what ``ketamine-ed-kg validate`` runs;
* :mod:`.obo_report`: the OBO report (ROBOT's ``report`` checks as SPARQL) on release files,
  what ``ketamine-ed-kg report`` runs.

Shapes, ontology and data are parsed by :mod:`ketamine_ed_kg.loading`, like every stage's
input. The names below are the package's public interface (the CLI, the tests and the
benchmark import them from here); the steps' helpers stay in their modules.
"""

from __future__ import annotations

from .locate import short
from .obo_report import FileReport, ReportQuery, load_report_queries, report_file
from .project import check_graph, validate_project
from .qc import QcQuery, load_qc_queries, run_qc
from .report import render_text
from .results import SEVERITIES, ReportedResult, ShaclResult, ValidationOutcome
from .shacl import Inference, ShaclRun, run_shacl

__all__ = [
    "SEVERITIES", "FileReport", "Inference", "QcQuery", "ReportQuery", "ReportedResult",
    "ShaclResult", "ShaclRun", "ValidationOutcome", "check_graph", "load_qc_queries",
    "load_report_queries", "render_text", "report_file", "run_qc", "run_shacl", "short",
    "validate_project",
]
