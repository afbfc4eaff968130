"""Replicas behind HAProxy (issue #13, docs/scaling.md), with the real parts.

Three instances of the production server (gunicorn, ``support.server.gunicorn_server``), each a
process group of its own on a free 127.0.0.1 port, serve the same built release behind Debian's
HAProxy, started here with the configuration ``ketamine_ed_kg.server.balancer`` generates
(health checks on ``/health``, round robin, retries with redispatch). Client threads send a
stream of example queries through HAProxy while one instance's whole process group is killed
with SIGKILL: only requests in flight at that moment may fail, the stream goes on, and every
request sent after the kill succeeds. The counts are printed and recorded (``record_property``,
in JUnit XML).

A mixed-version pool is detected: an instance serving another release reports another
``releaseId`` at ``/health``, and HAProxy with the release pinned takes it out of the pool.

``server/haproxy.cfg.example`` is the generator's output for three local instances, and
``haproxy -c`` accepts it.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from ketamine_ed_kg.config import ServiceConfig
from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.server.balancer import haproxy_config
from ketamine_ed_kg.server.health import HEALTH_PATH
from support.haproxy import check_config, haproxy_balancer, haproxy_binary
from support.project import BuiltDataset
from support.server import GunicornServer, gunicorn_server, request, waitress_server, write_dataset

pytestmark = [
    pytest.mark.replicas,
    pytest.mark.skipif(haproxy_binary() is None,
                       reason="HAProxy is not installed (scripts/setup.sh installs Debian's "
                              "haproxy)"),
]

EXAMPLE = "/api/queries/002_studies_by_route"
"""A simple example query (studies by route of administration), run through the REST API."""
CLIENTS = 4
BEFORE_KILL = 40
"""Requests answered before the kill."""
AFTER_KILL = 80
"""Requests sent after the kill that must all succeed (at least; the stream runs on until the
balancer has marked the instance down, and as long again)."""
EXAMPLE_ARGS = ("*:8080", ["127.0.0.1:5001", "127.0.0.1:5002", "127.0.0.1:5003"])
EXAMPLE_SOCKET = Path("/run/haproxy/ketamine-ed-kg.sock")


@dataclass
class Sent:
    """One request of the stream."""

    client: int
    start: float
    end: float
    status: int | None
    """None: no HTTP response at all (the connection failed)."""
    error: str = ""


def _health(base: str) -> dict[str, Any]:
    reply = request(base + HEALTH_PATH, timeout=30)
    assert reply.status == 200, reply.text
    found: dict[str, Any] = json.loads(reply.body)
    return found


def _releases(bases: list[str]) -> dict[str, str]:
    """The releaseId each instance reports: more than one value is a mixed-version pool."""
    return {base: _health(base)["releaseId"] for base in bases}


class Stream:
    """Client threads sending the example query through the balancer, one request per
    connection, each thread its own client (User-Agent) for the per-client limit."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.sent: list[Sent] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(CLIENTS)]

    def _run(self, client: int) -> None:
        headers = {"User-Agent": f"replica-test/{client}", "Accept": "text/csv"}
        while not self.stop.is_set():
            start = time.monotonic()
            status: int | None = None
            error = ""
            try:
                reply = request(self.base + EXAMPLE, headers=headers, timeout=60)
                status = reply.status
                if status != 200:
                    error = reply.text[:200]
            except (OSError, http.client.HTTPException) as exc:
                # a response cut by the kill: refused/reset (OSError) or a body cut short
                # (IncompleteRead, an HTTPException), more likely now that cache hits are fast
                error = repr(exc)
            with self.lock:
                self.sent.append(Sent(client, start, time.monotonic(), status, error))

    def wait_until(self, condition: Callable[[list[Sent]], bool], seconds: float = 300) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with self.lock:
                if condition(list(self.sent)):
                    return
            time.sleep(0.05)
        raise AssertionError(f"the stream did not get there in {seconds} s: "
                             f"{len(self.sent)} requests")

    def __enter__(self) -> Stream:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)


