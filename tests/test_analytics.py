"""Search analytics: recording off the request path, widget events, the insights API, logs."""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import os
import queue
import sqlite3
import time

import pytest

from helpapi import analytics
from helpapi import create_app
from helpapi.analytics import Recorder

TOKEN = "t" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def db(tmp_path):
    return tmp_path / "analytics.sqlite3"


@pytest.fixture
def make_app(session_apps):
    """An app on the session index with the admin token (``session_apps``)."""
    return functools.partial(session_apps, ADMIN_TOKEN=TOKEN)


@pytest.fixture
def rec_app(make_app):
    return make_app()


def rows(db, table="searches") -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]
    finally:
        conn.close()


def flush(app):
    app.extensions["helpapi.analytics"].flush()


def test_search_returns_query_id_and_records_the_row(rec_app, db):
    client = rec_app.test_client()
    body = client.get("/v1/search?q=  OUTLOOK  Kalender&locale=de-DE&limit=3&offset=1").get_json()
    assert len(body["query_id"]) == 16
    flush(rec_app)
    [row] = rows(db)
    assert row["query_id"] == body["query_id"]
    assert row["query"] == "outlook kalender"
    assert row["requested_locale"] == "de-DE" and row["locale"] == body["locale"]
    assert row["fallback"] == int(body["fallback"]) and row["total"] == body["total"]
    assert (row["offset"], row["limit"]) == (1, 3)
    assert row["ms"] > 0 and abs(row["ts"] - time.time()) < 60
    # [slug, locale, id]: several articles share one id (tests/test_analytics_followups.py).
    assert json.loads(row["articles"]) == [
        [h["slug"], h["locale"], h["id"]] for h in body["results"]
    ]
    assert row["corrected"] is None
    # Nothing about the client: no column could hold it, and the address appears nowhere.
    assert set(row) == {
        "query_id",
        "ts",
        "query",
        "requested_locale",
        "locale",
        "fallback",
        "total",
        "offset",
        "limit",
        "corrected",
        "ms",
        "articles",
        "refines",
        "filtered_out",
    }
    assert b"127.0.0.1" not in db.read_bytes()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_every_search_gets_its_own_query_id_even_from_the_cache(rec_app, db):
    client = rec_app.test_client()
    ids = {client.get("/v1/search?q=outlook").get_json()["query_id"] for _ in range(3)}
    flush(rec_app)
    assert len(ids) == 3 and {r["query_id"] for r in rows(db)} == ids


def _stalled(recorder: Recorder) -> queue.Queue:
    """The recorder's queue with no writer draining it (a writer stuck on a slow disk)."""
    recorder._queue = queue.Queue(maxsize=recorder.queue_size)
    recorder._pid = os.getpid()
    return recorder._queue


def test_a_full_queue_drops_and_counts_without_failing_the_search(make_app, db):
    from helpapi.metrics import DROPPED

    app = make_app(ANALYTICS_QUEUE_SIZE=2)
    recorder = app.extensions["helpapi.analytics"]
    q = _stalled(recorder)
    counted = DROPPED._value.get()
    client = app.test_client()
    for _ in range(5):
        r = client.get("/v1/search?q=outlook")
        assert r.status_code == 200 and r.get_json()["query_id"]
    assert q.qsize() == 2 and recorder.dropped == 3
    assert DROPPED._value.get() == counted + 3
    assert client.post("/v1/events", json={"type": "click", "article": "a"}).status_code == 204
    assert recorder.dropped == 4
    recorder._pid = None  # let the fixture's flush pass over the stalled queue


def test_recorder_queue_full_returns_false(tmp_path):
    recorder = Recorder(tmp_path / "a.sqlite3", True, 90, 1)
    _stalled(recorder)
    assert recorder.record_event("click", None, "a", 0) is True
    assert recorder.record_event("click", None, "a", 0) is False
    assert recorder.dropped == 1


def test_analytics_off_records_nothing(make_app, db):
    app = make_app(ANALYTICS="off")
    client = app.test_client()
    assert client.get("/v1/search?q=outlook").get_json()["query_id"]
    assert client.post("/v1/events", json={"type": "click", "article": "x"}).status_code == 204
    assert not db.exists()
    assert app.extensions["helpapi.analytics"]._thread is None


def test_analytics_setting_must_be_on_or_off(corpus_index):
    from helpapi import SettingsError

    with pytest.raises(SettingsError, match="HELPAPI_ANALYTICS must be on or off"):
        create_app({"INDEX_DIR": str(corpus_index), "ANALYTICS": "maybe"})


