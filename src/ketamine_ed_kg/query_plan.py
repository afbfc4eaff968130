"""From an untrusted SPARQL request to a job the engine may run, decided in a query process.

Why in the query process: every decision about what a query may do is taken on a real parse
(:mod:`ketamine_ed_kg.security`), and that parse runs where the query will run — in a process
that cannot open network connections, has a memory cap and is killed at the deadline. So no
input can make the HTTP process spend unbounded CPU on inspection, and inspection time counts
against the query's deadline. The HTTP layer only hands over a :class:`PublicRequest` (plain
data) and gets back either a :class:`Plan` or a :class:`~ketamine_ed_kg.store.QueryError`
whose ``kind`` picks the HTTP status (``server/errors.py``).

A query process keeps its recent plans (:class:`PlanCache`): clients repeat query texts (the
example queries, the pages' and the editor's queries), and for a small query the parse and its
checks cost several times what the engine spends answering it (docs/sparql-service.md, "Where
the time of a request goes"). A plan is a function of the request, the store's graphs and
whether the process is sealed, so a cached plan is the plan the parse would give again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .engine_defects import order_edits
from .errors import ErrorKind, QueryError
from .formats import Format
from .negotiation import (
    BOOLEAN_TYPES,
    BROWSER_GRAPH,
    BROWSER_RESULTS,
    GRAPH_TYPES,
    RESULT_TYPES,
    Choice,
    NotAcceptable,
    negotiate,
)
from .security import PolicyViolation, QueryRejected, apply_edits, check_policy, inspect_query
from .store.jobs import Job, JobKind, PublicRequest
from .store.rowcap import apply_row_cap


@dataclass(frozen=True)
class Plan:
    """The job to run, and what the response will say about it."""

    job: Job
    media_type: str
    cap: int
    """Row cap the query was rewritten for (0: the cap cannot bite)."""


def plan_request(req: PublicRequest, graphs: set[str], *, sealed: bool = True,
                 object_kinds: Mapping[str, str] | None = None) -> Plan:
    """Parse, check and negotiate ``req``; raise QueryError naming what to change.

    ``sealed`` says whether this process is cut off from the network: a query that calls an
    allow-listed SERVICE is then handed back (kind ``federate``) to be run by the operator's
    federation processes instead. ``object_kinds`` is the store's record of predicates whose
    objects are all of one kind (``engine_defects.object_kinds``): ORDER BY conditions on
    them need no rewrite.
    """
    policy = req.policy
    try:
        info = inspect_query(req.query, max_depth=policy.max_depth, max_chain=policy.max_chain,
                             prefixes=dict(policy.prefixes))
    except QueryRejected as exc:
        raise QueryError(exc.kind, exc.message) from None
    try:
        check_policy(info, graphs_in_store=graphs,
                     extra_graphs=req.default_graphs + req.named_graphs,
                     allowed_service_prefixes=policy.allowed_service_prefixes,
                     allowed_graph_prefixes=policy.allowed_graph_prefixes)
    except PolicyViolation as exc:
        raise QueryError(ErrorKind.POLICY, str(exc)) from None
    if info.services and sealed:
        raise QueryError(ErrorKind.FEDERATE, "the query calls an allow-listed SERVICE")
    choice = _negotiate(info.form, req.accept, req.fmt)
    # ORDER BY on keys the engine's comparator totally orders (engine_defects: it aborts or
    # misorders on mixed literals), applied to the query and to the row-cap probe alike.
    ordered = order_edits(info, object_kinds) if policy.engine_rewrites else []
    capped = apply_row_cap(req.query, info, policy.row_cap, ordered)
    job = Job(
        JobKind.QUERY,
        capped.text if capped else apply_edits(req.query, ordered),
        probe=capped.probe if capped else None,
        cap=capped.cap if capped else 0,
        lookahead=capped.lookahead if capped else None,
        result_format=choice.format if choice.format.is_results else Format.JSON,
        rdf_format=Format.TURTLE if choice.format.is_results else choice.format,
        base_iri=req.base_iri,
        prefixes=policy.prefixes,
        form=info.form,
        graph_patterns=info.graph_patterns,
        **_dataset(req, info.from_graphs or info.from_named, graphs),
    )
    return Plan(job, choice.media_type, capped.cap if capped else 0)


PLAN_CACHE_BYTES = 4 << 20
"""Budget of each query process's plan cache: a few thousand typical plans."""
_PLAN_OVERHEAD = 1024
"""Bytes charged per plan beyond its texts (the request, job and plan objects, a dict slot)."""


