"""A pool of query worker processes that can be killed at a deadline, and that heals itself.

This is the :class:`~ketamine_ed_kg.store.QueryService` the app uses. A request thread takes
an idle worker, sends it the job and waits for frames with a timeout equal to the time left.
If the deadline passes, or the client goes away while its query runs, the worker is killed with
SIGKILL (which really stops pyoxigraph, unlike a Python-level timeout) and the zygote forks a
replacement, so other clients keep being served by the remaining workers. A client that goes
away once its query has finished (the answer complete, only its bytes in flight) costs no
kill: the rest of the answer is read and the worker kept (a fresh worker is a fork, and its
parser builds its lexer tables again on first use).

Healing: an idle worker found dead (killed from outside, or taken down with its zygote) is
replaced before any job is sent to it; a job whose worker dies before reading it is
retried on a fresh one (Linux tells: the socket of a process that closes with unread bytes
resets, where one that read everything just ends, so no acknowledgement round trip is
needed); a dead zygote is restarted (it reloads the store). A worker that dies
*while* running a job is reported with the reason read from its error log (memory cap, engine
defect, crash), never retried: the same query would take the next worker down too.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import queue
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ServiceConfig
from ..engine_defects import classify_crash
from ..errors import ClientGone, DeadlineExceeded, ErrorKind, KedError, Overloaded, QueryError
from ..store.jobs import Failure, Job, JobResult, ResultMeta, encode_client_job
from .framing import (
    BadFrame,
    Frame,
    FrameReader,
    PeerGone,
    Ready,
    ZygoteSettings,
    recv_frame,
    send_frame,
)

log = logging.getLogger(__name__)

CANCEL_POLL = 0.1
"""Seconds between checks that the client is still there while a query runs."""
START_ATTEMPTS = 3
"""Workers tried for one job when each dies before reading it."""
LOG_TAIL = 8192
COMPLETE_GRACE = 10.0
"""Seconds allowed to read a result the worker has finished, whatever the query deadline."""


class _WorkerDied(Exception):
    """The worker's socket closed: the process is gone."""


class _NeverStarted(_WorkerDied):
    """The worker's socket was reset: the process closed it with the job unread (Linux resets
    a Unix socket closed with bytes still queued to it), so it never ran the job."""


