"""The embedded store: pyoxigraph, loaded from the release's dataset, running typed jobs.

pyoxigraph is used because it answered this project's graph-shaped queries 10-260x faster than
rdflib's engine and serialises results natively (in Rust): a query process hands pyoxigraph a
writable sink and never touches individual rows in Python. This module runs inside the query
processes, so it imports neither rdflib nor the builder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ..errors import ErrorKind, KedError, QueryError
from ..formats import Format, by_extension
from ..iris import PREFIXES
from ..release import dataset_version
from ..security import engine_syntax_message
from .jobs import Job, JobKind, ResultForm, ResultMeta
from .rowcap import CapCheck, RowBound, capped_body

Start = Callable[[ResultMeta, CapCheck | None], None]
"""Called by :meth:`OxigraphStore.execute` once the result's metadata is known."""


def _format_of(path: Path) -> ox.RdfFormat:
    fmt = by_extension(path.suffix)
    if fmt is None:
        raise KedError(f"{path}: unknown RDF file extension")
    return fmt.rdf


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

    def _query_options(self, job: Job) -> dict[str, Any]:
        options: dict[str, Any] = {"base_iri": job.base_iri}
        if job.prefixes:
            options["prefixes"] = dict(job.prefixes)
        if job.default_graph is not None or job.named_graphs is not None:
            options["default_graph"] = [ox.NamedNode(g) for g in job.default_graph or ()]
            options["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs or ()]
        elif job.union_default_graph:
            options["use_default_graph_as_union"] = True
        return options

    def _run_query(self, job: Job, text: str) -> Any:
        try:
            return self.store.query(text, **self._query_options(job))
        except SyntaxError as exc:
            raise QueryError(ErrorKind.SYNTAX, engine_syntax_message(
                text, str(exc), dict(job.prefixes))) from exc
        except RuntimeError as exc:
            # Raised while planning a query that parsed, e.g. an unknown extension function.
            raise QueryError(ErrorKind.UNSUPPORTED, f"the query parses but cannot be "
                                                    f"evaluated here: {exc}") from exc

    def execute(self, job: Job, start: Start, sink: Any) -> None:
        """Run ``job``: call ``start`` once the metadata is known, then write the body.

        Everything that can fail for a client reason (syntax, evaluation) fails before
        ``start``; the body is produced by pyoxigraph's own serialisers. For a capped query,
        ``start`` also gets the :class:`~.rowcap.CapCheck` that the sink consults before it
        sends the first bytes. A capped SELECT runs once, as its ``lookahead`` (``LIMIT
        cap+1``), so its truncation is known before ``start`` and no probe runs.
        """
        if job.kind is JobKind.DUMP:
            self._dump(job.rdf_format, start, sink)
            return
        if job.kind is not JobKind.QUERY:
            raise QueryError(ErrorKind.INTERNAL, f"a store runs no {job.kind} job")
        try:
            results = self._run_query(job, job.lookahead or job.query)
        except QueryError:
            raise
        except (OSError, ValueError, TypeError) as exc:
            raise QueryError(ErrorKind.EVALUATION, f"query evaluation failed: {exc}") from exc
        probe = job.probe

        def past_cap() -> bool:
            assert probe is not None
            return any(True for _ in self._run_query(job, probe))

        if isinstance(results, ox.QueryBoolean):
            start(ResultMeta(form=ResultForm.BOOLEAN), None)
            results.serialize(sink, format=job.result_format.results)
        elif isinstance(results, ox.QuerySolutions) and job.lookahead:
            body, cut = capped_body(results, job.cap, job.result_format)
            start(ResultMeta(form=ResultForm.SOLUTIONS, length=len(body)),
                  CapCheck.decided(job.cap, cut))
            sink.write(body)
        elif isinstance(results, ox.QuerySolutions):
            check = CapCheck(past_cap, job.cap, RowBound(job.result_format)) if probe else None
            start(ResultMeta(form=ResultForm.SOLUTIONS), check)
            results.serialize(sink, format=job.result_format.results)
        else:
            assert isinstance(results, ox.QueryTriples)
            start(ResultMeta(form=ResultForm.GRAPH),
                  CapCheck(past_cap, job.cap) if probe else None)
            results.serialize(sink, format=job.rdf_format.rdf)

    def _dump(self, fmt: Format, start: Start, sink: Any) -> None:
        start(ResultMeta(), None)
        if fmt.spec.per_graph:
            self.store.dump(sink, format=fmt.rdf, prefixes=dict(PREFIXES))
            return
        # Triple formats carry the union of the graphs (what a default query sees).
        union = self.store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
                                 use_default_graph_as_union=True)
        assert isinstance(union, ox.QueryTriples)
        union.serialize(sink, format=fmt.rdf)


def cpu_count() -> int:
    """CPUs this process may use (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


__all__ = ["OxigraphStore", "cpu_count", "open_store", "prepare_disk_store"]