def test_retention_prunes_old_rows(db):
    conn = analytics.connect(db)
    now = time.time()
    for qid, age_days in (("old", 100), ("new", 10)):
        conn.execute(
            'INSERT INTO searches (query_id, ts, query, locale, fallback, total, "offset",'
            ' "limit", ms) VALUES (?, ?, ?, ?, 0, 1, 0, 10, 1.0)',
            (qid, now - age_days * 86400, qid, "en-US"),
        )
        conn.execute(
            "INSERT INTO events (ts, type, query_id, article) VALUES (?, 'click', ?, 'a')",
            (now - age_days * 86400, qid),
        )
    conn.commit()
    assert analytics.prune(conn, 90, now) == 2
    assert [r[0] for r in conn.execute("SELECT query_id FROM searches")] == ["new"]
    assert [r[0] for r in conn.execute("SELECT query_id FROM events")] == ["new"]
    conn.close()


def test_the_writer_prunes_when_it_starts(make_app, db):
    conn = analytics.connect(db)
    conn.execute(
        'INSERT INTO searches (query_id, ts, query, locale, fallback, total, "offset", "limit",'
        " ms) VALUES ('old', ?, 'q', 'en-US', 0, 1, 0, 10, 1.0)",
        (time.time() - 40 * 86400,),
    )
    conn.commit()
    conn.close()
    app = make_app(ANALYTICS_RETENTION_DAYS=30)
    app.test_client().get("/v1/search?q=outlook")
    flush(app)
    assert [r["query_id"] for r in rows(db)] != ["old"]
    assert "old" not in {r["query_id"] for r in rows(db)}


# -- events ------------------------------------------------------------------------------------


def test_event_is_recorded(rec_app, db):
    client = rec_app.test_client()
    qid = client.get("/v1/search?q=outlook").get_json()["query_id"]
    r = client.post(
        "/v1/events", json={"type": "click", "query_id": qid, "article": "a-1", "position": 2}
    )
    assert r.status_code == 204, r.get_json()
    flush(rec_app)
    [event] = rows(db, "events")
    assert (event["type"], event["query_id"], event["article"], event["position"]) == (
        "click",
        qid,
        "a-1",
        2,
    )
    assert set(event) == {"ts", "type", "query_id", "article", "position", "locale", "article_id"}


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"type": "view", "article": "a"}, 400, "type"),
        ({"type": "click", "article": "a", "ip": "1.2.3.4"}, 400, "ip"),
        ({"type": "click"}, 400, "article"),
        ({"type": "click", "article": ""}, 400, "article"),
        ({"type": "click", "article": "a", "position": -1}, 400, "position"),
        ({"type": "click", "article": "a", "position": True}, 400, "position"),
        ({"type": "click", "article": "a", "query_id": "not an id!"}, 400, "query_id"),
        ([{"type": "click"}], 400, None),
        ({"type": "helpful", "article": "a" * 5000}, 413, None),
    ],
)
def test_event_validation(rec_app, body, status, field):
    r = rec_app.test_client().post("/v1/events", json=body)
    assert r.status_code == status
    error = r.get_json()["error"]
    assert error["status"] == status
    if field:
        assert error["parameter"] == field


