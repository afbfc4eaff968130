"""The query store: one small interface, and its pyoxigraph implementation.

The protocol code only sees :class:`QueryService`: it submits a :class:`Job` with a deadline
and gets back a :class:`JobResult` (metadata plus an iterator of already serialised bytes).
Today the only implementation is the process pool in ``server/pool.py``, whose workers hold an
:class:`OxigraphStore`; a remote SPARQL store can later implement the same interface without
touching the protocol code.

pyoxigraph is used because it answered this project's graph-shaped queries 10-260x faster than
rdflib's engine and serialises results natively (in Rust): the worker hands pyoxigraph a
writable sink and never touches individual rows in Python.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pyoxigraph as ox

from .errors import KedError
from .release import DatasetVersion, dataset_version

if TYPE_CHECKING:
    from .query_plan import PublicRequest

# Names (stable, picklable) of the serialisations a job can ask for.
RESULT_FORMATS: dict[str, ox.QueryResultsFormat] = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
RDF_FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
    "n3": ox.RdfFormat.N3,
}
QUAD_FORMATS = frozenset({"trig", "nquads"})
# Bytes that start (or end) each solution in a serialised result, and the correction that turns
# their count into an upper bound on the solutions: exact for XML and TSV, possibly high for
# JSON (",{" may occur inside a literal) and CSV (a quoted literal may hold CR LF).
ROW_MARKERS: dict[str, tuple[bytes, int]] = {
    "json": (b",{", 1), "xml": (b"<result>", 0), "csv": (b"\r\n", -1), "tsv": (b"\n", -1)}


class RowBound:
    """Upper bound on the solutions in a serialised result, counted in C (``bytes.count``)
    as the chunks go by, so the row cap needs no per-row Python work."""

    def __init__(self, result_format: str) -> None:
        self.marker, self.offset = ROW_MARKERS[result_format]
        self.count = 0
        self.tail = b""

    def feed(self, data: bytes) -> None:
        joined = self.tail + data
        self.count += joined.count(self.marker)
        keep = len(self.marker) - 1
        self.tail = joined[max(0, len(joined) - keep):] if keep else b""

    def bound(self) -> int:
        return max(0, self.count + self.offset)


class QueryError(KedError):
    """A query process refused or failed a query; ``kind`` picks the HTTP status in the one
    table of ``server/errors.py`` (``syntax``, ``limit``, ``evaluation``, ``policy``,
    ``update``, ``not-acceptable``, ``memory``, ``engine-defect``, ``crash``, ``internal``, ...).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class DeadlineExceeded(KedError):
    """The job did not finish before its deadline and its worker was killed."""


class Overloaded(KedError):
    """No worker became free before the deadline."""


class ClientGone(KedError):
    """The client disconnected while its query ran; the query was cancelled."""


@dataclass(frozen=True)
class Job:
    """One unit of work for the store. Plain data, so it can cross a process boundary."""

    kind: str
    """``query`` (trusted, from the service itself), ``request`` (a client's query, planned in
    the query process: :mod:`ketamine_ed_kg.query_plan`), ``check`` (plan only: is the request
    valid?) or ``dump``."""
    query: str = ""
    probe: str | None = None
    """Query whose non-empty answer means the row cap cut the result."""
    cap: int = 0
    """The row cap the query was rewritten for (0: none)."""
    union_default_graph: bool = True
    default_graph: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    result_format: str = "json"
    rdf_format: str = "turtle"
    base_iri: str | None = None
    request: PublicRequest | None = None
    """The client's request, for ``request`` and ``check`` jobs."""


@dataclass
class JobResult:
    """What came back: metadata known before the first byte, then the serialised body."""

    meta: dict[str, Any]
    body: Iterator[bytes]
    close: Any = field(default=None, repr=False)
    """Callable that abandons the job (e.g. the client went away)."""


class QueryService(Protocol):
    """What the protocol code needs from a store."""

    def run(self, job: Job, deadline: float,
            cancelled: Callable[[], bool] | None = None) -> JobResult:
        """Start ``job``; raise QueryError, DeadlineExceeded, Overloaded or ClientGone
        (``cancelled`` is polled while the job runs; True stops it)."""
        ...

    def close(self) -> None:
        """Release workers and files."""
        ...


def _format_of(path: Path) -> ox.RdfFormat:
    fmt = ox.RdfFormat.from_extension(path.suffix.lstrip("."))
    if fmt is None:
        raise KedError(f"{path}: unknown RDF file extension")
    return fmt


def open_store(dataset: Path, mode: str = "memory", store_path: Path | None = None) -> ox.Store:
    """Load ``dataset`` into pyoxigraph: in memory, or into an on-disk store (read-only after).

    The on-disk store is rebuilt when the dataset's version differs from the one recorded in
    it, so it follows the build like the in-memory store does.
    """
    if mode == "memory":
        store = ox.Store()
        store.load(path=str(dataset), format=_format_of(dataset))
        return store
    if store_path is None:
        raise KedError("an on-disk store needs a store_path")
    stamp = store_path / "ketamine-ed-kg.version"
    wanted = dataset_version(dataset).tag
    if not (stamp.exists() and stamp.read_text(encoding="utf-8") == wanted):
        prepare_disk_store(dataset, store_path)
    return ox.Store.read_only(str(store_path))


