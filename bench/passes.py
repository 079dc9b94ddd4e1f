"""In-process search latency per query set (warm process, result cache off): p50 / p99 in ms.

Run with the code to measure on its own index, e.g. main's code before and a branch's after:
    .venv/bin/python bench/passes.py --index /tmp/h-engine-index --sets typo,title,body
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from helpapi.search import open_current
from helpapi.search import search

QUERIES = Path("/work/shared/queries")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--index", required=True)
    ap.add_argument("--sets", default="typo,title,body")
    ap.add_argument("--sample", type=int, default=1, help="every Nth query")
    args = ap.parse_args()
    with open_current(Path(args.index)) as ix:
        for name in args.sets.split(","):
            lines = (QUERIES / f"{name}.jsonl").read_text().splitlines()[:: args.sample]
            queries = [json.loads(x) for x in lines]
            for q in queries[:20]:  # warm the caches of every locale's files
                search(ix, q["q"], q["locale"])
            times = []
            for q in queries:
                t = time.process_time()
                search(ix, q["q"], q["locale"])
                times.append((time.process_time() - t) * 1000)
            times.sort()
            p50, p99 = times[len(times) // 2], times[min(len(times) - 1, len(times) * 99 // 100)]
            print(
                f"{name} n={len(times)} p50 {p50:7.3f} ms  p99 {p99:7.3f} ms  max {times[-1]:6.1f}"
            )


if __name__ == "__main__":
    main()
