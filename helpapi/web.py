"""HTTP plumbing shared by every route: input guards, CORS, request ids, JSON encoding."""

from __future__ import annotations

import codecs
import contextlib
import hmac
import io
import logging
import secrets
import time
from urllib.parse import unquote_to_bytes

import orjson
from flask import Flask
from flask import g
from flask import request
from flask import signals
from flask.json.provider import JSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map

from . import metrics
from .config import admin_token
from .corpus_write import MAX_BATCH_BYTES
from .errors import BadRequest
from .errors import InvalidParameter
from .errors import PayloadTooLarge

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
# Cross-origin POST routes (the widget's events); their preflight allows Content-Type.
POST_PREFIXES = ("/v1/events",)


# No public route takes a larger body; a bigger Content-Length is refused before a byte is read.
MAX_BODY_BYTES = 64 * 1024
# The ingestion routes take whole articles and batches (helpapi.ingest), but only from a
# caller that already shows the admin token: strangers never make a worker buffer megabytes.
INGEST_PREFIX = "/v1/admin/articles"
NOSNIFF = "nosniff"
# JSON, scripts, stylesheets: nothing in them may load anything, nor be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# HTML pages (/demo): only this origin's scripts, styles and API; no inline code, no framing.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'{styles}; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def page_csp(style_hashes: tuple[str, ...] = ()) -> str:
    """The HTML pages' policy, allowing the given inline ``<style>`` blocks by hash."""
    return PAGE_CSP.format(styles="".join(f" '{h}'" for h in style_hashes))


class _BodyTimeout(Exception):
    pass


def _deadline(seconds: float):
    """A time limit on reading the body under gevent (each connection a greenlet)."""
    try:
        from gevent import Timeout
        from gevent.monkey import is_module_patched
    except ImportError:  # pragma: no cover - gevent is a dependency
        return contextlib.nullcontext()
    if not is_module_patched("socket"):
        # Sync worker or test client: the server's own socket timeout applies.
        return contextlib.nullcontext()
    return Timeout(seconds, _BodyTimeout)


class BodyGuard:
    """WSGI middleware: read a request body whole, or note why it could not be.

    Under gunicorn ``wsgi.input`` is the raw socket stream (``wsgi.input_terminated``), so a
    client that announces 40 bytes and sends none, or closes early, gives a route an empty or
    cut body, which it would take for a valid one. The body is read here, bounded in size
    (``MAX_BODY_BYTES``) and in time (``BODY_TIMEOUT``), and handed on as a buffer; a short,
    late or oversized body is turned into a JSON error by :func:`_check_body`.
    """

    def __init__(self, wsgi_app, timeout: float, limit_for=None):
        self.wsgi_app = wsgi_app
        self.timeout = timeout
        # environ -> the largest body this request may send (default: MAX_BODY_BYTES).
        self.limit_for = limit_for or (lambda environ: MAX_BODY_BYTES)

    def __call__(self, environ, start_response):
        """Buffer the body, then call the app."""
        cap = self.limit_for(environ)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Werkzeug treats it as absent too; gunicorn refuses it earlier
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length > cap:
            environ["helpapi.body_error"] = self._too_large(cap)
            data = b""
        elif length > 0:
            data, complete = self._read(environ["wsgi.input"], length)
            if len(data) < length:
                environ["helpapi.body_error"] = BadRequest(
                    f"The body is shorter than its Content-Length: {len(data)} of {length} bytes"
                    " arrived."
                )
        elif chunked:
            # No length announced: read to the end, one byte past the cap at most.
            data, complete = self._read(environ["wsgi.input"], cap + 1, to_end=True)
            if len(data) > cap:
                environ["helpapi.body_error"] = self._too_large(cap)
            elif not complete:
                environ["helpapi.body_error"] = BadRequest(
                    "The chunked body did not arrive in full."
                )
        else:
            return self.wsgi_app(environ, start_response)
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = True
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def _too_large(cap: int) -> PayloadTooLarge:
        return PayloadTooLarge(f"The body must be at most {cap} bytes.")

    def _read(self, stream, limit: int, to_end: bool = False) -> tuple[bytes, bool]:
        """Up to ``limit`` bytes within the time limit; and whether the body ended cleanly."""
        chunks, got = [], 0
        try:
            with _deadline(self.timeout):
                while got < limit:
                    chunk = stream.read(limit - got)
                    if not chunk:
                        return b"".join(chunks), to_end
                    chunks.append(chunk)
                    got += len(chunk)
        except (_BodyTimeout, OSError, ValueError):
            return b"".join(chunks), False
        except Exception as exc:  # gunicorn's NoMoreData and kin: the client went away
            if type(exc).__module__.split(".")[0] not in ("gunicorn", "werkzeug"):
                raise
            return b"".join(chunks), False
        return b"".join(chunks), True


