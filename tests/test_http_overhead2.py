"""Search route shortcuts, second round (issue #14 item 5): the same answers, fewer lookups.

The search view reads its parameters from one plain dict (the first value of each, as
``request.args.get`` answers), negotiates against the generation's sorted locale tuple
(sorted once, not per request), and hands orjson's bytes to the response without jsonify's
argument handling. These tests pin what must not change: which value of a repeated
parameter counts, the order in which bad parameters are reported, the headers, and the body.
"""

from __future__ import annotations

import orjson
import pytest

from helpapi import create_app
from helpapi.web import API_CSP
from tests.conftest import CORPUS


@pytest.fixture
def make(corpus_index, tmp_path):
    apps = []

    def make(**config):
        settings = {"TESTING": True, "INDEX_DIR": str(corpus_index), "CORPUS_DIR": str(CORPUS)}
        settings["ANALYTICS_DB"] = str(tmp_path / "analytics.sqlite3")
        app = create_app({**settings, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["helpapi.analytics"].flush()
        app.extensions["helpapi.indexes"].close()


def _body(resp) -> dict:
    body = resp.get_json()
    body.pop("query_id")  # new for every search
    return body


def test_a_repeated_parameter_counts_by_its_first_value(make):
    client = make(RESULT_CACHE_SIZE=0).test_client()
    plain = client.get("/v1/search?q=Outlook&locale=de-DE&limit=2")
    repeated = client.get(
        "/v1/search?q=Outlook&q=zzz&locale=de-DE&locale=fr-FR&limit=2&limit=50&offset=0&offset=9"
    )
    assert plain.status_code == repeated.status_code == 200
    assert _body(plain) == _body(repeated)
    assert _body(plain)["limit"] == 2 and _body(plain)["locale"] == "de-DE"


def test_bad_parameters_are_reported_in_the_same_order(make, tmp_path):
    client = make().test_client()
    long_tag = "a" * 80
    # q, then limit, offset, prefix, refines, then the locale.
    cases = {
        f"/v1/search?q=&limit=0&locale={long_tag}": "q",
        f"/v1/search?q=x&limit=0&offset=-1&locale={long_tag}": "limit",
        f"/v1/search?q=x&offset=-1&prefix=maybe&locale={long_tag}": "offset",
        f"/v1/search?q=x&prefix=maybe&refines=!&locale={long_tag}": "prefix",
        f"/v1/search?q=x&refines=!&locale={long_tag}": "refines",
        f"/v1/search?q=x&locale={long_tag}": "locale",
        "/v1/search?q=x&locale=x_-": "locale",
    }
    for path, param in cases.items():
        resp = client.get(path)
        assert resp.status_code == 400, path
        assert resp.get_json()["error"]["parameter"] == param, path
    # Without any index, a bad locale is still a 400 (checked before the index is needed).
    empty = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none")}).test_client()
    resp = empty.get(f"/v1/search?q=x&locale={long_tag}")
    assert resp.status_code == 400 and resp.get_json()["error"]["parameter"] == "locale"
    assert empty.get("/v1/search?q=x").status_code == 503


def test_search_response_headers_and_bytes(make):
    client = make(RESULT_CACHE_SIZE=0).test_client()
    resp = client.get("/v1/search?q=Outlook", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == API_CSP
    assert resp.headers["Vary"] == "Accept-Language"
    body = resp.get_json()
    # Negotiated from Accept-Language (read straight from the environ).
    assert body["requested_locale"] == "fr-FR" and resp.headers["Content-Language"] == "fr-FR"
    # The bytes are orjson's encoding of the body, as jsonify made them.
    assert resp.get_data() == orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    assert int(resp.headers["Content-Length"]) == len(resp.get_data())


def test_locale_tuple_is_the_sorted_locales_and_follows_close(make):
    app = make()
    ixset = app.extensions["helpapi.indexes"].get()
    assert ixset.locale_tuple == tuple(ixset.locales)
    assert ixset.locale_tuple is ixset.locale_tuple  # sorted once
    ixset.close()
    assert ixset.locale_tuple == () == tuple(ixset.locales)
