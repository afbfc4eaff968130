"""A pool of query worker processes that can be killed at a deadline.

This is the :class:`~ketamine_ed_kg.store.QueryService` the app uses. A request thread takes
an idle worker, sends it the job and waits for frames with a timeout equal to the time left.
If the deadline passes, the worker is killed with SIGKILL (which really stops pyoxigraph, unlike
a Python-level timeout) and the zygote forks a replacement, so other clients keep being served
by the remaining workers.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..config import ServiceConfig
from ..errors import KedError
from ..store import DeadlineExceeded, Job, JobResult, Overloaded, QueryError
from .framing import PeerGone, recv_frame, send_frame

log = logging.getLogger(__name__)


@dataclass
class _Worker:
    pid: int
    sock: socket.socket

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.sock.close()


class WorkerPool:
    """Zygote plus ``config.workers`` forked query processes."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._all: dict[int, _Worker] = {}
        self._closed = False
        self.kills = 0
        parent_end, child_end = socket.socketpair()
        self._zygote = subprocess.Popen(
            [sys.executable, "-m", "ketamine_ed_kg.server.zygote", str(child_end.fileno())],
            pass_fds=[child_end.fileno()], close_fds=True,
        )
        child_end.close()
        self._ctl = parent_end
        dataset = config.dataset_path()
        send_frame(self._ctl, b"C", json.dumps({
            "dataset": str(dataset),
            "store": config.store,
            "store_path": str(config.disk_store_path()) if config.store == "disk" else None,
        }).encode())
        try:
            kind, payload = recv_frame(self._ctl)
        except PeerGone as exc:
            self._zygote.wait()
            raise KedError("the store process exited while loading the dataset") from exc
        if kind != b"R":
            self.close()
            raise KedError(json.loads(payload)["message"])
        self.graphs: list[str] = json.loads(payload)["graphs"]
        for _ in range(config.workers):
            self._idle.put(self._spawn())

    def _spawn(self) -> _Worker:
        with self._lock:
            send_frame(self._ctl, b"S")
            message, fds, _flags, _addr = socket.recv_fds(self._ctl, 8, 1)
            if len(message) != 8 or not fds:
                raise KedError("the store process did not hand over a worker")
            worker = _Worker(int.from_bytes(message, "big"), socket.socket(fileno=fds[0]))
            self._all[worker.pid] = worker
            return worker

    def _discard(self, worker: _Worker) -> None:
        """Kill a worker (stuck past its deadline, or abandoned mid-stream) and replace it."""
        worker.kill()
        self._all.pop(worker.pid, None)
        self.kills += 1
        if not self._closed:
            self._idle.put(self._spawn())

    def run(self, job: Job, deadline: float) -> JobResult:
        """Run ``job`` on a free worker; ``deadline`` is an absolute ``time.monotonic()``."""
        remaining = deadline - time.monotonic()
        try:
            worker = self._idle.get(timeout=max(remaining, 0.001))
        except queue.Empty:
            raise Overloaded("every query worker stayed busy until the deadline") from None
        try:
            worker.sock.settimeout(None)
            send_frame(worker.sock, b"J", pickle.dumps(job))
            kind, payload = self._recv(worker, deadline)
        except BaseException:
            self._discard(worker)
            raise
        if kind == b"F":
            self._idle.put(worker)
            failure = json.loads(payload)
            raise QueryError(failure["kind"], failure["message"])
        if kind != b"H":
            self._discard(worker)
            raise KedError(f"unexpected frame {kind!r} from a query worker")
        meta = json.loads(payload)
        state = {"done": False}

        def body() -> Iterator[bytes]:
            try:
                while True:
                    frame, data = self._recv(worker, deadline)
                    if frame == b"D":
                        yield data
                    elif frame == b"E":
                        state["done"] = True
                        self._idle.put(worker)
                        return
                    elif frame == b"X":
                        state["done"] = True
                        self._idle.put(worker)
                        failure = json.loads(data)
                        raise QueryError(failure["kind"], failure["message"])
                    else:
                        raise KedError(f"unexpected frame {frame!r} from a query worker")
            finally:
                if not state["done"]:
                    state["done"] = True
                    self._discard(worker)

        def abandon() -> None:
            if not state["done"]:
                state["done"] = True
                self._discard(worker)

        return JobResult(meta, body(), abandon)

    def _recv(self, worker: _Worker, deadline: float) -> tuple[bytes, bytes]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded("the query passed its deadline")
        worker.sock.settimeout(remaining)
        try:
            return recv_frame(worker.sock)
        except TimeoutError:
            raise DeadlineExceeded("the query passed its deadline and was stopped") from None
        except PeerGone as exc:
            raise KedError(f"query worker {worker.pid} died") from exc

    def stats(self) -> dict[str, Any]:
        """Pool size and how many workers were killed (for logs and the benchmark)."""
        return {"workers": len(self._all), "idle": self._idle.qsize(), "kills": self.kills}

    def close(self) -> None:
        """Kill every worker and let the zygote exit."""
        if self._closed:
            return
        self._closed = True
        for worker in list(self._all.values()):
            worker.kill()
        self._all.clear()
        self._ctl.close()
        try:
            self._zygote.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._zygote.kill()
            self._zygote.wait()


__all__ = ["WorkerPool"]
