"""Insights API (admin auth): what people search, what finds nothing, which translations miss.

``GET /v1/admin/insights/{queries,zero-results,fallbacks,articles,daily}``, JSON by default or
``?format=csv``, filtered by ``locale`` (the locale the searcher asked for; the served one when
none was asked) and ``days`` (default 30). The routes live on the admin blueprint, so they share
its Bearer-token check.

Every list and rate counts *final* searches only: a search that a later keystroke's search
names as ``refines`` is superseded (README "Search analytics"), unless someone clicked or voted
on its results. ``daily`` also gives ``requests``, every search answered. Articles are named by
slug and locale (several articles share one assetid); their ``id`` comes along as extra.

The lists and rates are read from an hourly rollup (:mod:`helpapi.rollup`), not from every
search of the period: each request first brings the rollup up to date from a rowid watermark
(only rows written since are looked at), then reads the day rows of the period's whole days,
the hour rows of the others, and the raw rows of the hour the period starts in and of hours
not yet recomputed. The answers equal those
of the raw-row queries (:mod:`helpapi.insights_raw`, tests/test_insights_rollup.py).

The SQL is kept here, in plain functions of a connection, so it is testable without Flask.
"""

from __future__ import annotations

import csv
import io
import logging
import sqlite3
import time

from flask import Response
from flask import jsonify
from flask import request

from . import rollup
from .admin import bp
from .analytics import connect
from .analytics import get_recorder
from .errors import InvalidParameter
from .errors import ServiceUnavailable
from .errors import retry_later_response

log = logging.getLogger("helpapi.insights")

# Cells a spreadsheet would run as a formula (queries are typed by strangers).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Wall-clock budget of one insights request's SQL. A long period over a big database (a million
# searches take seconds per query) ends in a clear 503 instead of holding the worker past its
# timeout; under the gevent worker a query also stalls every search that worker serves.
QUERY_SECONDS = 10.0
# Share of that budget a request may spend recomputing dirty rollup hours before it reads.
REFRESH_SHARE = 0.5


class InsightsTimeout(ServiceUnavailable):
    """An insights query ran past :data:`QUERY_SECONDS`."""

    code = "insights_timeout"


@bp.errorhandler(InsightsTimeout)
def _timeout(exc: InsightsTimeout):
    return retry_later_response(exc)


def _rows(conn: sqlite3.Connection, sql: str, params) -> list[dict]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _read(conn, since: float, queries) -> list:
    """Run ``queries`` (functions of ``conn``) in one snapshot after :func:`rollup.prepare`."""
    with rollup.snapshot(conn):
        rollup.prepare(conn, since)
        return [q(conn) for q in queries]


def top_queries(conn, locale, since, limit) -> list[dict]:
    """Top queries: searches, click-through rate and zero-result rate."""
    src, params = rollup.source("queries", locale)
    sql = f"""
        SELECT query, sum(n) AS searches,
               round(1.0 * sum(clicked) / sum(n), 4) AS click_through_rate,
               round(1.0 * sum(zero) / sum(n), 4) AS zero_result_rate,
               round(1.0 * sum(fallbacks) / sum(n), 4) AS fallback_rate
        FROM {src} GROUP BY query ORDER BY searches DESC, query LIMIT ?
        """
    return _read(conn, since, [lambda c: _rows(c, sql, [*params, limit])])[0]


def zero_results(conn, locale, since, limit) -> list[dict]:
    """Top queries that found nothing, with the locales asked and the correction offered."""
    src, params = rollup.source("queries", locale)
    # The locales in a stable order (the raw query listed them in the order it met them).
    sql = f"""
        SELECT query, sum(zero) AS searches, group_concat(DISTINCT locale) AS locales,
               max(zero_corrected) AS corrected, max(zero_last_seen) AS last_seen
        FROM (SELECT * FROM {src} WHERE zero > 0 ORDER BY query, locale)
        GROUP BY query ORDER BY searches DESC, query LIMIT ?
        """
    return _read(conn, since, [lambda c: _rows(c, sql, [*params, limit])])[0]


