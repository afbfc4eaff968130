"""The typed contract between the HTTP process and a query process.

A :class:`Job` goes to a query process (a client's as compact bytes, :func:`encode_client_job`;
any other pickled: plain data and enums only); the query process
answers with a :class:`ResultMeta` (JSON, known before the first byte of the body), then the
serialised body, or with a :class:`~ketamine_ed_kg.errors.QueryError` as a :class:`Failure`.
The frames that carry them are in ``server/framing.py``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, Protocol

from ..errors import ErrorKind, QueryError
from ..formats import Format


@dataclass(frozen=True)
class RequestPolicy:
    """The operator's limits a public query is held to (from ServiceConfig)."""

    row_cap: int
    max_depth: int
    max_chain: int
    allowed_service_prefixes: tuple[str, ...] = ()
    allowed_graph_prefixes: tuple[str, ...] = ()
    union_default_graph: bool = True
    inferred_graph: str = ""
    prefixes: tuple[tuple[str, str], ...] = ()
    """Prefixes a query may use without declaring them (the project's, iris.PREFIXES)."""
    engine_rewrites: bool = True
    """Apply the embedded engine's workarounds (engine_defects: the ORDER BY rewrite); off
    for an external store, which has other defects (docs/external-store.md)."""


@dataclass(frozen=True)
class PublicRequest:
    """What a client asked for, unparsed: crosses the process boundary as plain data."""

    query: str
    policy: RequestPolicy
    accept: str | None = None
    fmt: str | None = None
    infer: bool = True
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    base_iri: str | None = None


class JobKind(StrEnum):
    """What a query process is asked to do."""

    QUERY = "query"
    """Run a trusted query (from the service itself): no parse, no policy."""
    REQUEST = "request"
    """Plan a client's query in the query process (:mod:`ketamine_ed_kg.query_plan`), run it."""
    CHECK = "check"
    """Plan a client's query only: is the request valid? (for conditional requests)."""
    DUMP = "dump"
    """Write the whole store in one RDF format."""
    PLAN = "plan"
    """Plan a client's query and hand the planned ``query`` job back (external store: a
    forwarding process runs it; ``ResultMeta.planned``)."""


@dataclass(frozen=True)
class Job:
    """One unit of work for the store. Plain data, so it can cross a process boundary."""

    kind: JobKind
    query: str = ""
    probe: str | None = None
    """Query whose non-empty answer means the row cap cut the result."""
    cap: int = 0
    """The row cap the query was rewritten for (0: none)."""
    lookahead: str | None = None
    """The capped SELECT with ``LIMIT cap+1``: the embedded store evaluates it once instead of
    ``query`` and ``probe`` (:func:`~.rowcap.capped_body`); an external store ignores it."""
    union_default_graph: bool = True
    default_graph: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    result_format: Format = Format.JSON
    """Serialisation of SELECT and ASK results."""
    rdf_format: Format = Format.TURTLE
    """Serialisation of CONSTRUCT and DESCRIBE results, and of dumps."""
    base_iri: str | None = None
    prefixes: tuple[tuple[str, str], ...] = ()
    """Prefixes declared before the query's prologue (pyoxigraph's ``prefixes=``)."""
    request: PublicRequest | None = None
    """The client's request, for ``request``, ``check`` and ``plan`` jobs."""
    query_dataset: bool = False
    """The query's own FROM / FROM NAMED define its dataset (an external store is then sent
    no dataset parameters, which would override them)."""
    form: str = ""
    """SELECT, ASK, CONSTRUCT or DESCRIBE when known (an external store is asked for a
    format by it); '' otherwise."""
    graph_patterns: bool = True
    """The query may read its named graphs (a ``GRAPH`` pattern; False only when the parse
    found none): an external store is then sent them, else an empty set, which is cheaper
    for it (Virtuoso 7.2: a DESCRIBE in about half the time) and gives the same answer."""
    seconds: float = 0.0
    """Time left to the deadline when sent to a forwarding process (its store timeout)."""

    def to_json(self) -> str:
        """A planned query job as JSON (from a sealed query process: never pickled back)."""
        if self.kind is not JobKind.QUERY or self.request is not None:
            raise ValueError("only a planned query job travels as JSON")
        fields = asdict(self)
        fields.pop("request")
        fields["result_format"] = self.result_format.name
        fields["rdf_format"] = self.rdf_format.name
        return json.dumps(fields)

    @classmethod
    def from_json(cls, text: str) -> Job:
        fields = json.loads(text)
        graphs = {k: tuple(fields[k]) if fields[k] is not None else None
                  for k in ("default_graph", "named_graphs")}
        return cls(**{**fields, **graphs, "kind": JobKind(fields["kind"]),
                      "result_format": Format[fields["result_format"]],
                      "rdf_format": Format[fields["rdf_format"]],
                      "prefixes": tuple((str(a), str(b)) for a, b in fields["prefixes"])})


_CLIENT_KINDS = {"request": JobKind.REQUEST, "check": JobKind.CHECK, "plan": JobKind.PLAN}
_PLAIN = tuple((f.name, f.default) for f in fields(Job) if f.name not in ("kind", "request"))
_POLICY_HEAD = struct.Struct(">I")