class PlanCache:
    """The recent plans of one query process: least recently used first out, bounded in bytes.

    Only plans are kept: a refused request is parsed again each time (refusals are rare, and
    a memory-cap refusal depends on the moment). Sizes count the characters of the texts
    (bytes for ASCII text). A plan larger than an eighth of the budget is not kept, so one
    huge query cannot evict everything. Not thread-safe: a query process runs one job at a
    time.
    """

    def __init__(self, budget: int = PLAN_CACHE_BYTES,
                 object_kinds: Mapping[str, str] | None = None) -> None:
        self.budget = budget
        self.object_kinds = dict(object_kinds or {})
        """The store's record (fixed for the process): part of every plan it makes."""
        self.entry_limit = budget // 8
        self._plans: OrderedDict[tuple[PublicRequest, frozenset[str], bool],
                                 tuple[Plan, int]] = OrderedDict()
        self.used = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._plans)

    def plan(self, req: PublicRequest, graphs: frozenset[str], *, sealed: bool = True) -> Plan:
        """:func:`plan_request`, answered from the cache when this request was planned before."""
        key = (req, graphs, sealed)
        found = self._plans.get(key)
        if found is not None:
            self._plans.move_to_end(key)
            self.hits += 1
            return found[0]
        self.misses += 1
        made = plan_request(req, set(graphs), sealed=sealed, object_kinds=self.object_kinds)
        job = made.job
        size = (_PLAN_OVERHEAD + len(req.query) + len(req.accept or "") + len(job.query)
                + len(job.probe or "") + len(job.lookahead or "") + len(req.base_iri or ""))
        if size <= self.entry_limit:
            while self._plans and self.used + size > self.budget:
                _, (_, evicted) = self._plans.popitem(last=False)
                self.used -= evicted
            self._plans[key] = (made, size)
            self.used += size
        return made


def _negotiate(form: str, accept: str | None, fmt: str | None) -> Choice:
    try:
        if form in ("CONSTRUCT", "DESCRIBE"):
            return negotiate(GRAPH_TYPES, accept, fmt, BROWSER_GRAPH)
        offered = BOOLEAN_TYPES if form == "ASK" else RESULT_TYPES
        return negotiate(offered, accept, fmt, BROWSER_RESULTS)
    except NotAcceptable as exc:
        raise QueryError(ErrorKind.NOT_ACCEPTABLE,
                         f"{exc}; available for {form}: {', '.join(exc.offered)}") from None


def _dataset(req: PublicRequest, has_from: object, graphs: set[str]) -> dict[str, Any]:
    """The RDF dataset: protocol graphs, else the query's FROM, else the (inferred) union."""
    if req.default_graphs or req.named_graphs:
        return {"default_graph": req.default_graphs, "named_graphs": req.named_graphs,
                "union_default_graph": False}
    if has_from:
        return {"union_default_graph": False, "query_dataset": True}
    if not req.infer:
        return {"default_graph": tuple(sorted(graphs - {req.policy.inferred_graph})),
                "named_graphs": tuple(sorted(graphs)), "union_default_graph": False}
    return {"union_default_graph": req.policy.union_default_graph}


__all__ = ["PLAN_CACHE_BYTES", "Plan", "PlanCache", "plan_request"]