def fallbacks(conn, locale, since, limit) -> list[dict]:
    """Per locale: share answered from English, top such queries, English articles clicked."""
    searches, sparams = rollup.source("searches", locale)
    queries, qparams = rollup.source("queries", locale)
    events, eparams = rollup.source("events", locale)
    summary_sql = f"""
        SELECT locale, sum(n) AS searches, sum(fallbacks) AS fallback_searches,
               round(1.0 * sum(fallbacks) / sum(n), 4) AS fallback_share
        FROM {searches} GROUP BY locale HAVING sum(n) > 0
        ORDER BY fallback_searches DESC, searches DESC, 1
        """
    # Only the top ``limit`` of each locale leave SQLite (the queries are typed by strangers:
    # there may be a million distinct ones).
    queries_sql = f"""
        SELECT locale, query, searches FROM (
            SELECT locale, query, sum(fallbacks) AS searches,
                   row_number() OVER (PARTITION BY locale ORDER BY sum(fallbacks) DESC, query)
                       AS r
            FROM {queries} WHERE fallbacks > 0
            GROUP BY 1, 2
        ) WHERE r <= ? ORDER BY searches DESC, query
        """
    clicked_sql = f"""
        SELECT locale, article, article_locale, id, clicks FROM (
            SELECT locale, article, article_locale, max(id_click) AS id, sum(clicks) AS clicks,
                   row_number() OVER (
                       PARTITION BY locale ORDER BY sum(clicks) DESC, article, article_locale
                   ) AS r
            FROM {events} WHERE fallback = 1 AND clicks > 0
            GROUP BY 1, 2, 3
        ) WHERE r <= ? ORDER BY clicks DESC, article, article_locale
        """
    summary, queries, clicked = _read(
        conn,
        since,
        [
            lambda c: _rows(c, summary_sql, sparams),
            lambda c: _rows(c, queries_sql, [*qparams, limit]),
            lambda c: _rows(c, clicked_sql, [*eparams, limit]),
        ],
    )
    return fallback_rows(summary, queries, clicked, limit)


def fallback_rows(summary, queries, clicked, limit) -> list[dict]:
    """The fallbacks answer: per locale's summary row, its top English-answered queries and the
    English articles most clicked from it (``queries`` and ``clicked`` carry a ``locale``)."""
    out = []
    for row in summary:
        loc = row["locale"]
        out.append(
            {
                **row,
                "top_queries": [
                    {"query": q["query"], "searches": q["searches"]}
                    for q in queries
                    if q["locale"] == loc
                ][:limit],
                "english_articles_clicked": [
                    {
                        "article": c["article"],
                        "article_locale": c["article_locale"],
                        "id": c["id"],
                        "clicks": c["clicks"],
                    }
                    for c in clicked
                    if c["locale"] == loc
                ][:limit],
            }
        )
    return out


def articles_select(order: str) -> str:
    """The end of the articles query over CTEs ``shown`` and ``ev`` (article, locale, id and
    counts): every article shown or acted on, with its rates, sorted by ``order``."""
    return f"""
        , ids AS (
            SELECT article, locale FROM shown UNION SELECT article, locale FROM ev
        )
        SELECT ids.article AS article, ids.locale AS locale, coalesce(shown.id, ev.id) AS id,
               coalesce(shown.n, 0) AS shown,
               coalesce(ev.clicks, 0) AS clicks,
               round(CASE WHEN shown.n > 0 THEN 1.0 * coalesce(ev.clicks, 0) / shown.n END, 4)
                   AS click_through_rate,
               coalesce(ev.helpful, 0) AS helpful, coalesce(ev.not_helpful, 0) AS not_helpful
        FROM ids LEFT JOIN shown ON shown.article = ids.article AND shown.locale IS ids.locale
                 LEFT JOIN ev ON ev.article = ids.article AND ev.locale IS ids.locale
        ORDER BY {order}, shown DESC, ids.article, ids.locale LIMIT ?
        """


