"""Errors of the HTTP API, and the one JSON body every error response uses.

Exception tree::

    HelpApiError                 500 internal_error
    ├── BadRequest               400 bad_request
    │   └── InvalidParameter     400 invalid_parameter   (names the parameter)
    ├── Unauthorized             401 unauthorized        (WWW-Authenticate: Bearer)
    ├── Forbidden                403 forbidden
    ├── NotFound                 404 not_found
    ├── Conflict                 409 conflict
    ├── PayloadTooLarge          413 payload_too_large
    └── ServiceUnavailable       503 index_unavailable   (no index built yet)

Werkzeug's own HTTP errors (routing 404, 405, 413...) and unexpected exceptions are mapped to the
same body by :func:`register`: ``{"error": {"code": "...", "message": "...", "status": N}}``.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask import jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("helpapi")


class HelpApiError(Exception):
    """Base class: an error with an HTTP status and a stable machine-readable code."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadRequest(HelpApiError):
    """The request is malformed (bad encoding, NUL bytes, bad JSON)."""

    status = 400
    code = "bad_request"


class InvalidParameter(BadRequest):
    """One parameter is missing, out of bounds or malformed; ``parameter`` names it."""

    code = "invalid_parameter"

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}", parameter=parameter)


class Unauthorized(HelpApiError):
    """Missing or wrong credentials."""

    status = 401
    code = "unauthorized"


class Forbidden(HelpApiError):
    """The route is disabled or not allowed for this caller."""

    status = 403
    code = "forbidden"


class NotFound(HelpApiError):
    """No such article (in any locale) or route."""

    status = 404
    code = "not_found"


class Conflict(HelpApiError):
    """The request conflicts with work in progress."""

    status = 409
    code = "conflict"


class PayloadTooLarge(HelpApiError):
    """The request body is larger than allowed."""

    status = 413
    code = "payload_too_large"


class ServiceUnavailable(HelpApiError):
    """No index generation is available to answer from."""

    status = 503
    code = "index_unavailable"


def error_body(status: int, code: str, message: str, **extra) -> dict:
    """The JSON body of every error response."""
    return {"error": {"code": code, "message": message, "status": status, **extra}}


def error_response(exc: HelpApiError):
    """The JSON error response of one of our exceptions: its status, code, message and extra."""
    resp = jsonify(error_body(exc.status, exc.code, exc.message, **exc.extra))
    resp.status_code = exc.status
    return resp


def retry_later_response(exc: HelpApiError):
    """:func:`error_response` with a ``Retry-After`` header of ``exc.extra["retry_after"]``
    seconds: for the errors that tell a client when to try again (too many events, an
    insights query over its time)."""
    resp = error_response(exc)
    resp.headers["Retry-After"] = str(exc.extra["retry_after"])
    return resp


def _http_code(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def register(app: Flask) -> None:
    """Map every exception, ours, Werkzeug's and unexpected ones, to the JSON error body."""

    @app.errorhandler(HelpApiError)
    def _ours(exc: HelpApiError):
        resp = error_response(exc)
        if exc.status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="helpapi"'
        return resp

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        resp = jsonify(error_body(status, _http_code(exc), exc.description or exc.name))
        resp.status_code = status
        for key, value in exc.get_headers():
            if key.lower() not in ("content-type", "content-length"):
                resp.headers[key] = value
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Never show a traceback to the client; the log has it.
        log.exception("unhandled error")
        resp = jsonify(error_body(500, "internal_error", "The server could not answer."))
        resp.status_code = 500
        return resp
