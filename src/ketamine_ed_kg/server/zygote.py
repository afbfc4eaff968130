"""The zygote: a single-threaded process that holds the store and forks query workers.

pyoxigraph's Python API cannot cancel a running query, so a deadline can only be enforced by
killing the process running it. The web server is multi-threaded, and forking a threaded
process is unsafe, so the server starts this separate interpreter (``python -m
ketamine_ed_kg.server.zygote FD``). It loads the store once and then, on request, forks a
worker that shares the store's memory copy-on-write; forking takes milliseconds, so a worker
killed at its deadline is replaced at once. Each worker's socket is handed back to the server
with SCM_RIGHTS.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import pickle
import signal
import socket
import sys
import traceback
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ..store import Job, OxigraphStore, QueryError, RowBound, open_store
from .framing import PeerGone, recv_frame, send_frame

CHUNK = 64 * 1024
HEADER_AFTER = 1024 * 1024
"""Bytes buffered before the header goes out: a result this small is complete before the
client sees a status, so a deadline still gives a clean 503 and the row cap knows its count."""


class FrameWriter(io.RawIOBase):
    """Binary sink for pyoxigraph's serialisers: buffers, then sends ``H`` once and ``D``s.

    The header goes out only when 1 MiB is buffered (or at the end), so a query that has not
    produced that much by the deadline still gets a clean 503 instead of a cut body. Then the
    body follows in 64 KiB frames. For a capped query the header must say whether rows were
    cut: a result that ended below the cap was not; otherwise the probe query decides.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock
        self.meta: dict[str, Any] | None = None
        self.header_sent = False
        self.buffer = bytearray()
        self.decide: Any = None
        self.rows: RowBound | None = None
        self.cap = 0
        self.probed = False

    def start(self, meta: dict[str, Any], decide: Any = None, rows: RowBound | None = None,
              cap: int = 0) -> None:
        self.meta = meta
        self.decide = decide
        self.rows = rows
        self.cap = cap

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.rows is not None:
            self.rows.feed(bytes(data))
        self.buffer += data
        if len(self.buffer) >= (CHUNK if self.header_sent else HEADER_AFTER):
            self._send(final=False)
        return len(data)

    def _send(self, final: bool) -> None:
        if not self.header_sent:
            meta = dict(self.meta or {})
            if self.decide is not None:
                if final and self.rows is not None and self.rows.bound() < self.cap:
                    meta["truncated"] = False
                else:
                    self.probed = True
                    meta["truncated"] = bool(self.decide())
                meta["probed"] = self.probed
            send_frame(self.sock, b"H", json.dumps(meta).encode())
            self.header_sent = True
        if self.buffer:
            send_frame(self.sock, b"D", bytes(self.buffer))
            self.buffer.clear()

    def finish(self) -> None:
        self._send(final=True)
        send_frame(self.sock, b"E")


def _die_with_parent() -> None:
    """Ask Linux to kill this worker if the zygote dies (best effort elsewhere)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def worker_loop(store: OxigraphStore, sock: socket.socket) -> None:
    """Serve jobs from the server, one at a time, until the socket closes."""
    while True:
        try:
            kind, payload = recv_frame(sock)
        except (PeerGone, OSError):
            return
        if kind != b"J":
            return
        job: Job = pickle.loads(payload)
        writer = FrameWriter(sock)
        try:
            store.execute(job, writer.start, writer)
            writer.finish()
        except QueryError as exc:
            _fail(sock, writer, exc.kind, exc.message)
        except Exception as exc:  # noqa: BLE001 - reported to the server, which logs a 500
            _fail(sock, writer, "internal", f"{type(exc).__name__}: {exc}\n"
                  + traceback.format_exc())


def _fail(sock: socket.socket, writer: FrameWriter, kind: str, message: str) -> None:
    payload = json.dumps({"kind": kind, "message": message}).encode()
    send_frame(sock, b"X" if writer.header_sent else b"F", payload)


def main(fd: int) -> None:
    """Zygote entry point: load the store, report ready, fork workers on request."""
    ctl = socket.socket(fileno=fd)
    kind, payload = recv_frame(ctl)
    config = json.loads(payload)
    mode = config["store"]
    dataset = Path(config["dataset"])
    store_path = Path(config["store_path"]) if config.get("store_path") else None
    try:
        store = open_store(dataset, mode, store_path)
        graphs = OxigraphStore(store).graph_names()
    except Exception as exc:  # noqa: BLE001 - sent to the server, which raises it
        send_frame(ctl, b"F", json.dumps({"kind": "load", "message": str(exc)}).encode())
        return
    shared: ox.Store | None = store
    if mode == "disk":
        # RocksDB runs threads: never fork with it open; each worker opens it read-only.
        del store
        shared = None
    send_frame(ctl, b"R", json.dumps({"graphs": graphs}).encode())
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps workers
    while True:
        try:
            kind, _ = recv_frame(ctl)
        except (PeerGone, OSError):
            return
        if kind != b"S":
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
                worker_store = shared if shared is not None else open_store(
                    dataset, mode, store_path)
                worker_loop(OxigraphStore(worker_store), child_end)
            except BaseException:  # noqa: BLE001 - a worker must never return into the loop
                traceback.print_exc()
                code = 1
            os._exit(code)
        child_end.close()
        socket.send_fds(ctl, [pid.to_bytes(8, "big")], [parent_end.fileno()])
        parent_end.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