@pytest.fixture()
def instances(built_dataset: BuiltDataset, tmp_path: Path) -> Iterator[list[GunicornServer]]:
    """Three gunicorn instances of the same built release (temporary files under tmp_path,
    so a killed instance leaves nothing behind elsewhere)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    with ExitStack() as stack:
        yield [stack.enter_context(gunicorn_server(built_dataset.dataset,
                                                   tmp_path / f"instance-{i}.log", env=env,
                                                   workers=2, threads=8))
               for i in range(1, 4)]


def test_killing_an_instance_costs_only_the_requests_in_flight(
        instances: list[GunicornServer], built_dataset: BuiltDataset, tmp_path: Path,
        record_property: Callable[[str, object], None]) -> None:
    bases = [server.base for server in instances]
    # One dataset version: every instance reports the release that was built.
    releases = _releases(bases)
    assert set(releases.values()) == {built_dataset.result.release.name}, releases
    assert {_health(b)["version"] for b in bases} == {built_dataset.result.version}
    addresses = [f"127.0.0.1:{server.port}" for server in instances]
    with haproxy_balancer(tmp_path / "haproxy", addresses) as balancer:
        states = balancer.wait_for({"s1": "UP", "s2": "UP", "s3": "UP"})
        assert {s.status for s in states.values()} == {"UP"}, states
        assert _health(balancer.base)["releaseId"] == built_dataset.result.release.name
        victim = instances[1]
        with Stream(balancer.base) as stream:
            stream.wait_until(lambda sent: sum(s.status == 200 for s in sent) >= BEFORE_KILL)
            kill_start = time.monotonic()
            os.killpg(victim.proc.pid, signal.SIGKILL)  # gunicorn, its app, zygote, workers
            kill_end = time.monotonic()
            victim.proc.wait(timeout=60)
            stream.wait_until(lambda sent: sum(s.start > kill_end for s in sent) >= AFTER_KILL)
            down = balancer.wait_for({"s2": "DOWN"})
            marked_down = time.monotonic()
            stream.wait_until(lambda sent: sum(s.start > marked_down for s in sent)
                              >= AFTER_KILL)
        states = balancer.servers()
    sent = stream.sent
    in_flight = [s for s in sent if s.start <= kill_end and s.end >= kill_start]
    after = [s for s in sent if s.start > kill_end]
    failed = [s for s in sent if s.status != 200]
    counts = {"requests": len(sent), "before_kill": len(sent) - len(after),
              "in_flight_at_kill": len(in_flight), "after_kill": len(after),
              "failed": len(failed), "failed_in_flight": sum(s in in_flight for s in failed),
              "per_instance": {name: state.sessions for name, state in states.items()},
              "killed_instance_check": down["s2"].check}
    print("replica stream:", json.dumps(counts))
    record_property("replica_stream", json.dumps(counts))
    assert down["s2"].status == "DOWN", down
    assert states["s1"].status == states["s3"].status == "UP", states
    # Only requests in flight when the instance died may fail; everything after succeeds.
    assert [s for s in failed if s not in in_flight] == [], failed
    assert [s for s in after if s.status != 200] == []
    assert len(after) >= 2 * AFTER_KILL
    # The survivors served the stream after the kill.
    assert states["s1"].sessions > 0 and states["s3"].sessions > 0


def test_a_mixed_version_pool_is_detected_and_pinned_out(
        built_dataset: BuiltDataset, tmp_path: Path) -> None:
    other = write_dataset(tmp_path / "other.nq", {
        "https://w3id.org/ketamine-ed/graph/asserted":
            ("<https://example.org/a> <https://example.org/p> \"other release\" .",
             ox.RdfFormat.N_TRIPLES)})
    with waitress_server(built_dataset.dataset) as current, \
            waitress_server(other, workers=1) as stale:
        releases = _releases([current.base, stale.base])
        assert len(set(releases.values())) == 2, releases  # detected: two releases
        assert releases[current.base] == built_dataset.result.release.name
        assert _health(stale.base)["version"] != built_dataset.result.version
        addresses = [f"127.0.0.1:{current.port}", f"127.0.0.1:{stale.port}"]
        # Unpinned, HAProxy would balance over both; pinned, the stale one is out.
        with haproxy_balancer(tmp_path / "pinned", addresses,
                              release_id=built_dataset.result.release.name) as balancer:
            states = balancer.wait_for({"s1": "UP", "s2": "DOWN"})
            assert states["s1"].status == "UP", states
            assert states["s2"].status == "DOWN" and states["s2"].check == "L7RSP", states
            seen = {_health(balancer.base)["releaseId"] for _ in range(6)}
            assert seen == {built_dataset.result.release.name}


def test_the_example_configuration_is_generated_and_valid(sources: ProjectPaths,
                                                          tmp_path: Path) -> None:
    binary = haproxy_binary()
    assert binary is not None
    example = sources.root / "server" / "haproxy.cfg.example"
    bind, servers = EXAMPLE_ARGS
    generated = haproxy_config(ServiceConfig(), bind, servers, stats_socket=EXAMPLE_SOCKET)
    assert example.read_text(encoding="utf-8") == generated, (
        "server/haproxy.cfg.example is out of date: regenerate it with python -m "
        "ketamine_ed_kg.server.balancer --bind '*:8080' --server 127.0.0.1:5001 --server "
        "127.0.0.1:5002 --server 127.0.0.1:5003 --stats-socket " + str(EXAMPLE_SOCKET))
    checked = check_config(binary, example)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    pinned = tmp_path / "pinned.cfg"
    pinned.write_text(haproxy_config(ServiceConfig(), bind, servers, release_id="0" * 64),
                      encoding="utf-8")
    checked = check_config(binary, pinned)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_configuration_needs_a_server() -> None:
    with pytest.raises(ValueError, match="at least one server"):
        haproxy_config(ServiceConfig(), "127.0.0.1:8080", [])