def json_body(raw: bytes):
    """A request body parsed as JSON; :class:`BadRequest` saying where it is not UTF-8, or
    that it is not JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The body is not valid UTF-8 (byte {exc.start}).") from None
    try:
        return orjson.loads(text)
    except ValueError:
        raise BadRequest("The body is not valid JSON.") from None


def json_object(raw: bytes, allowed: set[str]) -> dict:
    """A request body that must be one JSON object with only ``allowed`` keys.

    Raises :class:`BadRequest` (not UTF-8, not JSON, not an object) or
    :class:`InvalidParameter` naming the first unknown key: the one shape every JSON-taking
    route answers with.
    """
    body = json_body(raw)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidParameter(unknown[0], f"unknown key; allowed: {', '.join(sorted(allowed))}")
    return body


def _check_body() -> None:
    error = request.environ.get("helpapi.body_error")
    if error is not None:
        raise error


_DEFAULT_PAGE_CSP = page_csp()


def _security_headers(resp) -> None:
    headers = resp.headers
    headers["X-Content-Type-Options"] = NOSNIFF
    if "Content-Security-Policy" not in headers:
        # What resp.mimetype answers (case kept, as werkzeug does), read straight off the header.
        mimetype = headers.get("Content-Type", "").split(";", 1)[0].strip()
        headers["Content-Security-Policy"] = (
            _DEFAULT_PAGE_CSP if mimetype == "text/html" else API_CSP
        )


class OrjsonProvider(JSONProvider):
    """orjson for responses: fast, and non-ASCII text stays readable (no \\u escapes)."""

    def dumps(self, obj, **kwargs) -> str:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")

    def response(self, *args, **kwargs):
        """``jsonify``: the encoded bytes go into the response as they are (``dumps`` would
        decode them to text that the response encodes again)."""
        return self.response_of(self._prepare_response_obj(args, kwargs))

    def response_of(self, obj):
        """:meth:`response` of one object, without ``jsonify``'s argument handling (the
        search route's answer)."""
        body = orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
        return self._app.response_class(body, mimetype="application/json")

    def loads(self, s, **kwargs):
        return orjson.loads(s)


# Headers checked for NUL characters, with their WSGI environ keys (request.headers.get would
# build the key from the name on every call).
_NUL_CHECKED_HEADERS = (
    ("Accept-Language", "HTTP_ACCEPT_LANGUAGE"),
    ("If-None-Match", "HTTP_IF_NONE_MATCH"),
    ("Origin", "HTTP_ORIGIN"),
)


def percent_decoded(raw: bytes) -> bytes:
    """``urllib.parse.unquote_to_bytes(raw)``, in C when every ``%`` starts a well-formed
    escape (the Python loop costs ~0.7 µs an escape: 40 µs a Japanese query, twice a search).

    Each ``%XX`` becomes ``\\xXX`` for the bytes-escape decoder, after every backslash is
    doubled, so no other escape exists; a malformed escape (``%zz``, a final ``%2``) makes it
    raise, and the slow path keeps such a ``%`` as it is, as ``unquote_to_bytes`` does.
    """
    if b"%" not in raw:
        return raw
    try:
        return codecs.escape_decode(raw.replace(b"\\", b"\\\\").replace(b"%", b"\\x"))[0]
    except ValueError:
        return unquote_to_bytes(raw)


# werkzeug's error handler for bytes that are not UTF-8 once unescaped (registered by
# werkzeug.urls): they stay escaped ("%FF"), as in request.args.
URL_QUOTE = "werkzeug.url_quote"


