"""Issue #17 review follow-ups: search-as-you-type chains, a per-instance event bound, pruning
on start-up and on a timer, the reindex duration histogram, the zero-result counter's label,
the analytics DB on local disk, and articles identified by slug and locale."""

from __future__ import annotations

import functools
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest
from prometheus_client import multiprocess
from prometheus_client.parser import text_string_to_metric_families

from helpapi import analytics
from helpapi import events
from helpapi import insights
from helpapi import jobs
from helpapi import metrics

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "f" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def db(tmp_path):
    return tmp_path / "analytics.sqlite3"


@pytest.fixture
def make_app(session_apps):
    """An app on the session index with the admin token (``session_apps``)."""
    return functools.partial(session_apps, ADMIN_TOKEN=TOKEN)


def flush(app):
    app.extensions["helpapi.analytics"].flush()


def rows(db, table="searches") -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]
    finally:
        conn.close()


# -- 1. search as you type ---------------------------------------------------------------------


def _type(client, *texts, locale="en-US"):
    """One search per keystroke, each naming the previous one's query_id as the widget does."""
    qid = None
    for text in texts:
        url = f"/v1/search?q={text}&locale={locale}&prefix=true"
        if qid:
            url += f"&refines={qid}"
        resp = client.get(url)
        assert resp.status_code == 200, resp.get_json()
        qid = resp.get_json()["query_id"]
    return qid


def test_keystroke_chain_counts_once_in_insights(make_app, db):
    app = make_app()
    client = app.test_client()
    _type(client, "passw", "passwo", "passwor", "password")
    _type(client, "outlook")
    flush(app)
    assert len(rows(db)) == 5  # every request is kept (counts of requests)
    top = client.get("/v1/admin/insights/queries", headers=AUTH).get_json()["queries"]
    assert {r["query"]: r["searches"] for r in top} == {"password": 1, "outlook": 1}
    zero = client.get("/v1/admin/insights/zero-results", headers=AUTH).get_json()["zero_results"]
    assert not [r for r in zero if r["query"].startswith("passw") and r["query"] != "password"]
    [day] = client.get("/v1/admin/insights/daily", headers=AUTH).get_json()["daily"]
    assert (day["searches"], day["requests"]) == (2, 5)
    shown = client.get("/v1/admin/insights/articles", headers=AUTH).get_json()["articles"]
    finals = [r for r in rows(db) if r["query"] in ("password", "outlook")]
    search_shown = sum(len(json.loads(r["articles"])) for r in finals)
    assert sum(r["shown"] for r in shown) == search_shown  # intermediate results not counted


def test_refines_is_order_independent(db):
    """Two workers may write the refining row before the refined one: still collapsed."""
    conn = analytics.connect(db)
    now = time.time()
    base = {"fallback": False, "total": 0, "offset": 0, "limit": 8, "ms": 1.0, "ts": now}
    for row in (
        {**base, "query_id": "b2", "query": "vpn", "locale": "en-US", "refines": "a1"},
        {**base, "query_id": "a1", "query": "vp", "locale": "en-US"},
    ):
        sql, params = analytics.search_insert(row)
        conn.execute(sql, params)
    conn.commit()
    assert [r["query"] for r in insights.zero_results(conn, None, now - 60, 10)] == ["vpn"]
    conn.close()


@pytest.mark.parametrize("bad", ["x" * 65, "ab-cd", "%C3%A9t%C3%A9"])
def test_refines_is_validated(make_app, bad):
    resp = make_app().test_client().get(f"/v1/search?q=vpn&refines={bad}")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["parameter"] == "refines"


def test_refines_is_documented_and_sent_by_the_widget(make_app):
    spec = make_app().test_client().get("/v1/openapi.json").get_json()
    params = {p["name"]: p for p in spec["paths"]["/v1/search"]["get"]["parameters"]}
    assert "query_id" in params["refines"]["description"]
    widget = (ROOT / "helpapi/static/widget.js").read_text()
    assert "refines" in widget
    readme = (ROOT / "README.md").read_text()
    assert "refines" in readme.split("## Analytics, metrics and logs")[1]


# -- 2. per-instance bound on events -----------------------------------------------------------


def _event(client, article="reset-or-change-passwords"):
    return client.post("/v1/events", json={"type": "click", "article": article})


def test_event_bound_is_shared_by_the_workers_of_an_instance(make_app, tmp_path):
    """Two apps on one limiter file stand for two gunicorn workers of one instance."""
    shared = str(tmp_path / "events-limit.sqlite3")
    first = make_app(EVENTS_PER_MINUTE=3, EVENTS_LIMIT_DB=shared)
    second = make_app(EVENTS_PER_MINUTE=3, EVENTS_LIMIT_DB=shared)
    # Workers forked from one preloaded app share its secret.
    second.extensions["helpapi.event_secret"] = first.extensions["helpapi.event_secret"]
    one, two = first.test_client(), second.test_client()
    assert [_event(c).status_code for c in (one, two, one)] == [204, 204, 204]
    resp = _event(two)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    # The client address is never written, not even in the limiter's file.
    for f in tmp_path.glob("events-limit.sqlite3*"):
        assert b"127.0.0.1" not in f.read_bytes()