def prepare_disk_store(dataset: Path, store_path: Path) -> None:
    """(Re)load the on-disk store from ``dataset`` in a separate process.

    RocksDB runs background threads, so the loading store must live in a process that is not
    later forked; a child process loads it and exits, leaving a store to open read-only.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_load_disk_store, args=(str(dataset), str(store_path)))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise KedError(f"loading {dataset} into {store_path} failed (exit {proc.exitcode})")


def _load_disk_store(dataset: str, store_path: str) -> None:
    path = Path(store_path)
    if path.exists():
        shutil.rmtree(path)
    store = ox.Store(store_path)
    store.bulk_load(path=dataset, format=_format_of(Path(dataset)))
    store.optimize()
    store.flush()
    del store
    (path / "ketamine-ed-kg.version").write_text(dataset_version(Path(dataset)).tag,
                                                 encoding="utf-8")


class OxigraphStore:
    """Runs jobs on a pyoxigraph store, writing natively serialised output to a sink."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    def graph_names(self) -> list[str]:
        """IRIs of the named graphs."""
        return sorted(g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode))

    def _dataset_options(self, job: Job, query: str) -> dict[str, Any]:
        options: dict[str, Any] = {"base_iri": job.base_iri}
        if job.default_graph is not None or job.named_graphs is not None:
            options["default_graph"] = [ox.NamedNode(g) for g in job.default_graph or ()]
            options["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs or ()]
        elif job.union_default_graph:
            options["use_default_graph_as_union"] = True
        return options

    def _run_query(self, job: Job, text: str) -> Any:
        try:
            return self.store.query(text, **self._dataset_options(job, text))
        except SyntaxError as exc:
            raise QueryError("syntax", f"SPARQL syntax error: {exc}") from exc
        except RuntimeError as exc:
            # Raised while planning a query that parsed, e.g. an unknown extension function.
            raise QueryError("unsupported", f"the query parses but cannot be evaluated "
                                            f"here: {exc}") from exc

    def execute(self, job: Job, start: Any, sink: Any) -> None:
        """Run ``job``: call ``start(meta, ...)`` once the metadata is known, then write the body.

        Everything that can fail for a client reason (syntax, evaluation) fails before
        ``start``; the body is produced by pyoxigraph's own serialisers. For a capped query,
        ``start`` also gets the probe (``decide``) and a row counter: the sink runs the probe
        only if the result may have reached the cap, before it sends the first bytes.
        """
        if job.kind == "dump":
            fmt = RDF_FORMATS[job.rdf_format]
            start({"format": job.rdf_format})
            if job.rdf_format in QUAD_FORMATS:
                self.store.dump(sink, format=fmt, prefixes=_prefixes())
            else:
                # Triple formats carry the union of the graphs (what a default query sees).
                union = self.store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
                                         use_default_graph_as_union=True)
                assert isinstance(union, ox.QueryTriples)
                union.serialize(sink, format=fmt)
            return
        if job.kind != "query":
            raise QueryError("internal", f"unknown job kind {job.kind!r}")
        text = job.query
        meta: dict[str, Any] = {}
        try:
            results = self._run_query(job, text)
        except QueryError:
            raise
        except (OSError, ValueError, TypeError) as exc:
            raise QueryError("evaluation", f"query evaluation failed: {exc}") from exc
        probe = job.probe

        def decide() -> bool:
            assert probe is not None
            return any(True for _ in self._run_query(job, probe))

        decider = decide if probe is not None else None
        if isinstance(results, ox.QueryBoolean):
            meta["form"] = "boolean"
            start(meta)
            results.serialize(sink, format=RESULT_FORMATS[job.result_format])
        elif isinstance(results, ox.QuerySolutions):
            meta["form"] = "solutions"
            start(meta, decider, RowBound(job.result_format), job.cap)
            results.serialize(sink, format=RESULT_FORMATS[job.result_format])
        else:
            meta["form"] = "graph"
            start(meta, decider, None, job.cap)
            assert isinstance(results, ox.QueryTriples)
            results.serialize(sink, format=RDF_FORMATS[job.rdf_format])


def _prefixes() -> dict[str, str]:
    from .namespaces import PREFIXES

    return dict(PREFIXES)


def cpu_count() -> int:
    """CPUs this process may use (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


__all__ = ["QUAD_FORMATS", "RDF_FORMATS", "RESULT_FORMATS", "ClientGone", "DatasetVersion",
           "DeadlineExceeded",
           "Job", "JobResult", "OxigraphStore", "Overloaded", "QueryError", "QueryService",
           "dataset_version", "open_store"]
