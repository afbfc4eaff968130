"""From an untrusted SPARQL request to a job the engine may run, decided in a query process.

Why in the query process: every decision about what a query may do is taken on a real parse
(:mod:`ketamine_ed_kg.security`), and that parse runs where the query will run — in a process
that cannot open network connections, has a memory cap and is killed at the deadline. So no
input can make the HTTP process spend unbounded CPU on inspection, and inspection time counts
against the query's deadline. The HTTP layer only hands over a :class:`PublicRequest` (plain
data) and gets back either a :class:`Plan` or a :class:`~ketamine_ed_kg.store.QueryError`
whose ``kind`` picks the HTTP status (``server/errors.py``).
"""

from __future__ import annotations

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


def plan_request(req: PublicRequest, graphs: set[str], *, sealed: bool = True) -> Plan:
    """Parse, check and negotiate ``req``; raise QueryError naming what to change.

    ``sealed`` says whether this process is cut off from the network: a query that calls an
    allow-listed SERVICE is then handed back (kind ``federate``) to be run by the operator's
    federation processes instead.
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
    ordered = order_edits(info) if policy.engine_rewrites else []
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
        **_dataset(req, info.from_graphs or info.from_named, graphs),
    )
    return Plan(job, choice.media_type, capped.cap if capped else 0)


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


__all__ = ["Plan", "plan_request"]