def test_shared_bucket_refills_and_stays_bounded(tmp_path):
    a = events.SharedTokenBucket(tmp_path / "l.sqlite3", 60, secret=b"k")
    b = events.SharedTokenBucket(tmp_path / "l.sqlite3", 60, secret=b"k")
    now = 1000.0
    assert all(a.take("c", now) == 0.0 for _ in range(30))
    assert all(b.take("c", now) == 0.0 for _ in range(30))
    assert a.take("c", now) == pytest.approx(1.0)
    assert b.take("c", now + 1.0) == 0.0  # one token a second
    for i in range(50):
        a.take(f"other{i}", now)
    a.take("late", now + 120)  # buckets full again hold nothing and are forgotten
    conn = sqlite3.connect(tmp_path / "l.sqlite3")
    assert conn.execute("SELECT count(*) FROM buckets").fetchone()[0] <= 2
    conn.close()


def test_gunicorn_instances_share_the_limiter_through_the_metrics_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert events.instance_limit_path() == tmp_path / "events-limit.sqlite3"
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    assert events.instance_limit_path() is None


# -- 3. pruning on start-up and on a timer ----------------------------------------------------


def _old_row(db, qid="old1"):
    conn = analytics.connect(db)
    row = {
        "query_id": qid,
        "query": "ancient",
        "locale": "en-US",
        "fallback": False,
        "total": 1,
        "offset": 0,
        "limit": 10,
        "ms": 1.0,
        "ts": time.time() - 400 * 86400,
    }
    with conn:
        conn.execute(*analytics.search_insert(row))
    conn.close()


def _count(db) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM searches").fetchone()[0]
    finally:
        conn.close()


def test_old_rows_are_pruned_on_start_up(make_app, db):
    _old_row(db)
    make_app()
    assert _count(db) == 0


def test_old_rows_are_pruned_on_a_timer_without_searches(make_app, db):
    app = make_app()
    recorder = app.extensions["helpapi.analytics"]
    recorder.prune_every = 0.05
    _old_row(db)
    assert app.test_client().get("/healthz").status_code == 200  # any request starts the writer
    deadline = time.monotonic() + 10
    while _count(db) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _count(db) == 0
    recorder.prune_every = analytics.PRUNE_EVERY  # its thread outlives the test: calm it


def test_an_unusable_database_does_not_make_the_writer_spin(tmp_path, caplog):
    unusable = tmp_path / "a.sqlite3"
    unusable.mkdir()  # there, but no database can be opened
    recorder = analytics.Recorder(unusable, True, 90, 10)
    with caplog.at_level("ERROR", logger="helpapi.analytics"):
        recorder.ensure_started()
        time.sleep(0.5)
    # One failed prune at start, then quiet until the next period (not a retry per 10 ms).
    assert len([r for r in caplog.records if r.name == "helpapi.analytics"]) == 1


# -- 4. reindex durations as a histogram -------------------------------------------------------


def _samples(text: str) -> dict:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_reindex_durations_are_a_histogram_by_outcome(make_app, corpus_index, tmp_path):
    index_dir = tmp_path / "idx"
    folder = jobs.jobs_dir(index_dir)
    now = time.time()
    for job_id, status, seconds in (("j1", "succeeded", 3.0), ("j2", "failed", 40.0)):
        job = {"id": job_id, "status": status, "started": now - seconds, "finished": now}
        jobs._write(folder / f"{job_id}.json", job)
        metrics.observe_reindex_job(index_dir, job_id)
    got = _samples(make_app().test_client().get("/metrics").get_data(as_text=True))
    name = "helpapi_reindex_duration_seconds"
    assert got[(f"{name}_count", (("status", "succeeded"),))] >= 1
    assert got[(f"{name}_count", (("status", "failed"),))] >= 1
    assert got[(f"{name}_bucket", (("le", "5.0"), ("status", "succeeded")))] >= 1
    assert (f"{name}_bucket", (("le", "5.0"), ("status", "failed"))) not in got or (
        got[(f"{name}_bucket", (("le", "5.0"), ("status", "failed")))]
        < got[(f"{name}_count", (("status", "failed"),))]
    )


