"""The insights read an hourly rollup (issue #17 at scale): the answers equal the raw-row queries.

A generated analytics database (locales in two spellings, searches with no requested locale,
search-as-you-type chains, refines rows written after the row they supersede, events on
superseded searches, articles in both stored forms, numeric ids) is asked every route, JSON and
CSV, with locale and days filters, once through the rollup and once through the raw-row
queries of :mod:`helpapi.insights_raw` (the queries before the rollup), at one frozen clock.
Then rows arrive out of order, retention prunes, and the rollup is thrown away and rebuilt.
"""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
import time
import types

import pytest

from helpapi import insights
from helpapi import insights_raw
from helpapi import rollup
from helpapi.analytics import _INSERT_EVENT
from helpapi.analytics import _INSERT_SEARCH
from helpapi.analytics import connect
from helpapi.analytics import prune

TOKEN = "r" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = 1_764_000_000.0 + 1234.5  # mid-hour: a period starts inside a bucket
DAY = 86400.0
LOCALES = ["en-US", "de-DE", "de-de", "fr-FR", "ja-JP", "ar-SA", None]
FUNCS = {
    "queries": "top_queries",
    "zero-results": "zero_results",
    "fallbacks": "fallbacks",
    "articles": "articles",
    "daily": "daily",
}


class Gen:
    """Writes realistic rows with the recorder's own INSERT statements."""

    def __init__(self, conn, seed=3):
        self.conn, self.rng, self.n, self.qids = conn, random.Random(seed), 0, []

    def search(self, ts, refines=None, query=None, locale="unset"):
        rng = self.rng
        self.n += 1
        qid = f"s{self.n:07d}"
        req = rng.choice(LOCALES) if locale == "unset" else locale
        fallback = int(req not in (None, "en-US") and rng.random() < 0.3)
        served = "en-US" if fallback or req is None else req
        total = 0 if rng.random() < 0.2 else rng.randint(1, 30)
        arts = []
        for _ in range(min(total, 4)):
            k = rng.randint(1, 40)
            if rng.random() < 0.15:
                arts.append(f"id-{k}")  # a row from before slugs were stored
            else:
                aid = k if rng.random() < 0.2 else f"id-{k}"  # ids may be numbers
                arts.append([f"art-{k}", served if rng.random() < 0.9 else None, aid])
        row = (
            qid,
            ts,
            query or rng.choice(["vpn", "password", "=sum(a1)", "wifi", "printer", "mail"]),
            req,
            served,
            fallback,
            total,
            0,
            10,
            rng.choice([None, None, "password", "vpn"]),
            1.0,
            json.dumps(arts),
            refines,
            # No hit because the filters removed every match: not a zero-result search.
            int(total == 0 and rng.random() < 0.3),
        )
        self.conn.execute(_INSERT_SEARCH, row)
        self.qids.append((qid, ts, arts))
        return qid

    def event(self, qid, ts=None, kind=None):
        rng = self.rng
        arts = next((a for q, _, a in self.qids if q == qid), None) or [["art-0", "en-US", 0]]
        art = rng.choice(arts) if arts else ["art-0", "en-US", 0]
        slug, loc, aid = art if isinstance(art, list) else (art, None, art)
        kind = kind or rng.choice(["click", "click", "helpful", "not_helpful"])
        self.conn.execute(
            _INSERT_EVENT,
            (ts or time.time(), kind, qid, slug, 0, loc if rng.random() < 0.8 else None, aid),
        )

    def traffic(self, start, end, sessions):
        """Sessions of search as you type, some acted on; rows written out of time order."""
        rng = self.rng
        batch = []
        for _ in range(sessions):
            batch.append(start + rng.random() * (end - start))
        rng.shuffle(batch)
        for t in batch:
            prev, session = None, []
            for _ in range(rng.choice([1, 1, 2, 3])):
                prev = self.search(t, refines=prev)
                session.append(prev)
                t += rng.random() * 3
            if rng.random() < 0.4:
                self.event(prev, t + 5)
            if rng.random() < 0.1 and len(session) > 1:  # acted on a superseded keystroke
                self.event(session[0], t + 6, "click")
        self.conn.execute(_INSERT_EVENT, (start, "click", None, "orphan", 1, None, None))
        self.conn.execute(_INSERT_EVENT, (start, "click", "no-such-search", "orphan", 1, None, 1))


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "analytics.sqlite3"
    conn = connect(path)
    gen = Gen(conn)
    with conn:
        gen.traffic(NOW - 40 * DAY, NOW, 1500)
    yield path, conn, gen
    conn.close()


