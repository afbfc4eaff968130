"""Configuration of the SPARQL service.

Values come, lowest precedence first, from the defaults below, an optional file (TOML, or INI
with a ``[service]`` section) named by ``KETAMINE_ED_KG_CONFIG``, environment variables
``KETAMINE_ED_KG_<FIELD>`` (upper case), and finally an explicit mapping (the app factory's
argument, or CLI flags). One dataclass holds the result, so every limit the service enforces is
visible in one place and documented in ``docs/configuration.md``.
"""

from __future__ import annotations

import configparser
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .iris import GRAPH_INFERRED
from .paths import ProjectPaths, project_paths

ENV_PREFIX = "KETAMINE_ED_KG_"
CONFIG_FILE_ENV = ENV_PREFIX + "CONFIG"


def _default_workers() -> int:
    return max(4, 2 * (os.cpu_count() or 2))


def _machine_memory() -> int:
    """Physical memory in bytes (Linux ``sysconf``), or 8 GiB where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


def default_query_memory(processes: int, workers: int) -> int:
    """Per-query memory cap sized to the machine: every query process at its cap together
    uses at most half the physical memory (at least 256 MiB each)."""
    return max(256 << 20, _machine_memory() // (2 * max(1, processes * workers)))


@dataclass(frozen=True)
class ServiceConfig:
    """Every setting of the SPARQL service (see docs/configuration.md)."""

    dataset: Path | None = None
    """N-Quads file to serve; default ``build/dataset.nq`` of the checkout."""
    store: str = "memory"
    """``memory`` (pyoxigraph in-memory, fastest), ``disk`` (RocksDB, for graphs > RAM) or
    ``sparql`` (an external triple store over the SPARQL 1.1 Protocol: docs/external-store.md)."""
    sparql_query_url: str = ""
    """``store = "sparql"``: the external store's SPARQL 1.1 query endpoint. Queries go only
    there, never to a URL a query names. Credentials come only from the environment
    (``KETAMINE_ED_KG_STORE_USER`` / ``KETAMINE_ED_KG_STORE_PASSWORD``)."""
    graph_store_url: str = ""
    """``ketamine-ed-kg load``: the store's SPARQL 1.1 Graph Store HTTP Protocol endpoint."""
    sparql_update_url: str = ""
    """``ketamine-ed-kg load``: the store's SPARQL 1.1 Update endpoint (the switch from the
    staged graphs to the served ones is one update operation)."""
    store_path: Path | None = None
    """Folder of the on-disk store; default ``build/oxigraph-store``."""
    host: str = "127.0.0.1"
    port: int = 5000
    server: str = "gunicorn"
    """Production WSGI server: ``gunicorn`` (chosen by measurement, docs/benchmarks.md) or
    ``waitress`` (one process: half the memory)."""
    processes: int = 1
    """HTTP server processes (gunicorn workers); each holds its own app and query workers.
    One by default, so that every request can use any free query process."""
    threads: int = 32
    """HTTP threads per process that accept requests and stream results."""
    workers: int = field(default_factory=_default_workers)
    """Query processes; each one can be killed at a deadline without harming the others."""
    deadline: float = 30.0
    """Seconds a query may run; a request may lower it with ``timeout=`` but never raise it."""
    row_cap: int = 10000
    """Most solutions a query may return (0: no cap); a capped result says so in headers."""
    result_cache_bytes: int = 64 << 20
    """Bytes of whole query answers kept in each HTTP process, per dataset version, least
    recently used evicted first (0: no results cache). A hit says ``Cache-Status: ...; hit``."""
    result_cache_entry_bytes: int = 4 << 20
    """Largest answer the results cache keeps (a larger one is streamed, not kept), so one
    huge answer cannot evict everything; at most ``result_cache_bytes``."""
    max_request_bytes: int = 1_000_000
    """Largest request body accepted (413 beyond)."""
    max_request_line: int = 8190
    """Longest request line (method, URL, version) in bytes: 414 beyond (use POST)."""
    max_header_bytes: int = 16384
    """Largest single header field, and the most header fields are 100: 431 beyond."""
    request_read_timeout: float = 10.0
    """Seconds a client has to send its request line and headers (slow clients are cut)."""
    max_query_memory: int = 0
    """Bytes of memory one query process may add while evaluating a query; 0: sized to the
    machine (:func:`default_query_memory`). Over it the query stops with a clear error."""
    max_query_depth: int = 200
    """Deepest nesting of groups, sub-queries, parentheses and function calls a query may
    have (400 beyond); kept well below the depth at which the engine overflows its stack."""
    max_operator_chain: int = 1000
    """Longest chain of binary operators (``||``, ``&&``, ``+``, ...) or ``UNION`` / ``/``
    in one expression or pattern (400 beyond), for the same reason."""
    per_client_queries: int = 2
    """Queries one client (remote address and User-Agent, as WDQS counts them) may run at
    once; more get 429 with Retry-After."""
    allow_unsandboxed: bool = False
    """Start even where the operating system cannot forbid query processes to open network
    connections (no seccomp). Refused by default."""
    trusted_hosts: tuple[str, ...] = ()
    """Host header values the service may reflect in absolute URLs when ``public_url`` is
    unset; any other Host gets URLs built from ``host:port``."""
    forwarded_hops: int = 0
    """Proxies in front of the service (behind HAProxy: 1) whose ``X-Forwarded-For`` it
    trusts, so the per-client limit sees each client's address rather than the proxy's.
    0: the connection's address is the client (the header, which anyone can send, is
    ignored)."""
    union_default_graph: bool = True
    """Default graph = union of all named graphs (else the store's own default graph)."""
    inferred_graph: str = GRAPH_INFERRED
    """Graph left out of the default graph when a request says ``infer=false``."""
    allowed_service_prefixes: tuple[str, ...] = ()
    """IRI prefixes a SERVICE clause may call; empty: SERVICE is refused."""
    allowed_graph_prefixes: tuple[str, ...] = ()
    """IRI prefixes of graphs outside the store that FROM / default-graph-uri may name; such
    graphs are empty (the service never fetches them)."""
    cors_origin: str = "*"
    """``Access-Control-Allow-Origin`` value; empty string disables CORS headers."""
    gzip: bool = True
    public_url: str | None = None
    """Endpoint IRI to advertise (``sd:endpoint``); default: derived from ``host:port``, or
    from the request's Host when it is one of ``trusted_hosts``."""
    log_level: str = "INFO"

    def dataset_path(self, paths: ProjectPaths | None = None) -> Path:
        """The N-Quads file to load, as a concrete path that later builds leave alone.

        Default: the current release's ``build/releases/<digest>/dataset.nq`` (resolved
        through ``build/current``); symlinks in an explicit ``dataset`` are resolved too. The
        answer is fixed on first use for this configuration, so the app's version (ETag) and
        the store it loads cannot straddle a rebuild. ``ketamine-ed-kg serve`` resolves it
        before the server starts, so every HTTP process serves that one release.
        """
        from .release import current_dataset, pin_dataset

        if paths is None:
            pinned: Path | None = self.__dict__.get("_pinned_dataset")
            if pinned is not None:
                return pinned
        if self.dataset is not None:
            path = pin_dataset(self.dataset)
        else:
            path = current_dataset((paths or project_paths()).build_dir)
        if paths is None and path.exists():
            # A frozen dataclass: cache in the instance dict, as functools.cached_property does.
            self.__dict__["_pinned_dataset"] = path
        return path

    def query_memory(self) -> int:
        """The effective per-query memory cap in bytes."""
        return self.max_query_memory or default_query_memory(self.processes, self.workers)

    def disk_store_path(self) -> Path:
        """Where the on-disk store lives: default ``oxigraph-store`` beside the dataset, i.e.
        inside its release, so processes serving different releases never share one."""
        if self.store_path is not None:
            return self.store_path
        return self.dataset_path().parent / "oxigraph-store"