def test_a_separate_runner_process_is_summed_into_the_scrape(tmp_path):
    """The job runner is its own process: its observation reaches the multiprocess files."""
    index_dir, prom = tmp_path / "idx", tmp_path / "prom"
    prom.mkdir()
    now = time.time()
    job = {"id": "j9", "status": "running", "started": now - 2.0, "finished": None}
    jobs._write(jobs.jobs_dir(index_dir) / "j9.json", job)
    code = "import sys; from helpapi import metrics; metrics.observe_reindex_job(sys.argv[1], 'j9')"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(prom)}
    subprocess.run([sys.executable, "-c", code, str(index_dir)], env=env, check=True, timeout=120)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(prom))
    got = _samples(generate_latest(registry).decode())
    # Still recorded running when its runner ends: it was cancelled.
    assert got[("helpapi_reindex_duration_seconds_count", (("status", "cancelled"),))] == 1


def test_the_job_runner_observes_its_duration():
    source = (ROOT / "helpapi/jobs.py").read_text()
    main = source.split('if __name__ == "__main__":')[1]
    assert "observe_reindex_job" in main


# -- 5. the zero-result counter and the README agree -------------------------------------------


def test_zero_result_counter_label_matches_the_readme(make_app):
    client = make_app().test_client()
    client.get("/v1/search?q=zzzqqqxx&locale=sw-KE")  # nothing, answered from English
    got = _samples(client.get("/metrics").get_data(as_text=True))
    zero = {dict(k[1]).get("locale") for k in got if k[0] == "helpapi_zero_result_searches_total"}
    assert "sw-KE" not in zero and zero  # by the answering locale
    section = (ROOT / "README.md").read_text().split("### `GET /metrics`")[1].split("###")[0]
    flat = " ".join(section.split())
    assert re.search(r"helpapi_zero_result_searches_total` \(by answering locale", flat)


# -- 6. analytics DB on local disk ------------------------------------------------------------


def test_docs_send_each_replica_to_local_disk():
    scaling = " ".join((ROOT / "docs/scaling.md").read_text().split())
    assert "HELPAPI_ANALYTICS_DB" in scaling and "local disk" in scaling
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "HELPAPI_ANALYTICS_DB" in readme and "network filesystem" in readme


def test_a_network_filesystem_is_warned_about(monkeypatch, make_app, caplog):
    monkeypatch.setattr(analytics, "filesystem_type", lambda path: "nfs4")
    with caplog.at_level("WARNING", logger="helpapi.analytics"):
        make_app()
    assert "HELPAPI_ANALYTICS_DB" in caplog.text and "nfs4" in caplog.text


def test_filesystem_type_reads_the_mount_table(tmp_path):
    kind = analytics.filesystem_type(tmp_path)
    assert kind is None or isinstance(kind, str) and kind


# -- 7. articles by slug and locale ------------------------------------------------------------


def test_articles_sharing_an_assetid_are_counted_apart(db):
    conn = analytics.connect(db)
    now = time.time()
    shared = "686e8f18-b871-4dd2-864f-8562947ab583"
    shown = [
        ["list-view-threshold", "de-DE", shared],
        ["set-up-advanced-ediscovery", "de-DE", shared],
    ]
    row = {
        "query_id": "q1",
        "query": "liste",
        "locale": "de-DE",
        "fallback": False,
        "total": 2,
        "offset": 0,
        "limit": 10,
        "ms": 1.0,
        "ts": now,
        "articles": shown,
    }
    with conn:
        conn.execute(*analytics.search_insert(row))
        conn.execute(
            *analytics.event_insert("click", "q1", "list-view-threshold", 0, "de-DE", shared)
        )
    got = {r["article"]: r for r in insights.articles(conn, None, now - 60, 10)}
    assert set(got) == {"list-view-threshold", "set-up-advanced-ediscovery"}
    assert got["list-view-threshold"]["clicks"] == 1
    assert got["set-up-advanced-ediscovery"]["clicks"] == 0
    assert (
        got["list-view-threshold"]["locale"] == "de-DE"
        and got["list-view-threshold"]["id"] == shared
    )
    conn.close()


def test_search_rows_and_events_name_the_slug(make_app, db):
    app = make_app()
    client = app.test_client()
    body = client.get("/v1/search?q=outlook&locale=en-US").get_json()
    hit = body["results"][0]
    resp = client.post(
        "/v1/events",
        json={
            "type": "click",
            "query_id": body["query_id"],
            "article": hit["slug"],
            "locale": hit["locale"],
            "id": hit["id"],
            "position": 0,
        },
    )
    assert resp.status_code == 204
    flush(app)
    [row] = rows(db)
    assert json.loads(row["articles"])[0] == [hit["slug"], hit["locale"], hit["id"]]
    [ev] = rows(db, "events")
    assert (ev["article"], ev["locale"], ev["article_id"]) == (
        hit["slug"],
        hit["locale"],
        hit["id"],
    )
    top = client.get("/v1/admin/insights/articles?sort=clicks", headers=AUTH).get_json()
    assert top["articles"][0]["article"] == hit["slug"]
    assert top["articles"][0]["locale"] == hit["locale"]
    widget = (ROOT / "helpapi/static/widget.js").read_text()
    assert "article: hit.slug" in widget
