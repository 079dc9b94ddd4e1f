"""The queries of a half whose expected article is not first, with the titles ranked above it.

Reads the sets of :mod:`quality` (same halves, same ``--set`` overrides) and prints, per kind,
each miss (locale, rank or None, total, query, expected paths), the expected article's title
and score, and up to three titles above it; then the kind's MRR@10. For finding the general
causes of misses on the **tuning** half (the default here) before choosing a method:

    python bench/misses.py --index /tmp/dev-index-head [--kinds kw,prefix] [--half tune]
        [--set TITLE_START_BOOST=0.0]
    python bench/misses.py --scale [--kinds title,body] [--locales fi-FI,hu-HU]   # queries-scale
"""

from __future__ import annotations

import argparse
from pathlib import Path

import quality

from helpapi import ranking
from helpapi import search as hs


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index")
    ap.add_argument("--kinds")
    ap.add_argument("--scale", action="store_true", help="queries-scale on a scale index")
    ap.add_argument("--queries", type=Path, help="folder of the <kind>.jsonl query sets")
    ap.add_argument("--locales", help="only these locales (comma-separated)")
    ap.add_argument("--half", choices=quality.HALVES, default="tune")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args(argv)
    queries_dir = args.queries or quality.SHARED / ("queries-scale" if args.scale else "queries")
    index = args.index or ("/tmp/helpapi-scale-index" if args.scale else "/tmp/helpapi-bench-index")
    kinds = args.kinds or (
        quality.SCALE_KINDS if args.scale else "title,body,xling,kw,prefix,typo,free"
    )
    locales = set(args.locales.split(",")) if args.locales else None
    for item in args.set:
        name, _, value = item.partition("=")
        old = getattr(ranking, name)
        setattr(ranking, name, type(old)(value == "True" if isinstance(old, bool) else value))
    ixset = hs.open_current(Path(index))
    for kind in kinds.split(","):
        queries = quality.queries_of(kind, args.half, queries_dir)
        queries = [q for q in queries if locales is None or q["locale"] in locales]
        misses, rr = 0, 0.0
        for q in queries:
            ans = hs.search(ixset, q["q"], q["locale"], limit=10, prefix=q.get("prefix", False))
            res = ans["results"]
            rank = next((i for i, h in enumerate(res, 1) if quality.matches(h, q)), None)
            rr += 1 / rank if rank else 0.0
            if rank == 1:
                continue
            misses += 1
            print(
                f"[{kind}] {q['locale']} rank={rank} total={ans['total']} q={q['q']!r} "
                f"want={q.get('expect_paths')}"
            )
            if rank:
                print(f"      target: {res[rank - 1]['title']!r} {res[rank - 1]['score']}")
            for h in res[: (rank or 4) - 1][:3]:
                print(f"      above: {h['title']!r} {h['score']}")
        print(f"== {kind}: {len(queries)} queries, {misses} not first, MRR {rr / len(queries):.4f}")


if __name__ == "__main__":
    main()