def query_params(query: bytes) -> dict[str, str]:
    """The first value of each parameter of a query string: ``request.args.to_dict()``
    (``parse_qsl(query.decode(), keep_blank_values=True, errors="werkzeug.url_quote")``),
    with the escapes decoded in C. The one parser of the search route's parameters, on its
    lean path and in its Flask view, which both see only what :func:`check_input` let through.

    The same answer for every query string werkzeug parses (its raw bytes are UTF-8): UTF-8
    never puts an ASCII byte inside a character, so the pieces between ASCII separators decode
    as they would in one string, and bytes that are not UTF-8 once unescaped go through the
    same error handler (tests/test_http20.py).
    """
    params: dict[str, str] = {}
    for piece in query.split(b"&"):
        if not piece:
            continue
        name, _, value = piece.partition(b"=")
        name = percent_decoded(name.replace(b"+", b" ")).decode("utf-8", URL_QUOTE)
        if name not in params:
            params[name] = percent_decoded(value.replace(b"+", b" ")).decode("utf-8", URL_QUOTE)
    return params


def check_input(environ) -> None:
    """400 for query strings or paths that are not UTF-8 or that carry NUL characters.

    Reads the WSGI ``environ`` only: the search route's lean path (:class:`FastRoutes`) checks
    its requests with it before any Flask object exists.
    """
    raw_path = environ.get("PATH_INFO", "")
    try:
        path = raw_path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise BadRequest("The URL path is not valid UTF-8.") from None
    if "\x00" in path:
        raise BadRequest("The URL path contains a NUL character.")
    if "\ufffd" in path:  # a server that decoded invalid UTF-8 leniently before us
        raise BadRequest("The URL path is not valid UTF-8.")
    # request.query_string, as werkzeug makes it.
    query = environ.get("QUERY_STRING", "").encode("latin-1")
    if query.isascii() and b"%" not in query:
        # Nothing escaped and nothing beyond ASCII: valid UTF-8 as it is (the common case).
        if b"\x00" in query:
            raise BadRequest("The query string contains a NUL character.")
    elif query:
        try:
            if not query.isascii():
                # Raw bytes must be UTF-8 by themselves too: the parameters are parsed from
                # query.decode() (as werkzeug parses request.args), which would raise (500)
                # on "%C3" followed by a raw continuation byte, valid once unescaped.
                query.decode("utf-8")
            text = percent_decoded(query.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("The query string is not valid UTF-8.") from None
        if "\x00" in text:
            raise BadRequest("The query string contains a NUL character.")
    for name, key in _NUL_CHECKED_HEADERS:
        if "\x00" in environ.get(key, ""):
            raise BadRequest(f"The {name} header contains a NUL character.")


def request_id(environ) -> str:
    """The caller's X-Request-Id when it is short, printable ASCII; else a new one."""
    rid = environ.get("HTTP_X_REQUEST_ID", "")
    if rid and len(rid) <= 64 and rid.isascii() and rid.isprintable():
        return rid
    return secrets.token_hex(8)


def _cors(resp, origins: list[str], path: str | None = None):
    if not origins:
        return resp  # no origin is allowed: no CORS header for anyone
    if path is None:
        path = request.path
    post = path.startswith(POST_PREFIXES)
    if not post and not path.startswith(READ_PREFIXES):
        return resp
    allowed = read_cors_headers(origins, request.headers.get("Origin"))
    if not allowed:
        return resp
    for name, value in allowed:
        if name == "Vary":
            resp.vary.add(value)
        else:
            resp.headers[name] = value
    if request.method == "OPTIONS":
        if post:
            resp.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
        else:
            resp.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
            resp.headers["Access-Control-Allow-Headers"] = "Accept-Language, If-None-Match"
        resp.headers["Access-Control-Max-Age"] = "600"
    return resp


def _body_limits(app: Flask):
    """The per-request body cap: large for the ingestion routes with the right admin token."""
    token = admin_token(app.config).encode()
    # The largest body an ingestion route reads (helpapi.ingest checks its own, smaller, caps).
    ingest_cap = max(MAX_BATCH_BYTES, app.config["MAX_ARTICLE_BYTES"])

    def limit_for(environ) -> int:
        if token and environ.get("PATH_INFO", "").startswith(INGEST_PREFIX):
            scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token):
                return ingest_cap
        return MAX_BODY_BYTES

    return limit_for


