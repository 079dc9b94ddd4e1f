"""The search route's lean path (issue #14 item 5, bench/RESULTS.md "Stop 18"): a plain
``GET /v1/search`` is answered without Flask's request machinery, exactly as the Flask view
answers it; everything it cannot answer that way goes to Flask, once."""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import time
import types
from urllib.parse import unquote_to_bytes

import flask
import pytest
from flask import url_for
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from helpapi import api
from helpapi import web
from helpapi.errors import BadRequest
from helpapi.search import LocaleUnavailable

QUERY_ID = re.compile(rb'"query_id":"[0-9a-f]+"')


@pytest.fixture
def make(session_apps):
    return session_apps


def _call(wsgi, path, query="", method="GET", headers=None, script=""):
    env = EnvironBuilder(path=path, method=method, headers=headers or {}).get_environ()
    env["QUERY_STRING"] = query
    env["SCRIPT_NAME"] = script
    env["REMOTE_ADDR"] = "127.0.0.1"
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, headers

    body = b"".join(wsgi(env, start_response))
    return got["status"], got["headers"], QUERY_ID.sub(b'"query_id":""', body)


REQUESTS = [
    ("q=Outlook&locale=de-DE", {}),
    ("q=password&locale=sv-SE&limit=3&offset=1", {"Accept-Language": "ja"}),
    ("q=Outlook", {"Accept-Language": "pt-BR, fi;q=0.8"}),
    ("q=outlok&locale=de-DE", {}),  # corrected
    ("q=zzqqxxnothing&locale=fr-FR", {}),
    ("q=Out&prefix=true&locale=de-DE", {}),
    ("q=Outlook&locale=sw-KE", {}),  # English fallback
    ("q=Outlook&locale=de-DE", {"Origin": "https://help.example"}),
    ("q=Outlook&locale=de-DE", {"Origin": "https://elsewhere.example"}),
    ("q=caf%C3%A9&q=x&locale=fr-FR&locale=de-DE", {}),
]


@pytest.mark.parametrize("cors", ["", "*", "https://help.example"])
def test_lean_path_answers_as_the_flask_view(make, cors):
    app = make(RESULT_CACHE_SIZE=0, CORS_ORIGINS=cors)
    fast = web.fast_routes(app)
    assert "/v1/search" in fast.routes
    for query, headers in REQUESTS:
        headers = {**headers, "X-Request-Id": "r-1"}
        for script in ("", "/help"):
            lean = _call(app, "/v1/search", query, headers=headers, script=script)
            flask = _call(fast.wsgi_app, "/v1/search", query, headers=headers, script=script)
            assert lean == flask, query
            assert lean[0] == "200 OK"


def test_plain_searches_skip_flask_and_the_rest_reach_it(make, monkeypatch):
    app = make(RESULT_CACHE_SIZE=0)
    fast = web.fast_routes(app)
    flask_app, seen = fast.wsgi_app, []

    def counting(environ, start_response):
        seen.append((environ["REQUEST_METHOD"], environ["QUERY_STRING"]))
        return flask_app(environ, start_response)

    monkeypatch.setattr(fast, "wsgi_app", counting)
    client = app.test_client()
    assert client.get("/v1/search?q=Outlook&locale=de-DE").status_code == 200
    assert seen == []
    # Scoped, bad, non-GET: Flask answers (the same way as ever).
    assert client.get("/v1/search?q=password&facets=audience").status_code == 200
    assert client.get("/v1/search?q=a%00b").status_code == 400
    assert client.get("/v1/search?q=team&limit=0").get_json()["error"]["parameter"] == "limit"
    assert client.head("/v1/search?q=team").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert [q for _, q in seen] == ["q=password&facets=audience", "q=a%00b", "q=team&limit=0"] + [
        "q=team",
        "",
    ]


def test_an_engine_error_is_answered_by_flask_and_the_search_runs_once(make, monkeypatch):
    app = make(RESULT_CACHE_SIZE=0)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    calls = []

    def boom(*a, **k):
        calls.append(1)
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api, "search", boom)
    r = app.test_client().get("/v1/search?q=crash&locale=de-DE")
    assert r.status_code == 500 and calls == [1]
    assert r.get_json()["error"]["code"] == "internal_error" and b"secret" not in r.data
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Request-Id"]

    def damaged(*a, **k):
        calls.append(2)
        raise LocaleUnavailable("de-DE", "postings.bin: bad")

    monkeypatch.setattr(api, "search", damaged)
    r = app.test_client().get("/v1/search?q=crash&locale=de-DE")
    assert r.status_code == 503 and calls == [1, 2]
    assert r.headers["Retry-After"] == "30"
    assert r.get_json()["error"]["code"] == "locale_unavailable"


