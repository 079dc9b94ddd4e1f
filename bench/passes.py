"""In-process search latency per query set (warm process, result cache off): p50 / p99 in ms.

Every set of ../shared/queries by default; the ``prefix`` set is sent with ``prefix=true``
(as-you-type), the others without. CPU time of the calling thread per search (process_time),
after 20 warm-up searches per set (spread over the set, so every locale's files are
read), so the figures are a warm process's, never a cold one's.

Run with the code to measure on its own index, e.g. main's code before and a branch's after:
    .venv/bin/python bench/passes.py --index /tmp/h-engine-index --sets typo,title,body

``--dump FILE`` writes every query's answer (total, corrected and the top-10 ids with scores)
as JSON lines, to check that a pure speed-up leaves the answers identical (``cmp`` two dumps).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

from helpapi.search import open_current
from helpapi.search import search

QUERIES = Path("/work/shared/queries")
SETS = "title,body,xling,kw,prefix,typo"


def answer_fields(q: dict, found: dict) -> dict:
    """What a ``--dump`` row holds of one answer (after its ``set``): the query, the locale
    that answered, total, correction and the top results' ids, scores and snippets. One
    definition for this script and bench/filters.py, whose plain rows ``cmp`` with these."""
    return {
        "q": q["q"],
        "locale": found["locale"],
        "total": found["total"],
        "corrected": found["corrected"],
        "top": [[r["id"], r["score"], r["snippet"]] for r in found["results"]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--index", required=True)
    ap.add_argument("--sets", default=SETS)
    ap.add_argument("--sample", type=int, default=1, help="every Nth query")
    ap.add_argument("--dump", help="write each answer's top 10 here (JSON lines)")
    ap.add_argument(
        "--gc",
        choices=("worker", "python"),
        default="worker",
        help="collector thresholds: a gunicorn worker's (helpapi.runtime.tune_gc) or CPython's",
    )
    args = ap.parse_args()
    if args.gc == "worker":
        # As a serving worker runs (gunicorn.conf.py's post_worker_init).
        from helpapi.runtime import tune_gc

        tune_gc()
    print(f"gc thresholds {gc.get_threshold()}")
    dump = open(args.dump, "w", encoding="utf-8") if args.dump else None
    with open_current(Path(args.index)) as ix:
        for name in args.sets.split(","):
            lines = (QUERIES / f"{name}.jsonl").read_text().splitlines()[:: args.sample]
            queries = [json.loads(x) for x in lines if x.strip()]
            prefix = name == "prefix"
            # Spread over the set: the sets are sorted by locale, and every locale's files
            # must be read before the timed runs.
            for q in queries[:: max(1, len(queries) // 20)][:20]:
                search(ix, q["q"], q["locale"], prefix=prefix)
            times = []
            for q in queries:
                t = time.process_time()
                found = search(ix, q["q"], q["locale"], prefix=prefix)
                times.append((time.process_time() - t) * 1000)
                if dump:
                    row = {"set": name, **answer_fields(q, found)}
                    dump.write(json.dumps(row, ensure_ascii=False) + "\n")
            times.sort()
            p50, p99 = times[len(times) // 2], times[min(len(times) - 1, len(times) * 99 // 100)]
            print(
                f"{name:6} n={len(times):5} p50 {p50:7.3f} ms  p99 {p99:7.3f} ms"
                f"  max {times[-1]:6.1f}",
                flush=True,
            )
    if dump:
        dump.close()


if __name__ == "__main__":
    main()
