"""The web layer's per-request shortcuts (issue #14 item 5) answer as the long way did.

Each shortcut skips work a request used to repeat: remembered article URLs, locale
negotiation, facet names and metric series; no analytics row built when analytics is off; no
result-cache key when the cache is off; JSON bytes handed to the response as they are. These
tests pin what each must keep: the same bodies, headers, metrics and analytics rows.
"""

from __future__ import annotations

import json
import logging

import orjson
import pytest
from flask import url_for

from helpapi import api
from helpapi import metrics
from helpapi.locales import resolve_locale


@pytest.fixture
def make(session_apps):
    return session_apps


def test_hit_urls_are_url_for_and_follow_the_script_name(make):
    app = make(RESULT_CACHE_SIZE=0)
    client = app.test_client()
    plain = client.get("/v1/search?q=Outlook&locale=de-DE").get_json()["results"]
    mounted = client.get(
        "/v1/search?q=Outlook&locale=de-DE", base_url="http://localhost/help"
    ).get_json()["results"]
    assert plain and [h["id"] for h in plain] == [h["id"] for h in mounted]
    with app.test_request_context("/"):
        expected = [url_for("api.article_view", ident=h["id"], locale=h["locale"]) for h in plain]
    assert [h["url"] for h in plain] == expected
    assert [h["url"] for h in mounted] == ["/help" + u for u in expected]
    # Every hit URL leads to its article.
    assert client.get(plain[0]["url"]).status_code == 200


def test_remembered_urls_are_bounded(make, monkeypatch):
    monkeypatch.setattr(api, "MAX_CACHED_URLS", 2)
    api._article_urls.clear()
    client = make(RESULT_CACHE_SIZE=0).test_client()
    body = client.get("/v1/search?q=password&locale=en-US&limit=5").get_json()
    assert len(body["results"]) > 2
    assert len(api._article_urls) <= 2


def test_negotiation_answers_as_resolve_locale(make):
    client = make().test_client()
    locales = client.get("/v1/locales").get_json()["locales"]
    available = [row["locale"] for row in locales]
    headers = ["pt-BR, fi;q=0.8", "de", "xx-YY", "*", "fr-CA;q=0.2, ja", ""]
    for header in headers * 2:  # the second pass answers from memory
        r = client.get("/v1/search?q=Outlook", headers={"Accept-Language": header})
        want = resolve_locale(None, header, available, "en-US")
        assert r.status_code == 200
        assert r.get_json()["requested_locale"] == want.requested
        assert r.headers["Content-Language"] == r.get_json()["locale"]
    # A header too long to remember is still negotiated, and a bad tag is a 400 every time.
    long = ", ".join(["zz-ZZ;q=0.1"] * 40) + ", fi-FI"
    assert len(long) > api.MAX_CACHED_ACCEPT
    r = client.get("/v1/search?q=Outlook", headers={"Accept-Language": long})
    assert r.get_json()["locale"] == resolve_locale(None, long, available, "en-US").locale
    for _ in range(2):
        r = client.get("/v1/search?q=Outlook&locale=!!")
        assert r.status_code == 400 and r.get_json()["error"]["parameter"] == "locale"


def test_facet_names_follow_each_apps_setting(make):
    one = make(FACETS="ms.service").test_client()
    two = make().test_client()
    assert one.get("/v1/search?q=password&facets=service").status_code == 200
    r = one.get("/v1/search?q=password&facets=audience")
    assert r.status_code == 400 and "known: service" in r.get_json()["error"]["message"]
    assert two.get("/v1/search?q=password&facets=audience").status_code == 200


def test_empty_scope_parameters_answer_as_absent_ones(make):
    client = make(RESULT_CACHE_SIZE=0).test_client()
    bodies = [
        client.get(f"/v1/search?q=password&locale=en-US{extra}", headers={"X-Request-Id": "x"})
        for extra in ("", "&sort=", "&facets=", "&sort=relevance")
    ]
    texts = {json.dumps({**r.get_json(), "query_id": None}) for r in bodies}
    assert len(texts) == 1


@pytest.mark.parametrize("cache", [0, 16])
def test_analytics_row_keeps_the_normalized_query(make, cache):
    from tests.test_analytics import rows

    app = make(RESULT_CACHE_SIZE=cache, ANALYTICS="on")
    r = app.test_client().get("/v1/search?q=  Reset   PASSWORD &locale=en-US")
    app.extensions["helpapi.analytics"].flush()
    found = rows(app.config["ANALYTICS_DB"])
    assert [(x["query_id"], x["query"]) for x in found] == [
        (r.get_json()["query_id"], "reset password")
    ]


def test_analytics_off_still_gives_a_query_id_and_counts(make):
    app = make(RESULT_CACHE_SIZE=0, ANALYTICS="off")
    before = _sample(metrics.SEARCHES, locale="en-US")
    body = app.test_client().get("/v1/search?q=password&locale=en-US").get_json()
    assert len(body["query_id"]) == 16
    assert _sample(metrics.SEARCHES, locale="en-US") == before + 1


