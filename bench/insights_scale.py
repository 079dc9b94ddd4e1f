"""Cost of each insights query over a big analytics database (issue #12: bounded cost).

Generates ``--searches`` search rows (Zipf-ish queries, 12 locales, 30 days, 8 articles shown
each) and ``--events`` events in a temporary SQLite file with the service's own schema, then
times each :mod:`helpapi.insights` query (the dashboard's filters: 30 days, limit 25, all
locales and one locale) and prints wall ms, rows returned and the query plan's full scans.
Prints figures only; asserts nothing.

    .venv/bin/python bench/insights_scale.py [--searches 1000000 --events 200000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from helpapi import insights
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--searches", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--limit", type=int, default=25)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "analytics.sqlite3"
        t0 = time.perf_counter()
        generate(path, args.searches, args.events)
        size = path.stat().st_size / 1e6
        print(f"generated {args.searches} searches + {args.events} events: {size:.0f} MB,")
        print(f"  {time.perf_counter() - t0:.1f} s")
        conn = connect(path)
        since = time.time() - args.days * 86400
        print("| query | locale | ms | rows | full scans |")
        print("| --- | --- | ---: | ---: | --- |")
        for name, fn in [
            ("daily", insights.daily),
            ("queries", insights.top_queries),
            ("zero-results", insights.zero_results),
            ("fallbacks", insights.fallbacks),
            ("articles", insights.articles),
        ]:
            for locale in (None, "de-DE"):
                t = time.perf_counter()
                rows = fn(conn, locale, since, args.limit)
                ms = (time.perf_counter() - t) * 1000
                scans = "; ".join(plan_scans(conn, fn, locale, since, args.limit)) or "-"
                print(f"| {name} | {locale or 'all'} | {ms:.0f} | {len(rows)} | {scans} |")
        conn.close()


if __name__ == "__main__":
    main()
