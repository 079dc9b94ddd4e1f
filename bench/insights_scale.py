"""Cost of each insights query over a big analytics database (issue #12 bounded cost, #17 rollup).

Generates ``--searches`` search rows (Zipf-ish queries, 12 locales, 30 days, 8 articles shown
each) and ``--events`` events in a temporary SQLite file with the service's own schema, then
times each insights query (the dashboard's filters: 30 days, limit 25, all locales and one):

- *raw*: the queries over every row of the period (:mod:`helpapi.insights_raw`, what the service
  ran before the rollup), with the query plan's full scans (``--skip-raw`` leaves them out);
- *rollup*: the first build of the hourly rollup (:func:`helpapi.rollup.refresh`), then, after
  a minute of new traffic is written, the refresh an insights request runs and each query as the
  service runs it (:mod:`helpapi.insights`), and whether its answer equals the raw one.

Prints figures only; asserts nothing.

    .venv/bin/python bench/insights_scale.py [--searches 1000000 --events 200000] [--skip-raw]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from helpapi import insights
from helpapi import insights_raw
from helpapi import rollup
from helpapi.analytics import connect

LOCALES = ["en-US", "de-DE", "fr-FR", "ja-JP", "zh-CN", "ar-SA", "he-IL", "fi-FI", "sv-SE"]
LOCALES += ["uk-UA", "pt-BR", "es-ES"]


def generate(path: Path, searches: int, events: int, seed: int = 7) -> None:
    """Fill the database at ``path`` with synthetic rows (deterministic for one seed)."""
    rng = random.Random(seed)
    conn = connect(path)
    now = time.time()
    qids = []

    def search_rows():
        for i in range(searches):
            qid = f"{i:016x}"
            if i % max(1, searches // max(1, events)) == 0:
                qids.append(qid)
            # Zipf-ish: a few head queries, a long tail of unique ones (typed by strangers).
            rank = int(rng.paretovariate(0.8))
            query = f"query {rank}" if rank < 5000 else f"tail {i}"
            req = rng.choice(LOCALES)
            fallback = int(rng.random() < 0.2)
            served = "en-US" if fallback else req
            total = 0 if rng.random() < 0.1 else rng.randint(1, 40)
            arts = [f"article-{rng.randint(1, 3000)}" for _ in range(min(total, 8))]
            yield (
                qid,
                now - rng.random() * 30 * 86400,
                query,
                req,
                served,
                fallback,
                total,
                0,
                8,
                None,
                3.0,
                "[" + ",".join(f'"{a}"' for a in arts) + "]",
                None,  # refines
                0,  # filtered_out
            )

    with conn:
        conn.executemany(insights_insert(), search_rows())
    kinds = ["click", "click", "click", "helpful", "not_helpful"]
    with conn:
        conn.executemany(
            "INSERT INTO events (ts, type, query_id, article, position) VALUES (?,?,?,?,?)",
            (
                (
                    now - rng.random() * 30 * 86400,
                    rng.choice(kinds),
                    rng.choice(qids),
                    f"article-{rng.randint(1, 3000)}",
                    rng.randint(0, 7),
                )
                for _ in range(events)
            ),
        )
    conn.close()


def insights_insert() -> str:
    """The recorder's own INSERT statement for a search row."""
    from helpapi.analytics import _INSERT_SEARCH

    return _INSERT_SEARCH


def plan_scans(conn, fn, locale, since, limit) -> list[str]:
    """The ``SCAN`` steps (no index) of the query plans of one insights function."""
    seen: list[str] = []
    real = conn.execute

    class Spy:
        def execute(self, sql, params=()):
            for row in real("EXPLAIN QUERY PLAN " + sql, params):
                if row[-1].startswith("SCAN") and row[-1] not in seen:
                    seen.append(row[-1])
            return real(sql, params)

    fn(Spy(), locale, since, limit)
    return seen


FUNCS = ["daily", "top_queries", "zero_results", "fallbacks", "articles"]


def new_minute(path: Path, searches_per_month: int, seed: int = 11) -> int:
    """Write a minute of traffic at the current rate (searches and a fifth as many clicks)."""
    rng = random.Random(seed)
    n = max(1, searches_per_month // (30 * 24 * 60))
    now = time.time()
    conn = connect(path)
    rows = [
        (
            f"new{i:012x}",
            now - rng.random() * 60,
            f"query {int(rng.paretovariate(0.8))}",
            rng.choice(LOCALES),
            "en-US",
            1,
            3,
            0,
            8,
            None,
            3.0,
            '["article-1"]',
            None,
        )
        for i in range(n)
    ]
    with conn:
        conn.executemany(insights_insert(), rows)
        conn.executemany(
            "INSERT INTO events (ts, type, query_id, article, position) VALUES (?,'click',?,?,0)",
            [(now, r[0], "article-1") for r in rows[: max(1, n // 5)]],
        )
    conn.close()
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--searches", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--limit", type=int, default=25)
    ap.add_argument("--skip-raw", action="store_true", help="time the rollup side only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "analytics.sqlite3"
        t0 = time.perf_counter()
        generate(path, args.searches, args.events)
        size = path.stat().st_size / 1e6
        print(f"generated {args.searches} searches + {args.events} events: {size:.0f} MB,")
        print(f"  {time.perf_counter() - t0:.1f} s")
        conn = connect(path)
        t = time.perf_counter()
        stats = rollup.refresh(conn)
        size = path.stat().st_size / 1e6
        print(
            f"rollup first build: {time.perf_counter() - t:.1f} s, {stats}, file now {size:.0f} MB"
        )
        for table in ("searches", "queries", "shown", "events"):
            n = conn.execute(f"SELECT count(*) FROM rollup_{table}").fetchone()[0]
            print(f"  rollup_{table}: {n} rows")
        conn.close()
        added = new_minute(path, args.searches)
        conn = connect(path)
        t = time.perf_counter()
        stats = rollup.refresh(conn)
        print(
            f"a minute of traffic ({added} searches) later, refresh: "
            f"{(time.perf_counter() - t) * 1000:.0f} ms, {stats}"
        )
        since = time.time() - args.days * 86400
        print("| query | locale | raw ms | rollup ms | rows | same answer | raw full scans |")
        print("| --- | --- | ---: | ---: | ---: | --- | --- |")
        for fn in FUNCS:
            for locale in (None, "de-DE"):
                t = time.perf_counter()
                got = getattr(insights, fn)(conn, locale, since, args.limit)
                ms = (time.perf_counter() - t) * 1000
                raw_ms, same, scans = "-", "-", "-"
                if not args.skip_raw:
                    raw = getattr(insights_raw, fn)
                    t = time.perf_counter()
                    want = raw(conn, locale, since, args.limit)
                    raw_ms = f"{(time.perf_counter() - t) * 1000:.0f}"
                    if fn == "zero_results":  # locale lists: same set, order as met
                        want = [{**r, "locales": sorted(r["locales"].split(","))} for r in want]
                        got = [{**r, "locales": sorted(r["locales"].split(","))} for r in got]
                    same = "yes" if got == want else "NO"
                    scans = "; ".join(plan_scans(conn, raw, locale, since, args.limit)) or "-"
                name = fn.replace("top_", "").replace("_", "-")
                print(
                    f"| {name} | {locale or 'all'} | {raw_ms} | {ms:.0f} | {len(got)} |"
                    f" {same} | {scans} |"
                )
        conn.close()


if __name__ == "__main__":
    main()
