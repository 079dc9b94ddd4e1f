"""HTTP routes (v1). Views read and validate input, call the core, and shape JSON."""

from __future__ import annotations

import functools
import hashlib
import time

import orjson
from flask import Blueprint
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from flask import url_for
from werkzeug.exceptions import HTTPException

from . import analysis
from . import controls
from . import controls_web
from . import facets
from . import metrics
from . import web
from .analytics import new_query_id
from .errors import InvalidParameter
from .errors import NotFound
from .errors import ServiceUnavailable
from .locales import MAX_TAG_LENGTH
from .locales import BadLocale
from .locales import Resolved
from .locales import resolve_locale
from .query import normalize_query
from .render import render_markdown
from .render import resolve_links
from .search import ArticleNotFound
from .search import find_article
from .search import search
from .service import get_cache
from .service import get_indexes
from .service import index_warnings

bp = Blueprint("api", __name__)
MAX_ANALYZE_LENGTH = 4096


SEARCH_ENDPOINT = f"{bp.name}.search_view"


def init_app(app) -> None:
    """Answer the search route on the lean path (after every hook is registered), at the
    path of its rule, when that is one fixed path (else Flask answers every search)."""
    rules = list(app.url_map.iter_rules(SEARCH_ENDPOINT))
    if len(rules) != 1 or rules[0].arguments or rules[0].host or rules[0].subdomain:
        return
    path = rules[0].rule
    # analytics.init_app registers the recorder's start-up check only when analytics is on.
    known = [app.extensions["helpapi.analytics"].ensure_started]
    web.fast_routes(app).add(path, SEARCH_ENDPOINT, _fast_search(app, path), known)


def _int_arg(name: str, default: int, low: int, high: int, params=None) -> int:
    raw = (request.args if params is None else params).get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidParameter(name, f"must be a whole number, got {raw[:20]!r}") from None
    if not low <= value <= high:
        raise InvalidParameter(name, f"must be between {low} and {high}, got {value}")
    return value


def _bool_arg(name: str, params=None) -> bool:
    raw = (request.args if params is None else params).get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise InvalidParameter(name, "must be true or false")


def _text_arg(name: str, max_length: int, params=None) -> str:
    value = (request.args if params is None else params).get(name, "").strip()
    if not value:
        raise InvalidParameter(name, "is required and must not be empty")
    if len(value) > max_length:
        raise InvalidParameter(name, f"must be at most {max_length} characters, got {len(value)}")
    return value


# What a search without filter, facets or sort asks (parse_scope's answer for no parameters).
_PLAIN_SCOPE = facets.Scope()
_SCOPE_PARAMS = ("filter", "facets", "sort")


@functools.lru_cache(maxsize=16)
def _known_facets(setting: str) -> dict[str, str]:
    """The facet names of a ``HELPAPI_FACETS`` value (parsed once, not per request)."""
    return facets.short_names(tuple(k.strip() for k in setting.split(",") if k.strip()))


def _scope(params=None) -> facets.Scope:
    """The request's ``filter``, ``facets`` and ``sort`` (helpapi.facets); 400 when bad."""
    if params is None:
        params = request.args
    if not any(name in params for name in _SCOPE_PARAMS):
        return _PLAIN_SCOPE
    # Only a scoped search reads the MultiDict (its repeated filters and facets).
    args = request.args
    try:
        return facets.parse_scope(
            args.getlist("filter"),
            args.getlist("facets"),
            args.get("sort", ""),
            _known_facets(current_app.config["FACETS"]),
        )
    except facets.ScopeError as exc:
        raise InvalidParameter(exc.param, exc.reason) from None


# Negotiation is a pure function of its inputs, and a few (parameter, header) pairs make most
# requests: remembered, within bounds (both are typed by clients: at most 2,048 entries, of
# headers up to MAX_CACHED_ACCEPT characters). A BadLocale is raised, never remembered.
MAX_CACHED_ACCEPT = 256
_cached_resolve = functools.lru_cache(maxsize=2048)(resolve_locale)


def _negotiate(param, accept, available: tuple, default: str) -> Resolved:
    if accept is not None and len(accept) > MAX_CACHED_ACCEPT:
        return resolve_locale(param, accept, list(available), default)
    return _cached_resolve(param, accept, available, default)


def _locale() -> Resolved:
    """Negotiate the locale of this request (``?locale=``, Accept-Language, default)."""
    return _locale_of(
        request.args,
        # request.headers.get("Accept-Language"), without building the environ key.
        request.environ.get("HTTP_ACCEPT_LANGUAGE"),
        get_indexes,
        current_app.config,
    )


