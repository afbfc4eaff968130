"""What every route shares: the configuration, the query service and a few cached facts.

It lives in its own module so that the blueprints depend on it, never on the app factory
(``server/__init__.py``), which depends on them.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from ..config import ServiceConfig
from ..iris import PREFIXES
from ..store import DatasetVersion, Job, JobKind, QueryService
from .fairness import ClientLimiter
from .result_cache import ResultCache

EXTENSION = "ketamine_ed_kg"
"""Key of the state in ``app.extensions``."""


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
    results: ResultCache | None = None
    """Whole answers to client queries, per dataset version (None: ``result_cache_bytes = 0``)."""
    cache: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fetch_json(self, query: str, **options: Any) -> Any:
        """Run an internal query (JSON results) and return the parsed document. It may use the
        project's prefixes undeclared, as a client's query may."""
        job = Job(JobKind.QUERY, query, prefixes=tuple(PREFIXES.items()), form="SELECT",
                  **options)
        return json.loads(self.fetch_bytes(job))

    def fetch_bytes(self, job: Job) -> bytes:
        """Run an internal job and return its whole body."""
        result = self.service.run(job, time.monotonic() + max(self.config.deadline, 60.0))
        return b"".join(result.body)


def state() -> ServiceState:
    """The state of the app handling the current request."""
    found: ServiceState = current_app.extensions[EXTENSION]
    return found


__all__ = ["EXTENSION", "ServiceState", "state"]