def _norm(name, rows):
    """Rows as comparable values: zero-results' locale list compared as a set (the raw query
    listed them in whatever order SQLite met them)."""
    if name in ("zero-results", "zero_results"):
        rows = [{**r, "locales": sorted((r["locales"] or "").split(","))} for r in rows]
    return rows


def _compare_functions(conn, since):
    for name, fn in FUNCS.items():
        for locale in (None, "de-DE", "DE-de", "ar-SA", "xx-XX"):
            for limit in (3, 50):
                kwargs = [{"sort": s} for s in ("shown", "clicks", "helpful", "not_helpful")]
                for extra in kwargs if name == "articles" else [{}]:
                    want = getattr(insights_raw, fn)(conn, locale, since, limit, **extra)
                    got = getattr(insights, fn)(conn, locale, since, limit, **extra)
                    assert _norm(name, got) == _norm(name, want), (name, locale, limit, extra)


@pytest.mark.parametrize("days", [1, 7, 30, 3650])
def test_functions_equal_the_raw_queries_before_and_after_a_refresh(db, days):
    path, conn, gen = db
    since = NOW - days * DAY
    _compare_functions(conn, since)  # never refreshed: all raw through the rollup's path
    stats = rollup.refresh(conn)
    assert stats["dirty"] == 0 and stats["recomputed"] > 0
    _compare_functions(conn, since)


def test_late_rows_refines_and_events_after_a_refresh(db):
    """Rows written after a refresh land in hours already rolled up: out of time order, a
    refines row naming a search already counted as final, a click making a superseded one final
    again, an event whose search arrives later."""
    path, conn, gen = db
    rollup.refresh(conn)
    old = [q for q, ts, _ in gen.qids if NOW - 20 * DAY < ts < NOW - 2 * DAY]
    with conn:
        gen.traffic(NOW - 10 * DAY, NOW - 9 * DAY, 50)  # old hours, written now
        for qid in old[:30]:
            gen.search(NOW - 3 * DAY, refines=qid)  # supersedes a final search of another hour
        superseded = [
            q
            for (q,) in conn.execute(
                "SELECT s.query_id FROM searches s WHERE EXISTS (SELECT 1 FROM searches r"
                " WHERE r.refines = s.query_id) AND NOT EXISTS (SELECT 1 FROM events e"
                " WHERE e.query_id = s.query_id) LIMIT 20"
            )
        ]
        for qid in superseded:
            gen.event(qid, NOW - DAY, "click")
        conn.execute(_INSERT_EVENT, (NOW, "click", "s-later", "art-1", 0, "en-US", "id-1"))
    for days in (7, 30):
        _compare_functions(conn, NOW - days * DAY)  # stale rollup: the touched hours read raw
    with conn:
        gen.n = 0  # a search named by the event above, written after it
        conn.execute(
            _INSERT_SEARCH,
            (
                "s-later",
                NOW - 5 * DAY,
                "late",
                "fr-FR",
                "fr-FR",
                0,
                1,
                0,
                10,
                None,
                1.0,
                "[]",
                None,
                0,
            ),
        )
    rollup.refresh(conn)
    for days in (7, 30):
        _compare_functions(conn, NOW - days * DAY)


