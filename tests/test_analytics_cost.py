"""Issue #17 item 7: what recording costs a search, and that the cheaper path loses nothing.

The request side appends to a deque and wakes the writer only when it is idle; the writer takes
what gathered every LINGER seconds and writes it in one transaction; query ids start with the
time so the writer's inserts into the query_id index stay on a few pages. The cost itself is
measured by bench/analytics_cost.py, not here.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from helpapi import analytics
from helpapi import create_app
from helpapi.analytics import Recorder

ROW = {
    "query": "reset password",
    "requested_locale": "de-DE",
    "locale": "de-DE",
    "fallback": False,
    "total": 3,
    "offset": 0,
    "limit": 10,
    "corrected": None,
    "ms": 1.5,
    "refines": None,
}


def _row(i: int) -> dict:
    return {**ROW, "query_id": analytics.new_query_id(), "articles": [[f"a-{i}", "de-DE", str(i)]]}


def _count(db, table="searches") -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def recorder(tmp_path):
    rec = Recorder(tmp_path / "a.sqlite3", True, 90, 10_000)
    yield rec
    rec.flush()


def test_a_burst_of_searches_and_events_is_all_written(recorder):
    for i in range(3000):
        assert recorder.record_search(_row(i))
        if i % 10 == 0:
            assert recorder.record_event("click", None, f"a-{i}", 0, "de-DE", str(i))
    recorder.flush()
    assert (_count(recorder.path), _count(recorder.path, "events"), recorder.dropped) == (
        3000,
        300,
        0,
    )


def test_a_search_row_keeps_its_time_and_columns(recorder):
    before = time.time()
    row = _row(7)
    recorder.record_search(row)
    recorder.flush()
    conn = sqlite3.connect(recorder.path)
    conn.row_factory = sqlite3.Row
    [got] = [dict(r) for r in conn.execute("SELECT * FROM searches")]
    conn.close()
    assert before <= got["ts"] <= time.time()
    assert got["query_id"] == row["query_id"] and got["articles"] == '[["a-7","de-DE","7"]]'
    assert (got["query"], got["locale"], got["fallback"], got["total"]) == (
        "reset password",
        "de-DE",
        0,
        3,
    )


def test_records_queued_while_the_writer_lingers_share_one_transaction(recorder, batches):
    sizes, _ = batches
    recorder.record_search(_row(0))  # starts the writer, which lingers LINGER seconds
    for i in range(1, 200):
        recorder.record_search(_row(i))
    recorder.flush()
    assert sum(sizes) == 200 and len(sizes) <= 2


def test_an_idle_writer_wakes_for_the_next_record(recorder):
    recorder.record_search(_row(0))
    recorder.flush()
    time.sleep(3 * analytics.LINGER)  # the writer is waiting now
    started = time.monotonic()
    recorder.record_search(_row(1))
    recorder.flush()
    assert _count(recorder.path) == 2 and time.monotonic() - started < 5


def test_flush_waits_for_the_batch_being_written(recorder, batches):
    sizes, gate = batches
    gate.clear()  # the writer takes the records, then waits before writing them
    for i in range(50):
        recorder.record_search(_row(i))
    deadline = time.monotonic() + 10
    while recorder._queue.qsize() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert recorder._queue.qsize() == 0  # taken, not yet written
    threading.Timer(0.3, gate.set).start()
    recorder.flush()
    assert _count(recorder.path) == 50 and sum(sizes) == 50


def test_a_full_queue_while_the_writer_is_busy_drops_and_counts_the_rest(tmp_path, batches):
    sizes, gate = batches
    gate.clear()
    rec = Recorder(tmp_path / "a.sqlite3", True, 90, 100)
    rec.record_search(_row(0))
    deadline = time.monotonic() + 10
    while rec._queue.qsize() and time.monotonic() < deadline:  # the writer holds row 0
        time.sleep(0.01)
    accepted = sum(rec.record_search(_row(i)) for i in range(1, 251))
    assert (accepted, rec.dropped) == (100, 150)
    gate.set()
    rec.flush()
    assert _count(rec.path) == 101  # every record is written or counted as dropped


def test_query_ids_follow_the_clock(monkeypatch):
    ids = []
    for ms in (1_000, 1_001, 5_000, 5_000):
        monkeypatch.setattr(analytics.time, "time", lambda ms=ms: 1_700_000_000 + ms / 1000)
        ids.append(analytics.new_query_id())
    assert all(len(i) == 16 and i.isalnum() and i.isascii() for i in ids)
    assert ids[0] < ids[1] < ids[2] and ids[2][:8] == ids[3][:8] and ids[2] != ids[3]


def test_a_database_of_an_earlier_release_takes_new_rows(tmp_path, make_old_db):
    db = make_old_db(tmp_path / "a.sqlite3")
    rec = Recorder(db, True, 90, 100)
    rec.record_search({**_row(1), "refines": "0123456789abcdef"})
    rec.record_event("click", "0123456789abcdef", "a-1", 0, "de-DE", "1")
    rec.flush()
    conn = sqlite3.connect(db)
    got = conn.execute("SELECT query_id, refines FROM searches ORDER BY rowid").fetchall()
    events = conn.execute("SELECT query_id, locale FROM events ORDER BY rowid").fetchall()
    conn.close()
    assert [r[0] for r in got][:1] == ["0123456789abcdef"] and got[1][1] == "0123456789abcdef"
    assert events == [("0123456789abcdef", None), ("0123456789abcdef", "de-DE")]


@pytest.fixture
def make_old_db():
    """A database as the first release wrote it (no refines, events without locale or id)."""

    def make(path):
        conn = sqlite3.connect(path)
        conn.executescript(
            """
            CREATE TABLE searches (query_id TEXT PRIMARY KEY, ts REAL NOT NULL, query TEXT NOT NULL,
                requested_locale TEXT, locale TEXT NOT NULL, fallback INTEGER NOT NULL,
                total INTEGER NOT NULL, "offset" INTEGER NOT NULL, "limit" INTEGER NOT NULL,
                corrected TEXT, ms REAL NOT NULL, articles TEXT NOT NULL DEFAULT '[]');
            CREATE INDEX searches_ts ON searches (ts);
            CREATE TABLE events (ts REAL NOT NULL, type TEXT NOT NULL, query_id TEXT,
                article TEXT NOT NULL, position INTEGER);
            CREATE INDEX events_ts ON events (ts);
            CREATE INDEX events_query ON events (query_id);
            """
        )
        conn.execute(
            "INSERT INTO searches VALUES ('0123456789abcdef', ?, 'old', NULL, 'en-US', 0, 1, 0,"
            " 10, NULL, 1.0, '[]')",
            (time.time(),),
        )
        conn.execute(
            "INSERT INTO events VALUES (?, 'click', '0123456789abcdef', 'a-1', 0)", (time.time(),)
        )
        conn.commit()
        conn.close()
        return path

    return make


def test_searches_through_the_app_are_all_recorded(corpus_index, tmp_path):
    db = tmp_path / "a.sqlite3"
    app = create_app({"TESTING": True, "INDEX_DIR": str(corpus_index), "ANALYTICS_DB": str(db)})
    try:
        client = app.test_client()
        ids = {
            client.get(f"/v1/search?q=outlook+{i % 7}").get_json()["query_id"] for i in range(60)
        }
        app.extensions["helpapi.analytics"].flush()
        conn = sqlite3.connect(db)
        assert {r[0] for r in conn.execute("SELECT query_id FROM searches")} == ids
        conn.close()
        assert len(ids) == 60 and app.extensions["helpapi.analytics"].dropped == 0
    finally:
        app.extensions["helpapi.indexes"].close()