def _locale_of(params, accept, get_ixset, cfg) -> Resolved:
    """:func:`_locale` from the request's parts: its parameters, Accept-Language header,
    generation (``get_ixset()``) and settings."""
    param = params.get("locale")
    if param is not None and len(param) > MAX_TAG_LENGTH:
        raise InvalidParameter("locale", f"must be at most {MAX_TAG_LENGTH} characters")
    try:
        return _negotiate(param, accept, get_ixset().locale_tuple, cfg["DEFAULT_LOCALE"])
    except BadLocale:
        raise InvalidParameter("locale", "is not a well-formed language tag (like de-DE)") from None


def _with_language(resp, locale: str):
    headers = resp.headers
    headers["Content-Language"] = locale
    if "Vary" in headers:
        resp.vary.add("Accept-Language")
    else:
        headers["Vary"] = "Accept-Language"  # resp.vary's answer, without parsing a header set
    return resp


# Article URLs of search hits, by (SCRIPT_NAME, id, locale): url_for is a routing-map build
# per hit, and the same few thousand articles come back again and again. Bounded: cleared
# when full (ids come from the index, but every generation may add new ones).
_article_urls: dict[tuple[str, str, str], str] = {}
MAX_CACHED_URLS = 65536
MAX_CACHED_SCRIPT_NAME = 256
# Host headers the lean search path found good (helpapi.web.FastRoutes): how many, how long.
MAX_CACHED_HOSTS = 1024
MAX_CACHED_HOST = 256


ENDPOINT = "api.article_view"


def _remember_url(script: str, ident: str, locale: str, build) -> str:
    """The URL ``build()`` makes for an article, remembered by ``(script, ident, locale)``."""
    if len(script) > MAX_CACHED_SCRIPT_NAME:  # not kept: a long prefix would make entries big
        return build()
    key = (script, ident, locale)
    url = _article_urls.get(key)
    if url is None:
        if len(_article_urls) >= MAX_CACHED_URLS:
            _article_urls.clear()
        url = _article_urls[key] = build()
    return url


def _article_url(ident: str, locale: str, script: str | None = None) -> str:
    """``url_for("api.article_view", ident=..., locale=...)``, remembered; ``script`` is the
    request's ``SCRIPT_NAME`` (looked up when not given)."""
    if script is None:
        script = request.environ.get("SCRIPT_NAME", "")
    return _remember_url(
        script, ident, locale, lambda: url_for(ENDPOINT, ident=ident, locale=locale)
    )


def _search_body(
    app, params: dict, accept, get_ixset, article_url, script: str, scope_of, started: float
):
    """The search route's work, shared by the Flask view and the lean path
    (:func:`_fast_search`): ``(body, access-log fields)``.

    ``params`` are the first value of each query parameter, ``accept`` the Accept-Language
    header; ``get_ixset()`` gives the request's generation, ``article_url(id, locale)`` a
    hit's URL (under ``script``, the request's ``SCRIPT_NAME``: part of the result cache's
    key), ``scope_of(params)`` the filter, facets and sort. Raises the request's
    :class:`~helpapi.errors.HelpApiError` (in the order the checks always ran).
    """
    cfg = app.config
    q = _text_arg("q", cfg["MAX_QUERY_LENGTH"], params)
    limit = _int_arg("limit", 10, 1, cfg["MAX_LIMIT"], params)
    offset = _int_arg("offset", 0, 0, cfg["MAX_OFFSET"], params)
    prefix = _bool_arg("prefix", params)
    refines = _query_id_arg("refines", params)
    loc = _locale_of(params, accept, get_ixset, cfg)
    ixset = get_ixset()
    ext = app.extensions
    recorder = ext["helpapi.analytics"]
    cache = ext["helpapi.cache"]
    # Case and spacing variants of one query share an entry (they get the same answer). Only
    # the cache and the analytics row use it: neither on, no need to compute it.
    normalized = normalize_query(q) if cache.size or recorder.enabled else None
    # Synonyms and rules in force (helpapi.controls): their version keeps cached answers fresh.
    config = controls_web.holder_of(app).get()
    scope = scope_of(params)
    answer = None
    if cache.size:
        # The hits' URLs are built under the request's script root (relative URLs: no host).
        key = (ixset.name, loc.locale, normalized, limit, offset, prefix, config.version, script)
        if not scope.plain:
            key += (scope,)
        answer = cache.get(key)
    metrics.observe_result_cache(answer is not None)
    if answer is None:
        run = controls.runner(config)
        answer = search(
            ixset, q, loc.locale, limit=limit, offset=offset, prefix=prefix, run=run, scope=scope
        )
        for hit in answer["results"]:
            hit["url"] = article_url(hit["id"], hit["locale"])
        if cache.size:
            cache.put(key, answer)
    body = {
        "query": q,
        "locale": answer["locale"],
        "requested_locale": loc.requested,
        "fallback": answer["fallback"] or loc.unmatched,
        "total": answer["total"],
        # The query as searched when a spelling correction found the results (else null),
        # for a "Showing results for ..." line.
        "corrected": answer["corrected"],
        # No result because the filters removed every match (the locale has some): not a
        # content gap (analytics and the zero-result metric leave it out).
        "filtered_out": answer["filtered_out"],
        "limit": limit,
        "offset": offset,
        "results": answer["results"],
    }
    if "facets" in answer:
        body["facets"] = answer["facets"]
    found = _record_search(q, normalized, loc, body, refines, recorder, started)
    return body, found


