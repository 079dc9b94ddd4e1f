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

``--slowest N`` lists the N slowest filtered searches (``admin``, ``itpro``, ``facets``; the
lower CPU of two runs each) with the CPU of each pass inside them (strict, spelling
correction, relaxed, re-ranking, snippets, facet counts; nested: ``facets`` holds its own
run's passes too), for reading where a filtered tail goes.

``--compare CHECKOUT`` measures before/after in one process under one load: a copy of
CHECKOUT's ``helpapi`` package is imported beside this one, and each query's search runs with
both codes back to back (the order swapped on every other query and round, the lower CPU
time of the ``--rounds`` rounds kept): p50/p99 per row, base -> head, the ratios, and the CPU
per search summed over the row.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from passes import answer_fields  # noqa: E402

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


def _query_sets(args):
    """``(name, queries, prefix)`` of each set of ``--sets``, every ``--sample``-th query."""
    for name in args.sets.split(","):
        lines = (QUERIES / f"{name}.jsonl").read_text().splitlines()[:: args.sample]
        yield name, [json.loads(x) for x in lines if x.strip()], name == "prefix"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--index", required=True)
    ap.add_argument("--sets", default=SETS)
    ap.add_argument("--sample", type=int, default=1, help="every Nth query")
    ap.add_argument("--dump", help="write each plain answer's top 10 here (JSON lines)")
    ap.add_argument("--dump-filtered", help="write every variant's answer here (JSON lines)")
    ap.add_argument("--compare", help="a checkout whose helpapi is the base (see above)")
    ap.add_argument("--rounds", type=int, default=2, help="with --compare: rounds per query")
    ap.add_argument("--slowest", type=int, help="list the N slowest filtered searches")
    args = ap.parse_args()
    if args.compare:
        compare(args)
        return
    if args.slowest:
        slowest(args)
        return
    dump = open(args.dump, "w", encoding="utf-8") if args.dump else None
    dumpf = open(args.dump_filtered, "w", encoding="utf-8") if args.dump_filtered else None
    with open_current(Path(args.index)) as ix:
        for name, queries, prefix in _query_sets(args):
            for q in queries[:: max(1, len(queries) // 20)][:20]:
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
                        row = {"set": name, **answer_fields(q, found)}
                        dump.write(json.dumps(row, ensure_ascii=False) + "\n")
                    if dumpf:
                        row = {
                            "set": name,
                            "variant": variant,
                            **answer_fields(q, found),
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


def slowest(args) -> None:
    """The ``--slowest`` slowest filtered searches, with the CPU of each pass in them."""
    from helpapi import engine
    from helpapi import search as search_mod

    spent: dict[str, float] = {}

    def timed(module, name, label):
        inner = getattr(module, name)

        def run(*a, **k):
            t = time.process_time()
            try:
                return inner(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - t

        setattr(module, name, run)

    timed(engine, "strict", "strict")
    timed(engine, "best_correction", "correct")
    timed(engine, "relaxed", "relaxed")
    timed(search_mod, "_rerank", "rerank")
    timed(search_mod, "make_snippet", "snip")
    timed(facets, "facet_counts", "facets")
    filtered = {k: v for k, v in VARIANTS.items() if v is not None and v.filters}
    rows = []
    with open_current(Path(args.index)) as ix:
        for name, queries, prefix in _query_sets(args):
            for q in queries[:: max(1, len(queries) // 20)][:20]:
                for scope in filtered.values():
                    search(ix, q["q"], q["locale"], prefix=prefix, scope=scope)
            for q in queries:
                for variant, scope in filtered.items():
                    best = None
                    for _ in range(2):
                        spent.clear()
                        t = time.process_time()
                        found = search(ix, q["q"], q["locale"], prefix=prefix, scope=scope)
                        cpu = (time.process_time() - t) * 1000
                        if best is None or cpu < best[0]:
                            best = (cpu, dict(spent), found["total"])
                    rows.append((best[0], name, variant, q["locale"], q["q"], best[2], best[1]))
    rows.sort(key=lambda r: r[0], reverse=True)
    for cpu, name, variant, locale, text, total, passes in rows[: args.slowest]:
        each = " ".join(f"{k} {v * 1000:.1f}" for k, v in sorted(passes.items()))
        print(f"{cpu:6.2f} ms {name:6} {variant:6} {locale} total {total:5} [{each}] {text[:60]!r}")


def _variants(fac) -> dict:
    return {
        "plain": None,
        "admin": fac.Scope(filters=(("audience", ("admin",)),)),
        "itpro": fac.Scope(filters=(("audience", ("itpro",)),)),
        "facets": fac.Scope(filters=(("audience", ("itpro",)),), facets=("audience", "service")),
    }


def compare(args) -> None:
    """Base (``--compare``'s helpapi, imported as ``helpapi_base``) against this checkout's."""
    tmp = Path(tempfile.mkdtemp(prefix="filters-compare-"))
    try:
        shutil.copytree(Path(args.compare) / "helpapi", tmp / "helpapi_base")
        sys.path.insert(0, str(tmp))
        base_search = importlib.import_module("helpapi_base.search")
        base_facets = importlib.import_module("helpapi_base.facets")
        codes = {
            "base": (
                base_search,
                base_search.open_current(Path(args.index)),
                _variants(base_facets),
            ),
            "head": (
                sys.modules["helpapi.search"],
                open_current(Path(args.index)),
                _variants(facets),
            ),
        }
        for name, queries, prefix in _query_sets(args):
            for q in queries[:: max(1, len(queries) // 20)][:20]:
                for mod, ix, variants in codes.values():
                    for scope in variants.values():
                        mod.search(ix, q["q"], q["locale"], prefix=prefix, scope=scope)
            for variant in _variants(facets):
                spent: dict[str, list[float]] = {"base": [], "head": []}
                for i, q in enumerate(queries):
                    best = {"base": 1e9, "head": 1e9}
                    for r in range(args.rounds):
                        # Which code runs first alternates by round and by query.
                        for code in ("base", "head") if (r + i) % 2 == 0 else ("head", "base"):
                            mod, ix, variants = codes[code]
                            t = time.process_time()
                            mod.search(
                                ix, q["q"], q["locale"], prefix=prefix, scope=variants[variant]
                            )
                            best[code] = min(best[code], (time.process_time() - t) * 1000)
                    for code in best:
                        spent[code].append(best[code])
                n = len(queries)
                cpu = {code: sum(v) for code, v in spent.items()}
                for v in spent.values():
                    v.sort()
                (b50, h50), (b99, h99) = (
                    (spent["base"][i], spent["head"][i])
                    for i in (n // 2, min(n - 1, n * 99 // 100))
                )
                print(
                    f"{name:6} {variant:6} n={n:5} p50 {b50:6.3f} -> {h50:6.3f}"
                    f"  p99 {b99:6.3f} -> {h99:6.3f} ({h99 / b99:.2f})"
                    f"  CPU/search {cpu['base'] / n:6.3f} -> {cpu['head'] / n:6.3f}"
                    f" ({cpu['head'] / cpu['base']:.2f})",
                    flush=True,
                )
        for _, ix, _ in codes.values():
            ix.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
