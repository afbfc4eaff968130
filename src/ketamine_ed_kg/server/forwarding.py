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

The plans a sealed process handed back are kept (:class:`Plans`): a request repeated exactly
(clients repeat query texts: the pages', the editor's, the examples) goes straight to the
forwarding pool, saving a process round trip on every such query. Nothing is parsed here: a
kept plan is the sealed parse's own answer to that exact request (text, policy, negotiation,
dataset, base), as the query processes' own plan cache already assumes; refusals are never
kept, so they are decided afresh each time.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from ..errors import ErrorKind, QueryError
from ..store.jobs import Job, JobKind, JobResult, PublicRequest
from .pool import WorkerPool

PLANS_BYTES = 4 << 20
"""Budget of the kept plans (the texts' characters): a few thousand typical queries."""
_PLAN_OVERHEAD = 1024
"""Bytes charged per plan beyond its texts (objects, a dict slot)."""


class Plans:
    """The planned jobs of recent requests, least recently used first out, bounded in bytes
    (a plan larger than an eighth of the budget is not kept). Shared by the request threads."""

    def __init__(self, budget: int = PLANS_BYTES) -> None:
        self.budget = budget
        self._plans: OrderedDict[PublicRequest, tuple[Job, str, int, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.used = 0
        self.hits = 0

    def get(self, request: PublicRequest) -> tuple[Job, str, int] | None:
        """The planned job, media type and row cap of ``request``, if kept."""
        with self._lock:
            found = self._plans.get(request)
            if found is None:
                return None
            self._plans.move_to_end(request)
            self.hits += 1
            return found[:3]

    def put(self, request: PublicRequest, job: Job, media_type: str, cap: int) -> None:
        size = (_PLAN_OVERHEAD + len(request.query) + len(request.accept or "")
                + len(request.base_iri or "") + len(job.query) + len(job.probe or ""))
        if size > self.budget // 8:
            return
        with self._lock:
            old = self._plans.pop(request, None)
            if old is not None:
                self.used -= old[3]
            while self._plans and self.used + size > self.budget:
                _, evicted = self._plans.popitem(last=False)
                self.used -= evicted[3]
            self._plans[request] = (job, media_type, cap, size)
            self.used += size

    def __len__(self) -> int:
        return len(self._plans)


class ForwardingService:
    """A :class:`~ketamine_ed_kg.store.QueryService` over an external store."""

    def __init__(self, planner: WorkerPool, forwarder: WorkerPool) -> None:
        self.planner = planner
        self.forwarder = forwarder
        self.plans = Plans()

    def run(self, job: Job, deadline: float,
            cancelled: Callable[[], bool] | None = None) -> JobResult:
        if job.kind is JobKind.CHECK:
            return self.planner.run(job, deadline, cancelled)
        if job.kind is JobKind.REQUEST:
            assert job.request is not None
            kept = self.plans.get(job.request)
            if kept is None:
                planned = self.planner.run(replace(job, kind=JobKind.PLAN), deadline,
                                           cancelled)
                meta = planned.meta
                if not meta.planned:
                    raise QueryError(ErrorKind.INTERNAL, "a query process planned no job")
                kept = (Job.from_json(meta.planned), meta.media_type, meta.cap)
                self.plans.put(job.request, *kept)
            forward, media_type, cap = kept
            result = self.forwarder.run(
                replace(forward, seconds=deadline - time.monotonic()), deadline, cancelled)
            result.meta.media_type = media_type
            result.meta.cap = cap
            return result
        return self.forwarder.run(replace(job, seconds=deadline - time.monotonic()), deadline,
                                  cancelled)

    def stats(self) -> dict[str, object]:
        return {"planner": self.planner.stats(), "forwarder": self.forwarder.stats(),
                "plans_kept": len(self.plans), "plan_hits": self.plans.hits}

    def close(self) -> None:
        self.planner.close()
        self.forwarder.close()


__all__ = ["ForwardingService", "Plans"]