# The Flask path's error, when the lean path met it in the engine: the view raises it again,
# so that Flask's handlers answer it (tests/test_http18.py).
FAST_ERROR = "helpapi.search_error"


@bp.get("/v1/search")
def search_view():
    """Full-text search in one locale, with English fallback."""
    environ = request.environ
    failed = environ.pop(FAST_ERROR, None)
    if failed is not None:
        raise failed
    # The first value of each parameter, as request.args.get answers, in a plain dict: a
    # MultiDict lookup of an absent parameter raises and catches a KeyError (four a search).
    # The lean path's parser (one for both: the same answers and errors on either path).
    params = web.query_params(request.query_string)
    script = environ.get("SCRIPT_NAME", "")
    body, g.search = _search_body(
        current_app._get_current_object(),
        params,
        environ.get("HTTP_ACCEPT_LANGUAGE"),
        get_indexes,
        lambda ident, locale: _article_url(ident, locale, script),
        script,
        _scope,
        g.get("started", time.perf_counter()),
    )
    return _with_language(current_app.json.response_of(body), body["locale"])


def _fast_search(app, path: str):
    """``GET path`` (the search route's rule) without Flask (helpapi.web.FastRoutes): the
    view's answer, headers and side effects (metrics, access line, analytics row), at a
    fraction of the CPU.

    A request it cannot answer the way the view does goes to Flask untouched: one that fails
    a check before the search (Flask runs the same checks and answers the same error), a
    scoped search (``filter``, ``facets``, ``sort``: the MultiDict's repeated values), or no
    generation to serve. An exception from the search itself is handed to Flask in the
    environ (:data:`FAST_ERROR`), which the view raises: Flask's error handlers answer it,
    and the search never runs twice.
    """
    fast = web.fast_routes(app)
    holder = app.extensions["helpapi.indexes"]
    recorder = app.extensions["helpapi.analytics"]
    hooks = app.before_request_funcs.get(None, ())
    # The before_request hook analytics.init_app adds when analytics is on.
    ensure_started = recorder.ensure_started
    if ensure_started not in hooks:
        ensure_started = None

    def bind(environ):
        """The URL adapter Flask binds for the request (kept in the request's own environ:
        requests run concurrently in one worker); raises Flask's error for a bad host."""
        adapter = environ["helpapi.url_adapter"] = app.url_map.bind_to_environ(
            environ, server_name=None, subdomain=app.url_map.default_subdomain or ""
        )
        return adapter

    # The host fields of requests whose adapter bound: Flask binds one for every request and
    # answers 400 when it cannot (an IDNA BadHost), so the lean path checks each host before
    # it searches, whether or not it then builds a URL. Bounded, like _article_urls.
    good_hosts: set[tuple] = set()

    def host_ok(environ) -> bool:
        host = environ.get("HTTP_HOST", "")
        key = (host, environ.get("SERVER_NAME"), environ.get("SERVER_PORT"))
        key += (environ.get("wsgi.url_scheme"),)
        if key in good_hosts:
            return True
        try:
            bind(environ)
        except HTTPException:
            return False
        if len(host) <= MAX_CACHED_HOST:  # not kept: a long header would make entries big
            if len(good_hosts) >= MAX_CACHED_HOSTS:
                good_hosts.clear()
            good_hosts.add(key)
        return True

    def article_url(ident: str, locale: str, environ) -> str:
        script = environ.get("SCRIPT_NAME", "")
        if len(script) <= MAX_CACHED_SCRIPT_NAME:
            url = _article_urls.get((script, ident, locale))
            if url is not None:
                return url
        # url_for's build, with the adapter Flask would bind for this request.
        adapter = environ.get("helpapi.url_adapter") or bind(environ)
        # url_for's build (no url_defaults: FastRoutes sends every request to Flask if any).
        values = {"ident": ident, "locale": locale}
        return _remember_url(script, ident, locale, lambda: adapter.build(ENDPOINT, values))

    def handler(environ, start_response):
        started = environ[web.STARTED] = time.perf_counter()
        rid = web.request_id(environ)
        if ensure_started is not None:
            ensure_started()
        try:
            web.check_input(environ)
            # request.query_string, parsed as the view parses it.
            params = web.query_params(environ.get("QUERY_STRING", "").encode("latin-1"))
            ixset = holder.get()
        except Exception:
            ixset = None
        # Scoped: a filter, facets or a sort (isdisjoint: in C, no generator per request).
        scoped = ixset is not None and not params.keys().isdisjoint(_SCOPE_PARAMS)
        if ixset is None or scoped or not host_ok(environ):
            return fast.wsgi_app(environ, start_response)
        try:
            body, found = _search_body(
                app,
                params,
                environ.get("HTTP_ACCEPT_LANGUAGE"),
                lambda: ixset,
                lambda ident, locale: article_url(ident, locale, environ),
                environ.get("SCRIPT_NAME", ""),
                lambda params: _PLAIN_SCOPE,
                started,
            )
            data = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
            headers = fast.headers(environ, path, len(data), body["locale"], rid)
            # Counted and logged before the answer starts: an error in either (or in the
            # encoding) is still Flask's JSON 500, as in the view.
            web.log_request(
                rid,
                "GET",
                path,
                path,
                200,
                time.perf_counter() - started,
                environ.get("REMOTE_ADDR"),
                found,
                fast.log_queries,
            )
        except Exception as exc:
            environ[FAST_ERROR] = exc
            return fast.wsgi_app(environ, start_response)
        start_response("200 OK", headers)
        return [data]

    return handler