def test_retention_prunes_the_rollup_too(db):
    path, conn, gen = db
    cutoff_days = 25
    cut = NOW - cutoff_days * DAY  # mid-hour: the hour it falls in loses part of its rows
    with conn:
        gen.search(cut - 10, locale="fi-FI")
        # Workers' clocks differ: a keystroke and a click stamped before the search they name.
        kept = gen.search(cut + 2, locale="fi-FI", query="kept")
        gen.search(cut - 3, refines=kept, locale="fi-FI")
        acted = gen.search(cut + 1, locale="fi-FI", query="acted")
        gen.search(cut + 3, refines=acted, locale="fi-FI")
        gen.event(acted, cut - 5, "click")
        gen.event(gen.search(NOW - 100), NOW - 50, "click")  # the watermark rows stay
    rollup.refresh(conn)
    assert not [
        r for r in insights.top_queries(conn, "fi-FI", cut - 60, 10) if r["query"] == "kept"
    ]
    prune(conn, cutoff_days, now=NOW)
    assert [r for r in insights.top_queries(conn, "fi-FI", cut - 60, 10) if r["query"] == "kept"]
    _compare_functions(conn, NOW - 3650 * DAY)  # before the refresh: old hours are not read
    rollup.refresh(conn)
    _compare_functions(conn, NOW - 3650 * DAY)
    oldest = conn.execute("SELECT min(bucket) FROM rollup_searches").fetchone()[0]
    assert oldest * rollup.BUCKET_SECONDS >= NOW - cutoff_days * DAY - rollup.BUCKET_SECONDS
    prune(conn, 0, now=NOW + DAY)  # everything
    _compare_functions(conn, NOW - 3650 * DAY)
    rollup.refresh(conn)
    assert conn.execute("SELECT count(*) FROM rollup_queries").fetchone()[0] == 0


def test_a_vacuum_or_emptied_table_rebuilds_the_rollup(db):
    """Rowids renumbered or reused make the watermark meaningless: the rollup is rebuilt."""
    path, conn, gen = db
    rollup.refresh(conn)
    with conn:
        conn.execute("DELETE FROM searches WHERE rowid % 3 = 0")
        conn.execute("DELETE FROM events WHERE rowid % 2 = 0")
    conn.execute("VACUUM")
    _compare_functions(conn, NOW - 30 * DAY)
    rollup.refresh(conn)
    _compare_functions(conn, NOW - 30 * DAY)


def test_a_read_after_a_refresh_reads_only_the_first_hour_raw(db):
    """The cost: once refreshed, an answer reads the raw rows of one hour, whatever the traffic."""
    path, conn, gen = db
    rollup.refresh(conn)
    since = NOW - 30 * DAY
    first = conn.execute(
        f"SELECT count(*) FROM searches WHERE {rollup.bucket_of('ts')} = {rollup.bucket_of('?')}"
        " AND ts >= ?",
        (since, since),
    ).fetchone()[0]
    with rollup.snapshot(conn):
        rollup.prepare(conn, since)
        raw = conn.execute("SELECT count(*) FROM temp.rollup_sel").fetchone()[0]
        picked = conn.execute("SELECT count(*) FROM temp.rollup_pick").fetchone()[0]
    assert picked == 1 and raw == first


def test_refresh_with_a_budget_leaves_dirty_hours_that_read_raw(db, monkeypatch):
    path, conn, gen = db
    monkeypatch.setattr(rollup, "BUCKETS_PER_TRANSACTION", 2)
    monkeypatch.setattr(rollup, "MARK_ROWS", 500)  # a first build in several transactions
    stats = rollup.refresh(conn, budget=0.0)
    assert stats["recomputed"] == 2 and stats["dirty"] > 0
    state = conn.execute("SELECT wm_s, wm_e FROM rollup_state").fetchone()
    assert 0 < state[0] < conn.execute("SELECT max(rowid) FROM searches").fetchone()[0]
    _compare_functions(conn, NOW - 30 * DAY)  # rows past the watermark read raw
    rollup.refresh(conn, budget=0.0)
    _compare_functions(conn, NOW - 30 * DAY)
    stats = rollup.refresh(conn)
    assert stats["dirty"] == 0
    _compare_functions(conn, NOW - 30 * DAY)


def test_two_connections_refresh_without_double_counting(db):
    path, conn, gen = db
    other = connect(path)
    try:
        rollup.refresh(conn, budget=0.0)
        rollup.refresh(other)
        rollup.refresh(conn)
        _compare_functions(conn, NOW - 30 * DAY)
    finally:
        other.close()


def test_a_caller_transaction_is_left_usable(db):
    """The read's savepoint releases: the caller then sees rows written by others."""
    path, conn, gen = db
    assert insights.daily(conn, None, NOW - DAY)
    other = connect(path)
    try:
        with other:
            other.execute(
                _INSERT_SEARCH,
                ("new1", NOW - 60, "new", "en-US", "en-US", 0, 1, 0, 10, None, 1.0, "[]", None, 0),
            )
    finally:
        other.close()
    assert any(r["query"] == "new" for r in insights.top_queries(conn, None, NOW - DAY, 100))
    assert isinstance(conn, sqlite3.Connection) and not conn.in_transaction