def test_a_hook_added_after_create_app_sends_searches_through_flask(make):
    app = make(RESULT_CACHE_SIZE=0)
    ran = []
    app.before_request(lambda: ran.append(1))
    assert app.test_client().get("/v1/search?q=Outlook&locale=de-DE").status_code == 200
    assert ran == [1]


def test_lean_searches_are_counted_and_logged_like_flask_ones(make, caplog):
    app = make(RESULT_CACHE_SIZE=0, LOG_QUERIES=1)
    caplog.set_level(logging.INFO, "helpapi.access")
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    r = client.get("/v1/search?q=Outlook&locale=de-DE", headers={"X-Request-Id": "abc"})
    after = client.get("/metrics").get_data(as_text=True)

    def count(text):
        line = 'helpapi_requests_total{route="/v1/search",status="200"}'
        return sum(float(x.rsplit(" ", 1)[1]) for x in text.splitlines() if x.startswith(line))

    assert count(after) == count(before) + 1
    [entry] = [r.msg % r.args for r in caplog.records if "/v1/search" in (r.msg % r.args)]
    body = r.get_json()
    assert '"rid":"abc"' in entry and '"route":"/v1/search"' in entry and '"q":"Outlook"' in entry
    assert f'"hits":{body["total"]}' in entry and '"remote":"127.0.0.1"' in entry


@pytest.mark.parametrize("raw", [b"q=%C3\xa9&locale=de-DE", b"q=\xa9", b"q=ok&x=\xc3"])
def test_raw_bytes_that_are_not_utf8_are_a_400_not_a_500(make, raw):
    # A percent-escape followed by a raw continuation byte decodes to valid UTF-8 as a whole,
    # but the raw query string itself is not UTF-8: parse_qsl's decode used to raise (500).
    app = make(RESULT_CACHE_SIZE=0)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    status, _, body = _call(app, "/v1/search", raw.decode("latin-1"))
    assert status.startswith("400"), body
    assert b"not valid UTF-8" in body


def _random_queries(n: int, seed: int = 5) -> list[bytes]:
    rng = random.Random(seed)
    atoms = [b"q", b"locale", b"=", b"&", b"+", b"%", b"%2", b"%41", b"%e3%81%82", b"%C3%A9"]
    atoms += [b"%zz", b"%00", b"\\", b"\\x41", b"\\\\", b"a", b"\xc3\xa9", b"\xa9", b";", b"%26"]
    atoms += [b"%3D", b"%2B", b"de-DE", b"\xe3\x81\x82", b"%F0%9F%98%80", b"%ff", b"x=y=z"]
    return [b"".join(rng.choice(atoms) for _ in range(rng.randint(0, 12))) for _ in range(n)]


def test_percent_decoded_is_unquote_to_bytes():
    for raw in _random_queries(3000) + [b"", b"%", b"%%41", b"%4", b"\\x%41", b"%5Cx41"]:
        assert web.percent_decoded(raw) == unquote_to_bytes(raw), raw


def test_query_params_equal_request_args_for_every_query_the_checks_let_through():
    passed = 0
    for raw in _random_queries(3000):
        environ = EnvironBuilder(path="/v1/search").get_environ()
        environ["QUERY_STRING"] = raw.decode("latin-1")
        try:
            web.check_input(environ)
        except BadRequest:
            continue
        passed += 1
        assert web.query_params(raw) == Request(environ).args.to_dict(), raw
    assert passed > 500


def test_lean_hit_urls_are_url_for_of_each_requests_own_script_name(make, monkeypatch):
    app = make(RESULT_CACHE_SIZE=0)
    monkeypatch.setattr(api, "_article_urls", {})
    for script in ("/help", "", "/other/prefix"):
        api._article_urls.clear()  # every URL built for this request, with its own adapter
        status, _, body = _call(app, "/v1/search", "q=Outlook&locale=de-DE", script=script)
        hits = json.loads(body)["results"]
        assert status == "200 OK" and hits
        with app.test_request_context("/", base_url="http://localhost" + script):
            want = [url_for("api.article_view", ident=h["id"], locale=h["locale"]) for h in hits]
        assert [h["url"] for h in hits] == want
        assert all(u.startswith(script + "/v1/articles/") for u in want)


