"""``/health``: can this instance answer queries now, and which release does it serve?

A load balancer (HAProxy's ``option httpchk``, a Kubernetes readiness probe) asks it every few
seconds and sends traffic only to instances that answer 200. "Up" must mean "answers queries",
not "the HTTP process runs": the check sends a trivial query (``ASK { ?s ?p ?o }``, which
reads one triple) through the same query service client queries use (the sealed worker pool,
or a remote store), under a short deadline. It answers 200 only when that query came back
``true`` in time; otherwise 503 with the reason (no query process free in time, the store is
unreachable or empty). It bypasses the per-client limit (the balancer is one client asking
often) and is never cached (``Cache-Control: no-store``): a cached "pass" would hide a dead
instance.

The body follows the Internet-Draft "Health Check Response Format for HTTP APIs"
(draft-inadarei-api-health-check, ``application/health+json``): ``status`` is ``pass`` or
``fail``, ``version`` is the release version the instance pinned at start-up
(``ServiceState.version``, e.g. ``0.4.0+1a2b3c4d5e6f``) and ``releaseId`` the release's digest.
Instances behind one balancer must report one ``releaseId``; comparing them is how a
mixed-version pool is detected (docs/scaling.md), and HAProxy can pin it in its check
(:mod:`ketamine_ed_kg.server.balancer`). The serialisation is fixed (sorted keys, no spaces) so
that a balancer may match ``"releaseId":"<digest>"`` in the body.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response

from ..errors import KedError
from ..release import read_manifest
from ..store import Job, JobKind
from .state import ServiceState, state

bp = Blueprint("health", __name__)

HEALTH_PATH = "/health"
MEDIA_TYPE = "application/health+json"
PROBE_QUERY = "ASK { ?s ?p ?o }"
"""Reads one triple: true exactly when the store answers and holds data."""
HEALTH_DEADLINE = 2.0
"""Seconds the probe query may take, waiting for a free query process included (never more
than the service's own deadline). Balancer checks should time out later than this."""
SERVICE_ID = "ketamine-ed-kg"
RETRY_AFTER = "5"


def release_id(st: ServiceState) -> str:
    """The digest naming the served release: its ``build/releases/<digest>`` directory when
    the dataset is a release's own file, else the dataset's digest (``DatasetVersion.tag``)."""
    key = "health.release"
    found = st.cache.get(key)
    if isinstance(found, str):
        return found
    dataset = st.config.dataset_path()
    manifest = read_manifest(dataset.parent)
    name = st.version.tag
    if manifest is not None:
        digest = (manifest.get("sha256") or {}).get(dataset.name, "")
        release = manifest.get("release")
        # The manifest must describe this very file (dataset_version checks the same digest).
        if isinstance(digest, str) and digest[:32] == st.version.tag and isinstance(release, str):
            name = release
    st.cache[key] = name
    return name


def probe(st: ServiceState) -> tuple[bool, str, float]:
    """Run the probe query: (it passed, why not, milliseconds it took)."""
    started = time.monotonic()
    deadline = started + min(HEALTH_DEADLINE, st.config.deadline)
    try:
        result = st.service.run(Job(JobKind.QUERY, PROBE_QUERY), deadline)
        body = b"".join(result.body)
    except KedError as exc:
        return False, f"the probe query failed: {exc}", (time.monotonic() - started) * 1000
    elapsed = (time.monotonic() - started) * 1000
    try:
        answer = json.loads(body).get("boolean")
    except (ValueError, AttributeError):
        return False, "the probe query returned no SPARQL JSON boolean", elapsed
    if answer is not True:
        return False, "the store holds no triples", elapsed
    return True, "", elapsed


def report(st: ServiceState) -> tuple[int, dict[str, Any]]:
    """The status code and the health document of this instance, probed now."""
    ok, output, elapsed = probe(st)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    check: dict[str, Any] = {
        "componentType": "datastore",
        "status": "pass" if ok else "fail",
        "observedValue": round(elapsed, 1),
        "observedUnit": "ms",
        "time": now,
    }
    document: dict[str, Any] = {
        "status": "pass" if ok else "fail",
        "version": st.version.version,
        "releaseId": release_id(st),
        "serviceId": SERVICE_ID,
        "description": "SPARQL 1.1 service of the ketamine-ed-kg knowledge graph",
        "checks": {"store:query": [check]},
        "dataset": {
            "digest": st.version.tag,
            "modified": st.version.modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
    if not ok:
        document["output"] = output
        check["output"] = output
    return (200 if ok else 503), document


@bp.route(HEALTH_PATH, methods=["GET"])
def health() -> Response:
    """``GET``/``HEAD /health``: 200 ``pass`` or 503 ``fail``, never cached."""
    status, document = report(state())
    body = json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n"
    response = Response(body, status=status, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    if status == 503:
        response.headers["Retry-After"] = RETRY_AFTER
    return response


__all__ = ["HEALTH_DEADLINE", "HEALTH_PATH", "MEDIA_TYPE", "PROBE_QUERY", "bp", "probe",
           "release_id", "report"]