_FIELDS = {f.name: f for f in fields(ServiceConfig)}


def _coerce(name: str, value: Any) -> Any:
    """Turn a file or environment value into the field's type, or raise ConfigError."""
    default = ServiceConfig()
    current = getattr(default, name)
    try:
        if name in ("dataset", "store_path"):
            return None if value in (None, "") else Path(str(value)).expanduser()
        if name == "public_url":
            return None if value in (None, "") else str(value)
        if isinstance(current, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"not a boolean: {value!r}")
        if isinstance(current, tuple):
            if isinstance(value, (list, tuple)):
                return tuple(str(v) for v in value)
            return tuple(v.strip() for v in str(value).split(",") if v.strip())
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"configuration {name}: {exc}") from exc


def _validate(config: ServiceConfig) -> ServiceConfig:
    if config.store not in ("memory", "disk", "sparql"):
        raise ConfigError("configuration store: expected 'memory', 'disk' or 'sparql', got "
                          f"{config.store!r}")
    for name in ("sparql_query_url", "graph_store_url", "sparql_update_url"):
        url = getattr(config, name)
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(f"configuration {name}: {url!r} is not an http(s) URL")
    if config.store == "sparql":
        if not config.sparql_query_url:
            raise ConfigError('configuration store = "sparql" needs sparql_query_url (the '
                              "external store's SPARQL endpoint)")
        if config.allowed_service_prefixes:
            raise ConfigError('configuration allowed_service_prefixes: SERVICE is refused with '
                              'store = "sparql" (the external store would make the call, '
                              "outside the sealed query processes)")
    if config.server not in ("waitress", "gunicorn"):
        raise ConfigError(
            f"configuration server: expected waitress or gunicorn, got {config.server!r}")
    for name in ("workers", "threads", "processes", "per_client_queries", "max_query_depth",
                 "max_operator_chain"):
        if getattr(config, name) < 1:
            raise ConfigError(f"configuration {name}: must be at least 1")
    if config.deadline <= 0:
        raise ConfigError("configuration deadline: must be a positive number of seconds")
    if config.max_query_memory < 0 or config.request_read_timeout <= 0:
        raise ConfigError("configuration max_query_memory / request_read_timeout: must not "
                          "be negative")
    if not 256 <= config.max_request_line <= 8190:
        raise ConfigError("configuration max_request_line: must be from 256 to 8190 bytes "
                          "(gunicorn's own limit)")
    if config.row_cap < 0 or config.max_request_bytes < 1:
        raise ConfigError("configuration row_cap / max_request_bytes: must not be negative")
    if config.result_cache_bytes < 0 or config.result_cache_entry_bytes < 0:
        raise ConfigError("configuration result_cache_bytes / result_cache_entry_bytes: must "
                          "not be negative (0 turns the results cache off)")
    if config.forwarded_hops < 0:
        raise ConfigError("configuration forwarded_hops: must not be negative")
    if not 0 <= config.port < 65536:  # 0: a free port, chosen when the server starts
        raise ConfigError(f"configuration port: {config.port} is not a TCP port")
    return config


