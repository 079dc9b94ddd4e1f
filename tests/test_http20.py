"""The search route's two paths (the lean one, helpapi.web.FastRoutes, and the Flask view)
read their parameters with one parser, and the lean path steps aside whenever Flask would
route or answer its path otherwise than when it was set up (stop 20, branch x-tidy)."""

from __future__ import annotations

import flask
import pytest
from werkzeug.routing import Map
from werkzeug.routing import Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from helpapi import web
from helpapi.errors import BadRequest

from .test_http18 import _call
from .test_http18 import _counting_flask
from .test_http18 import _random_queries


@pytest.fixture
def make(session_apps):
    return session_apps


SEARCH = "q=Outlook&locale=de-DE"
HEADERS = {"X-Request-Id": "r-1"}

# Bad, repeated and oversized parameters: each path must give the other's answer (the first
# value of a repeated parameter counts, on both).
BAD = [
    "",
    "q=",
    "q=%20%20",
    "q=&q=Outlook",
    "q=" + "x" * 257,
    "q=" + "%C3%A9" * 257,
    "q=Outlook&limit=abc",
    "q=Outlook&limit=0",
    "q=Outlook&limit=51",
    "q=Outlook&limit=abc&limit=5",
    "q=Outlook&offset=-1",
    "q=Outlook&offset=1001",
    "q=Outlook&offset=" + "9" * 400,
    "q=Outlook&prefix=maybe",
    "q=Outlook&locale=not_a_tag!",
    "q=Outlook&locale=" + "a" * 200,
    "q=Outlook&refines=not-an-id!",
    "q=Outlook&refines=" + "a" * 65,
    "q=a%00b",
    "q=Outlook&x%00=1",
    "q=%FF%FE",
    "q=%C3\xa9",  # valid once unescaped, not as sent
    "q=\xff",
    "q=Outlook&filter=nope",
    "q=Outlook&sort=sideways",
]


def test_query_params_is_request_args_for_every_query_werkzeug_parses():
    # The one parser of both paths: request.args.to_dict() wherever werkzeug answers one
    # (invalid UTF-8 escapes stay escaped), not only for the queries the checks let through.
    parsed = 0
    for raw in _random_queries(3000, seed=20) + [b"q=%FF%FE&x=%E2%82", b"q=%E2%82\xc2\xac"]:
        environ = EnvironBuilder(path="/v1/search").get_environ()
        environ["QUERY_STRING"] = raw.decode("latin-1")
        try:
            want = Request(environ).args.to_dict()
        except UnicodeDecodeError:  # raw bytes that are not UTF-8: check_input's 400
            with pytest.raises(BadRequest):
                web.check_input(environ)
            continue
        parsed += 1
        assert web.query_params(raw) == want, raw
    assert parsed > 1000


@pytest.mark.parametrize("cache", [0, 100])
def test_both_paths_answer_bad_parameters_with_the_same_error(make, cache):
    app = make(RESULT_CACHE_SIZE=cache)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    flask_app = web.fast_routes(app).wsgi_app
    for query in BAD:
        lean = _call(app, "/v1/search", query, headers=HEADERS)
        assert lean == _call(flask_app, "/v1/search", query, headers=HEADERS), query
        assert lean[0].startswith("400"), (query, lean)


@pytest.mark.parametrize(
    "query",
    [
        "q=Outlook&q=&locale=de-DE",
        "q=Outlook&locale=de-DE&locale=x!",
        "q=Outlook&limit=3&limit=abc&locale=de-DE",
        "q=Outlook&offset=1&offset=-5&locale=de-DE",
        "q=" + "%C3%A9" * 256,
        "q=Outlook&locale=de-DE&unknown=" + "x" * 3000,
        "&&q=Outlook&=x&novalue&;&locale=de-DE",
    ],
)
def test_both_paths_answer_repeated_and_long_parameters_alike(make, query):
    app = make(RESULT_CACHE_SIZE=0)
    lean = _call(app, "/v1/search", query, headers=HEADERS)
    assert lean == _call(web.fast_routes(app).wsgi_app, "/v1/search", query, headers=HEADERS)
    assert lean[0] == "200 OK", lean


# --- The lean path and the app's routing ---------------------------------------------------


