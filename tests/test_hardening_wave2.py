"""Red-team pass over the dashboard, insights, widget, build leases and events (issue #12).

Every file in the shared ``jobs/`` folder is untrusted input: another host, a hand edit or a
disk fault may leave a FIFO, a symlink to a device, a huge file, valid JSON of the wrong shape or
an expiry far in the future there. None of them may hang a worker, exhaust its memory, crash a
heartbeat or block every later reindex for ever.
"""

from __future__ import annotations

import json
import os
import threading
import time
import tracemalloc

import pytest

from helpapi import events
from helpapi import jobs
from helpapi import lease as leases
from helpapi.config import SettingsError
from helpapi.config import load_settings

from .test_leases import JOB_ID
from .test_leases import job_file


def _within(seconds: float, fn, *args):
    """``fn(*args)`` in a daemon thread; fails the test (without hanging it) if it blocks."""
    out: dict = {}

    def target():
        try:
            out["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{fn.__name__} blocked for more than {seconds} s"
    if "error" in out:
        raise out["error"]
    return out.get("value")


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "ix" / "jobs"
    path.mkdir(parents=True)
    return path


# -- hostile lease files ---------------------------------------------------------------------


def test_fifo_lease_file_does_not_hang_a_reader(folder):
    os.mkfifo(folder / ".lease.000000000007")
    lease = _within(5, leases.current, folder)
    # Not a lease anyone wrote: it excludes like an unreadable one (never free at once).
    assert lease is not None and lease.seq == 7 and lease.instance == "?"


def test_lease_symlinked_to_an_endless_device_is_not_read_into_memory(folder):
    (folder / ".lease.000000000004").symlink_to("/dev/zero")
    lease = _within(5, leases.read, folder, 4)
    assert lease is not None and lease.instance == "?"


def test_huge_lease_file_is_not_read_whole(folder):
    path = folder / ".lease.000000000002"
    with open(path, "wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse: 64 MB of zero bytes, no disk used
    tracemalloc.start()
    try:
        lease = leases.read(folder, 2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert lease is not None and lease.instance == "?"
    assert peak < 8 * 1024 * 1024


def test_longest_lease_setting_is_the_trusted_bound():
    assert load_settings({"HELPAPI_LEASE_SECONDS": str(leases.MAX_SECONDS)})
    with pytest.raises(SettingsError):
        load_settings({"HELPAPI_LEASE_SECONDS": str(leases.MAX_SECONDS + 1)})


def test_lease_of_the_wrong_json_shape_counts_as_unreadable(folder):
    (folder / ".lease.000000000001").write_text("[1, 2, 3]")
    lease = leases.read(folder, 1)
    assert lease is not None and lease.instance == "?"


def test_far_future_expiry_is_not_trusted_beyond_the_longest_lease(folder):
    """A writer whose clock was years ahead (or a hand edit) must not block builds for ever."""
    now = time.time()
    path = folder / ".lease.000000000005"
    ten_years = now + 10 * 365 * 86400
    path.write_text(json.dumps({"instance": "skewed", "job": "j", "expires": ten_years}))
    lease = leases.read(folder, 5)
    # Trusted at most the longest lease a setting allows past the file's last write.
    assert lease.expires <= path.stat().st_mtime + leases.MAX_SECONDS
    assert not lease.live(now + leases.MAX_SECONDS + 1)
    # An honest lease keeps its own expiry.
    leases.take(folder, "j2", 30, "honest", clock=lambda: now + leases.MAX_SECONDS + 2)
    assert leases.current(folder).instance == "honest"


def test_honest_lease_expiry_is_kept(folder):
    held = leases.take(folder, "j", 600, "host-a")
    assert leases.read(folder, held.seq).expires == held.expires


# -- hostile job and cancel files ------------------------------------------------------------


@pytest.mark.parametrize("content", ["[]", "1", '"running"', '{"id": 3}'])
def test_job_file_of_the_wrong_shape_does_not_break_the_job_list(folder, content):
    (folder / "20260101000000deadbeef.json").write_text(content)
    assert _within(5, jobs.list_jobs, folder.parent) == []
    assert jobs.read_job(folder.parent, "20260101000000deadbeef") is None


def test_fifo_job_file_does_not_hang_the_job_list(folder):
    os.mkfifo(folder / "20260101000000deadbeef.json")
    assert _within(5, jobs.list_jobs, folder.parent) == []


@pytest.mark.parametrize("content", ["[]", "7", '"stop"'])
def test_cancel_marker_of_the_wrong_shape_still_cancels(folder, content, monkeypatch):
    """The heartbeat thread reads ``<id>.cancel``: a bad one must not kill the heartbeat."""
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-a")
    held = leases.take(folder, JOB_ID, 30, "host-a")
    job_file(folder, held)
    job = json.loads((folder / f"{JOB_ID}.json").read_text())
    job["heartbeat_seconds"] = 0.05
    stopped = threading.Event()
    beat = jobs._Heartbeat(folder, job, held, stopped.set)
    (folder / f"{JOB_ID}.cancel").write_text(content)
    beat.start()
    try:
        assert stopped.wait(5), "the heartbeat died on the cancel marker"
        assert beat.cancelled_by == "?"
    finally:
        beat.stop()


def test_fifo_cancel_marker_does_not_block_the_heartbeat(folder, monkeypatch):
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-a")
    held = leases.take(folder, JOB_ID, 30, "host-a")
    job_file(folder, held)
    os.mkfifo(folder / f"{JOB_ID}.cancel")
    assert _within(5, jobs._load, folder / f"{JOB_ID}.cancel") is None


# -- the events rate limiter -----------------------------------------------------------------


def test_event_limiter_memory_stays_bounded_under_many_addresses(monkeypatch):
    """Each new address leaves a bucket below capacity: they must still be forgotten."""
    monkeypatch.setattr(events, "MAX_CLIENTS", 100)
    bucket = events.TokenBucket(60)
    for i in range(1000):
        assert bucket.take(f"2001:db8::{i:x}", now=1000.0 + i * 0.001) == 0.0
    assert len(bucket._buckets) <= 100


def test_event_limiter_still_limits_a_busy_address_among_many(monkeypatch):
    monkeypatch.setattr(events, "MAX_CLIENTS", 100)
    bucket = events.TokenBucket(5)
    for _ in range(5):
        assert bucket.take("busy", now=1000.0) == 0.0
    assert bucket.take("busy", now=1000.0) > 0
    for i in range(50):  # other clients come and go, fewer than the bound
        bucket.take(f"other-{i}", now=1000.0)
    assert bucket.take("busy", now=1000.0) > 0


# -- insights over a big analytics database --------------------------------------------------

TOKEN = "t" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def insights_app(corpus_index, tmp_path):
    from helpapi import create_app
    from helpapi.analytics import connect

    db = tmp_path / "analytics.sqlite3"
    conn = connect(db)
    now = time.time()
    with conn:
        conn.executemany(
            "INSERT INTO searches (query_id, ts, query, requested_locale, locale, fallback, total,"
            ' "offset", "limit", ms, articles) VALUES (?,?,?,?,?,?,?,0,10,1.0,?)',
            (
                (f"q{i}", now - i, f"query {i % 5000}", "de-DE", "en-US", i % 2, i % 3, '["a"]')
                for i in range(20000)
            ),
        )
    conn.close()
    app = create_app(
        {
            "TESTING": True,
            "INDEX_DIR": str(corpus_index),
            "ANALYTICS_DB": str(db),
            "ADMIN_TOKEN": TOKEN,
        }
    )
    yield app
    app.extensions["helpapi.analytics"].flush()
    app.extensions["helpapi.indexes"].close()


@pytest.mark.parametrize("name", ["queries", "zero-results", "fallbacks", "articles", "daily"])
def test_insights_query_past_its_time_budget_is_a_clear_503(insights_app, monkeypatch, name):
    """A long period over a big database must not hold the worker past its timeout."""
    from helpapi import insights

    monkeypatch.setattr(insights, "QUERY_SECONDS", 0.0)
    r = insights_app.test_client().get(f"/v1/admin/insights/{name}", headers=AUTH)
    assert r.status_code == 503, r.get_data(as_text=True)
    error = r.get_json()["error"]
    assert error["code"] == "insights_timeout" and "days" in error["message"]
    assert r.headers["Retry-After"]


def test_insights_within_budget_answer(insights_app):
    r = insights_app.test_client().get("/v1/admin/insights/queries?limit=3", headers=AUTH)
    assert r.status_code == 200 and len(r.get_json()["queries"]) == 3


_GEVENT_PROBE = r"""
import json, sys, time
from gevent import monkey
monkey.patch_all(thread=False)  # as helpapi.runtime.GeventWorker does
import gevent
from helpapi import create_app, insights

def slow(conn, locale, since, limit=None):
    # A real SQLite statement of a fraction of a second, like a long period over a big database.
    sql = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000)"
           " SELECT count(*) AS n FROM c")
    return insights._rows(conn, sql, [])

insights.daily = slow
app = create_app({"TESTING": True, "INDEX_DIR": sys.argv[1], "ANALYTICS_DB": sys.argv[2],
                  "ADMIN_TOKEN": "t" * 24})
ticks = []
def ticker():
    while True:
        ticks.append(time.monotonic())
        gevent.sleep(0.01)
t = gevent.spawn(ticker)
gevent.sleep(0.05)
def ask():
    start = time.monotonic()
    r = app.test_client().get("/v1/admin/insights/daily",
                              headers={"Authorization": "Bearer " + "t" * 24})
    return r.status_code, start, time.monotonic()
status, start, end = gevent.spawn(ask).get()
gevent.sleep(0.05)
t.kill()
during = [b - a for a, b in zip(ticks, ticks[1:]) if b > start and a < end]
print(json.dumps({"status": status, "seconds": end - start, "max_gap": max(during or [0])}))
"""


def test_insights_sql_does_not_stall_the_gevent_worker(corpus_index, tmp_path):
    """Under the gevent worker the SQL runs in a thread: the worker's other greenlets (public
    searches, /healthz) keep being served while an insights query runs."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _GEVENT_PROBE, str(corpus_index), str(tmp_path / "a.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["status"] == 200
    assert probe["seconds"] > 0.2  # the statement did take a while
    assert probe["max_gap"] < probe["seconds"] / 2, probe


class _CountingConn:
    """A connection that counts the rows its queries hand to Python."""

    def __init__(self, conn):
        self.conn, self.fetched = conn, 0

    def execute(self, sql, params=()):
        cur = self.conn.execute(sql, params)
        outer = self

        class Cursor:
            description = cur.description

            def fetchall(self):
                rows = cur.fetchall()
                outer.fetched += len(rows)
                return rows

        return Cursor()


def test_fallbacks_fetch_only_the_top_rows_per_locale(tmp_path):
    """Distinct fallback queries are typed by strangers: only ``limit`` per locale reach Python."""
    from helpapi import insights
    from helpapi.analytics import connect

    conn = connect(tmp_path / "a.sqlite3")
    now = time.time()
    with conn:
        conn.executemany(
            "INSERT INTO searches (query_id, ts, query, requested_locale, locale, fallback, total,"
            ' "offset", "limit", ms, articles) VALUES (?,?,?,?,?,1,1,0,10,1.0,?)',
            (
                (f"{loc}{i}", now - i, f"q {i}", loc, "en-US", f'["a{i}"]')
                for i in range(3000)
                for loc in ("sw-KE", "yo-NG")
            ),
        )
        conn.executemany(
            "INSERT INTO events (ts, type, query_id, article, position) VALUES (?,'click',?,?,0)",
            ((now, f"{loc}{i}", f"a{i}") for i in range(3000) for loc in ("sw-KE", "yo-NG")),
        )
    spy = _CountingConn(conn)
    rows = insights.fallbacks(spy, None, now - 86400, 5)
    assert [len(r["top_queries"]) for r in rows] == [5, 5]
    assert [len(r["english_articles_clicked"]) for r in rows] == [5, 5]
    assert spy.fetched <= 2 + 2 * 2 * 5
    conn.close()


def test_fifo_job_lock_does_not_hang_the_owner_reading_its_job(folder, monkeypatch):
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-a")
    held = leases.take(folder, JOB_ID, 30, "host-a")
    job_file(folder, held)
    os.mkfifo(folder / f"{JOB_ID}.lock")
    job = _within(5, jobs.read_job, folder.parent, JOB_ID)
    assert job is not None and job["status"] in ("running", "failed")