def encode_client_job(job: Job) -> bytes | None:
    """A client's request job (``request``, ``check``, ``plan``: its kind and its request,
    every other field at its default) as compact bytes; None for any other job (pickled).

    Every client query crosses to a query process, and pickling a job with its request and
    policy cost tens of microseconds on each side. Here the policy, the same for every
    request, is JSON written once (:func:`_policy_bytes`) and read once per process
    (:func:`decode_client_job`); the request itself is a short JSON list.
    """
    req = job.request
    if req is None or job.kind.value not in _CLIENT_KINDS:
        return None
    state = job.__dict__
    if any(state[name] != default for name, default in _PLAIN):
        return None
    policy = _policy_bytes(req.policy)
    fields_ = [job.kind.value, req.query, req.accept, req.fmt, req.infer,
               req.default_graphs, req.named_graphs, req.base_iri]
    return _POLICY_HEAD.pack(len(policy)) + policy + json.dumps(fields_).encode()


_WRITTEN: list[tuple[RequestPolicy, bytes]] = []
"""The last policy written, and its bytes (the service has one policy)."""


def _policy_bytes(policy: RequestPolicy) -> bytes:
    last = _WRITTEN[-1:]  # (one read: another thread may replace it meanwhile)
    if last and last[0][0] is policy:
        return last[0][1]
    written = json.dumps(asdict(policy)).encode()
    _WRITTEN[:] = [(policy, written)]
    return written


_POLICIES: dict[bytes, RequestPolicy] = {}
"""The policies a query process has read, by their bytes (a handful at most)."""


def decode_client_job(payload: bytes) -> Job:
    """:func:`encode_client_job` read back."""
    (size,) = _POLICY_HEAD.unpack_from(payload)
    end = _POLICY_HEAD.size + size
    raw = payload[_POLICY_HEAD.size:end]
    policy = _POLICIES.get(raw)
    if policy is None:
        if len(_POLICIES) > 16:
            _POLICIES.clear()
        settings: dict[str, Any] = {
            name: tuple(tuple(v) if isinstance(v, list) else v for v in value)
            if isinstance(value, list) else value for name, value in json.loads(raw).items()}
        policy = _POLICIES[raw] = RequestPolicy(**settings)
    kind, query, accept, fmt, infer, default_graphs, named_graphs, base_iri = json.loads(
        payload[end:])
    return Job(_CLIENT_KINDS[kind], request=PublicRequest(
        query, policy, accept=accept, fmt=fmt, infer=infer,
        default_graphs=tuple(default_graphs), named_graphs=tuple(named_graphs),
        base_iri=base_iri))


class ResultForm(StrEnum):
    """The shape of a query's result."""

    BOOLEAN = "boolean"
    SOLUTIONS = "solutions"
    GRAPH = "graph"


@dataclass
class ResultMeta:
    """What the HTTP process learns before the body: it becomes the status and headers."""

    form: ResultForm | None = None
    """None for a dump or a check."""
    media_type: str = ""
    """The negotiated media type of a client's request ('' for internal jobs)."""
    cap: int = 0
    """The row cap the query was rewritten for (0: the cap cannot bite)."""
    truncated: bool = False
    """The row cap cut the result."""
    probed: bool = False
    """The row-cap probe query ran (the result may have reached the cap)."""
    complete: bool = False
    """The whole body is already produced (at most one buffer is still in flight)."""
    length: int | None = None
    """The body's size in bytes when it is complete before its header goes out: the HTTP
    response then says ``Content-Length`` and sends the body as it is, not in chunks."""
    planned: str = ""
    """For a ``plan`` job: the planned query job (:meth:`Job.to_json`)."""

    def to_json(self) -> bytes:
        # Field by field rather than ``asdict`` (which deep-copies): sent once per request.
        return json.dumps({name: getattr(self, name) for name in _META_FIELDS}).encode()

    @classmethod
    def from_json(cls, payload: bytes) -> ResultMeta:
        fields = json.loads(payload)
        form = fields.pop("form")
        return cls(form=ResultForm(form) if form else None, **fields)


_META_FIELDS = tuple(f.name for f in fields(ResultMeta))


@dataclass(frozen=True)
class Failure:
    """A :class:`QueryError` on the wire."""

    kind: ErrorKind
    message: str

    def to_json(self) -> bytes:
        return json.dumps({"kind": str(self.kind), "message": self.message}).encode()

    @classmethod
    def from_json(cls, payload: bytes) -> Failure:
        fields = json.loads(payload)
        return cls(ErrorKind(fields["kind"]), str(fields["message"]))

    def error(self) -> QueryError:
        return QueryError(self.kind, self.message)


def _nothing() -> None:
    """Abandoning a result that holds no process."""


@dataclass
class JobResult:
    """What came back: metadata known before the first byte, then the serialised body."""

    meta: ResultMeta
    body: Iterator[bytes]
    close: Callable[[], None] = field(default=_nothing, repr=False)
    """Abandons the job (e.g. the client went away): a process still running it is killed and
    replaced; one that has finished it (complete answer) is kept once its frames are read."""


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


__all__ = ["Failure", "Job", "JobKind", "JobResult", "PublicRequest", "QueryService",
           "RequestPolicy", "ResultForm", "ResultMeta", "decode_client_job", "encode_client_job"]
