"""The SPARQL 1.1 service: a Flask app built by :func:`create_app`.

Blueprints, cut by concept: ``protocol`` (``/sparql``, the W3C SPARQL 1.1 Protocol; a bare GET
gives ``service_description``), ``discovery`` (``/.well-known/void``, dereferenceable IRIs),
``dumps`` (``/download/...``), ``health`` (``/health``, for load balancers), ``editor`` (``/``,
the query editor; ``pages`` renders our IRIs as web pages for browsers), ``evidence``
(``/evidence``, the evidence overview: Table 1 and pictures drawn by ``charts``) and
``examples_api`` (``/api/...``, ``/.well-known/sparql-examples``). They share ``state``, run
client queries through ``query`` and answer failures through the one status table of
``errors``; ``http`` adds CORS, gzip, conditional GET and nosniff to every response. Queries
run in killable, sealed query processes (``pool``, ``zygote``).
"""

from __future__ import annotations

import atexit
import importlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..config import ServiceConfig, load_config
from ..errors import KedError
from ..store import QueryService, dataset_version

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | ServiceConfig | None = None) -> Flask:
    """Build the app: load configuration, start the store workers, register the routes.

    ``config`` overrides the file and environment settings (see docs/configuration.md).
    """
    # Imported here, not at the top: the query processes start as ``python -m
    # ketamine_ed_kg.server.zygote``, which imports this package, and must not load Flask or
    # the blueprints (rdflib, Flask routes) they never use (Flask alone is a tenth of a second
    # of every start, on the way to the first answer).
    from flask import Flask

    from . import discovery, dumps, editor, errors, evidence, examples_api, health, http, protocol
    from .fairness import ClientLimiter
    from .forwarding import ForwardingService
    from .pool import WorkerPool
    from .result_cache import ResultCache
    from .state import EXTENSION, ServiceState

    cfg = config if isinstance(config, ServiceConfig) else load_config(config)
    logging.getLogger("ketamine_ed_kg").setLevel(cfg.log_level.upper())
    version = dataset_version(cfg.dataset_path())
    service: QueryService
    if cfg.store == "sparql":
        graphs = external_graphs(cfg, version.tag)
        planner = WorkerPool(cfg, graphs=graphs)
        atexit.register(planner.close)
        forwarder = WorkerPool(cfg, sealed=False, graphs=graphs)
        atexit.register(forwarder.close)
        service = ForwardingService(planner, forwarder)
    else:
        pool = WorkerPool(cfg)
        atexit.register(pool.close)
        service, graphs = pool, pool.graphs
    federation: WorkerPool | None = None
    if cfg.allowed_service_prefixes:
        federation = WorkerPool(cfg, sealed=False, workers=max(1, cfg.workers // 2))
        atexit.register(federation.close)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = cfg.max_request_bytes
    app.extensions[EXTENSION] = ServiceState(
        cfg, service, set(graphs), version, ClientLimiter(cfg.per_client_queries), federation,
        ResultCache(cfg.result_cache_bytes, cfg.result_cache_entry_bytes)
        if cfg.result_cache_bytes else None)
    if cfg.forwarded_hops:
        # Behind a balancer the connection comes from the proxy: take the client's address
        # from the last ``forwarded_hops`` X-Forwarded-For entries (werkzeug's ProxyFix).
        # Only the address: URLs still come from public_url / trusted_hosts. (Wrapping
        # wsgi_app is Flask's documented way; mypy sees a method being replaced.)
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=cfg.forwarded_hops,  # type: ignore[method-assign]
                                x_proto=0, x_host=0, x_port=0, x_prefix=0)
    errors.register(app)
    http.install(app, cfg)
    app.register_blueprint(protocol.bp)
    app.register_blueprint(discovery.bp)
    app.register_blueprint(dumps.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(examples_api.create_blueprint())
    app.register_blueprint(editor.create_blueprint())
    app.register_blueprint(evidence.bp)
    return app


def external_graphs(cfg: ServiceConfig, tag: str) -> list[str]:
    """The graphs of the external store, from its load record; refuses a store that holds
    nothing, or another release than the one this service serves (its ETags, downloads and
    version would not describe the answers)."""
    from ..store.upload import read_record

    try:
        record = read_record(cfg.sparql_query_url)
    except KedError as exc:
        raise KedError(f"the external store cannot be read at start-up: {exc}") from None
    if record is None:
        raise KedError(f"the external store at {cfg.sparql_query_url} holds no release: run "
                       "ketamine-ed-kg load first (docs/external-store.md)")
    if record.tag != tag:
        raise KedError(f"the external store holds release {record.version} ({record.tag}), "
                       f"this service serves {tag}: run ketamine-ed-kg load with this "
                       "release, or serve the release the store holds")
    return sorted(record.counts)


def close_app(app: Flask) -> None:
    """Stop the app's worker processes (tests and the CLI call this on shutdown)."""
    from .state import EXTENSION, ServiceState

    found: ServiceState = app.extensions[EXTENSION]
    found.service.close()
    if found.federation is not None:
        found.federation.close()


def __getattr__(name: str) -> Any:
    """``ServiceState`` as before, imported on first use: it lives in ``server.state``, which
    imports Flask, and the zygote imports this package. (``state``, the function, is not
    offered here: once ``server.state`` is imported, that name is the submodule.)"""
    if name == "ServiceState":
        return importlib.import_module(f"{__name__}.state").ServiceState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["close_app", "create_app"]