def log_request(rid, method, route, path, status, seconds, remote, found, log_queries) -> None:
    """Count a request in the metrics and write its access line (``found``: a search's fields).

    Both ways a request is answered end here: Flask's ``after_request`` and the search
    route's lean path (:class:`FastRoutes`).
    """
    metrics.observe_request(route, status, seconds)
    if access_log.isEnabledFor(logging.INFO):
        entry = {
            "rid": rid,
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "ms": round(seconds * 1000, 2),
            "remote": remote,
        }
        if found is not None:
            entry.update(locale=found["locale"], hits=found["hits"], zero=found["zero"])
            if log_queries:
                entry["q"] = found["q"]
        line = orjson.dumps(entry).decode()
        handler = plain_handler(access_log)
        if handler is None:
            access_log.handle(_access_record(line))
            return
        # What the handler's emit does with the record (the message is the line as it is),
        # without making the record: its attributes (time, thread, process, file) are read
        # by nothing on this path. ~20 us less a request (bench/RESULTS.md "Stop 22").
        handler.acquire()
        try:
            handler.stream.write(line + handler.terminator)
            handler.flush()
        except RecursionError:
            raise
        except Exception:
            handler.handleError(_access_record(line))
        finally:
            handler.release()


def _access_record(line: str) -> logging.LogRecord:
    """The access line's record: Logger.info's, less its search of the stack for the
    caller's file and line (the access line is the request's, not a source line's)."""
    return access_log.makeRecord(
        access_log.name, logging.INFO, __file__, 0, "%s", (line,), None, "_finish"
    )


def plain_handler(logger: logging.Logger) -> logging.StreamHandler | None:
    """The one handler of ``logger`` when all that ``logger.handle`` does with an INFO record
    is to write its message, as it is, and the handler's terminator to the handler's stream;
    else None.

    That is: the logger has no filter and does not propagate, and its one handler is a
    ``logging.StreamHandler`` (not a subclass: a file handler may open its file on the first
    record) with no filter, a level at most INFO and a plain ``%(message)s`` formatter (or
    none: logging's default is that one). gunicorn.conf.py's access log is such a handler
    (its ``json`` formatter). Checked on every call: a handler added or changed later (a
    test's log capture, an operator's logging config) gets its records as before.
    """
    if logger.filters or logger.propagate or logger.disabled:
        return None
    handlers = logger.handlers
    if len(handlers) != 1:
        return None
    handler = handlers[0]
    if type(handler) is not logging.StreamHandler or handler.filters:
        return None
    if handler.level > logging.INFO:
        return None
    formatter = handler.formatter
    if formatter is not None:
        style = getattr(formatter, "_style", None)
        if (
            type(formatter) is not logging.Formatter
            or type(style) is not logging.PercentStyle
            or style._fmt != "%(message)s"
        ):
            return None
    return handler


def read_cors_headers(origins: list[str], origin: str | None) -> list[tuple[str, str]]:
    """The CORS headers of a request from ``origin`` to a CORS route (:func:`_cors`, which adds
    a preflight's; the search route's lean path), in order; a ``Vary`` entry means ``Origin``
    joins the response's Vary header."""
    if not origins:
        return []
    if "*" in origins:
        allow = [("Access-Control-Allow-Origin", "*")]
    elif origin and origin in origins:
        allow = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    else:
        return []
    return allow + [("Access-Control-Expose-Headers", "Content-Language, ETag, X-Request-Id")]


# Signals Flask sends around a request's view. The project connects none: a receiver of any
# of them (for any sender: blinker's receivers are process-wide) sends every request through
# Flask, which sends them.
_SIGNALS = (
    signals.request_started,
    signals.request_finished,
    signals.request_tearing_down,
    signals.got_request_exception,
    signals.appcontext_pushed,
    signals.appcontext_popped,
    signals.appcontext_tearing_down,
)
_S0, _S1, _S2, _S3, _S4, _S5, _S6 = _SIGNALS


class RuleCountingMap(Map):
    """werkzeug's URL map, counting the rules added to it: a version of its routing that the
    lean path reads on every request (``Map._rules`` builds a list of them all)."""

    rules_added = 0

    def add(self, rulefactory) -> None:
        """:meth:`Map.add`, counted."""
        super().add(rulefactory)
        self.rules_added += 1


class App(Flask):
    """The Flask app, its URL map a :class:`RuleCountingMap` (the lean path's routes need
    one: :meth:`FastRoutes.add`)."""

    url_map_class = RuleCountingMap


# Where _hook_state's answer holds the app's routing (its URL map, and how many rules were
# added to it), which FastRoutes checks again when it changes (_rerouted)...
_ROUTING = slice(5, 7)
# ... and what must stay empty (see _clean_state).
_COUNTS = 11


