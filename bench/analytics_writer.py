"""The analytics writer's cost a row, in process: query id kind x insert method, at a table size.

For each variant a fresh database gets ``--rows`` searches (written the variant's way), then
``--measure`` more are written in transactions of ``--batch`` rows, timed: CPU (the writer's
thread; SQLite's page reads and writes are in it) and wall microseconds a row.

- ids ``random``: 64 random bits (``secrets.token_hex(8)``, before issue #17 item 7);
  ``time``: :func:`helpapi.analytics.new_query_id` (milliseconds, then 32 random bits).
- insert ``executemany``: one SQLite step, and one GIL release and take back, a row (before);
  ``multirow``: :func:`helpapi.analytics._write` (64/16/4/1-row INSERT statements).

    python bench/analytics_writer.py [--rows 300000] [--measure 20000] [--batch 100]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpapi import analytics  # noqa: E402

ROW = {
    "query": "how to reset my password",
    "requested_locale": "de-DE",
    "locale": "de-DE",
    "fallback": False,
    "total": 12,
    "offset": 0,
    "limit": 10,
    "corrected": None,
    "ms": 1.23,
    "refines": None,
    # A full page of ten results, as the title queries of bench/analytics_cost.py get.
    "articles": [
        [f"reset-or-change-passwords-{i}", "de-DE", f"76b5ef9d-{i:04d}"] for i in range(10)
    ],
}


def items(n: int, ids: str) -> list:
    """``n`` queued search records, as the request side queues them."""
    make = analytics.new_query_id if ids == "time" else lambda: secrets.token_hex(8)
    return [
        (analytics._INSERT_SEARCH, ({**ROW, "query_id": make()}, time.time())) for _ in range(n)
    ]


def write(conn, batch: list, insert: str) -> None:
    if insert == "multirow":
        analytics._write(conn, batch)
    else:
        with conn:
            conn.executemany(
                analytics._INSERT_SEARCH, [analytics._search_params(r, ts) for _, (r, ts) in batch]
            )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=300_000, help="rows in the table before timing")
    ap.add_argument("--measure", type=int, default=20_000, help="rows written while timed")
    ap.add_argument("--batch", type=int, default=100, help="rows a transaction")
    args = ap.parse_args()
    print(f"table of {args.rows} rows, then {args.measure} timed in transactions of {args.batch}")
    print("| ids | insert | CPU us/row | wall us/row |")
    print("|---|---|---:|---:|")
    for ids, insert in (
        ("random", "executemany"),
        ("random", "multirow"),
        ("time", "executemany"),
        ("time", "multirow"),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            conn = analytics.connect(Path(tmp) / "a.sqlite3")
            todo = items(args.rows, ids)
            for i in range(0, len(todo), 1000):
                write(conn, todo[i : i + 1000], insert)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            todo = items(args.measure, ids)
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(0, len(todo), args.batch):
                write(conn, todo[i : i + args.batch], insert)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            conn.close()
        cpu_us, wall_us = cpu * 1e6 / args.measure, wall * 1e6 / args.measure
        print(f"| {ids} | {insert} | {cpu_us:.1f} | {wall_us:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
