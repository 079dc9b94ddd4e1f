"""The insights queries over the raw rows: the definition the rollup's answers must equal.

These are the queries :mod:`helpapi.insights` ran before the rollup (:mod:`helpapi.rollup`):
each reads every row of its period, so their cost grows with traffic. They are kept as the
reference the equivalence tests (tests/test_insights_rollup.py) and ``bench/insights_scale.py``
compare the rollup against; the service does not call them.
"""

from __future__ import annotations

from .insights import ARTICLE_ORDER
from .insights import _rows
from .insights import articles_select
from .insights import fallback_rows
from .rollup import ZERO

# The locale a search is counted under: what was asked for, else what answered.
_LOCALE = "coalesce(s.requested_locale, s.locale)"
# Not superseded: no later search refines it, or its results were acted on.
_FINAL = (
    "(NOT EXISTS (SELECT 1 FROM searches r WHERE r.refines = s.query_id)"
    " OR EXISTS (SELECT 1 FROM events x WHERE x.query_id = s.query_id))"
)
# An entry of ``searches.articles``: [slug, locale, id], or an id in rows from before that.
_SHOWN_SLUG = "CASE j.type WHEN 'array' THEN json_extract(j.value, '$[0]') ELSE j.value END"
_SHOWN_LOCALE = "CASE j.type WHEN 'array' THEN json_extract(j.value, '$[1]') ELSE s.locale END"
_SHOWN_ID = "CASE j.type WHEN 'array' THEN json_extract(j.value, '$[2]') ELSE j.value END"


def _where(locale: str | None, since: float, final: bool = True) -> tuple[str, list]:
    sql, params = "s.ts >= ?", [since]
    if final:
        sql += f" AND {_FINAL}"
    if locale:
        sql += f" AND lower({_LOCALE}) = lower(?)"
        params.append(locale)
    return sql, params


def top_queries(conn, locale, since, limit) -> list[dict]:
    """Top queries: searches, click-through rate and zero-result rate."""
    where, params = _where(locale, since)
    return _rows(
        conn,
        f"""
        SELECT s.query AS query, count(*) AS searches,
               round(avg(c.query_id IS NOT NULL), 4) AS click_through_rate,
               round(avg({ZERO}), 4) AS zero_result_rate,
               round(avg(s.fallback), 4) AS fallback_rate
        FROM searches s
        LEFT JOIN (SELECT DISTINCT query_id FROM events WHERE type = 'click') c
               ON c.query_id = s.query_id
        WHERE {where}
        GROUP BY s.query ORDER BY searches DESC, s.query LIMIT ?
        """,
        [*params, limit],
    )


def zero_results(conn, locale, since, limit) -> list[dict]:
    """Top queries that found nothing, with the locales asked and the correction offered."""
    where, params = _where(locale, since)
    return _rows(
        conn,
        f"""
        SELECT s.query AS query, count(*) AS searches,
               group_concat(DISTINCT {_LOCALE}) AS locales,
               max(s.corrected) AS corrected, max(s.ts) AS last_seen
        FROM searches s
        WHERE {where} AND {ZERO}
        GROUP BY s.query ORDER BY searches DESC, s.query LIMIT ?
        """,
        [*params, limit],
    )


def fallbacks(conn, locale, since, limit) -> list[dict]:
    """Per locale: share answered from English, top such queries, English articles clicked."""
    where, params = _where(locale, since)
    summary = _rows(
        conn,
        f"""
        SELECT {_LOCALE} AS locale, count(*) AS searches, sum(s.fallback) AS fallback_searches,
               round(avg(s.fallback), 4) AS fallback_share
        FROM searches s WHERE {where}
        GROUP BY 1 ORDER BY fallback_searches DESC, searches DESC, 1
        """,
        params,
    )
    # Only the top ``limit`` of each locale leave SQLite (the queries are typed by strangers:
    # there may be a million distinct ones).
    queries = _rows(
        conn,
        f"""
        SELECT locale, query, searches FROM (
            SELECT {_LOCALE} AS locale, s.query AS query, count(*) AS searches,
                   row_number() OVER (PARTITION BY {_LOCALE} ORDER BY count(*) DESC, s.query) AS r
            FROM searches s WHERE {where} AND s.fallback = 1
            GROUP BY 1, 2
        ) WHERE r <= ? ORDER BY searches DESC, query
        """,
        [*params, limit],
    )
    clicked = _rows(
        conn,
        f"""
        SELECT locale, article, article_locale, id, clicks FROM (
            SELECT {_LOCALE} AS locale, e.article AS article,
                   coalesce(e.locale, s.locale) AS article_locale, max(e.article_id) AS id,
                   count(*) AS clicks,
                   row_number() OVER (
                       PARTITION BY {_LOCALE}
                       ORDER BY count(*) DESC, e.article, coalesce(e.locale, s.locale)
                   ) AS r
            FROM events e JOIN searches s ON s.query_id = e.query_id
            WHERE {where} AND e.type = 'click' AND s.fallback = 1
            GROUP BY 1, 2, 3
        ) WHERE r <= ? ORDER BY clicks DESC, article, article_locale
        """,
        [*params, limit],
    )
    return fallback_rows(summary, queries, clicked, limit)


def articles(conn, locale, since, limit, sort="shown") -> list[dict]:
    """Per article (slug and locale): shown, clicks, click-through rate, helpful, not helpful."""
    where, params = _where(locale, since)
    order = ARTICLE_ORDER[sort]
    return _rows(
        conn,
        f"""
        WITH shown AS (
            SELECT {_SHOWN_SLUG} AS article, {_SHOWN_LOCALE} AS locale, max({_SHOWN_ID}) AS id,
                   count(*) AS n
            FROM searches s, json_each(s.articles) j WHERE {where} GROUP BY 1, 2
        ), ev AS (
            SELECT e.article AS article, coalesce(e.locale, s.locale) AS locale,
                   max(e.article_id) AS id,
                   sum(e.type = 'click') AS clicks,
                   sum(e.type = 'helpful') AS helpful,
                   sum(e.type = 'not_helpful') AS not_helpful
            FROM events e JOIN searches s ON s.query_id = e.query_id
            WHERE {where} GROUP BY 1, 2
        )"""
        + articles_select(order),
        [*params, *params, limit],
    )


def daily(conn, locale, since, limit=None) -> list[dict]:
    """Per UTC day and locale: searches, requests, zero results, fallbacks, searches clicked.

    ``searches`` and the rates count final searches; ``requests`` counts every search answered
    (keystrokes of search as you type included). The dashboard's time series. ``limit`` is
    not applied: the rows are bounded by the days asked for times the locales seen, and a cut
    series would draw a false chart.
    """
    where, params = _where(locale, since, final=False)
    return _rows(
        conn,
        f"""
        SELECT day, locale, sum(final) AS searches, count(*) AS requests,
               sum(final AND zero) AS zero_results, sum(final AND fallback) AS fallbacks,
               sum(final AND clicked) AS clicked,
               round(1.0 * sum(final AND zero) / nullif(sum(final), 0), 4)
                   AS zero_result_rate,
               round(1.0 * sum(final AND fallback) / nullif(sum(final), 0), 4) AS fallback_rate
        FROM (
            SELECT date(s.ts, 'unixepoch') AS day, {_LOCALE} AS locale, {_FINAL} AS final,
                   {ZERO} AS zero, s.fallback AS fallback, c.query_id IS NOT NULL AS clicked
            FROM searches s
            LEFT JOIN (SELECT DISTINCT query_id FROM events WHERE type = 'click') c
                   ON c.query_id = s.query_id
            WHERE {where}
        )
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        params,
    )
