"""The absolute URLs this service advertises, never taken from an untrusted ``Host``.

Service description, VoID, dump lists, OpenAPI and the base IRI of queries all name the
service by absolute URL. A client must not be able to make the service advertise a host of
its choosing (cache poisoning, links to an attacker's site), so the URL is ``public_url`` when
it is set, else the request's own root only when its ``Host`` header is one of
``trusted_hosts``, else ``http://host:port`` of the configuration.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import request

from ..config import ServiceConfig
from .state import state

ENDPOINT_PATH = "/sparql"


def base_url_for(config: ServiceConfig, host: str | None = None,
                 url_root: str | None = None) -> str:
    """The base URL (no trailing slash) of this service's absolute URLs.

    * ``public_url`` set: its parent, e.g. ``https://w3id.org/ketamine-ed`` for
      ``https://w3id.org/ketamine-ed/sparql``;
    * else, when ``host`` (the request's ``Host`` header) is exactly one of
      ``trusted_hosts`` (letter case aside): ``url_root``, the request's own root URL;
    * else ``http://host:port`` of the configuration.

    So a client can never make the service advertise a host of its choosing.
    """
    if config.public_url:
        parts = urlsplit(config.public_url)
        path = parts.path.rstrip("/")
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        return f"{parts.scheme}://{parts.netloc}{parent}"
    if host and url_root and host.lower() in {h.lower() for h in config.trusted_hosts}:
        return url_root.rstrip("/")
    name = f"[{config.host}]" if ":" in config.host else config.host
    return f"http://{name}:{config.port}"


def advertised_url(path: str = ENDPOINT_PATH) -> str:
    """The absolute URL this service advertises for ``path`` (default: the endpoint; the
    endpoint, ``/sparql`` or ``/sparql/``, is ``public_url`` itself when that is set), for the
    request being handled.

    The one place absolute URLs come from: the service description, VoID, and the base IRI
    of queries (``advertised_url(request.path)``). See :func:`base_url_for` for the rules
    (``Host`` counts only when trusted).
    """
    cfg = state().config
    if cfg.public_url and path.rstrip("/") == ENDPOINT_PATH:
        return cfg.public_url
    host = request.host
    if not cfg.public_url and host.lower() in _trusted(cfg.trusted_hosts):
        # (werkzeug builds the root URL with IRI decoding: only worth it when it counts)
        return base_url_for(cfg, host, request.url_root) + path
    return base_url_for(cfg) + path


@lru_cache(maxsize=8)
def _trusted(hosts: tuple[str, ...]) -> frozenset[str]:
    """``trusted_hosts`` in lower case (asked on every query: its base IRI)."""
    return frozenset(h.lower() for h in hosts)


__all__ = ["ENDPOINT_PATH", "advertised_url", "base_url_for"]
