"""An HAProxy configuration for N service instances serving one release (docs/scaling.md).

The data is read-only and versioned, so the service scales out as the Wikidata Query Service
does: identical instances behind a standard load balancer, no cluster code of our own. This
module writes that balancer's configuration, derived from the service settings so the two
cannot disagree (as :func:`~ketamine_ed_kg.server.run.gunicorn_options` is for gunicorn):

* health checks on ``/health`` (:mod:`~ketamine_ed_kg.server.health`): ``option httpchk``,
  ``http-check expect status 200``; optionally the release every instance must serve
  (``http-check expect string '"releaseId":"<digest>"'``), so an instance on another release is
  taken out of the pool instead of answering with other data;
* round robin, at most ``threads`` requests per instance at once (the rest wait in HAProxy's
  queue rather than in an instance's);
* retries with redispatch: a request whose connection is refused (a dead instance not yet
  marked down) goes to another instance; a GET or HEAD whose instance closed the connection
  before answering (killed mid-request) is sent again to another one. Queries are read-only,
  so replaying them is safe; other methods are only retried when nothing was sent. A query
  that timed out is never replayed (it would run its deadline again elsewhere);
* timeouts from the service's: the server timeout outlives the longest answer the service can
  give (as gunicorn's worker timeout does), the check timeout the health probe's deadline.

``python -m ketamine_ed_kg.server.balancer --bind :8080 --server 10.0.0.1:5000 ...`` prints it;
``server/haproxy.cfg.example`` is its output for three local instances (a test keeps the two
equal and has ``haproxy -c`` check it).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from ..config import ServiceConfig, load_config
from .health import HEALTH_DEADLINE, HEALTH_PATH

BACKEND = "sparql"
"""Name of the backend (HAProxy's stats and logs name the instances ``sparql/s1`` ...)."""
CHECK_INTERVAL = 2
"""Seconds between health checks of an instance (faster while one is changing state)."""


def _seconds(value: float) -> str:
    return f"{math.ceil(value)}s"


def haproxy_config(config: ServiceConfig, bind: str, servers: Sequence[str], *,
                   release_id: str | None = None, stats_socket: Path | None = None) -> str:
    """The ``haproxy.cfg`` text: a frontend on ``bind`` (``host:port``) balancing over
    ``servers`` (``host:port`` of each instance, all started with ``config``)."""
    if not servers:
        raise ValueError("at least one server (host:port) is needed")
    # Single quotes: HAProxy would otherwise take the double quotes of the JSON as its own.
    pin = (f'''    http-check expect string '"releaseId":"{release_id}"'\n''' if release_id else
           '    # Pin the release every instance must serve (its /health releaseId):\n'
           '''    # http-check expect string '"releaseId":"<digest>"'\n''')
    stats = (f"    stats socket {stats_socket} mode 600 level admin\n" if stats_socket
             else "")
    # The longest answer the service gives: a dump may take 10 deadlines (run.gunicorn_options).
    server_timeout = _seconds(config.deadline * 10 + 30)
    lines = "".join(
        f"    server s{i} {address} check maxconn {config.threads}\n"
        for i, address in enumerate(servers, start=1))
    return f"""\
# HAProxy in front of {len(servers)} ketamine-ed-kg instances serving one release.
# Written by ketamine_ed_kg.server.balancer (docs/scaling.md); check with haproxy -c -f FILE.
global
    log stderr format raw daemon
    maxconn 4096
{stats}
defaults
    mode http
    log global
    option httplog
    option forwardfor
    timeout connect 2s
    timeout client {server_timeout}
    timeout http-request {_seconds(config.request_read_timeout)}
    timeout http-keep-alive {_seconds(config.request_read_timeout)}
    timeout queue {_seconds(config.deadline)}
    timeout server {server_timeout}
    timeout check {_seconds(HEALTH_DEADLINE + 1)}
    # Connection refused: try again, on another instance each time.
    retries 3
    option redispatch 1
    # Killed mid-request (closed before any answer): replay it elsewhere; queries are
    # read-only. Never after a timeout: that would run a runaway query twice.
    retry-on conn-failure empty-response

frontend sparql_in
    bind {bind}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    http-request disable-l7-retry if !METH_GET
    option httpchk
    http-check send meth GET uri {HEALTH_PATH} ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
{pin}    default-server inter {CHECK_INTERVAL}s fastinter 500ms fall 2 rise 2
{lines}"""


def main(argv: Sequence[str] | None = None) -> None:
    """Print the configuration for the instances named on the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m ketamine_ed_kg.server.balancer",
        description="Print an haproxy.cfg balancing over ketamine-ed-kg instances (their "
                    "settings are read like the service's: KETAMINE_ED_KG_* variables, "
                    "KETAMINE_ED_KG_CONFIG).")
    parser.add_argument("--bind", required=True, help="address HAProxy listens on, host:port")
    parser.add_argument("--server", action="append", required=True,
                        help="an instance, host:port (repeat for each)")
    parser.add_argument("--release", help="releaseId every instance must report at /health")
    parser.add_argument("--stats-socket", type=Path, help="HAProxy's admin socket")
    args = parser.parse_args(argv)
    print(haproxy_config(load_config(), args.bind, args.server, release_id=args.release,
                         stats_socket=args.stats_socket), end="")


if __name__ == "__main__":
    main()


__all__ = ["BACKEND", "haproxy_config", "main"]