# The sorts of the articles list (the ``sort`` parameter) and the ORDER BY each means, for the
# rollup's query and the raw one (helpapi.insights_raw).
ARTICLE_ORDER = {
    "shown": "shown DESC",
    "clicks": "clicks DESC",
    "helpful": "helpful DESC",
    "not_helpful": "not_helpful DESC",
}


def articles(conn, locale, since, limit, sort="shown") -> list[dict]:
    """Per article (slug and locale): shown, clicks, click-through rate, helpful, not helpful."""
    order = ARTICLE_ORDER[sort]
    shown_src, sparams = rollup.source("shown", locale)
    events_src, eparams = rollup.source("events", locale)
    sql = f"""
        WITH shown AS (
            SELECT article, article_locale AS locale, max(id) AS id, sum(n) AS n
            FROM {shown_src} GROUP BY 1, 2
        ), ev AS (
            SELECT article, article_locale AS locale, max(id_all) AS id,
                   sum(clicks) AS clicks, sum(helpful) AS helpful,
                   sum(not_helpful) AS not_helpful
            FROM {events_src} GROUP BY 1, 2
        )""" + articles_select(order)
    return _read(conn, since, [lambda c: _rows(c, sql, [*sparams, *eparams, limit])])[0]


def daily(conn, locale, since, limit=None) -> list[dict]:
    """Per UTC day and locale: searches, requests, zero results, fallbacks, searches clicked.

    ``searches`` and the rates count final searches; ``requests`` counts every search answered
    (keystrokes of search as you type included). The dashboard's time series. ``limit`` is
    not applied: the rows are bounded by the days asked for times the locales seen, and a cut
    series would draw a false chart. A bucket (an hour) lies within one UTC day.
    """
    src, params = rollup.source("searches", locale)
    sql = f"""
        SELECT date(bucket * {rollup.BUCKET_SECONDS}, 'unixepoch') AS day, locale,
               sum(n) AS searches, sum(requests) AS requests, sum(zero) AS zero_results,
               sum(fallbacks) AS fallbacks, sum(clicked) AS clicked,
               round(1.0 * sum(zero) / nullif(sum(n), 0), 4) AS zero_result_rate,
               round(1.0 * sum(fallbacks) / nullif(sum(n), 0), 4) AS fallback_rate
        FROM {src} GROUP BY 1, 2 ORDER BY 1, 2
        """
    return _read(conn, since, [lambda c: _rows(c, sql, params)])[0]


# -- HTTP edge ---------------------------------------------------------------------------------


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(name, "must be a whole number") from None
    if not low <= value <= high:
        raise InvalidParameter(name, f"must be between {low} and {high}")
    return value


def _params() -> tuple[str | None, float, int, int, str]:
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise InvalidParameter("format", "must be json or csv")
    locale = request.args.get("locale", "").strip() or None
    if locale and len(locale) > 35:
        raise InvalidParameter("locale", "must be at most 35 characters")
    days = _int("days", 30, 1, 3650)
    limit = _int("limit", 50, 1, 1000)
    return locale, time.time() - days * 86400, days, limit, fmt