def read_file(path: Path) -> dict[str, Any]:
    """Settings from a TOML file (top level or ``[service]``) or an INI file (``[service]``)."""
    if not path.exists():
        raise ConfigError(f"configuration file {path} does not exist")
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        section = data.get("service", data)
        return {k.replace("-", "_"): v for k, v in section.items() if not isinstance(v, dict)}
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if not parser.has_section("service"):
        raise ConfigError(f"{path}: no [service] section")
    return {k.replace("-", "_"): v for k, v in parser.items("service")}


def load_config(overrides: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> ServiceConfig:
    """Merge defaults, the config file, the environment and ``overrides`` (highest)."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    file_name = (overrides or {}).get("config_file") or env.get(CONFIG_FILE_ENV)
    if file_name:
        merged.update(read_file(Path(str(file_name))))
    for name in _FIELDS:
        key = ENV_PREFIX + name.upper()
        if key in env:
            merged[name] = env[key]
    for key, value in (overrides or {}).items():
        if key != "config_file" and value is not None:
            merged[key] = value
    unknown = sorted(set(merged) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"unknown configuration keys: {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(_FIELDS))})")
    values = {k: _coerce(k, v) for k, v in merged.items()}
    return _validate(replace(ServiceConfig(), **values))


__all__ = ["CONFIG_FILE_ENV", "ENV_PREFIX", "ServiceConfig", "load_config", "read_file"]