def _sample(metric, **labels) -> float:
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels == labels:
                return sample.value
    return 0.0


def test_metric_series_appear_at_their_first_count(fresh_fallback_series):
    # A locale no test serves: its zero-result series must not exist before a zero result.
    metrics.observe_search("xq-TEST", None, 3, False)
    metrics.observe_search("xq-TEST", None, 5, False)
    assert _sample(metrics.SEARCHES, locale="xq-TEST") == 2
    zero = [s for f in metrics.ZERO.collect() for s in f.samples]
    assert not any(s.labels.get("locale") == "xq-TEST" for s in zero)
    metrics.observe_search("xq-TEST", "xq-OTHER", 0, True)
    assert _sample(metrics.ZERO, locale="xq-TEST") == 1
    assert _sample(metrics.FALLBACK, locale="xq-OTHER") == 1
    metrics.observe_request("/xq-test", 200, 0.002)
    metrics.observe_request("/xq-test", 200, 0.2)
    metrics.observe_request("/xq-test", 404, 0.002)
    assert _sample(metrics.REQUESTS, route="/xq-test", status="200") == 2
    assert _sample(metrics.REQUESTS, route="/xq-test", status="404") == 1
    counts = {
        s.labels["le"]: s.value
        for f in metrics.LATENCY.collect()
        for s in f.samples
        if s.name.endswith("_bucket") and s.labels.get("route") == "/xq-test"
        if s.labels["status"] == "200"
    }
    assert counts["0.001"] == 0 and counts["0.0025"] == 1 and counts["0.25"] == 2


def test_json_bodies_are_orjsons_bytes_with_their_length(make):
    client = make().test_client()
    for path in ("/healthz", "/v1/search?q=Outlook&locale=de-DE", "/v1/locales", "/v1/nope"):
        r = client.get(path)
        raw = r.get_data()
        assert r.headers["Content-Type"] == "application/json"
        assert int(r.headers["Content-Length"]) == len(raw)
        assert raw == orjson.dumps(orjson.loads(raw), option=orjson.OPT_NON_STR_KEYS)


def test_vary_and_security_headers(make):
    client = make(CORS_ORIGINS="https://a.example").test_client()
    r = client.get("/v1/search?q=Outlook", headers={"Origin": "https://a.example"})
    assert r.headers.get_all("Vary") == ["Accept-Language, Origin"]
    assert r.headers["Access-Control-Allow-Origin"] == "https://a.example"
    assert r.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    r = client.get("/v1/search?q=Outlook", headers={"Origin": "https://b.example"})
    assert r.headers.get_all("Vary") == ["Accept-Language"]
    assert "Access-Control-Allow-Origin" not in r.headers
    none = make(CORS_ORIGINS="").test_client()
    r = none.get("/v1/search?q=Outlook", headers={"Origin": "https://a.example"})
    assert "Access-Control-Allow-Origin" not in r.headers and r.status_code == 200


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (b"q=a\x00b", "The query string contains a NUL character."),
        (b"q=a%00b", "The query string contains a NUL character."),
        (b"q=%ff", "The query string is not valid UTF-8."),
        (b"q=caf\xc3", "The query string is not valid UTF-8."),
    ],
)
def test_query_string_guards(make, query, message):
    client = make().test_client()
    # As gunicorn hands it over: the raw bytes as latin-1 text.
    r = client.get("/v1/search", environ_overrides={"QUERY_STRING": query.decode("latin-1")})
    assert r.status_code == 400 and r.get_json()["error"]["message"] == message


def test_access_line_is_the_request_and_names_this_module(make, caplog):
    caplog.set_level(logging.INFO, "helpapi.access")
    client = make().test_client()
    client.get("/v1/search?q=Outlook&locale=de-DE", headers={"X-Request-Id": "abc"})
    (record,) = [r for r in caplog.records if r.name == "helpapi.access"]
    line = json.loads(record.getMessage())
    assert line["rid"] == "abc" and line["route"] == "/v1/search" and line["status"] == 200
    assert record.levelno == logging.INFO and record.pathname.endswith("web.py")


def test_a_long_mount_prefix_is_followed_but_not_remembered(make):
    from helpapi import api

    client = make(RESULT_CACHE_SIZE=0).test_client()
    prefix = "/" + "p" * 1000
    hits = client.get(
        "/v1/search?q=Outlook&locale=de-DE", base_url="http://localhost" + prefix
    ).get_json()["results"]
    assert hits and all(h["url"].startswith(prefix + "/v1/articles/") for h in hits)
    assert not any(key[0] == prefix for key in api._article_urls)


def test_the_csp_follows_the_content_type_as_werkzeug_reads_it():
    from werkzeug.wrappers import Response

    from helpapi import web

    for ctype in ("text/html; charset=utf-8", "Text/HTML", "application/json"):
        resp = Response("x", headers={"Content-Type": ctype})
        web._security_headers(resp)
        page = resp.mimetype == "text/html"
        assert (resp.headers["Content-Security-Policy"] == web.API_CSP) is not page, ctype