def _query_id_arg(name: str, params=None) -> str | None:
    """An optional ``query_id`` of an earlier search (README "Search analytics")."""
    raw = (request.args if params is None else params).get(name, "").strip()
    if not raw:
        return None
    if len(raw) > 64 or not (raw.isascii() and raw.isalnum()):
        raise InvalidParameter(name, "must be the query_id of an earlier search response")
    return raw


def _record_search(
    q: str,
    normalized: str | None,
    loc: Resolved,
    body: dict,
    refines: str | None,
    recorder,
    started: float,
) -> dict:
    """Queue the analytics row, count the metrics; the access log's fields (with the query id
    put in ``body``)."""
    query_id = new_query_id()
    served, total = body["locale"], body["total"]
    filtered_out = body["filtered_out"]
    # "zero" as the metric and analytics count it: a filtered-out search is no content gap.
    found = {"locale": served, "hits": total, "zero": total == 0 and not filtered_out, "q": q}
    metrics.observe_search(served, loc.requested, total, body["fallback"], filtered_out)
    body["query_id"] = query_id
    if not recorder.enabled:
        return found  # analytics off: no row to build
    recorder.record_search(
        {
            "query_id": query_id,
            "query": normalized,  # computed by the caller whenever the recorder is on
            "requested_locale": loc.requested,
            "locale": served,
            "fallback": body["fallback"],
            "total": total,
            "offset": body["offset"],
            "limit": body["limit"],
            "corrected": body["corrected"],
            "filtered_out": filtered_out,
            "ms": (time.perf_counter() - started) * 1000,
            # By slug and locale: several articles can share one id (assetid).
            "articles": [[hit["slug"], hit["locale"], hit["id"]] for hit in body["results"]],
            "refines": refines,
        }
    )
    return found


