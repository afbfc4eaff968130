"""Error responses: the right status and a readable plain-text body.

Each failure the protocol knows about raises :class:`ApiError` with its status. Anything else
is a bug: it is logged with its traceback and answered with a 500, never disguised as a 400.
"""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger("ketamine_ed_kg.server")


class ApiError(Exception):
    """A request the service answers with an error status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Plain-text error body: what went wrong and, where it helps, what to do instead."""
    response = Response(message.rstrip() + "\n", status=status,
                        mimetype="text/plain", headers=headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(ApiError)
    def _api(exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, exc.headers)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> Response:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return error_response(413, f"request body too large: the limit is {limit} bytes")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        response = exc.get_response()
        out = error_response(exc.code or 500, f"{exc.code} {exc.name}: {exc.description}")
        for key in ("Allow", "Retry-After"):
            if key in response.headers:
                out.headers[key] = response.headers[key]
        return out

    @app.errorhandler(Exception)
    def _bug(exc: Exception) -> Response:
        log.exception("internal error while serving a request")
        return error_response(500, "internal server error: this is a bug and it has been logged")


__all__ = ["ApiError", "error_response", "register"]
