"""In-process search latency with and without filters (issue #18 item 6): p50 / p99 in ms.

Like ``bench/passes.py`` (warm process, result cache off, CPU time of the calling thread per
search, 20 warm-up searches per set), each query is searched back to back in every variant
(in rotated order):

* ``plain``: no scope (the answer without this feature);
* ``admin``: ``filter=audience:Admin`` (the common audience: most documents pass);
* ``itpro``: ``filter=audience:ITPro`` (a narrower one);
* ``facets``: ``filter=audience:ITPro`` with ``facets=audience,service`` (one more run for the
  disjunctive audience counts);
* ``updated``: ``sort=updated`` without a filter.

Run on an index built with this code (it needs ``facets.json``):
    .venv/bin/python bench/filters.py --index /tmp/o-facets-index --sets title,body,kw,prefix,typo

``--dump FILE`` writes the ``plain`` answers as ``bench/passes.py --dump`` does (same rows), to
``cmp`` with main's passes.py on the same index: no filter, answers unchanged.
``--dump-filtered FILE`` writes every variant's answer (total, correction, top 10 with scores
and snippets, facet counts), to ``cmp`` before and after a change to the filtered passes: run
this script with the other checkout's interpreter (``/work/main/.venv/bin/python
bench/filters.py ...`` imports main's helpapi).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from helpapi import facets
from helpapi.search import open_current
from helpapi.search import search

QUERIES = Path("/work/shared/queries")
SETS = "title,body,xling,kw,prefix,typo"
VARIANTS = {
    "plain": None,
    "admin": facets.Scope(filters=(("audience", ("admin",)),)),
    "itpro": facets.Scope(filters=(("audience", ("itpro",)),)),
    "facets": facets.Scope(filters=(("audience", ("itpro",)),), facets=("audience", "service")),
    "updated": facets.Scope(sort="updated"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--index", required=True)
    ap.add_argument("--sets", default=SETS)
    ap.add_argument("--sample", type=int, default=1, help="every Nth query")
    ap.add_argument("--dump", help="write each plain answer's top 10 here (JSON lines)")
    ap.add_argument("--dump-filtered", help="write every variant's answer here (JSON lines)")
    args = ap.parse_args()
    dump = open(args.dump, "w", encoding="utf-8") if args.dump else None
    dumpf = open(args.dump_filtered, "w", encoding="utf-8") if args.dump_filtered else None
    with open_current(Path(args.index)) as ix:
        for name in args.sets.split(","):
            lines = (QUERIES / f"{name}.jsonl").read_text().splitlines()[:: args.sample]
            queries = [json.loads(x) for x in lines if x.strip()]
            prefix = name == "prefix"
            for q in queries[:20]:
                for scope in VARIANTS.values():
                    search(ix, q["q"], q["locale"], prefix=prefix, scope=scope)
            times: dict[str, list[float]] = {v: [] for v in VARIANTS}
            totals: dict[str, int] = dict.fromkeys(VARIANTS, 0)
            names = list(VARIANTS)
            for i, q in enumerate(queries):
                # Rotated, so that no variant always pays the query's first (cold) search.
                for variant in names[i % len(names) :] + names[: i % len(names)]:
                    scope = VARIANTS[variant]
                    t = time.process_time()
                    found = search(ix, q["q"], q["locale"], prefix=prefix, scope=scope)
                    times[variant].append((time.process_time() - t) * 1000)
                    totals[variant] += found["total"]
                    if dump and scope is None:
                        row = {
                            "set": name,
                            "q": q["q"],
                            "locale": found["locale"],
                            "total": found["total"],
                            "corrected": found["corrected"],
                            "top": [[r["id"], r["score"], r["snippet"]] for r in found["results"]],
                        }
                        dump.write(json.dumps(row, ensure_ascii=False) + "\n")
                    if dumpf:
                        row = {
                            "set": name,
                            "variant": variant,
                            "q": q["q"],
                            "locale": found["locale"],
                            "total": found["total"],
                            "corrected": found["corrected"],
                            "top": [[r["id"], r["score"], r["snippet"]] for r in found["results"]],
                            "facets": found.get("facets"),
                        }
                        dumpf.write(json.dumps(row, ensure_ascii=False) + "\n")
            for variant, spent in times.items():
                spent.sort()
                n = len(spent)
                p50, p99 = spent[n // 2], spent[min(n - 1, n * 99 // 100)]
                print(
                    f"{name:6} {variant:7} n={n:5} p50 {p50:7.3f} ms  p99 {p99:7.3f} ms"
                    f"  max {spent[-1]:6.1f}  mean total {totals[variant] / max(n, 1):8.1f}",
                    flush=True,
                )
    for f in (dump, dumpf):
        if f:
            f.close()


if __name__ == "__main__":
    main()