def _hook_state(app: Flask) -> tuple:
    """What Flask would run around a view besides the view (its hooks, signal receivers and
    host settings) and how it routes, as a signature that changes when any is added: Flask's
    setup methods only append, so the hook and rule counts grow. Cheap, as it runs on every
    lean request."""
    url_map = app.url_map
    return (
        sum(map(len, app.before_request_funcs.values())),
        sum(map(len, app.after_request_funcs.values())),
        sum(map(len, app.teardown_request_funcs.values())),
        sum(map(len, app.url_value_preprocessors.values())),
        sum(map(len, app.url_default_functions.values())),
        # A rule added for any endpoint may route a lean path elsewhere (or redirect it); a
        # map replaced by another (without the count: None) is checked again too.
        url_map,
        getattr(url_map, "rules_added", None),
        # The handlers encode with orjson as OrjsonProvider does, into a plain response,
        # with no session cookie and the request's own remote address.
        app.json,
        app.response_class,
        app.session_interface,
        app.request_class,
        # From here on, what _clean_state expects empty.
        len(app.teardown_appcontext_funcs),
        bool(
            _S0.receivers
            or _S1.receivers
            or _S2.receivers
            or _S3.receivers
            or _S4.receivers
            or _S5.receivers
            or _S6.receivers
        ),
        app.config["TRUSTED_HOSTS"],
        app.config["SERVER_NAME"],
    )


def _clean_state(app: Flask) -> tuple:
    """:func:`_hook_state` as it must be for the lean path: the hooks counted now (which
    :meth:`FastRoutes.add` checked are the project's), and nothing else: no app-context
    teardown, no signal receiver, no host setting (none of which the project sets)."""
    return _hook_state(app)[:_COUNTS] + (0, False, None, None)


def _without_routing(state: tuple) -> tuple:
    return state[: _ROUTING.start] + state[_ROUTING.stop :]


class FastRoutes:
    """WSGI middleware (inside :class:`BodyGuard`): a plain ``GET`` of a hot path goes straight
    to its handler, without Flask's request context, routing, hooks and response object.

    Flask around a search costs about as much CPU as the search's own web work (issue #14
    item 5: bench/RESULTS.md "Stop 18"). A handler answers exactly as the Flask route would
    (the same status, headers and body: tests/test_http18.py), and hands a request it cannot
    answer the same way to :attr:`wsgi_app` (Flask). Everything else goes to Flask, and so does
    every request while the app has hooks other than those it had when the route was added
    (the handler does the work of those it knows), an app-context teardown, a receiver of a
    request or app-context signal, a host setting (:func:`_clean_state`), or while Flask would
    not route a ``GET`` of a route's path to the rule it was added for (a rule added later can
    redirect it: :meth:`_rerouted`).
    """

    def __init__(self, app: Flask, wsgi_app, origins: list[str], log_queries: bool):
        self.app = app
        self.wsgi_app = wsgi_app
        self.origins = origins
        self.log_queries = log_queries
        self.routes: dict[str, object] = {}
        self._hooks: tuple | None = None
        # The last state _rerouted refused: not checked again on every request.
        self._refused: tuple | None = None
        # init_app's before and after hooks: a handler does their work itself.
        self.own_hooks: tuple = ()

    def add(self, path: str, endpoint: str, handler, known=()) -> bool:
        """Answer ``GET path`` (the rule of ``endpoint``, a view of a blueprint) with
        ``handler(environ, start_response)``, while ``endpoint``'s view is the one it has now,
        if the hooks Flask would run for it are this module's and ``known`` (functions the
        handler calls itself) and Flask routes ``GET path`` to a rule of ``endpoint``; else
        leave the route to Flask. Whether it was added."""
        allowed = {*self.own_hooks, *known}
        app = self.app
        blueprint = endpoint.rpartition(".")[0]
        for hooks in (
            app.before_request_funcs,
            app.after_request_funcs,
            app.teardown_request_funcs,
            app.url_value_preprocessors,
            app.url_default_functions,
        ):
            for scope in (None, blueprint):
                if any(f not in allowed for f in hooks.get(scope, ())):
                    return False
        rule = self._rule_at(path)
        if rule is None or rule.endpoint != endpoint:
            return False
        self.routes[path] = (handler, endpoint, app.view_functions[endpoint], rule)
        self._hooks = _clean_state(app)
        return True

    def _rule_at(self, path: str):
        """The rule Flask matches for ``GET path`` (its URL adapter binds the default
        subdomain: no host setting, see _clean_state), or None: a redirect, no rule, rules
        matched by host, or a map that does not count its rules (:class:`RuleCountingMap`)."""
        url_map = self.app.url_map
        if url_map.host_matching or not isinstance(url_map, RuleCountingMap):
            return None
        adapter = url_map.bind("localhost", subdomain=url_map.default_subdomain or "")
        try:
            return adapter.match(path, "GET", return_rule=True)[0]
        except HTTPException:  # NotFound, MethodNotAllowed, RequestRedirect...
            return None

    def _rerouted(self, state: tuple) -> bool:
        """Whether ``state`` (:func:`_hook_state`, not the one the routes were built under)
        differs from it only in the app's routing, and Flask still matches each route's path
        to the rule it was added for: then ``state`` is the one to compare from now on (a
        route added elsewhere keeps the lean path)."""
        if state == self._refused or self._hooks is None:
            return False
        same = _without_routing(state) == _without_routing(self._hooks) and all(
            self._rule_at(path) is route[3] for path, route in self.routes.items()
        )
        if same:
            self._hooks = state
        else:
            self._refused = state
        return same

    def __call__(self, environ, start_response):
        """The route's handler, or Flask."""
        route = self.routes.get(environ.get("PATH_INFO"))
        if (
            route is None
            or environ.get("REQUEST_METHOD") != "GET"
            or "helpapi.body_error" in environ
        ):
            return self.wsgi_app(environ, start_response)
        state = _hook_state(self.app)
        if (state != self._hooks and not self._rerouted(state)) or self.app.view_functions.get(
            route[1]
        ) is not route[2]:
            return self.wsgi_app(environ, start_response)
        return route[0](environ, start_response)

    def headers(self, environ, path: str, content_length: int, locale: str, rid: str) -> list:
        """A search answer's headers, as Flask, ``_with_language`` and ``_finish`` set them
        (``path``: the route's, for :func:`_cors`)."""
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(content_length)),
            ("Content-Language", locale),
        ]
        vary = "Accept-Language"
        origins = self.origins if path.startswith(READ_PREFIXES) else ()
        for name, value in read_cors_headers(origins, environ.get("HTTP_ORIGIN")):
            if name == "Vary":
                vary = "Accept-Language, Origin"
            else:
                headers.append((name, value))
        headers.insert(3, ("Vary", vary))
        headers += [
            ("X-Content-Type-Options", NOSNIFF),
            ("Content-Security-Policy", API_CSP),
            ("X-Request-Id", rid),
        ]
        return headers


