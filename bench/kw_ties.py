"""Which misses of a query set are ties on the title: the first result's title holds every
unit of the query as well as the expected article's does.

Per locale of a half (default ``tune``) of ``quality.py``'s sets (default ``kw``): queries,
misses (expected article not first), how many of those are ties (both titles hold every
unit: :func:`helpapi.engine.title_cover` scores both), and two reference MRR@10: with every
tie among the title holders broken at random (the expected reciprocal rank among ``k``
holders is ``H(k) / k``), and the measured one. A tie is an answer the query itself cannot
tell apart: only the benchmark's choice of article does. For reading the causes of misses
before choosing a method (no figures to tune on):

    python bench/kw_ties.py --index /tmp/helpapi-regen-index [--kind kw] [--half tune] [-v]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import quality

from helpapi import engine
from helpapi import search as hs
from helpapi.query import parse_user_text
from helpapi.query import query_title_key


def _title_holders(mem, text: str, locale: str, prefix: bool) -> list[int]:
    """The strict pass's first candidates (the re-ranked depth) whose title holds every unit."""
    units = parse_user_text(text, locale, prefix=prefix)
    key = "" if prefix else query_title_key(text, locale)
    docs = [d for d, _ in engine.strict(mem, units, key)[: hs.ranking.RERANK_DEPTH]]
    return list(engine.title_cover(mem, units, docs))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", default="/tmp/helpapi-bench-index")
    ap.add_argument("--kind", default="kw")
    ap.add_argument("--half", choices=quality.HALVES, default="tune")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each miss")
    args = ap.parse_args(argv)
    ixset = hs.open_current(Path(args.index))
    rows = defaultdict(lambda: {"n": 0, "miss": 0, "tie": 0, "random": 0.0, "rr": 0.0})
    for q in quality.queries_of(args.kind, args.half, quality.SHARED / "queries"):
        loc, prefix = q["locale"], q.get("prefix", False)
        row = rows[loc]
        row["n"] += 1
        found = hs.search(ixset, q["q"], loc, limit=10, prefix=prefix)["results"]
        rank = next((i for i, h in enumerate(found, 1) if quality.matches(h, q)), None)
        row["rr"] += 1 / rank if rank else 0.0
        mem = ixset.mem[loc]
        holders = _title_holders(mem, q["q"], loc, prefix)
        hits = [ixset.display[loc].hit(d)[:2] for d in holders]
        slugs = [slug for slug, _ in hits]
        wanted = [s for s, a in hits if quality.matches({"slug": s, "assetid": a}, q)]
        if wanted:
            k = len(holders) - len(wanted) + 1  # the expected articles count as one
            row["random"] += sum(1 / i for i in range(1, k + 1)) / k
        if rank == 1:
            continue
        row["miss"] += 1
        tie = bool(wanted) and bool(found) and found[0]["slug"] in slugs
        row["tie"] += tie
        if args.verbose:
            top = found[0]["title"] if found else None
            print(f"{loc} rank={rank} tie={tie} q={q['q']!r} first={top!r}")
    print(f"### {args.kind} ({args.half} half): misses that are ties on the title\n")
    print("| locale | n | misses | ties | MRR@10 ties at random | MRR@10 |")
    print("|---|---:|---:|---:|---:|---:|")
    total = {"n": 0, "miss": 0, "tie": 0, "random": 0.0, "rr": 0.0}
    for loc in sorted(rows):
        r = rows[loc]
        for name in total:
            total[name] += r[name]
        print(
            f"| {loc} | {r['n']} | {r['miss']} | {r['tie']} | {r['random'] / r['n']:.3f} "
            f"| {r['rr'] / r['n']:.3f} |"
        )
    t = total
    print(
        f"| ALL | {t['n']} | {t['miss']} | {t['tie']} | {t['random'] / t['n']:.3f} "
        f"| {t['rr'] / t['n']:.3f} |"
    )


if __name__ == "__main__":
    main()