@dataclass
class _Worker:
    pid: int
    sock: socket.socket
    reader: FrameReader = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.reader = FrameReader(self.sock)

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.sock.close()

    def alive(self) -> bool:
        """False when the process has gone (its end of the socket pair closed), or when bytes
        of an earlier job are left over (it is out of step with the protocol)."""
        if self.reader.buffer:
            return False
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        if not poller.poll(0):
            return True
        try:
            return bool(self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except BlockingIOError:
            return True
        except OSError:
            return False


class WorkerPool:
    """Zygote plus ``config.workers`` forked query processes.

    ``sealed=False`` builds the operator's federation pool (only started when
    ``allowed_service_prefixes`` is set): its processes may open connections, and they only
    ever get queries whose every SERVICE target the sealed parse found allow-listed. With
    ``store = "sparql"`` (``graphs`` given), no store is loaded: the sealed processes plan
    queries and the unsealed ones forward planned queries (``server/forwarding.py``).
    """

    def __init__(self, config: ServiceConfig, *, sealed: bool = True,
                 workers: int | None = None, graphs: list[str] | None = None) -> None:
        self.config = config
        self.sealed = sealed
        self._graphs = graphs
        """``store = "sparql"``: the external store's graphs (no store is loaded)."""
        self._size = workers or config.workers
        self._lock = threading.Lock()
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._all: dict[int, _Worker] = {}
        self._closed = False
        self.kills = 0
        self.zygote_starts = 0
        _remove_stale_log_dirs()
        self._log_dir = Path(tempfile.mkdtemp(prefix=f"{LOG_DIR_PREFIX}{os.getpid()}-"))
        try:
            self.graphs: list[str] = self._start_zygote()
            for _ in range(self._size):
                self._idle.put(self._spawn())
        except BaseException:
            self.close()
            raise

    # -- processes --------------------------------------------------------------------

    def _start_zygote(self) -> list[str]:
        """Start (or restart) the zygote and wait until it holds the store."""
        parent_end, child_end = socket.socketpair()
        self._zygote = subprocess.Popen(
            [sys.executable, "-m", "ketamine_ed_kg.server.zygote", str(child_end.fileno())],
            pass_fds=[child_end.fileno()], close_fds=True,
        )
        child_end.close()
        self._ctl = parent_end
        self.zygote_starts += 1
        cfg = self.config
        send_frame(self._ctl, Frame.CONFIG, ZygoteSettings(
            dataset=str(cfg.dataset_path()),
            store=cfg.store,
            store_path=str(cfg.disk_store_path()) if cfg.store == "disk" else None,
            seal=self.sealed,
            allow_unsandboxed=cfg.allow_unsandboxed,
            memory=cfg.query_memory(),
            log_dir=str(self._log_dir),
            graphs=self._graphs,
            sparql_query_url=cfg.sparql_query_url,
        ).to_json())
        try:
            kind, payload = recv_frame(self._ctl)
        except (PeerGone, OSError) as exc:
            self._zygote.wait()
            raise KedError("the store process exited while loading the dataset") from exc
        if kind is not Frame.READY:
            raise KedError(json.loads(payload)["message"])
        ready = Ready.from_json(payload)
        if self.sealed and not ready.sealed:
            log.warning("query processes are NOT sealed off the network (allow_unsandboxed)")
        return ready.graphs

    def _spawn(self) -> _Worker:
        """A fresh worker from the zygote, restarting the zygote if it has died."""
        with self._lock:
            for attempt in range(2):
                if self._zygote.poll() is not None or attempt:
                    log.warning("the store process (zygote) died; restarting it")
                    self._ctl.close()
                    self._stop_zygote()
                    self._start_zygote()
                try:
                    send_frame(self._ctl, Frame.SPAWN)
                    message, fds, _flags, _addr = socket.recv_fds(self._ctl, 8, 1)
                except OSError:
                    continue
                if len(message) == 8 and fds:
                    worker = _Worker(int.from_bytes(message, "big"), socket.socket(fileno=fds[0]))
                    self._all[worker.pid] = worker
                    return worker
            raise KedError("the store process could not fork a query worker")

    def _log_path(self, worker: _Worker) -> Path:
        return self._log_dir / f"worker-{worker.pid}.log"

    def _discard(self, worker: _Worker) -> None:
        """Kill a worker (stuck past its deadline, abandoned, or dead) and replace it."""
        worker.kill()
        self._log_path(worker).unlink(missing_ok=True)
        self._all.pop(worker.pid, None)
        self.kills += 1
        if not self._closed:
            self._idle.put(self._spawn())

    def _take(self, deadline: float) -> _Worker:
        """An idle worker that is alive (dead ones found on the way are replaced)."""
        while True:
            remaining = deadline - time.monotonic()
            try:
                worker = self._idle.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                raise Overloaded("every query worker stayed busy until the deadline") from None
            if worker.alive():
                return worker
            log.warning("query worker %d was found dead while idle; replacing it", worker.pid)
            self._discard(worker)

    # -- jobs -------------------------------------------------------------------------

    def run(self, job: Job, deadline: float,
            cancelled: Callable[[], bool] | None = None) -> JobResult:
        """Run ``job`` on a free worker; ``deadline`` is an absolute ``time.monotonic()``."""
        compact = encode_client_job(job)
        frame, sent = ((Frame.JOB, pickle.dumps(job)) if compact is None
                       else (Frame.REQUEST, compact))
        for _attempt in range(START_ATTEMPTS):
            worker = self._take(deadline)
            try:
                worker.sock.settimeout(None)
                send_frame(worker.sock, frame, sent)
                kind, payload = self._recv(worker, deadline, cancelled)
            except (_NeverStarted, OSError):
                log.warning("query worker %d died before starting a job; retrying", worker.pid)
                self._discard(worker)
                continue
            except _WorkerDied:
                error = self._crash_report(worker)
                self._discard(worker)
                raise error from None
            except BaseException:
                self._discard(worker)
                raise
            break
        else:
            raise Overloaded("query workers kept dying before they could start the query")
        if kind in (Frame.FAIL, Frame.PLANNED):
            self._idle.put(worker)
            if kind is Frame.PLANNED:
                return JobResult(ResultMeta.from_json(payload), iter(()))
            raise Failure.from_json(payload).error()
        if kind is not Frame.HEADER:
            self._discard(worker)
            raise KedError(f"unexpected frame {kind} from a query worker")
        return self._stream(worker, ResultMeta.from_json(payload), deadline)

    def _stream(self, worker: _Worker, meta: ResultMeta, deadline: float) -> JobResult:
        if meta.complete:
            # The query finished inside its deadline; only its (at most 1 MiB) body is still
            # in flight: allow a grace period rather than cut an answer the engine gave.
            deadline = max(deadline, time.monotonic() + COMPLETE_GRACE)
        state = {"done": False}

        def finish(keep: bool) -> None:
            state["done"] = True
            if keep:
                self._idle.put(worker)

        def let_go() -> None:
            """The reader stopped early (the client left, or a write to it failed)."""
            if state["done"]:
                return
            state["done"] = True
            if meta.complete and self._drain(worker, deadline):
                self._idle.put(worker)  # it had finished: nothing to stop
            else:
                self._discard(worker)

        def body() -> Iterator[bytes]:
            try:
                while True:
                    try:
                        frame, data = self._recv(worker, deadline)
                    except _WorkerDied:
                        error = self._crash_report(worker)
                        raise error from None
                    if frame is Frame.DATA:
                        yield data
                    elif frame is Frame.END:
                        finish(True)
                        return
                    elif frame is Frame.FAIL_LATE:
                        finish(True)
                        raise Failure.from_json(data).error()
                    else:
                        raise KedError(f"unexpected frame {frame} from a query worker")
            except GeneratorExit:
                let_go()
                raise
            finally:
                if not state["done"]:
                    finish(False)
                    self._discard(worker)

        return JobResult(meta, body(), let_go)

    def _drain(self, worker: _Worker, deadline: float) -> bool:
        """Read a finished job's remaining frames up to its end: True if the worker is then
        ready for the next job (a complete answer is already written, at most 1 MiB, so this
        only empties the socket; killing the worker would cost a fork and a cold process)."""
        try:
            while True:
                frame, _ = self._recv(worker, deadline)
                if frame in (Frame.END, Frame.FAIL_LATE):
                    return True
                if frame is not Frame.DATA:
                    return False
        except (KedError, _WorkerDied, OSError):
            return False

    def _recv(self, worker: _Worker, deadline: float,
              cancelled: Callable[[], bool] | None = None) -> tuple[Frame, bytes]:
        """Next frame from ``worker``, within the deadline, checking ``cancelled`` meanwhile.

        The wait for the first byte is a ``poll`` (so checking the client never cuts a frame
        in half); the frame itself is then read with the rest of the deadline as timeout.
        """
        reader = worker.reader
        if reader.ready():  # read with an earlier frame: no system call, so no wait
            try:
                return reader.recv_frame()
            except BadFrame as exc:
                raise KedError(f"query worker {worker.pid}: {exc}") from exc
        if cancelled is not None:
            poller = select.poll()
            poller.register(worker.sock, select.POLLIN)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExceeded("the query passed its deadline and was stopped")
                if poller.poll(int(min(remaining, CANCEL_POLL) * 1000) + 1):
                    break
                if cancelled():
                    raise ClientGone("the client disconnected; its query was stopped")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded("the query passed its deadline")
        worker.sock.settimeout(remaining)
        try:
            return reader.recv_frame()
        except TimeoutError:
            raise DeadlineExceeded("the query passed its deadline and was stopped") from None
        except ConnectionResetError as exc:
            raise _NeverStarted(f"query worker {worker.pid} died before reading its job") from exc
        except (PeerGone, ConnectionError) as exc:
            raise _WorkerDied(f"query worker {worker.pid} died") from exc
        except BadFrame as exc:
            raise KedError(f"query worker {worker.pid}: {exc}") from exc

    def _crash_report(self, worker: _Worker) -> QueryError:
        """Why a worker died while running a query, from the tail of its error log."""
        try:
            with self._log_path(worker).open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - LOG_TAIL))
                tail = handle.read().decode("utf-8", "replace")
        except OSError:
            tail = ""
        kind, message = classify_crash(tail, memory_cap=self.config.query_memory())
        if kind in (ErrorKind.CRASH, ErrorKind.INTERNAL):
            log.error("query worker %d crashed: %s", worker.pid, tail[-2000:])
        return QueryError(kind, message)

    # -- lifecycle --------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Pool size and how many workers were killed (for logs and the benchmark)."""
        return {"workers": len(self._all), "idle": self._idle.qsize(), "kills": self.kills,
                "zygote_starts": self.zygote_starts}

    def zygote_pid(self) -> int:
        """Process id of the current zygote (for fault-injection tests)."""
        return self._zygote.pid

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (for fault-injection tests)."""
        return sorted(self._all)

    def _stop_zygote(self) -> None:
        try:
            self._zygote.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._zygote.kill()
            self._zygote.wait()

    def close(self) -> None:
        """Kill every worker, let the zygote exit and remove the worker logs."""
        if self._closed:
            return
        self._closed = True
        for worker in list(self._all.values()):
            worker.kill()
        self._all.clear()
        if hasattr(self, "_ctl"):
            self._ctl.close()
            self._stop_zygote()
        shutil.rmtree(self._log_dir, ignore_errors=True)


LOG_DIR_PREFIX = "ketamine-ed-kg-workers-"
"""Worker logs go to ``<tmp>/ketamine-ed-kg-workers-<pid of the HTTP process>-<random>``."""


def _remove_stale_log_dirs() -> None:
    """Remove the worker-log folders of HTTP processes that are gone.

    :meth:`WorkerPool.close` removes its folder, but a process killed with SIGKILL (or by the
    OOM killer) never runs it; the next pool to start cleans up after it. Only folders of
    this user whose process no longer exists are touched: a live one (or a reused pid) keeps
    its folder.
    """
    for folder in Path(tempfile.gettempdir()).glob(f"{LOG_DIR_PREFIX}*-*"):
        pid = folder.name.removeprefix(LOG_DIR_PREFIX).split("-", 1)[0]
        try:
            if not pid.isdigit() or folder.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # not ours to judge (EPERM: another user's live process), or gone


__all__ = ["WorkerPool"]