# The environ key of a lean handler's start time (time.perf_counter), kept for Flask when the
# handler hands the request on: the access line and duration metric count both parts.
STARTED = "helpapi.started"


def fast_routes(app: Flask) -> FastRoutes:
    """The app's :class:`FastRoutes` (set up by :func:`init_app`)."""
    return app.extensions["helpapi.fast_routes"]


def init_app(app: Flask) -> None:
    """Register the JSON provider and the before/after request hooks."""
    app.json = OrjsonProvider(app)
    origins = [o.strip() for o in app.config["CORS_ORIGINS"].split(",") if o.strip()]
    log_queries = bool(app.config.get("LOG_QUERIES"))
    fast = app.extensions["helpapi.fast_routes"] = FastRoutes(
        app, app.wsgi_app, origins, log_queries
    )
    app.wsgi_app = BodyGuard(fast, app.config["BODY_TIMEOUT"], _body_limits(app))

    @app.before_request
    def _start():
        environ = request.environ
        g.request_id = request_id(environ)
        # A search the lean path handed on is timed from when that path took it.
        g.started = environ.get(STARTED) or time.perf_counter()
        _check_body()
        check_input(environ)

    @app.after_request
    def _finish(resp):
        path = request.path
        resp = _cors(resp, origins, path)
        _security_headers(resp)
        ctx = g._get_current_object()  # one proxy lookup for the fields below
        rid = getattr(ctx, "request_id", None) or secrets.token_hex(8)
        resp.headers["X-Request-Id"] = rid
        rule = request.url_rule
        route = rule.rule if rule is not None else "(unmatched)"
        now = time.perf_counter()
        seconds = now - getattr(ctx, "started", now)
        log_request(
            rid,
            request.method,
            route,
            path,
            resp.status_code,
            seconds,
            request.remote_addr,
            getattr(ctx, "search", None),
            log_queries,
        )
        return resp

    fast.own_hooks = (_start, _finish)
