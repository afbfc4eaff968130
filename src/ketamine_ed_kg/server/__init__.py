"""The SPARQL 1.1 service: a Flask app built by :func:`create_app`.

Blueprints, cut by concept: ``protocol`` (``/sparql``, the W3C SPARQL 1.1 Protocol),
``discovery`` (service description, ``/.well-known/void``, dereferenceable IRIs), ``dumps``
(``/download/...``). ``http`` adds CORS, gzip and conditional GET to every response;
``errors`` maps failures to statuses. Queries run in killable worker processes (``pool``).
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from ..config import ServiceConfig, load_config
from ..store import DatasetVersion, Job, QueryService, dataset_version
from .fairness import ClientLimiter


@dataclass
class ServiceState:
    """Everything the routes share: configuration, the query service and cached facts."""

    config: ServiceConfig
    service: QueryService
    graphs: set[str]
    version: DatasetVersion
    limiter: ClientLimiter
    federation: QueryService | None = None
    """Unsealed query processes for allow-listed SERVICE calls (None: no allow-list)."""
    cache: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fetch_json(self, query: str, **options: Any) -> Any:
        """Run an internal query (JSON results) and return the parsed document."""
        job = Job("query", query, result_format="json", **options)
        result = self.service.run(job, time.monotonic() + max(self.config.deadline, 60.0))
        return json.loads(b"".join(result.body))

    def fetch_bytes(self, job: Job) -> bytes:
        """Run an internal job and return its whole body."""
        result = self.service.run(job, time.monotonic() + max(self.config.deadline, 60.0))
        return b"".join(result.body)


def state() -> ServiceState:
    """The state of the app handling the current request."""
    found: ServiceState = current_app.extensions["ketamine_ed_kg"]
    return found


def create_app(config: Mapping[str, Any] | ServiceConfig | None = None) -> Flask:
    """Build the app: load configuration, start the store workers, register the routes.

    ``config`` overrides the file and environment settings (see docs/configuration.md).
    """
    from . import discovery, dumps, errors, http, protocol
    from .pool import WorkerPool

    cfg = config if isinstance(config, ServiceConfig) else load_config(config)
    logging.getLogger("ketamine_ed_kg").setLevel(cfg.log_level.upper())
    version = dataset_version(cfg.dataset_path())
    pool = WorkerPool(cfg)
    atexit.register(pool.close)
    federation: WorkerPool | None = None
    if cfg.allowed_service_prefixes:
        federation = WorkerPool(cfg, sealed=False, workers=max(1, cfg.workers // 2))
        atexit.register(federation.close)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = cfg.max_request_bytes
    app.extensions["ketamine_ed_kg"] = ServiceState(
        cfg, pool, set(pool.graphs), version, ClientLimiter(cfg.per_client_queries), federation)
    errors.register(app)
    http.install(app, cfg)
    app.register_blueprint(protocol.bp)
    app.register_blueprint(discovery.bp)
    app.register_blueprint(dumps.bp)
    from ..api import create_blueprint as example_queries_api

    app.register_blueprint(example_queries_api())  # /api/queries, /.well-known/sparql-examples
    return app


def close_app(app: Flask) -> None:
    """Stop the app's worker processes (tests and the CLI call this on shutdown)."""
    found: ServiceState = app.extensions["ketamine_ed_kg"]
    found.service.close()
    if found.federation is not None:
        found.federation.close()


__all__ = ["ServiceState", "close_app", "create_app", "state"]