# -- HTTP: every route, JSON and CSV, filters; before (raw) and after (rollup) ----------------


@pytest.fixture
def app_client(corpus_index, db, monkeypatch):
    from helpapi import create_app

    path, conn, gen = db
    monkeypatch.setattr(
        insights, "time", types.SimpleNamespace(time=lambda: NOW, monotonic=time.monotonic)
    )
    app = create_app(
        {
            "TESTING": True,
            "INDEX_DIR": str(corpus_index),
            "ANALYTICS_DB": str(path),
            "ADMIN_TOKEN": TOKEN,
            # The rows are dated around NOW, not the real clock: start-up must not prune them.
            "ANALYTICS_RETENTION_DAYS": 3650,
        }
    )
    assert conn.execute("SELECT count(*) FROM searches").fetchone()[0] > 2000
    yield app.test_client()
    app.extensions["helpapi.analytics"].flush()
    app.extensions["helpapi.indexes"].close()


def _answer(client, url):
    r = client.get(url, headers=AUTH)
    assert r.status_code == 200, r.get_data(as_text=True)
    if "format=csv" in url:
        rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
        if "zero-results" in url:
            at = rows[0].index("locales")
            for row in rows[1:]:
                row[at] = ",".join(sorted(row[at].split(",")))
        return r.headers["Content-Type"], rows
    body = r.get_json()
    for key in ("zero_results",):
        if key in body:
            body[key] = _norm(key, body[key])
    return body


@pytest.mark.parametrize("route", list(FUNCS))
def test_every_route_json_and_csv_equals_the_raw_answer(app_client, monkeypatch, route):
    urls = []
    for query in (
        "",
        "locale=de-DE",
        "locale=ar-sa",
        "days=1",
        "days=7&locale=fr-FR",
        "days=3650",
        "limit=2",
    ):
        for fmt in ("", "format=csv"):
            extra = ["", "sort=clicks", "sort=not_helpful"] if route == "articles" else [""]
            for more in extra:
                args = "&".join(p for p in (query, fmt, more) if p)
                urls.append(f"/v1/admin/insights/{route}?{args}")
    after = [_answer(app_client, u) for u in urls]
    with connect(app_client.application.config["ANALYTICS_DB"]) as conn:  # the route refreshed
        wm, dirty = conn.execute(
            "SELECT wm_s, (SELECT count(*) FROM rollup_dirty) FROM rollup_state"
        ).fetchone()
        assert (wm, dirty) == (conn.execute("SELECT max(rowid) FROM searches").fetchone()[0], 0)
    filled = [
        len(a[1]) > 1 if isinstance(a, tuple) else any(v for v in a.values() if isinstance(v, list))
        for a in after
    ]
    assert sum(filled) > 0.8 * len(filled)  # answers with rows, not empty tables
    for fn in FUNCS.values():
        monkeypatch.setattr(insights, fn, getattr(insights_raw, fn))
    before = [_answer(app_client, u) for u in urls]
    for url, b, a in zip(urls, before, after, strict=True):
        assert a == b, url


def test_today_stays_by_the_hour_until_it_is_over(db, monkeypatch):
    """Today's day rows would be merged again at every refresh: it is read by the hour."""
    path, conn, gen = db
    clock = types.SimpleNamespace(time=lambda: NOW, monotonic=time.monotonic)
    monkeypatch.setattr(rollup, "time", clock)
    rollup.refresh(conn)
    today = int(NOW // DAY * 24)
    stale = [b for (b,) in conn.execute("SELECT bucket FROM rollup_stale")]
    assert stale == [today]
    assert not conn.execute(
        "SELECT 1 FROM rollup_day_searches WHERE bucket = ?", (today,)
    ).fetchall()
    for days in (1, 30):
        _compare_functions(conn, NOW - days * DAY)
    clock.time = lambda: NOW + DAY
    rollup.refresh(conn)
    assert not conn.execute("SELECT 1 FROM rollup_stale").fetchall()
    _compare_functions(conn, NOW - 30 * DAY)