def _article_body(ixset, ident: str, locale: str) -> dict:
    """The article's JSON body (without the request-dependent fields)."""
    try:
        found = find_article(ixset, ident, locale)
    except ArticleNotFound:
        raise NotFound(f"No article with id {ident!r} in any locale.") from None
    doc = found["doc"]
    # Rendered when the index was built; an index from before that renders here, with the
    # same depth and size caps.
    html = doc["html"] if "html" in doc else render_markdown(doc["markdown"])
    base = current_app.config.get("LINK_BASE") or ""
    if base:
        # Once per cache miss (the cache is this app's, and the setting fixed for its life).
        html = resolve_links(html, base.replace("{locale}", found["locale"]))
    return {
        "id": doc["assetid"] or doc["slug"],
        "assetid": doc["assetid"] or None,
        "slug": doc["slug"],
        "locale": found["locale"],
        "requested_locale": None,
        "fallback": found["fallback"],
        "title": doc["display_title"],
        "english_title": doc.get("english_title") or doc["display_title"],
        "markdown": doc["markdown"],
        "html": html,
        "text": doc["body"],
        "refs": doc.get("refs") or [],
        "updated": doc.get("updated"),
        "locales": found["locales"],
        "also": found["also"],
    }


@bp.get("/v1/articles/<path:ident>")
def article_view(ident: str):
    """One article by assetid (any case) or slug, in the negotiated locale or English."""
    if len(ident) > 512:
        raise InvalidParameter("id", "must be at most 512 characters")
    loc = _locale()
    ixset = get_indexes()
    key = ("article", ixset.name, loc.locale, ident)
    cache = get_cache()
    cached = cache.get(key)
    if cached is None:
        cached = _article_body(ixset, ident, loc.locale)
        cache.put(key, cached)
    body = dict(cached, requested_locale=loc.requested)
    body["fallback"] = cached["fallback"] or loc.unmatched
    resp = _with_language(jsonify(body), body["locale"])
    # The generation names the article's content; the rest are the request-dependent fields.
    parts = (ixset.name, body["locale"], body["slug"], body["requested_locale"], body["fallback"])
    if current_app.config.get("LINK_BASE"):
        parts += (current_app.config["LINK_BASE"],)  # other links, other content
    tag = "|".join(map(str, parts))
    resp.set_etag(hashlib.sha1(tag.encode()).hexdigest()[:24])
    # Plain header strings: werkzeug's CacheControl and make_conditional machinery cost more
    # than the rest of a cached answer, so they run only when a request is conditional.
    resp.headers["Cache-Control"] = f"public, max-age={current_app.config['CACHE_MAX_AGE']}"
    if "If-None-Match" in request.headers or "If-Modified-Since" in request.headers:
        return resp.make_conditional(request)
    return resp


@bp.get("/v1/analyze")
def analyze_view():
    """Tokens the index stores for ``text`` in a locale (words, stems, or grams chain)."""
    text = _text_arg("text", MAX_ANALYZE_LENGTH)
    chain = request.args.get("chain", "words")
    if chain not in ("words", "stems", "grams"):
        raise InvalidParameter("chain", "must be one of words, stems, grams")
    param = request.args.get("locale")
    loc = _locale()
    # Analysis works for any well-formed tag, indexed or not.
    locale = loc.requested if param else loc.locale
    body = {
        "locale": locale,
        "chain": chain,
        "text": text,
        "tokens": analysis.analyze(text, locale, chain),
        # The variants a search for this text also runs, from the synonyms in force.
        "expansions": controls_web.current().expansions(text, locale),
    }
    return _with_language(jsonify(body), locale)


@bp.get("/v1/locales")
def locales_view():
    """Indexed locales with their article counts."""
    ixset = get_indexes()
    return jsonify(
        {
            "default": current_app.config["DEFAULT_LOCALE"],
            "generation": ixset.name,
            "locales": [
                {"locale": loc, "articles": ixset.article_count(loc)} for loc in ixset.locales
            ],
        }
    )


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Readiness: a generation is open and every locale in it is served.

    503 (naming each locale and file) when a locale is damaged, or no generation can be
    served. A bad ``CURRENT`` while a good generation keeps serving is a warning, not a 503:
    the instance answers everything, and failing readiness would take it out of rotation.
    """
    ixset = get_indexes()
    damaged = ixset.health()
    if damaged:
        reasons = "; ".join(f"{loc}: {why}" for loc, why in sorted(damaged.items()))
        raise ServiceUnavailable(
            f"Index generation {ixset.name} has damaged locales, not served: {reasons}. "
            "The next reindex rebuilds them.",
            generation=ixset.name,
            locales=damaged,
        )
    body = {"status": "ready", "generation": ixset.name, "locales": ixset.locales}
    warnings = index_warnings()
    if warnings:
        body["warnings"] = warnings
    return jsonify(body)


@bp.get("/v1/openapi.json")
def openapi_view():
    """The OpenAPI 3.1 description of this API."""
    from .openapi import spec

    return jsonify(spec())
