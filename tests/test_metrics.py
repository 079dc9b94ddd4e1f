"""GET /metrics (Prometheus text format), in-process and summed over real gunicorn workers."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpapi import analytics

TOKEN = "m" * 24


@pytest.fixture
def make_app(session_apps):
    return session_apps


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} of every sample."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_metrics_text_format_counts_requests_and_searches(make_app):
    client = make_app().test_client()
    before = samples(client.get("/metrics").get_data(as_text=True))
    found = client.get("/v1/search?q=outlook&locale=de-DE").get_json()
    nothing = client.get("/v1/search?q=zzqqxxnothing&locale=de-DE").get_json()
    english = client.get("/v1/search?q=outlook&locale=sw-KE").get_json()
    assert found["locale"] == "de-DE" and nothing["total"] == 0 and english["fallback"]
    client.get("/v1/articles/no-such-thing")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.mimetype == "text/plain" and "version=" in r.headers["Content-Type"]
    after = samples(r.get_data(as_text=True))

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("helpapi_requests_total", route="/v1/search", status="200") == 3
    assert delta("helpapi_requests_total", route="/v1/articles/<path:ident>", status="404") == 1
    assert delta("helpapi_request_duration_seconds_count", route="/v1/search", status="200") == 3
    assert delta("helpapi_searches_total", locale="de-DE") >= 1
    served = {"de-DE": 0, "en-US": 0}
    for body in (found, nothing, english):
        served[body["locale"]] += 1
    for locale, n in served.items():
        assert delta("helpapi_searches_total", locale=locale) == n
    assert delta("helpapi_zero_result_searches_total", locale=nothing["locale"]) == 1
    assert delta("helpapi_fallback_searches_total", locale="sw-KE") == 1
    info = [k for k in after if k[0] == "helpapi_generation_info"]
    assert len(info) == 1 and dict(info[0][1])["generation"].startswith("g")
    assert value(after, "helpapi_generation_age_seconds") > 0
    assert ("helpapi_analytics_dropped_total", frozenset()) in after


def test_metrics_report_reindex_jobs_from_the_job_files(make_app, tmp_path):
    from helpapi import jobs

    from .conftest import copy_index

    index = copy_index(make_app().config["INDEX_DIR"], tmp_path / "index")
    folder = jobs.jobs_dir(index)
    now = time.time()
    for n, status in enumerate(("succeeded", "failed", "succeeded")):
        (folder / f"j{n}.json").write_text(
            json.dumps(
                {"id": f"j{n}", "status": status, "started": now - 10 - n, "finished": now - n}
            )
        )
    found = samples(
        make_app(INDEX_DIR=str(index)).test_client().get("/metrics").get_data(as_text=True)
    )
    assert value(found, "helpapi_reindex_jobs", status="succeeded") == 2
    assert value(found, "helpapi_reindex_jobs", status="failed") == 1
    assert value(found, "helpapi_reindex_last_duration_seconds", status="succeeded") == 10


def test_metrics_token(make_app):
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 24})
    assert wrong.status_code == 401
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and b"helpapi_requests_total" in ok.data


@pytest.mark.e2e
def test_metrics_sum_every_gunicorn_worker_and_the_log_is_json(
    server, corpus_index, tmp_path_factory
):
    def get(path):
        with urllib.request.urlopen(server + path, timeout=10) as resp:
            return resp.read().decode()

    def searches():
        return value(samples(get("/metrics")), "helpapi_searches_total", locale="de-DE")

    before = searches()
    ids = set()
    for _ in range(20):  # new connections: spread over both workers
        ids.add(json.loads(get("/v1/search?q=outlook+e2eprobe&locale=de-DE"))["query_id"])
    assert searches() - before == 20
    # Each worker's writer thread (started after the fork) wrote every search.
    deadline = time.monotonic() + 10
    while True:
        conn = analytics.connect(corpus_index / "analytics.sqlite3")
        written = {r[0] for r in conn.execute("SELECT query_id FROM searches")}
        conn.close()
        if ids <= written or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert ids <= written
    # The access log: one JSON object per line, no text before it.
    # (The session's gunicorn logs: this server's is one of them.)
    text = "".join(p.read_text() for p in tmp_path_factory.getbasetemp().glob("gunicorn*/log.txt"))
    assert "helpapi.access {" not in text
    entries = [json.loads(ln) for ln in text.splitlines() if ln.startswith("{")]
    found = [e for e in entries if e.get("route") == "/v1/search"]
    assert found and {"rid", "status", "ms", "locale", "hits", "zero"} <= set(found[-1])


def test_result_cache_hits_and_misses_are_counted(make_app):
    # Benchmarks report the HTTP hit rate beside cache-on throughput (bench/perf.py).
    client = make_app().test_client()
    before = samples(client.get("/metrics").get_data(as_text=True))
    client.get("/v1/search?q=outlook&locale=de-DE")
    client.get("/v1/search?q=OUTLOOK&locale=de-DE")  # same normalized query: a hit
    client.get("/v1/search?q=excel&locale=de-DE")
    after = samples(client.get("/metrics").get_data(as_text=True))

    def delta(result):
        name = "helpapi_result_cache_lookups_total"
        return value(after, name, result=result) - value(before, name, result=result)

    assert (delta("hit"), delta("miss")) == (1, 2)


def test_fallback_series_stay_bounded_under_made_up_locales(make_app, fresh_fallback_series):
    # Requested tags are typed by strangers: each new one must not become a new series forever.
    from helpapi import metrics

    client = make_app().test_client()
    for i in range(metrics.MAX_FALLBACK_LABELS + 40):
        tag = "q" + chr(ord("a") + i // 26) + chr(ord("a") + i % 26)  # qaa-qtz: private use
        assert client.get(f"/v1/search?q=outlook&locale={tag}").status_code == 200
    found = samples(client.get("/metrics").get_data(as_text=True))
    labels = {dict(k[1])["locale"] for k in found if k[0] == "helpapi_fallback_searches_total"}
    assert len(labels) <= metrics.MAX_FALLBACK_LABELS + 1
    assert "other" in labels