@pytest.mark.parametrize("counted", [True, False])
def test_a_url_map_routing_the_search_path_elsewhere_is_followed(make, monkeypatch, counted):
    # The lean path noticed new view functions, not routing: an app given another URL map
    # (one routing GET /v1/search to another view) still had its searches answered.
    app = make(RESULT_CACHE_SIZE=0)
    flask_app = web.fast_routes(app).wsgi_app
    seen = _counting_flask(app, monkeypatch)
    # The app's own kind of map (web.RuleCountingMap) or werkzeug's.
    fresh = app.url_map_class() if counted else Map()
    fresh.add(Rule("/v1/search", endpoint="api.healthz"))
    for rule in app.url_map.iter_rules():
        fresh.add(rule.empty())
    monkeypatch.setattr(app, "url_map", fresh)
    lean = _call(app, "/v1/search", SEARCH, headers=HEADERS)
    assert lean == _call(flask_app, "/v1/search", SEARCH, headers=HEADERS)
    assert lean[0] == "200 OK" and lean[2] == b'{"status":"ok"}'
    assert seen == [SEARCH]


@pytest.mark.parametrize(
    "rule",
    [
        ("/search", "api.search_view", {}),  # another URL for the search
        ("/v1/search", "api.healthz", {}),  # the path again: Flask keeps the first rule
        ("/v1/other", "api.healthz", {}),
        ("/v1/search/<part>", "api.healthz", {}),
        ("/v1/<path:rest>", "api.healthz", {}),
        ("/v1/find", "api.search_view", {"defaults": {}}),
        ("/v1/find/<int:page>", "api.search_view", {"defaults": {"page": 1}}),
    ],
)
def test_a_later_rule_that_leaves_the_search_path_routed_keeps_the_lean_path(
    make, monkeypatch, rule
):
    # A rule added later for an existing endpoint (no new view) never changes the rule Flask
    # matches for GET /v1/search: werkzeug tries static parts first and keeps one path's
    # rules in the order added (and a rule redirecting to itself as the endpoint's canonical
    # URL would need the same, empty, arguments: it sorts after the first). Each time the
    # rules change, the lean path checks that Flask still matches the rule it was built for.
    app = make(RESULT_CACHE_SIZE=0)
    flask_app = web.fast_routes(app).wsgi_app
    seen = _counting_flask(app, monkeypatch)
    path, endpoint, options = rule
    app.add_url_rule(path, endpoint, **options)
    for _ in range(2):
        lean = _call(app, "/v1/search", SEARCH, headers=HEADERS)
        assert lean == _call(flask_app, "/v1/search", SEARCH, headers=HEADERS)
        assert lean[0] == "200 OK"
    assert seen == []


def test_a_new_view_elsewhere_keeps_the_lean_path_and_a_later_hook_still_stops_it(
    make, monkeypatch
):
    # A new endpoint used to send every search through Flask (the view count changed).
    app = make(RESULT_CACHE_SIZE=0)
    seen = _counting_flask(app, monkeypatch)
    app.add_url_rule("/v1/extra", "extra", lambda: "extra")
    assert _call(app, "/v1/search", SEARCH)[0] == "200 OK"
    assert seen == []
    app.before_request(lambda: None)
    app.add_url_rule("/v1/more", "more", lambda: "more")
    assert _call(app, "/v1/search", SEARCH)[0] == "200 OK"
    assert _call(app, "/v1/extra")[2] == b"extra"
    assert seen == [SEARCH, ""]


def test_an_error_handler_added_later_answers_the_lean_paths_errors(make):
    # The lean path answers only 200s: every error is Flask's, so its handlers answer it.
    app = make(RESULT_CACHE_SIZE=0)
    app.register_error_handler(BadRequest, lambda exc: ("handled", 418))
    r = app.test_client().get("/v1/search?q=Outlook&limit=abc")
    assert (r.status_code, r.get_data()) == (418, b"handled")


def test_a_session_interface_or_request_class_set_later_sends_searches_through_flask(
    make, monkeypatch
):
    app = make(RESULT_CACHE_SIZE=0)

    class Cookies(flask.sessions.SecureCookieSessionInterface):
        def open_session(self, app, request):
            return flask.sessions.SecureCookieSession()

        def save_session(self, app, session, response):
            response.set_cookie("seen", "1")

    seen = _counting_flask(app, monkeypatch)
    monkeypatch.setattr(app, "session_interface", Cookies())
    r = app.test_client().get("/v1/search?" + SEARCH)
    assert r.status_code == 200 and "seen=1" in r.headers["Set-Cookie"]
    assert seen == [SEARCH]

    class Forwarded(flask.Request):
        def __init__(self, environ, *args, **kwargs):
            super().__init__(environ, *args, **kwargs)
            self.remote_addr = environ.get("HTTP_X_FORWARDED_FOR", self.remote_addr)

    monkeypatch.undo()
    seen = _counting_flask(app, monkeypatch)
    monkeypatch.setattr(app, "request_class", Forwarded)
    assert app.test_client().get("/v1/search?" + SEARCH).status_code == 200
    assert seen == [SEARCH]