def test_event_body_not_json_is_400(rec_app):
    r = rec_app.test_client().post(
        "/v1/events", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400


def test_events_per_minute_bound_gives_429_with_retry_after(make_app):
    app = make_app(EVENTS_PER_MINUTE=3)
    client = app.test_client()
    event = {"type": "not_helpful", "article": "a"}
    assert [client.post("/v1/events", json=event).status_code for _ in range(3)] == [204] * 3
    r = client.post("/v1/events", json=event)
    assert r.status_code == 429
    assert r.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(r.headers["Retry-After"]) <= 20
    # Another client address has its own bound.
    other = client.post("/v1/events", json=event, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 204


def test_events_cors_preflight_allows_post_with_content_type(rec_app):
    r = rec_app.test_client().options(
        "/v1/events",
        headers={
            "Origin": "https://help.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in r.headers["Access-Control-Allow-Headers"]
    post = rec_app.test_client().post(
        "/v1/events", json={"type": "click", "article": "a"}, headers={"Origin": "https://x.y"}
    )
    assert post.headers["Access-Control-Allow-Origin"] == "*"


def test_events_cors_follows_the_origin_list(make_app):
    app = make_app(CORS_ORIGINS="https://help.example")
    client = app.test_client()
    ok = client.options("/v1/events", headers={"Origin": "https://help.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://help.example"
    other = client.options("/v1/events", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


# -- insights ----------------------------------------------------------------------------------


def _seed(db):
    """A known history: searches in three locales, clicks and votes."""
    conn = analytics.connect(db)
    now = time.time()
    searches = [
        # query_id, days ago, query, requested, served, fallback, total, articles
        ("q1", 1, "outlook", "de-DE", "de-DE", 0, 5, ["a1", "a2"]),
        ("q2", 1, "outlook", "de-DE", "de-DE", 0, 5, ["a1", "a2"]),
        ("q3", 1, "nada", "de-DE", "de-DE", 0, 0, []),
        ("q4", 2, "vpn", "sw-KE", "en-US", 1, 3, ["e1", "e2"]),
        ("q5", 2, "vpn", "sw-KE", "en-US", 1, 3, ["e1", "e2"]),
        ("q6", 2, "printer", "sw-KE", "en-US", 1, 1, ["e3"]),
        ("q7", 3, "outlook", None, "en-US", 0, 4, ["e1"]),
        ("q8", 60, "ancient", "de-DE", "de-DE", 0, 0, []),
    ]
    for qid, ago, q, req, served, fb, total, arts in searches:
        conn.execute(
            "INSERT INTO searches (query_id, ts, query, requested_locale, locale, fallback, total,"
            ' "offset", "limit", ms, articles) VALUES (?,?,?,?,?,?,?,0,10,1.0,?)',
            (qid, now - ago * 86400, q, req, served, fb, total, json.dumps(arts)),
        )
    events = [
        ("click", "q1", "a1"),
        ("helpful", "q1", "a1"),
        ("click", "q4", "e1"),
        ("click", "q5", "e1"),
        ("not_helpful", "q5", "e1"),
        ("click", "q6", "e3"),
    ]
    for kind, qid, art in events:
        conn.execute(
            "INSERT INTO events (ts, type, query_id, article, position) VALUES (?,?,?,?,0)",
            (now - 3600, kind, qid, art),
        )
    conn.commit()
    conn.close()


def _get(client, path, **params):
    r = client.get(path, query_string=params, headers=AUTH)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r


def test_insights_need_the_admin_token(rec_app):
    client = rec_app.test_client()
    for name in ("queries", "zero-results", "fallbacks", "articles"):
        assert client.get(f"/v1/admin/insights/{name}").status_code == 401


def test_insights_queries_with_locale_and_days(rec_app, db):
    _seed(db)
    client = rec_app.test_client()
    body = _get(client, "/v1/admin/insights/queries").get_json()
    assert body["days"] == 30
    top = {r["query"]: r for r in body["queries"]}
    assert "ancient" not in top  # 60 days old
    assert top["outlook"]["searches"] == 3
    assert top["outlook"]["click_through_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert top["nada"]["zero_result_rate"] == 1.0
    de = _get(client, "/v1/admin/insights/queries", locale="de-de").get_json()["queries"]
    assert [(r["query"], r["searches"]) for r in de] == [("outlook", 2), ("nada", 1)]
    old = _get(client, "/v1/admin/insights/queries", days=90, locale="de-DE").get_json()
    assert "ancient" in {r["query"] for r in old["queries"]}
    recent = _get(client, "/v1/admin/insights/queries", days=1, locale="de-DE").get_json()
    assert recent["queries"] == []


def test_insights_zero_results(rec_app, db):
    _seed(db)
    client = rec_app.test_client()
    body = _get(client, "/v1/admin/insights/zero-results", days=90).get_json()
    assert [r["query"] for r in body["zero_results"]] == ["ancient", "nada"]
    assert body["zero_results"][0]["locales"] == "de-DE"


def test_insights_fallbacks_is_the_translation_todo_list(rec_app, db):
    _seed(db)
    client = rec_app.test_client()
    body = _get(client, "/v1/admin/insights/fallbacks").get_json()
    by_locale = {r["locale"]: r for r in body["fallbacks"]}
    sw = by_locale["sw-KE"]
    assert (sw["searches"], sw["fallback_searches"], sw["fallback_share"]) == (3, 3, 1.0)
    assert sw["top_queries"] == [
        {"query": "vpn", "searches": 2},
        {"query": "printer", "searches": 1},
    ]
    assert [{k: c[k] for k in ("article", "clicks")} for c in sw["english_articles_clicked"]] == [
        {"article": "e1", "clicks": 2},
        {"article": "e3", "clicks": 1},
    ]
    assert by_locale["de-DE"]["fallback_share"] == 0.0
    only = _get(client, "/v1/admin/insights/fallbacks", locale="sw-KE").get_json()
    assert [r["locale"] for r in only["fallbacks"]] == ["sw-KE"]
    text = _get(client, "/v1/admin/insights/fallbacks", format="csv").get_data(as_text=True)
    table = list(csv.DictReader(io.StringIO(text)))
    assert {
        "locale": "sw-KE",
        "kind": "english_article_clicked",
        "item": "e1",
        "count": "2",
    }.items() <= next(r for r in table if r["item"] == "e1").items()


def test_insights_articles(rec_app, db):
    _seed(db)
    client = rec_app.test_client()
    body = _get(client, "/v1/admin/insights/articles").get_json()
    arts = {r["article"]: r for r in body["articles"]}
    assert arts["e1"]["shown"] == 3 and arts["e1"]["clicks"] == 2
    assert arts["e1"]["not_helpful"] == 1 and arts["a1"]["helpful"] == 1
    assert arts["a1"]["click_through_rate"] == 0.5
    assert body["articles"][0]["article"] == "e1"  # most shown
    clicked = _get(client, "/v1/admin/insights/articles", sort="clicks").get_json()["articles"]
    assert clicked[0]["article"] == "e1"
    de = _get(client, "/v1/admin/insights/articles", locale="de-DE").get_json()["articles"]
    assert {r["article"] for r in de} == {"a1", "a2"}


def test_insights_csv(rec_app, db):
    _seed(db)
    conn = analytics.connect(db)
    conn.execute(
        'INSERT INTO searches (query_id, ts, query, locale, fallback, total, "offset", "limit",'
        " ms) VALUES ('qx', ?, '=cmd()', 'en-US', 0, 0, 0, 10, 1.0)",
        (time.time(),),
    )
    conn.commit()
    conn.close()
    client = rec_app.test_client()
    r = _get(client, "/v1/admin/insights/queries", format="csv", locale="de-DE")
    assert r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert table[0] == [
        "query",
        "searches",
        "click_through_rate",
        "zero_result_rate",
        "fallback_rate",
    ]
    assert [row[:2] for row in table[1:]] == [["outlook", "2"], ["nada", "1"]]
    # A query that a spreadsheet would run as a formula is written as text.
    zero = _get(client, "/v1/admin/insights/zero-results", format="csv").get_data(as_text=True)
    assert "'=cmd()" in zero


def test_insights_reject_bad_parameters(rec_app):
    client = rec_app.test_client()
    for params in ({"days": "0"}, {"days": "x"}, {"format": "xml"}, {"limit": "0"}):
        r = client.get("/v1/admin/insights/queries", query_string=params, headers=AUTH)
        assert r.status_code == 400
    r = client.get("/v1/admin/insights/articles?sort=rank", headers=AUTH)
    assert r.status_code == 400


def test_search_and_click_end_to_end_in_insights(rec_app):
    client = rec_app.test_client()
    body = client.get("/v1/search?q=outlook&locale=de-DE").get_json()
    hit = body["results"][0]["id"]
    client.post("/v1/events", json={"type": "click", "query_id": body["query_id"], "article": hit})
    flush(rec_app)
    top = _get(client, "/v1/admin/insights/queries").get_json()["queries"]
    assert top[0]["query"] == "outlook" and top[0]["click_through_rate"] == 1.0


# -- logs --------------------------------------------------------------------------------------


def _access_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "helpapi.access"]


def test_access_log_is_one_json_object_with_search_fields(rec_app, caplog):
    caplog.set_level(logging.INFO, "helpapi.access")
    client = rec_app.test_client()
    client.get("/v1/search?q=outlook&locale=de-DE", headers={"X-Request-Id": "rid-1"})
    client.get("/v1/search?q=zzqqxxnothing")
    client.get("/healthz")
    found, zero, health = _access_lines(caplog)
    assert found["rid"] == "rid-1" and found["route"] == "/v1/search"
    assert found["status"] == 200 and found["ms"] >= 0
    assert found["locale"] == "de-DE" and found["hits"] > 0 and found["zero"] is False
    assert zero["hits"] == 0 and zero["zero"] is True
    assert "q" not in found  # the query text only with HELPAPI_LOG_QUERIES=1
    assert health["route"] == "/healthz" and "hits" not in health


def test_access_log_has_the_query_only_when_asked(make_app, caplog):
    caplog.set_level(logging.INFO, "helpapi.access")
    make_app(LOG_QUERIES=1).test_client().get("/v1/search?q=Outlook")
    [line] = _access_lines(caplog)
    assert line["q"] == "Outlook"


def test_admin_actions_are_logged_as_json(rec_app, caplog):
    caplog.set_level(logging.INFO, "helpapi.admin")
    rec_app.test_client().get("/v1/admin/insights/queries")
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "helpapi.admin"]
    assert line["outcome"] == "no-credentials" and line["path"] == "/v1/admin/insights/queries"
    assert line["event"] == "admin" and line["rid"]
