"""Hourly rollup of the analytics database: the insights read aggregates, not every search.

A million searches a month made every insights query read every row of its period (issue #17:
minutes per dashboard load). The rollup keeps, per hour *bucket* of the search's time, what the
insights routes need: per asked-for locale (``rollup_searches``), per locale and normalized query
(``rollup_queries``), per locale and article shown (``rollup_shown``) and per locale, fallback
flag and article acted on (``rollup_events``; an event counts in its *search's* hour, as the
insights filter events by the search's time). Superseded searches are left out of the lists
exactly as :mod:`helpapi.insights` leaves them out of the raw rows (``refines``, analytics.py).

An answer is the rollup for the *clean* buckets of the period plus the raw rows of the others,
aggregated the same way at read time (:func:`prepare`): the bucket the period starts in (it
starts mid-hour), the buckets marked *dirty*, and the buckets a row written since the last
refresh touches. So an answer is right whether or not the rollup is up to date; a stale rollup
only costs more raw rows.

Maintenance (:func:`refresh`, run by each insights request before it reads, within a budget)
is incremental, from a rowid watermark per table: SQLite gives rowids in commit order (one
writer at a time), so the rows past the watermark are exactly the rows not yet looked at,
however out of order their timestamps are. A new search dirties its own hour; a new ``refines``
row dirties the hour of the search it supersedes; a new event dirties the hour of its search
(a click or vote makes a superseded search final again). Dirty hours are recomputed from their
raw rows (one hour of traffic each, newest first, a few per transaction so the recorder's
writers never wait long). Retention pruning is noticed from the oldest timestamps: hours older
than the oldest search left are dropped, and the hours next to the cut are recomputed (a pruned
event or refining row may have belonged to a search just after the cut, when clocks of workers
differ by up to :data:`SKEW` seconds). A watermark row that changed or vanished (a VACUUM that
renumbered rowids, a table pruned empty) throws the rollup away: it is rebuilt.

All statements go through ``conn.execute``; the read side (:func:`prepare`) writes only to
``temp`` tables and fetches nothing into Python.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time

# Width of a bucket: an hour. A period starts mid-bucket and only that one bucket is read raw,
# so an answer reads at most an hour of raw rows plus the hours dirtied since the last refresh.
BUCKET_SECONDS = 3600
HOURS = 86400 // BUCKET_SECONDS  # buckets in a UTC day
VERSION = 1
# Clock difference between workers, in seconds, assumed when pruning (see module docstring).
SKEW = 3600.0
# Dirty buckets recomputed per write transaction (each about an hour of traffic).
BUCKETS_PER_TRANSACTION = 4
DAYS_PER_TRANSACTION = 2  # stale days merged into day rows per write transaction
# Rows of each table looked at per marking transaction (a first build over a big database is
# many short transactions, and resumes where the last request stopped).
MARK_ROWS = 50_000
_NO_SINCE = -1e300


def bucket_of(expr: str) -> str:
    """SQL for the bucket of a unix time; whole seconds as SQLite's ``date()`` rounds them, so
    a bucket never straddles two UTC days of the ``daily`` route."""
    return f"(CAST(strftime('%s', {expr}, 'unixepoch') AS INTEGER) / {BUCKET_SECONDS})"


# Columns of each aggregate, in order (the temp ``part_*`` twins have the same).
_TABLES = {
    "searches": "bucket INTEGER NOT NULL, locale, requests INTEGER, n INTEGER, zero INTEGER,"
    " fallbacks INTEGER, clicked INTEGER",
    "queries": "bucket INTEGER NOT NULL, locale, query, n INTEGER, clicked INTEGER,"
    " zero INTEGER, fallbacks INTEGER, zero_corrected, zero_last_seen",
    "shown": "bucket INTEGER NOT NULL, locale, article, article_locale, id, n INTEGER",
    "events": "bucket INTEGER NOT NULL, locale, fallback, article, article_locale, id_all,"
    " id_click, clicks INTEGER, helpful INTEGER, not_helpful INTEGER",
}
# How hour rows add up to a day row: the key columns, then each value column's aggregate.
_MERGE = {
    "searches": (["locale"], {c: "sum" for c in ("requests", "n", "zero", "fallbacks", "clicked")}),
    "queries": (
        ["locale", "query"],
        {
            **{c: "sum" for c in ("n", "clicked", "zero", "fallbacks")},
            "zero_corrected": "max",
            "zero_last_seen": "max",
        },
    ),
    "shown": (["locale", "article", "article_locale"], {"id": "max", "n": "sum"}),
    "events": (
        ["locale", "fallback", "article", "article_locale"],
        {
            "id_all": "max",
            "id_click": "max",
            **{c: "sum" for c in ("clicks", "helpful", "not_helpful")},
        },
    ),
}
# Value columns are declared without a type on purpose: no affinity, so a value keeps its type
# (an article id may be a number in a row's JSON) and max() and grouping act as on raw rows.
_MAIN_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS rollup_state (one INTEGER PRIMARY KEY CHECK (one = 1),"
    " version INTEGER, bucket INTEGER, wm_s INTEGER, mark_s, wm_e INTEGER, mark_e,"
    " min_s, min_e)",
    "CREATE TABLE IF NOT EXISTS rollup_dirty (bucket INTEGER PRIMARY KEY)",
    # Days (first hours) whose day rows lag their hour rows: read by the hour until merged.
    "CREATE TABLE IF NOT EXISTS rollup_stale (bucket INTEGER PRIMARY KEY)",
    # Per hour (``bucket``) and per UTC day (``bucket`` = the day's first hour): a day row is
    # the sum of its hour rows, rebuilt whenever one of its hours is recomputed.
    *(
        f"CREATE TABLE IF NOT EXISTS rollup_{level}{t} ({cols})"
        for t, cols in _TABLES.items()
        for level in ("", "day_")
    ),
    *(
        f"CREATE INDEX IF NOT EXISTS rollup_{level}{t}_bucket ON rollup_{level}{t} (bucket)"
        for t in _TABLES
        for level in ("", "day_")
    ),
    # One locale's day rows without reading the others' (the filter is case-blind).
    *(
        f"CREATE INDEX IF NOT EXISTS rollup_day_{t}_locale"
        f" ON rollup_day_{t} (lower(locale), bucket)"
        for t in _TABLES
    ),
]
_TEMP_SCHEMA = [
    "CREATE TEMP TABLE IF NOT EXISTS rollup_pick (b INTEGER PRIMARY KEY, lo REAL, hi REAL)",
    "CREATE TEMP TABLE IF NOT EXISTS rollup_days (d INTEGER PRIMARY KEY)",
    "CREATE TEMP TABLE IF NOT EXISTS rollup_info (valid, b0, low, min_s, min_e, pruned, prune_hi)",
    "CREATE TEMP TABLE IF NOT EXISTS rollup_sel (bucket INTEGER, qid, loc, served, query,"
    " zero, fallback, corrected, ts, articles, final, clicked)",
    *(f"CREATE TEMP TABLE IF NOT EXISTS part_{t} ({cols})" for t, cols in _TABLES.items()),
]

# A zero-result search: no hit, and not because the filters removed every match (the locale
# has articles: not a content gap). Over ``s``, a ``searches`` row.
ZERO = "(s.total = 0 AND NOT s.filtered_out)"
_MIN_S = "(SELECT min(ts) FROM main.searches)"
_MIN_E = "(SELECT min(ts) FROM main.events)"
_VALID = f"""coalesce((
    SELECT st.version = {VERSION} AND st.bucket = {BUCKET_SECONDS}
       AND (st.wm_s = 0 OR EXISTS (SELECT 1 FROM main.searches
                                   WHERE rowid = st.wm_s AND query_id IS st.mark_s))
       AND (st.wm_e = 0 OR EXISTS (SELECT 1 FROM main.events
                                   WHERE rowid = st.wm_e AND ts IS st.mark_e))
    FROM main.rollup_state st), 0)"""
# Not superseded (as insights_raw._FINAL), and clicked (as the insights' click join).
_FINAL = (
    "(NOT EXISTS (SELECT 1 FROM main.searches r WHERE r.refines = s.query_id)"
    " OR EXISTS (SELECT 1 FROM main.events x WHERE x.query_id = s.query_id))"
)
_CLICKED = "EXISTS (SELECT 1 FROM main.events c WHERE c.query_id = s.query_id AND c.type = 'click')"
_SLUG = "CASE j.type WHEN 'array' THEN json_extract(j.value, '$[0]') ELSE j.value END"
_SLOC = "CASE j.type WHEN 'array' THEN json_extract(j.value, '$[1]') ELSE x.served END"
_SID = "CASE j.type WHEN 'array' THEN json_extract(j.value, '$[2]') ELSE j.value END"


def ensure_schema(conn) -> None:
    """Create the rollup tables if missing (idempotent; every worker may run it)."""
    for sql in _MAIN_SCHEMA:
        with contextlib.suppress(sqlite3.OperationalError):  # a concurrent creator won
            conn.execute(sql)
    for sql in _TEMP_SCHEMA:
        conn.execute(sql)


def _pending(conn, since: float | None, top_s: int = 2**62, top_e: int = 2**62) -> None:
    """Fill ``temp.rollup_info`` and ``temp.rollup_pick``: the buckets to read raw.

    With ``since`` (a reader): the period's first bucket, the dirty ones and the ones touched
    since the last refresh, from the period's first bucket on. Without (a refresh): the ones
    touched by the rows after the watermarks up to rowids ``top_s`` and ``top_e``. An invalid
    rollup makes every bucket raw.
    """
    for t in ("rollup_info", "rollup_pick"):
        conn.execute(f"DELETE FROM temp.{t}")
    b0 = bucket_of(":since") if since is not None else "-1"
    # ``pruned``: an oldest row is newer than at the last refresh (retention deleted rows).
    conn.execute(
        f"""WITH cur AS (SELECT {_MIN_S} AS min_s, {_MIN_E} AS min_e)
            INSERT INTO temp.rollup_info (valid, b0, low, min_s, min_e, pruned, prune_hi)
            SELECT {_VALID}, {b0}, {bucket_of("cur.min_s")}, cur.min_s, cur.min_e,
                   coalesce((SELECT (st.min_s IS NOT NULL
                                     AND (cur.min_s IS NULL OR cur.min_s > st.min_s))
                                 OR (st.min_e IS NOT NULL
                                     AND (cur.min_e IS NULL OR cur.min_e > st.min_e))
                             FROM main.rollup_state st), 0),
                   {bucket_of("min(cur.min_s, coalesce(cur.min_e, cur.min_s)) + :skew")}
            FROM cur""",
        {"since": since, "skew": SKEW},
    )
    pick = "INSERT OR IGNORE INTO temp.rollup_pick (b)"
    info = "(SELECT * FROM temp.rollup_info)"
    # Invalid (or never built): every bucket of the period is raw.
    conn.execute(
        f"{pick} SELECT DISTINCT {bucket_of('s.ts')} FROM main.searches s, {info} i"
        " WHERE NOT i.valid AND s.ts >= ?",
        [_NO_SINCE if since is None else since],
    )
    if since is not None:
        conn.execute(f"{pick} SELECT b0 FROM temp.rollup_info WHERE b0 IS NOT NULL")
        conn.execute(f"{pick} SELECT d.bucket FROM main.rollup_dirty d, {info} i WHERE i.valid")
    wm = "(SELECT {0} FROM main.rollup_state)"
    # Searches written since the last refresh: their own bucket and the one they supersede.
    conn.execute(
        f"{pick} SELECT {bucket_of('n.ts')} FROM main.searches n, {info} i"
        f" WHERE i.valid AND n.rowid > {wm.format('wm_s')} AND n.rowid <= ?",
        [top_s],
    )
    conn.execute(
        f"{pick} SELECT {bucket_of('t.ts')} FROM main.searches n"
        " JOIN main.searches t ON t.query_id = n.refines, "
        f"{info} i WHERE i.valid AND n.rowid > {wm.format('wm_s')} AND n.rowid <= ?"
        " AND n.refines IS NOT NULL",
        [top_s],
    )
    # Events written since: the bucket of their search.
    conn.execute(
        f"{pick} SELECT {bucket_of('s.ts')} FROM main.events e"
        f" JOIN main.searches s ON s.query_id = e.query_id, {info} i"
        f" WHERE i.valid AND e.rowid > {wm.format('wm_e')} AND e.rowid <= ?",
        [top_e],
    )
    # Pruned since: the buckets from the oldest search left to the cut plus the clock skew.
    conn.execute(
        f"""WITH RECURSIVE r(b) AS (
                SELECT low FROM temp.rollup_info WHERE valid AND pruned AND low IS NOT NULL
                UNION ALL
                SELECT r.b + 1 FROM r, temp.rollup_info i WHERE r.b < i.prune_hi
            ) {pick} SELECT b FROM r"""
    )
    conn.execute(
        "DELETE FROM temp.rollup_pick WHERE b < (SELECT b0 FROM temp.rollup_info)"
        " OR b < (SELECT low FROM temp.rollup_info) OR b IS NULL"
    )
    conn.execute(
        f"UPDATE temp.rollup_pick SET lo = b * {BUCKET_SECONDS} - 1,"
        f" hi = (b + 1) * {BUCKET_SECONDS} + 1"
    )
    _days_of_pick(conn)
    # The day the period starts in is read by the hour too (its day row counts hours before),
    # and so are days not merged since an hour of theirs was recomputed (today, mostly).
    conn.execute(
        f"INSERT OR IGNORE INTO temp.rollup_days SELECT b0 / {HOURS} * {HOURS}"
        " FROM temp.rollup_info WHERE b0 >= 0"
    )
    conn.execute(
        "INSERT OR IGNORE INTO temp.rollup_days SELECT s.bucket FROM main.rollup_stale s,"
        f" temp.rollup_info i WHERE i.valid AND s.bucket + {HOURS} > i.b0"
    )


def _days_of_pick(conn) -> None:
    """``temp.rollup_days``: the days (first hours) of the picked buckets."""
    conn.execute("DELETE FROM temp.rollup_days")
    conn.execute(
        f"INSERT OR IGNORE INTO temp.rollup_days SELECT b / {HOURS} * {HOURS} FROM temp.rollup_pick"
    )


def _merge_days(conn) -> None:
    """Rebuild the day rows of ``temp.rollup_days`` from their hour rows."""
    for table, (keys, values) in _MERGE.items():
        conn.execute(
            f"DELETE FROM main.rollup_day_{table} WHERE bucket IN (SELECT d FROM temp.rollup_days)"
        )
        key_sql = ", ".join(f"r.{k}" for k in keys)
        value_sql = ", ".join(f"{agg}(r.{c})" for c, agg in values.items())
        conn.execute(
            f"""INSERT INTO main.rollup_day_{table}
                SELECT o.d, {key_sql}, {value_sql}
                FROM temp.rollup_days o
                JOIN main.rollup_{table} r ON r.bucket >= o.d AND r.bucket < o.d + {HOURS}
                GROUP BY o.d, {key_sql}"""
        )


def _aggregate(conn, since: float | None, target: str) -> None:
    """Aggregate the raw rows of the picked buckets (from ``since``) into ``target``_* tables
    (``main.rollup`` for a refresh, ``temp.part`` for a reader)."""
    conn.execute("DELETE FROM temp.rollup_sel")
    # The ts range lets each bucket use the searches_ts index, picked buckets outermost (CROSS
    # JOIN keeps that order: SQLite would rather walk the whole period); the bucket test is exact.
    conn.execute(
        f"""INSERT INTO temp.rollup_sel
            SELECT p.b, s.query_id, coalesce(s.requested_locale, s.locale), s.locale, s.query,
                   {ZERO}, s.fallback, s.corrected, s.ts, s.articles, {_FINAL}, {_CLICKED}
            FROM temp.rollup_pick p
            CROSS JOIN main.searches s ON s.ts >= p.lo AND s.ts < p.hi AND {bucket_of("s.ts")} = p.b
            WHERE s.ts >= ?""",
        [_NO_SINCE if since is None else since],
    )
    conn.execute(
        f"""INSERT INTO {target}_searches
            SELECT bucket, loc, count(*), sum(final), sum(final AND zero),
                   sum(final AND fallback), sum(final AND clicked)
            FROM temp.rollup_sel GROUP BY bucket, loc"""
    )
    conn.execute(
        f"""INSERT INTO {target}_queries
            SELECT bucket, loc, query, count(*), sum(clicked), sum(zero), sum(fallback),
                   max(CASE WHEN zero THEN corrected END),
                   max(CASE WHEN zero THEN ts END)
            FROM temp.rollup_sel WHERE final GROUP BY bucket, loc, query"""
    )
    conn.execute(
        f"""INSERT INTO {target}_shown
            SELECT x.bucket, x.loc, {_SLUG}, {_SLOC}, max({_SID}), count(*)
            FROM temp.rollup_sel x, json_each(x.articles) j WHERE x.final
            GROUP BY 1, 2, 3, 4"""
    )
    # A search with an event is final by definition (see insights_raw._FINAL).
    conn.execute(
        f"""INSERT INTO {target}_events
            SELECT x.bucket, x.loc, x.fallback, e.article, coalesce(e.locale, x.served),
                   max(e.article_id), max(CASE WHEN e.type = 'click' THEN e.article_id END),
                   sum(e.type = 'click'), sum(e.type = 'helpful'), sum(e.type = 'not_helpful')
            FROM temp.rollup_sel x JOIN main.events e ON e.query_id = x.qid
            GROUP BY 1, 2, 3, 4, 5"""
    )


def prepare(conn, since: float) -> None:
    """Make :func:`source` answer for searches from ``since`` (a reader's step, in its own
    transaction or savepoint: only ``temp`` tables are written)."""
    ensure_schema(conn)
    for t in _TABLES:
        conn.execute(f"DELETE FROM temp.part_{t}")
    _pending(conn, since)
    _aggregate(conn, since, "temp.part")


def source(table: str, locale: str | None) -> tuple[str, list]:
    """SQL (a parenthesized SELECT) for the aggregate rows of ``table`` after :func:`prepare`,
    for ``locale`` if given: the day rows of the period's whole clean days, the hour rows of the
    clean hours of the other days (the one the period starts in, days with a raw hour) and the
    raw part."""
    cols = _TABLES[table].split(", ")
    names = ", ".join(f"r.{c.split()[0]}" for c in cols)
    clean = "r.bucket NOT IN (SELECT b FROM temp.rollup_pick)"
    sql = f"""SELECT {names} FROM main.rollup_day_{table} r, temp.rollup_info i
              WHERE i.valid AND r.bucket > i.b0 AND r.bucket + {HOURS} > i.low
                AND r.bucket NOT IN (SELECT d FROM temp.rollup_days)
              UNION ALL
              SELECT {names} FROM temp.rollup_days o
              JOIN main.rollup_{table} r ON r.bucket >= o.d AND r.bucket < o.d + {HOURS},
                   temp.rollup_info i
              WHERE i.valid AND r.bucket > i.b0 AND r.bucket >= i.low AND {clean}
              UNION ALL SELECT * FROM temp.part_{table}"""
    if not locale:
        return f"({sql})", []
    return f"(SELECT * FROM ({sql}) WHERE lower(locale) = lower(?))", [locale]


@contextlib.contextmanager
def snapshot(conn):
    """One read snapshot for :func:`prepare` and the queries after it (a savepoint, so it also
    works inside a caller's transaction); released afterwards so the connection sees new rows."""
    conn.execute("SAVEPOINT insights_read")
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.OperationalError):  # an interrupt ended it already
            conn.execute("RELEASE insights_read")


