"""Validating the project's files: what ``ketamine-ed-kg validate`` runs.

:func:`validate_project` adds what a curator needs around the SHACL run: which files to load
(through :mod:`ketamine_ed_kg.loading`, as every stage), the ontology as the ontology graph
(so ``sh:class`` sees the class hierarchy), the QC queries where SHACL Core is awkward, and the
file and line of every reported node.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from rdflib import Graph

from ..loading import load_data, load_ontology, load_shapes
from ..paths import ProjectPaths
from .locate import SourceIndex
from .qc import QcQuery, load_qc_queries, run_qc
from .quotes import check_quotes
from .report import build_report_graph
from .results import ReportedResult, ShaclResult, ValidationOutcome
from .shacl import Inference, ShaclRun, count_shapes, run_shacl


def check_graph(
    data: Graph,
    ontology: Graph,
    shapes: Graph,
    queries: Sequence[QcQuery],
    inference: Inference = "none",
    timings: dict[str, float] | None = None,
) -> tuple[ShaclRun, list[ShaclResult]]:
    """SHACL, then the QC queries over data plus ontology: what ``validate`` runs on any graph.

    The shape fixtures go through this function too, so a fixture's expected results are the
    results a curator would see.
    """
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    # The ontology merged into a private copy of the data is exactly the graph pyshacl builds
    # from ``ont_graph``; building it once lets SHACL run in place and the QC queries reuse it.
    merged = data + ontology
    if inference == "none":
        run = run_shacl(merged, shapes, inplace=True)
    else:
        run = run_shacl(data, shapes, ontology, inference=inference)
    timings["shacl"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    qc_results = run_qc(merged, queries)
    timings["qc"] = time.perf_counter() - t0
    return run, qc_results


def validate_project(
    paths: ProjectPaths,
    files: Sequence[Path] | None = None,
    inference: Inference = "none",
    source_texts: Sequence[Path] = (),
) -> ValidationOutcome:
    """Validate the whole graph, or ``files`` with ``graph/shared`` as context.

    With ``files``, only nodes that those files define are reported: shared data is loaded so
    that links to source documents and substances resolve, but its own problems belong to a
    whole-graph run. Every quote is checked against its source's text in ``source_texts``
    (:mod:`.quotes`); sources with no text there are listed in the outcome as not checked.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    shapes = load_shapes(paths)
    timings["shapes"] = time.perf_counter() - started

    if files:
        chosen = [f.resolve() for f in files]
        context = [f for f in paths.context_graph_files() if f not in chosen]
        load = [*chosen, *context]
        report_files: set[Path] | None = set(chosen)
    else:
        load = paths.graph_files()
        report_files = None

    t0 = time.perf_counter()
    ontology = load_ontology(paths)
    index = SourceIndex(paths.root)
    index.add_file(paths.ontology_file, ontology)
    data = load_data(load, each=index.add_file)
    timings["parse"] = time.perf_counter() - t0

    qc_dir = paths.qc_queries_dir
    queries = load_qc_queries(qc_dir) if qc_dir.is_dir() else []
    run, qc_results = check_graph(data, ontology, shapes, queries, inference, timings)
    shacl_seconds = timings["shacl"]
    t0 = time.perf_counter()
    quotes = check_quotes(data, source_texts)
    timings["quotes"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    entries = []
    for result in [*run.results, *qc_results, *quotes.results]:
        file, line, label = index.locate(result.focus, data)
        if report_files is not None and (file is None or file.resolve() not in report_files):
            continue
        entries.append(ReportedResult(result, file, line, label))
    entries.sort(key=lambda e: (str(e.file or ""), e.line or 0, e.node_label, e.result.severity,
                                str(e.result.path or "")))
    report = build_report_graph(run.report, entries)
    timings["report"] = time.perf_counter() - t0

    return ValidationOutcome(
        entries=entries,
        report=report,
        files=load,
        triples=len(data),
        shapes=count_shapes(shapes),
        qc_queries=len(queries),
        seconds=time.perf_counter() - started,
        shacl_seconds=shacl_seconds,
        timings=timings,
        quotes_checked=quotes.quotes,
        texts_checked=quotes.checked,
        texts_unchecked=quotes.unchecked,
        records_unchecked=quotes.records,
    )


__all__ = ["check_graph", "validate_project"]
