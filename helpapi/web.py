"""HTTP plumbing shared by every route: input guards, CORS, request ids, JSON encoding."""

from __future__ import annotations

import logging
import secrets
import time
from urllib.parse import unquote_to_bytes

import orjson
from flask import Flask
from flask import g
from flask import request
from flask.json.provider import JSONProvider

from .errors import BadRequest

access_log = logging.getLogger("helpapi.access")
READ_PREFIXES = (
    "/v1/search",
    "/v1/articles",
    "/v1/analyze",
    "/v1/locales",
    "/v1/openapi.json",
    "/healthz",
    "/readyz",
)


class OrjsonProvider(JSONProvider):
    """orjson for responses: fast, and non-ASCII text stays readable (no \\u escapes)."""

    def dumps(self, obj, **kwargs) -> str:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")

    def loads(self, s, **kwargs):
        return orjson.loads(s)


def _check_input() -> None:
    """400 for query strings or paths that are not UTF-8 or that carry NUL characters."""
    raw_path = request.environ.get("PATH_INFO", "")
    try:
        path = raw_path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise BadRequest("The URL path is not valid UTF-8.") from None
    if "\x00" in path:
        raise BadRequest("The URL path contains a NUL character.")
    if "\ufffd" in path:  # a server that decoded invalid UTF-8 leniently before us
        raise BadRequest("The URL path is not valid UTF-8.")
    query = request.query_string
    if query:
        try:
            text = unquote_to_bytes(query.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("The query string is not valid UTF-8.") from None
        if "\x00" in text:
            raise BadRequest("The query string contains a NUL character.")
    for name in ("Accept-Language", "If-None-Match", "Origin"):
        if "\x00" in request.headers.get(name, ""):
            raise BadRequest(f"The {name} header contains a NUL character.")


def _request_id() -> str:
    """The caller's X-Request-Id when it is short, printable ASCII; else a new one."""
    rid = request.headers.get("X-Request-Id", "")
    if rid and len(rid) <= 64 and rid.isascii() and rid.isprintable():
        return rid
    return secrets.token_hex(8)


def _cors(resp, origins: list[str]):
    if not request.path.startswith(READ_PREFIXES):
        return resp
    origin = request.headers.get("Origin")
    if "*" in origins:
        resp.headers["Access-Control-Allow-Origin"] = "*"
    elif origin and origin in origins:
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.vary.add("Origin")
    else:
        return resp
    resp.headers["Access-Control-Expose-Headers"] = "Content-Language, ETag, X-Request-Id"
    if request.method == "OPTIONS":
        resp.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        resp.headers["Access-Control-Allow-Headers"] = "Accept-Language, If-None-Match"
        resp.headers["Access-Control-Max-Age"] = "600"
    return resp


def init_app(app: Flask) -> None:
    """Register the JSON provider and the before/after request hooks."""
    app.json = OrjsonProvider(app)
    origins = [o.strip() for o in app.config["CORS_ORIGINS"].split(",") if o.strip()]

    @app.before_request
    def _start():
        g.request_id = _request_id()
        g.started = time.perf_counter()
        _check_input()

    @app.after_request
    def _finish(resp):
        resp = _cors(resp, origins)
        rid = g.get("request_id") or secrets.token_hex(8)
        resp.headers["X-Request-Id"] = rid
        if access_log.isEnabledFor(logging.INFO):
            ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
            access_log.info(
                "%s",
                orjson.dumps(
                    {
                        "rid": rid,
                        "method": request.method,
                        "path": request.path,
                        "status": resp.status_code,
                        "ms": round(ms, 2),
                        "remote": request.remote_addr,
                    }
                ).decode(),
            )
        return resp