@pytest.mark.parametrize("host", ["x" * 200, "x" * 5000, "a..b"])
def test_a_bad_host_is_a_400_on_the_lean_path_too_once_urls_are_cached(make, host):
    # The lean path used to check the Host header only when it built an article URL: once
    # the URLs were cached, a host Flask refuses (IDNA BadHost) got a 200.
    app = make(RESULT_CACHE_SIZE=0)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    fast = web.fast_routes(app)
    assert _call(app, "/v1/search", "q=Outlook&locale=de-DE")[0] == "200 OK"
    for _ in range(2):
        headers = {"Host": host, "X-Request-Id": "r-1"}
        lean = _call(app, "/v1/search", "q=Outlook&locale=de-DE", headers=headers)
        flask = _call(fast.wsgi_app, "/v1/search", "q=Outlook&locale=de-DE", headers=headers)
        assert lean == flask
        assert lean[0].startswith("400") and b'"error"' in lean[2]


def _counting_flask(app, monkeypatch) -> list:
    """The requests FastRoutes hands to Flask, from now on."""
    fast = web.fast_routes(app)
    flask_app, seen = fast.wsgi_app, []

    def counting(environ, start_response):
        seen.append(environ["QUERY_STRING"])
        return flask_app(environ, start_response)

    monkeypatch.setattr(fast, "wsgi_app", counting)
    return seen


def test_a_teardown_appcontext_added_after_create_app_runs_for_searches(make, monkeypatch):
    app = make(RESULT_CACHE_SIZE=0)
    seen, ran = _counting_flask(app, monkeypatch), []
    app.teardown_appcontext(lambda exc: ran.append("teardown"))
    assert app.test_client().get("/v1/search?q=Outlook&locale=de-DE").status_code == 200
    assert ran == ["teardown"] and seen == ["q=Outlook&locale=de-DE"]


SIGNALS = [
    "request_started",
    "request_finished",
    "request_tearing_down",
    "got_request_exception",
    "appcontext_pushed",
    "appcontext_popped",
    "appcontext_tearing_down",
]


@pytest.mark.parametrize("name", SIGNALS)
@pytest.mark.parametrize("when", ["before", "after"])
def test_any_request_or_appcontext_signal_receiver_sends_searches_through_flask(
    make, monkeypatch, name, when
):
    # Receivers connected before create_app used to count as the app's own (the baseline).
    signal, ran = getattr(flask.signals, name), []

    def receiver(sender, **kwargs):
        ran.append(name)

    with signal.connected_to(receiver) if when == "before" else contextlib.nullcontext():
        app = make(RESULT_CACHE_SIZE=0)
    seen = _counting_flask(app, monkeypatch)
    with signal.connected_to(receiver):
        app.config["PROPAGATE_EXCEPTIONS"] = False
        assert app.test_client().get("/v1/search?q=Outlook&locale=de-DE").status_code == 200
    assert seen == ["q=Outlook&locale=de-DE"]
    if name != "got_request_exception":
        assert name in ran
    # Disconnected: the lean path again.
    assert app.test_client().get("/v1/search?q=Outlook&locale=de-DE").status_code == 200
    assert len(seen) == 1


def test_a_replaced_or_decorated_search_view_answers_searches(make, monkeypatch):
    app = make(RESULT_CACHE_SIZE=0)
    seen, original = _counting_flask(app, monkeypatch), app.view_functions["api.search_view"]

    def decorated(**kwargs):
        resp = original(**kwargs)
        resp.headers["X-Decorated"] = "1"
        return resp

    app.view_functions["api.search_view"] = decorated
    r = app.test_client().get("/v1/search?q=Outlook&locale=de-DE")
    assert r.status_code == 200 and r.headers["X-Decorated"] == "1" and len(seen) == 1


def test_a_new_json_provider_or_response_class_sends_searches_through_flask(make, monkeypatch):
    app = make(RESULT_CACHE_SIZE=0)
    seen = _counting_flask(app, monkeypatch)

    class Response(app.response_class):
        pass

    client = app.test_client()
    monkeypatch.setattr(app, "response_class", Response)
    assert client.get("/v1/search?q=Outlook&locale=de-DE").status_code == 200
    assert len(seen) == 1
    monkeypatch.undo()
    seen = _counting_flask(app, monkeypatch)
    app.json = web.OrjsonProvider(app)
    assert client.get("/v1/search?q=Outlook&locale=de-DE").status_code == 200
    assert len(seen) == 1


def test_a_route_added_for_the_same_path_is_answered_as_flask_answers_it(make):
    app = make(RESULT_CACHE_SIZE=0)
    app.add_url_rule("/v1/search", "shadow", lambda: "shadow")
    fast = web.fast_routes(app)
    headers = {"X-Request-Id": "r-1"}
    lean = _call(app, "/v1/search", "q=Outlook&locale=de-DE", headers=headers)
    assert lean == _call(fast.wsgi_app, "/v1/search", "q=Outlook&locale=de-DE", headers=headers)