@contextlib.contextmanager
def _writing(conn):
    """One short write transaction (the recorder's writers wait for it: keep it short)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _next_watermark(conn, table: str, column: str) -> tuple[int, int]:
    """The rowid after the next :data:`MARK_ROWS` rows past the watermark, and the last rowid."""
    row = conn.execute(
        f"""SELECT coalesce((SELECT max(rowid) FROM (
                    SELECT rowid FROM main.{table}
                    WHERE rowid > (SELECT {column} FROM main.rollup_state)
                    ORDER BY rowid LIMIT ?)), (SELECT {column} FROM main.rollup_state)),
                   coalesce((SELECT max(rowid) FROM main.{table}), 0)""",
        [MARK_ROWS],
    ).fetchall()[0]
    return row[0], row[1]


def _current(conn) -> bool:
    """True when a refresh would change nothing: the rollup is valid, no row was written or
    pruned since the watermarks, no hour is dirty and no finished day waits to be merged."""
    return bool(
        conn.execute(
            f"""SELECT {_VALID}
                   AND st.wm_s = coalesce((SELECT max(rowid) FROM main.searches), 0)
                   AND st.wm_e = coalesce((SELECT max(rowid) FROM main.events), 0)
                   AND st.min_s IS {_MIN_S} AND st.min_e IS {_MIN_E}
                   AND NOT EXISTS (SELECT 1 FROM main.rollup_dirty)
                   AND NOT EXISTS (SELECT 1 FROM main.rollup_stale s
                                   WHERE s.bucket + {HOURS} <= {bucket_of("?")})
                FROM main.rollup_state st""",
            [time.time()],
        ).fetchall()
        == [(1,)]
    )


def refresh(conn: sqlite3.Connection, budget: float | None = None) -> dict:
    """Bring the rollup up to date: mark what changed since the watermarks (at most
    :data:`MARK_ROWS` rows of each table per transaction), then recompute dirty buckets, newest
    first, until none is left or ``budget`` seconds have passed (one step of each at least;
    what is left is read raw until a later refresh). Returns counts for logs and benches."""
    start = time.monotonic()

    def over() -> bool:
        return budget is not None and time.monotonic() - start >= budget

    ensure_schema(conn)
    if conn.in_transaction:
        conn.commit()
    if _current(conn):
        # Nothing to do: a read, not a write transaction (every insights request refreshes
        # first, and concurrent dashboard loads would queue on SQLite's write lock).
        return {"marked": 0, "recomputed": 0, "days_merged": 0, "dirty": 0, "seconds": 0.0}
    with _writing(conn):
        if not conn.execute(f"SELECT {_VALID}").fetchall()[0][0]:
            # Never built, another version, or the watermark rows are gone: start afresh.
            for t in [*_TABLES, *(f"day_{t}" for t in _TABLES), "dirty", "stale", "state"]:
                conn.execute(f"DELETE FROM main.rollup_{t}")
            conn.execute(
                "INSERT INTO main.rollup_state VALUES (1, ?, ?, 0, NULL, 0, NULL, NULL, NULL)",
                [VERSION, BUCKET_SECONDS],
            )
    marked = 0
    while True:
        with _writing(conn):
            top_s, last_s = _next_watermark(conn, "searches", "wm_s")
            top_e, last_e = _next_watermark(conn, "events", "wm_e")
            _pending(conn, None, top_s, top_e)
            # Pruned: hours before the oldest search left go, and days wholly before it.
            for t in [*_TABLES, *(f"day_{t}" for t in _TABLES), "dirty", "stale"]:
                # A day (its first hour) ends before hour ``low`` when it is 24 hours earlier;
                # no search left at all: everything goes. (Written to use the bucket index.)
                shift = HOURS - 1 if t.startswith("day_") or t == "stale" else 0
                conn.execute(
                    f"DELETE FROM main.rollup_{t}"
                    " WHERE bucket < coalesce((SELECT low FROM temp.rollup_info) - ?, ?)",
                    [shift, 2**62],
                )
            conn.execute("INSERT OR IGNORE INTO main.rollup_dirty SELECT b FROM temp.rollup_pick")
            marked += conn.execute("SELECT changes()").fetchall()[0][0]
            conn.execute(
                """UPDATE main.rollup_state SET
                       wm_s = :s, mark_s = (SELECT query_id FROM main.searches WHERE rowid = :s),
                       wm_e = :e, mark_e = (SELECT ts FROM main.events WHERE rowid = :e),
                       min_s = (SELECT min_s FROM temp.rollup_info),
                       min_e = (SELECT min_e FROM temp.rollup_info)""",
                {"s": top_s, "e": top_e},
            )
        if (top_s >= last_s and top_e >= last_e) or over():
            break
    done = 0
    while True:
        with _writing(conn):
            conn.execute("DELETE FROM temp.rollup_pick")
            conn.execute(
                "INSERT INTO temp.rollup_pick (b) SELECT bucket FROM main.rollup_dirty"
                " ORDER BY bucket DESC LIMIT ?",
                [BUCKETS_PER_TRANSACTION],
            )
            n = conn.execute("SELECT count(*) FROM temp.rollup_pick").fetchall()[0][0]
            if n:
                conn.execute(
                    f"UPDATE temp.rollup_pick SET lo = b * {BUCKET_SECONDS} - 1,"
                    f" hi = (b + 1) * {BUCKET_SECONDS} + 1"
                )
                for t in [*_TABLES, "dirty"]:
                    conn.execute(
                        f"DELETE FROM main.rollup_{t}"
                        " WHERE bucket IN (SELECT b FROM temp.rollup_pick)"
                    )
                _aggregate(conn, None, "main.rollup")
                conn.execute(
                    f"INSERT OR IGNORE INTO main.rollup_stale SELECT b / {HOURS} * {HOURS}"
                    " FROM temp.rollup_pick"
                )
        done += n
        if not n or over():
            break
    # Merge the stale days that are over and have no dirty hour; today stays by the hour (it
    # would be merged again at each refresh).
    merged = 0
    while not over() or not merged:
        with _writing(conn):
            conn.execute("DELETE FROM temp.rollup_days")
            conn.execute(
                f"""INSERT INTO temp.rollup_days SELECT s.bucket FROM main.rollup_stale s
                    WHERE s.bucket + {HOURS} <= {bucket_of("?")}
                      AND NOT EXISTS (SELECT 1 FROM main.rollup_dirty d
                                      WHERE d.bucket >= s.bucket AND d.bucket < s.bucket + {HOURS})
                    ORDER BY s.bucket DESC LIMIT ?""",
                [time.time(), DAYS_PER_TRANSACTION],
            )
            m = conn.execute("SELECT count(*) FROM temp.rollup_days").fetchall()[0][0]
            if m:
                _merge_days(conn)
                conn.execute(
                    "DELETE FROM main.rollup_stale WHERE bucket IN (SELECT d FROM temp.rollup_days)"
                )
        merged += m
        if not m:
            break
    left = conn.execute("SELECT count(*) FROM main.rollup_dirty").fetchall()[0][0]
    return {
        "marked": marked,
        "recomputed": done,
        "days_merged": merged,
        "dirty": left,
        "seconds": round(time.monotonic() - start, 3),
    }
