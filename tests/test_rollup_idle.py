"""An up-to-date rollup is not written again: every insights request refreshes the rollup
first, and concurrent dashboard loads used to queue on SQLite's write lock for a refresh that
had nothing to do (the stop 14 review)."""

from __future__ import annotations

from helpapi import insights
from helpapi import insights_raw
from helpapi import rollup
from helpapi.analytics import connect

from .test_insights_rollup import DAY
from .test_insights_rollup import NOW
from .test_insights_rollup import Gen


def _writes(conn, fn):
    """The write transactions ``fn()`` opened, and its result."""
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        result = fn()
    finally:
        conn.set_trace_callback(None)
    return [s for s in seen if s.startswith("BEGIN IMMEDIATE")], result


def test_a_current_rollup_refreshes_without_a_write_then_new_rows_are_rolled_up(tmp_path):
    conn = connect(tmp_path / "a.sqlite3")
    gen = Gen(conn)
    with conn:
        gen.traffic(NOW - 5 * DAY, NOW - 2 * DAY, 200)
    assert rollup.refresh(conn)["recomputed"] > 0
    writes, stats = _writes(conn, lambda: rollup.refresh(conn))
    assert writes == [] and stats["marked"] == stats["recomputed"] == 0
    with conn:  # one search and one event more: the next refresh has work again
        qid = gen.search(NOW - 3 * DAY)
        gen.event(qid, NOW - 3 * DAY + 5, "click")
    writes, stats = _writes(conn, lambda: rollup.refresh(conn))
    assert writes and stats["recomputed"] >= 1
    since = NOW - 30 * DAY
    assert insights.daily(conn, None, since, 50) == insights_raw.daily(conn, None, since, 50)
    conn.close()


def test_a_day_that_has_ended_is_still_merged_and_a_prune_still_seen(tmp_path, monkeypatch):
    conn = connect(tmp_path / "a.sqlite3")
    gen = Gen(conn)
    with conn:
        gen.traffic(NOW - 3 * DAY, NOW, 200)
    monkeypatch.setattr(rollup.time, "time", lambda: NOW)
    rollup.refresh(conn)
    stale = conn.execute("SELECT count(*) FROM rollup_stale").fetchall()[0][0]
    assert stale >= 1  # today stays by the hour
    monkeypatch.setattr(rollup.time, "time", lambda: NOW + 2 * DAY)  # today is over
    writes, stats = _writes(conn, lambda: rollup.refresh(conn))
    assert writes and stats["days_merged"] >= 1
    with conn:  # retention deleted the oldest rows: the refresh must see it
        conn.execute("DELETE FROM searches WHERE ts < ?", [NOW - 2 * DAY])
    writes, _ = _writes(conn, lambda: rollup.refresh(conn))
    assert writes
    since = NOW - 30 * DAY
    assert insights.daily(conn, None, since, 50) == insights_raw.daily(conn, None, since, 50)
    conn.close()