def _cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(name: str, rows: list[dict], columns: list[str]) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    resp = Response(buf.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="insights-{name}.csv"'
    return resp


def _query_with_budget(path, query, args, extra) -> list | None:
    """The rows, or None when the budget ran out (no exception crosses gevent's pool: it would
    log a traceback for an expected outcome)."""
    conn = connect(path)
    deadline = time.monotonic() + QUERY_SECONDS
    conn.set_progress_handler(lambda: time.monotonic() > deadline, 10000)
    try:
        # Bring the rollup up to date first, within part of the budget: what is left stays
        # dirty and is read raw (still right, only slower) until a later request finishes it.
        try:
            rollup.refresh(conn, budget=QUERY_SECONDS * REFRESH_SHARE)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise
            # Locked past the busy timeout by writers, or a read-only file: answer anyway.
            log.warning("insights: rollup refresh skipped: %s", exc)
        return query(conn, *args, **extra)
    except sqlite3.OperationalError as exc:
        if "interrupted" not in str(exc):
            raise
        return None
    finally:
        conn.close()


def _off_loop(fn, *args):
    """``fn(*args)``; under the gevent worker in a thread of the hub's pool, so the worker's
    other greenlets (searches, ``/healthz``) are served meanwhile (SQLite releases the GIL)."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return fn(*args)
    if not monkey.is_module_patched("socket"):
        return fn(*args)
    import gevent

    return gevent.get_hub().threadpool.apply(fn, args)


def _run(query, *args, **extra) -> list:
    """``query(conn, *args)`` on a new connection, stopped after :data:`QUERY_SECONDS`."""
    rows = _off_loop(_query_with_budget, get_recorder().path, query, args, extra)
    if rows is None:
        raise InsightsTimeout(
            f"The insights query took longer than {QUERY_SECONDS:g} s: ask for fewer days or"
            " one locale.",
            retry_after=60,
        )
    return rows


def _answer(name: str, query, columns: list[str], **extra):
    locale, since, days, limit, fmt = _params()
    recorder = get_recorder()
    rows = _run(query, locale, since, limit, **extra)
    if fmt == "csv":
        return _csv(name, rows, columns)
    return jsonify(
        {
            "locale": locale,
            "days": days,
            "recording": recorder.enabled,
            "dropped": recorder.dropped,
            name.replace("-", "_"): rows,
        }
    )


@bp.get("/insights/queries")
def insights_queries():
    """Top queries with searches, click-through rate and zero-result rate."""
    cols = ["query", "searches", "click_through_rate", "zero_result_rate", "fallback_rate"]
    return _answer("queries", top_queries, cols)


@bp.get("/insights/zero-results")
def insights_zero_results():
    """Top queries with no result."""
    cols = ["query", "searches", "locales", "corrected", "last_seen"]
    return _answer("zero-results", zero_results, cols)


@bp.get("/insights/fallbacks")
def insights_fallbacks():
    """Per locale: fallback share, top queries answered in English, English articles clicked."""
    locale, since, days, limit, fmt = _params()
    rows = _run(fallbacks, locale, since, limit)
    if fmt == "json":
        return jsonify({"locale": locale, "days": days, "fallbacks": rows})
    # One flat table: a summary line per locale, then its queries and its clicked articles.
    flat = []
    for row in rows:
        base = {k: row[k] for k in ("locale", "searches", "fallback_searches", "fallback_share")}
        flat.append({**base, "kind": "summary"})
        flat += [
            {**base, "kind": "query", "item": q["query"], "count": q["searches"]}
            for q in row["top_queries"]
        ]
        flat += [
            {**base, "kind": "english_article_clicked", "item": c["article"], "count": c["clicks"]}
            for c in row["english_articles_clicked"]
        ]
    cols = ["locale", "searches", "fallback_searches", "fallback_share", "kind", "item", "count"]
    return _csv("fallbacks", flat, cols)


@bp.get("/insights/articles")
def insights_articles():
    """Per article: shown, clicked, click-through rate, helpful and not helpful."""
    sort = request.args.get("sort", "shown")
    if sort not in ARTICLE_ORDER:
        raise InvalidParameter("sort", "must be one of shown, clicks, helpful, not_helpful")
    cols = [
        "article",
        "locale",
        "id",
        "shown",
        "clicks",
        "click_through_rate",
        "helpful",
        "not_helpful",
    ]
    return _answer("articles", articles, cols, sort=sort)


@bp.get("/insights/daily")
def insights_daily():
    """Per UTC day and locale: searches, zero results, fallbacks, searches with a click."""
    cols = [
        "day",
        "locale",
        "searches",
        "requests",
        "zero_results",
        "fallbacks",
        "clicked",
        "zero_result_rate",
        "fallback_rate",
    ]
    return _answer("daily", daily, cols)