def test_the_lean_path_serves_the_search_rules_own_path(make, monkeypatch, caplog):
    # The path was "/v1/search", hard-coded: a search view mounted elsewhere left the lean
    # path answering a URL that Flask answers 404.
    register = flask.Flask.register_blueprint

    def mounted(self, blueprint, **options):
        if blueprint is api.bp:
            options["url_prefix"] = "/mounted"
        return register(self, blueprint, **options)

    monkeypatch.setattr(flask.Flask, "register_blueprint", mounted)
    app = make(RESULT_CACHE_SIZE=0, CORS_ORIGINS="*", LOG_QUERIES=1)
    monkeypatch.undo()
    fast = web.fast_routes(app)
    assert list(fast.routes) == ["/mounted/v1/search"]
    caplog.set_level(logging.INFO, "helpapi.access")
    headers = {"X-Request-Id": "r-1", "Origin": "https://a.example"}
    for path in ("/v1/search", "/mounted/v1/search"):
        lean = _call(app, path, "q=Outlook&locale=de-DE", headers=headers)
        assert lean == _call(fast.wsgi_app, path, "q=Outlook&locale=de-DE", headers=headers)
    assert lean[0] == "200 OK"
    lean_line, flask_line = [
        json.loads(r.msg % r.args) for r in caplog.records if '"q":"Outlook"' in r.msg % r.args
    ]
    assert lean_line.pop("ms") >= 0 and flask_line.pop("ms") >= 0
    assert lean_line == flask_line and lean_line["route"] == "/mounted/v1/search"


def _json_500(r) -> None:
    assert r.status_code == 500 and r.get_json()["error"]["code"] == "internal_error"
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Request-Id"]


def test_an_encoding_error_on_the_lean_path_is_flasks_json_500(make, monkeypatch):
    # orjson.dumps ran outside the handler's try: its error escaped as a raw WSGI error.
    app = make(RESULT_CACHE_SIZE=0)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    search_body = api._search_body

    def unencodable(*args):
        body, found = search_body(*args)
        return {**body, "bad": object()}, found

    monkeypatch.setattr(api, "_search_body", unencodable)
    _json_500(app.test_client().get("/v1/search?q=Outlook&locale=de-DE"))


def test_a_logging_error_on_the_lean_path_is_flasks_json_500(make, monkeypatch):
    app = make(RESULT_CACHE_SIZE=0)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    log_request, calls = web.log_request, []

    def failing_once(*args):
        calls.append(args[2])
        if len(calls) == 1:
            raise OSError("log disk full")
        return log_request(*args)

    monkeypatch.setattr(web, "log_request", failing_once)
    _json_500(app.test_client().get("/v1/search?q=Outlook&locale=de-DE"))
    assert len(calls) == 2  # the lean path's, then Flask's for its 500


def test_a_handed_off_search_is_timed_from_when_the_lean_path_took_it(make, monkeypatch, caplog):
    # The access line's ms (and the duration metric) left out the lean path's time.
    app = make(RESULT_CACHE_SIZE=0)
    caplog.set_level(logging.INFO, "helpapi.access")
    clock = time.perf_counter
    # The lean path's clock reads 100 s behind: a request it took 100 s before Flask did.
    monkeypatch.setattr(api, "time", types.SimpleNamespace(perf_counter=lambda: clock() - 100))
    assert app.test_client().get("/v1/search?q=password&facets=audience").status_code == 200
    [line] = [json.loads(r.msg % r.args) for r in caplog.records if "/v1/search" in r.msg % r.args]
    assert line["ms"] >= 100_000


@pytest.mark.parametrize("lean", [True, False])
def test_cached_answers_carry_urls_of_each_requests_own_script_name(make, lean):
    # The result cache's key lacked SCRIPT_NAME, and its answers carry built URLs: a request
    # mounted at /other got /help's.
    app = make(RESULT_CACHE_SIZE=100)
    wsgi = app if lean else web.fast_routes(app).wsgi_app
    for _ in range(2):
        for script in ("/help", "/other", ""):
            status, _, body = _call(wsgi, "/v1/search", "q=Outlook&locale=de-DE", script=script)
            hits = json.loads(body)["results"]
            assert status == "200 OK" and hits
            assert all(h["url"].startswith(script + "/v1/articles/") for h in hits), script
