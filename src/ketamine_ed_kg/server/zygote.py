"""The zygote: a single-threaded process that holds the store and forks query workers.

pyoxigraph's Python API cannot cancel a running query, so a deadline can only be enforced by
killing the process running it. The web server is multi-threaded, and forking a threaded
process is unsafe, so the server starts this separate interpreter (``python -m
ketamine_ed_kg.server.zygote FD``). It loads the store once, seals itself off the network
(:func:`ketamine_ed_kg.sandbox.seal_network`: every worker inherits the seccomp filter) and
then, on request, forks a worker that shares the store's memory copy-on-write; forking takes
milliseconds, so a worker killed at its deadline is replaced at once. Each worker caps its own
address space, sends its standard error to a file the server reads if it dies (to tell a
memory cap or an engine defect from a bug), and is handed to the server with SCM_RIGHTS.
"""

from __future__ import annotations

import ctypes
import faulthandler
import gc
import io
import json
import os
import pickle
import select
import signal
import socket
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ..errors import ErrorKind, QueryError
from ..iris import GRAPH_EXAMPLES, PREFIXES
from ..parser_cache import prepare as prepare_parser
from ..query_plan import PlanCache
from ..release import pin_dataset, read_manifest
from ..sandbox import SandboxUnavailable, cap_memory, seal_network
from ..security import warm_up
from ..store.jobs import Failure, Job, JobKind, ResultMeta, decode_client_job
from ..store.oxigraph import OxigraphStore, open_store
from ..store.remote import RemoteStore
from ..store.rowcap import CapCheck
from .framing import (
    Frame,
    FrameReader,
    PeerGone,
    Ready,
    ZygoteSettings,
    recv_frame,
    send_frame,
    send_frames,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

CHUNK = 64 * 1024
HEADER_AFTER = 1024 * 1024
"""Bytes buffered before the header goes out: a result this small is complete before the
client sees a status, so a deadline still gives a clean 503 and the row cap knows its count."""


class FrameWriter(io.RawIOBase):
    """Binary sink for pyoxigraph's serialisers: buffers, then sends ``H`` once and ``D``s.

    The header goes out only when 1 MiB is buffered (or at the end), so a query that has not
    produced that much by the deadline still gets a clean 503 instead of a cut body. Then the
    body follows in 64 KiB frames. For a capped query the header must say whether rows were
    cut: a capped SELECT knows it before the body (evaluated once with lookahead); otherwise
    a result that ended below the cap was not, and the probe query decides the rest.

    A body complete before its header (any body under 1 MiB, and one the store produced
    whole: ``ResultMeta.length`` given to :meth:`start`) goes out with its length in the
    header, for a ``Content-Length`` response. Large writes (a body serialised whole) are
    kept as they are and sent without a copy; small ones (a streaming serialiser's) are
    gathered in a buffer first.
    """

    def __init__(self, sock: socket.socket, extra: ResultMeta | None = None) -> None:
        super().__init__()
        self.sock = sock
        self.extra = extra
        """What the plan already knows (media type, cap), merged into the header."""
        self.meta = ResultMeta()
        self.header_sent = False
        self.buffer = bytearray()
        """Small writes, gathered into one piece."""
        self.pieces: list[bytes] = []
        """Body not sent yet, in order: large writes as they came, gathered small ones."""
        self.pending = 0
        """Bytes in :attr:`pieces` and :attr:`buffer`."""
        self.whole = False
        """The store gave the whole body's length: hold it for one send at the end."""
        self.cap: CapCheck | None = None

    def start(self, meta: ResultMeta, cap: CapCheck | None) -> None:
        if self.extra is not None:
            meta = replace(meta, media_type=self.extra.media_type, cap=self.extra.cap)
        self.whole = meta.length is not None
        self.meta = meta
        self.cap = cap

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        chunk = bytes(data)  # (no copy when it is bytes already)
        if self.cap is not None:
            self.cap.feed(chunk)
        if len(chunk) >= CHUNK:
            self._gather()
            self.pieces.append(chunk)
        else:
            self.buffer += chunk
            if len(self.buffer) >= CHUNK:
                self._gather()
        self.pending += len(chunk)
        if not self.whole and self.pending >= (CHUNK if self.header_sent else HEADER_AFTER):
            self._send(final=False)
        return len(chunk)

    def _gather(self) -> None:
        if self.buffer:
            self.pieces.append(bytes(self.buffer))
            self.buffer.clear()

    def _send(self, final: bool) -> None:
        frames = self._frames(final)
        if final:
            frames.append((Frame.END, b""))
        send_frames(self.sock, frames)

    def _frames(self, final: bool) -> list[tuple[Frame, bytes]]:
        """The header (once) and the buffered body, as frames to send."""
        frames: list[tuple[Frame, bytes]] = []
        self._gather()
        if not self.header_sent:
            meta = self.meta
            if self.cap is not None:
                meta.truncated = self.cap.truncated(complete=final)
                meta.probed = self.cap.probed
            # The whole result is in the buffer: the server may read it past the deadline.
            meta.complete = final
            meta.length = self.pending if final else None
            frames.append((Frame.HEADER, meta.to_json()))
            self.header_sent = True
        frames.extend((Frame.DATA, piece) for piece in self.pieces)
        self.pieces.clear()
        self.pending = 0
        return frames

    def finish(self) -> None:
        """Header (if not sent yet), the rest of the body and the end, in one write."""
        self._send(final=True)


def _example_texts(store: ox.Store) -> list[str]:
    """The text of every example query the store holds (graph/examples)."""
    sh = PREFIXES["sh"]
    found = store.query(
        f"SELECT ?text WHERE {{ GRAPH <{GRAPH_EXAMPLES}> {{ ?query ?form ?text }} "
        f"VALUES ?form {{ <{sh}select> <{sh}ask> <{sh}construct> <{sh}describe> }} }}")
    assert isinstance(found, ox.QuerySolutions)
    return [row["text"].value for row in found if isinstance(row["text"], ox.Literal)]


def _die_with_parent() -> None:
    """Ask Linux to kill this worker if the zygote dies (best effort elsewhere)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


Runner = OxigraphStore | RemoteStore | None
"""What a worker runs jobs on: the embedded store, the external one (a forwarding process), or
nothing (a sealed process of ``store = "sparql"``, which only plans)."""


def worker_loop(store: Runner, sock: socket.socket, sealed: bool = True,
                graphs: list[str] | None = None,
                object_kinds: dict[str, str] | None = None) -> None:
    """Serve jobs from the server, one at a time, until the socket closes.

    ``object_kinds``: the release's record of predicates with objects of one kind
    (:func:`release_object_kinds`), which spares ORDER BY conditions the rewrite.

    A job is read whole before it starts, so a worker that dies before reading it leaves
    it queued on the socket; Linux then resets the server's end (where a worker that read it
    and died running it just closes it), which tells the server it may retry the job
    elsewhere without an acknowledgement frame (a wake-up of the server per job).
    """
    names = frozenset(graphs if graphs is not None else store.graph_names() if store else ())
    plans = PlanCache(object_kinds=object_kinds)  # this process's own: clients repeat texts
    reader = FrameReader(sock)
    while True:
        try:
            kind, payload = reader.recv_frame()
        except (PeerGone, OSError):
            return
        if kind is Frame.REQUEST:
            job = decode_client_job(payload)
        elif kind is Frame.JOB:
            job = pickle.loads(payload)
        else:
            return
        writer = FrameWriter(sock)
        try:
            _run_job(store, job, writer, names, sealed, plans)
        except QueryError as exc:
            _fail(sock, writer, Failure(exc.kind, exc.message))
        except MemoryError:
            _fail(sock, writer, Failure(ErrorKind.MEMORY, (
                "the query needed more memory than this service allows one query "
                "(max_query_memory)")))
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            # pyoxigraph reports evaluation failures (a type error in an expression, a
            # refused network call, a store read error) with these while streaming.
            _fail(sock, writer, Failure(ErrorKind.EVALUATION,
                                        f"query evaluation failed: {exc}"))
        except Exception as exc:  # noqa: BLE001 - reported to the server, which logs a 500
            _fail(sock, writer, Failure(ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}\n"
                                        + traceback.format_exc()))


def _run_job(store: Runner, job: Job, writer: FrameWriter, graphs: frozenset[str],
             sealed: bool, plans: PlanCache) -> None:
    if job.kind not in (JobKind.REQUEST, JobKind.CHECK, JobKind.PLAN):
        if store is None:
            raise QueryError(ErrorKind.INTERNAL, f"this query process holds no store to run "
                                                 f"a {job.kind} job")
        store.execute(job, writer.start, writer)
        writer.finish()
        return
    assert job.request is not None
    plan = plans.plan(job.request, graphs, sealed=sealed)
    planned = ResultMeta(media_type=plan.media_type, cap=plan.cap)
    if job.kind is JobKind.PLAN:
        planned.planned = plan.job.to_json()
    if job.kind in (JobKind.CHECK, JobKind.PLAN):
        send_frame(writer.sock, Frame.PLANNED, planned.to_json())
        return
    if store is None:
        raise QueryError(ErrorKind.INTERNAL, "this query process holds no store")
    writer.extra = planned
    store.execute(plan.job, writer.start, writer)
    writer.finish()


def _fail(sock: socket.socket, writer: FrameWriter, failure: Failure) -> None:
    send_frame(sock, Frame.FAIL_LATE if writer.header_sent else Frame.FAIL, failure.to_json())


def release_object_kinds(dataset: Path) -> dict[str, str]:
    """The record of predicates whose objects are all of one safe kind, from the manifest of
    the release ``dataset`` belongs to (``object_kinds``, written by the build); empty when
    there is none, or when the manifest does not describe this very file (its size), so every
    ORDER BY condition is then rewritten."""
    real = pin_dataset(dataset)
    manifest = read_manifest(real.parent)
    if manifest is None:
        return {}
    try:
        if (manifest.get("bytes") or {}).get(real.name) != real.stat().st_size:
            return {}
    except OSError:
        return {}
    kinds = manifest.get("object_kinds")
    if not isinstance(kinds, dict):
        return {}
    return {str(p): str(k) for p, k in kinds.items()}


def _worker(shared: ox.Store | None, settings: ZygoteSettings, sealed: bool,
            sock: socket.socket, object_kinds: dict[str, str] | None = None) -> None:
    """Body of a forked worker: error log, memory cap, then serve jobs."""
    log_dir = settings.log_dir
    if log_dir:
        fd = os.open(os.path.join(log_dir, f"worker-{os.getpid()}.log"),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 2)
        os.close(fd)
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", buffering=0), write_through=True)
        # A crash (stack overflow, abort) then leaves its cause in the log for the server.
        faulthandler.enable(file=sys.stderr)
    if settings.store == "sparql":
        # Sealed: plans only. Unsealed (forwarding): sends planned jobs to the one URL.
        runner: Runner = (None if settings.seal
                          else RemoteStore(settings.sparql_query_url, settings.graphs or []))
    else:
        runner = OxigraphStore(shared if shared is not None else open_store(
            Path(settings.dataset), settings.store,
            Path(settings.store_path) if settings.store_path else None))
    if settings.memory:
        cap_memory(settings.memory)
    worker_loop(runner, sock, sealed=sealed, graphs=settings.graphs,
                object_kinds=object_kinds)


WARM_UP_IDLE = 0.2
"""Seconds without a request for a worker after which the zygote reads one more example query
(:func:`_warm_one`)."""


def _warm_one(examples: list[str]) -> None:
    """Parse one more example query, so that workers forked from now on inherit its lexer
    tables (``security.warm_up``); freeze what the last one built.

    Done one query at a time while no worker is asked for, not before the first workers are
    forked: reading all of them costs about as much as building the parser (1-2 s), which
    would delay the first answer after start-up by as much. The first workers build the
    tables they need as they go, as before; replacements (after a deadline kill or a client
    that left mid-answer) start with them.
    """
    warm_up([examples.pop()])
    if not examples:
        gc.collect()
        gc.freeze()


def main(fd: int) -> None:
    """Zygote entry point: load the store, seal the network, report ready, fork workers.

    Ctrl-C in a terminal sends SIGINT to every process of the foreground group, this one and
    its query processes included. They ignore it: their server stops them (the control socket
    closes, and they die with their parent), so Ctrl-C gives the server's one line instead of
    a KeyboardInterrupt traceback from each of them.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ctl = socket.socket(fileno=fd)
    _kind, payload = recv_frame(ctl)
    settings = ZygoteSettings.from_json(payload)
    mode = settings.store
    dataset = Path(settings.dataset)
    store_path = Path(settings.store_path) if settings.store_path else None
    store: ox.Store | None = None
    examples: list[str] = []
    kinds: dict[str, str] = {}
    try:
        if mode == "sparql":
            graphs = list(settings.graphs or [])
        else:
            store = open_store(dataset, mode, store_path)
            graphs = OxigraphStore(store).graph_names()
            kinds = release_object_kinds(dataset)
        if mode != "sparql" or settings.seal:  # (forwarding processes never parse)
            # The SPARQL parser, once, here: every worker inherits it. Read from beside the
            # release when an earlier start saved it there, else built (about a second) and
            # saved for the next start (parser_cache).
            prepare_parser(dataset.parent if settings.dataset else None)
            if store is not None:
                examples = _example_texts(store)
    except Exception as exc:  # noqa: BLE001 - sent to the server, which raises it
        send_frame(ctl, Frame.FAIL, json.dumps({"message": str(exc)}).encode())
        return
    sealed = False
    if settings.seal:
        try:
            seal_network()
            sealed = True
        except SandboxUnavailable as exc:
            if not settings.allow_unsandboxed:
                send_frame(ctl, Frame.FAIL, json.dumps({"message": (
                    f"refusing to serve: the operating system cannot forbid query processes "
                    f"to open network connections here ({exc}). Run on a kernel with "
                    f"seccomp, or set allow_unsandboxed = true to accept running without "
                    f"it (never for a public endpoint)")}).encode())
                return
    shared: ox.Store | None = store
    if mode in ("disk", "sparql"):
        # RocksDB runs threads: never fork with it open; each worker opens it read-only.
        del store
        shared = None
    send_frame(ctl, Frame.READY, Ready(graphs, sealed).to_json())
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps workers
    # Everything allocated so far (the parser, its tables, the modules) lives as long as the
    # workers: out of the collector's sight, a worker's collections never write to (and so
    # never copy) the pages it shares with this process.
    gc.collect()
    gc.freeze()
    while True:
        if examples and not select.select([ctl], [], [], WARM_UP_IDLE)[0]:
            _warm_one(examples)
            continue
        try:
            kind, _ = recv_frame(ctl)
        except (PeerGone, OSError):
            return
        if kind is not Frame.SPAWN:
            return
        parent_end, child_end = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # worker
            ctl.close()
            parent_end.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _die_with_parent()
            code = 0
            try:
                _worker(shared, settings, sealed, child_end, kinds)
            except BaseException:  # noqa: BLE001 - a worker must never return into the loop
                traceback.print_exc()
                code = 1
            os._exit(code)
        child_end.close()
        socket.send_fds(ctl, [pid.to_bytes(8, "big")], [parent_end.fileno()])
        parent_end.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
