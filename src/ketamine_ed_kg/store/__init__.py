"""The query store: one small typed interface, and its pyoxigraph implementation.

The protocol code only sees :class:`QueryService`: it submits a :class:`Job` with a deadline
and gets back a :class:`JobResult` (a :class:`ResultMeta` plus an iterator of already
serialised bytes). The implementation the service runs is the process pool in
``server/pool.py``, whose query processes hold an :class:`OxigraphStore`; a remote SPARQL store
can implement the same interface without touching the protocol code.

Modules: ``jobs`` (the typed contract), ``rowcap`` (the row cap, whole), ``oxigraph`` (the
embedded engine). None of them imports rdflib or the builder: they run in query processes.
"""

from __future__ import annotations

from ..errors import ClientGone, DeadlineExceeded, ErrorKind, Overloaded, QueryError
from ..release import DatasetVersion, dataset_version
from .jobs import (
    Failure,
    Job,
    JobKind,
    JobResult,
    PublicRequest,
    QueryService,
    RequestPolicy,
    ResultForm,
    ResultMeta,
)
from .oxigraph import OxigraphStore, cpu_count, open_store, prepare_disk_store
from .rowcap import CapCheck, CappedQuery, RowBound, apply_row_cap

__all__ = ["CapCheck", "CappedQuery", "ClientGone", "DatasetVersion", "DeadlineExceeded",
           "ErrorKind", "Failure", "Job", "JobKind", "JobResult", "OxigraphStore", "Overloaded",
           "PublicRequest", "QueryError", "QueryService", "RequestPolicy", "ResultForm",
           "ResultMeta", "RowBound", "apply_row_cap", "cpu_count", "dataset_version",
           "open_store", "prepare_disk_store"]
