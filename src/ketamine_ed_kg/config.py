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
from .namespaces import GRAPH_INFERRED
from .paths import ProjectPaths, project_paths

ENV_PREFIX = "KETAMINE_ED_KG_"
CONFIG_FILE_ENV = ENV_PREFIX + "CONFIG"


def _default_workers() -> int:
    return max(2, os.cpu_count() or 2)


@dataclass(frozen=True)
class ServiceConfig:
    """Every setting of the SPARQL service (see docs/configuration.md)."""

    dataset: Path | None = None
    """N-Quads file to serve; default ``build/dataset.nq`` of the checkout."""
    store: str = "memory"
    """``memory`` (pyoxigraph in-memory, fastest) or ``disk`` (RocksDB, for graphs > RAM)."""
    store_path: Path | None = None
    """Folder of the on-disk store; default ``build/oxigraph-store``."""
    host: str = "127.0.0.1"
    port: int = 5000
    server: str = "gunicorn"
    """Production WSGI server: ``gunicorn`` (chosen by measurement, docs/benchmarks.md) or
    ``waitress`` (one process: half the memory)."""
    processes: int = 2
    """HTTP server processes (gunicorn workers); each holds its own app and query workers."""
    threads: int = 8
    """HTTP threads per process that accept requests and stream results."""
    workers: int = field(default_factory=_default_workers)
    """Query processes; each one can be killed at a deadline without harming the others."""
    deadline: float = 30.0
    """Seconds a query may run; a request may lower it with ``timeout=`` but never raise it."""
    row_cap: int = 10000
    """Most solutions a query may return (0: no cap); a capped result says so in headers."""
    max_request_bytes: int = 1_000_000
    """Largest request body or query string accepted (413 beyond)."""
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
    """Endpoint IRI to advertise (``sd:endpoint``); default: derived from the request."""
    log_level: str = "INFO"

    def dataset_path(self, paths: ProjectPaths | None = None) -> Path:
        """The N-Quads file to load."""
        if self.dataset is not None:
            return self.dataset
        return (paths or project_paths()).build_dir / "dataset.nq"

    def disk_store_path(self) -> Path:
        """Where the on-disk store lives."""
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
    if config.store not in ("memory", "disk"):
        raise ConfigError(f"configuration store: expected 'memory' or 'disk', got {config.store!r}")
    if config.server not in ("waitress", "gunicorn"):
        raise ConfigError(
            f"configuration server: expected waitress or gunicorn, got {config.server!r}")
    for name in ("workers", "threads", "processes"):
        if getattr(config, name) < 1:
            raise ConfigError(f"configuration {name}: must be at least 1")
    if config.deadline <= 0:
        raise ConfigError("configuration deadline: must be a positive number of seconds")
    if config.row_cap < 0 or config.max_request_bytes < 1:
        raise ConfigError("configuration row_cap / max_request_bytes: must not be negative")
    if not 0 < config.port < 65536:
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
