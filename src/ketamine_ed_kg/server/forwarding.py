"""The query service over an external store (``store = "sparql"``): plan sealed, forward.

Two pools of killable processes (``server/pool.py``), like the federation pool:

* the sealed pool parses, checks and rewrites every client query exactly as for the embedded
  store (``plan`` jobs: :func:`ketamine_ed_kg.query_plan.plan_request`, seccomp forbids it any
  connection) and hands back the planned job as JSON;
* the forwarding pool (unsealed, no parser) sends that already-checked text to the configured
  ``sparql_query_url`` only (:class:`ketamine_ed_kg.store.remote.RemoteStore`) and streams
  the answer back through the same frames, row-cap check and deadline kill as the embedded
  store's workers.

So the deadline, the row cap, the read-only rules and the SSRF protections are the ones the
embedded store has; only where the data comes from changes. The service's own queries (web
pages, VoID, examples, the service description) are trusted and go to the forwarding pool.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from ..errors import ErrorKind, QueryError
from ..store.jobs import Job, JobKind, JobResult
from .pool import WorkerPool


class ForwardingService:
    """A :class:`~ketamine_ed_kg.store.QueryService` over an external store."""

    def __init__(self, planner: WorkerPool, forwarder: WorkerPool) -> None:
        self.planner = planner
        self.forwarder = forwarder

    def run(self, job: Job, deadline: float,
            cancelled: Callable[[], bool] | None = None) -> JobResult:
        if job.kind is JobKind.CHECK:
            return self.planner.run(job, deadline, cancelled)
        if job.kind is JobKind.REQUEST:
            planned = self.planner.run(replace(job, kind=JobKind.PLAN), deadline, cancelled)
            meta = planned.meta
            if not meta.planned:
                raise QueryError(ErrorKind.INTERNAL, "a query process planned no job")
            job = Job.from_json(meta.planned)
            result = self.forwarder.run(
                replace(job, seconds=deadline - time.monotonic()), deadline, cancelled)
            result.meta.media_type = meta.media_type
            result.meta.cap = meta.cap
            return result
        return self.forwarder.run(replace(job, seconds=deadline - time.monotonic()), deadline,
                                  cancelled)

    def stats(self) -> dict[str, object]:
        return {"planner": self.planner.stats(), "forwarder": self.forwarder.stats()}

    def close(self) -> None:
        self.planner.close()
        self.forwarder.close()


__all__ = ["ForwardingService"]
