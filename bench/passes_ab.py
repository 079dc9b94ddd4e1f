"""Two checkouts' in-process search, interleaved query by query in one process: p50 / p99 per
query set (CPU ms, warm process, result cache off) and the ratio head / base.

Each side is the ``helpapi`` package of its checkout, imported under its own module objects;
both search the same index, and each query runs on one side then the other (the first side
alternating), so machine noise hits both alike: on a loaded machine separate runs of
``passes.py`` swing by 20 %, more than most changes. ``--check`` also compares every answer in
full (every match and its score as a float, the hits with their snippets), for a change meant
to leave answers identical, and every answer :func:`helpapi.search.search` gives (what the
API serves: total, fallback, correction, each hit with its place, score and snippet) for
the pages of ``PAGES`` (offset, limit): the first, the second, and one across the re-ranked
head's end (ranking.RERANK_DEPTH), where an answer may read only part of the order.

    .venv/bin/python bench/passes_ab.py --base /work/main --index /tmp/helpapi-regen-index \\
        --sets prefix,typo --check
    .venv/bin/python bench/passes_ab.py --base /work/main --base-index /tmp/main-idx \
        --index /tmp/head-idx --check    # a format change: each side its own build
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = Path("/work/shared/queries")
SETS = "title,body,xling,kw,prefix,typo"
# The pages --check compares search() answers on: (offset, limit).
PAGES = ((0, 10), (10, 10), (95, 10))


def _load(root: Path):
    """``helpapi.search`` of the checkout at ``root``, its modules then dropped from
    ``sys.modules`` so that the next checkout imports its own."""
    sys.path.insert(0, str(root))
    try:
        import helpapi.search as found
    finally:
        sys.path.remove(str(root))
    for name in [n for n in sys.modules if n == "helpapi" or n.startswith("helpapi.")]:
        del sys.modules[name]
    assert Path(found.__file__).resolve().is_relative_to(root.resolve()), found.__file__
    return found


def _pct(times: list[float], p: int) -> float:
    times = sorted(times)
    return times[min(len(times) - 1, len(times) * p // 100)]


def add_checkout_args(ap: argparse.ArgumentParser) -> None:
    """The arguments naming what a before/after compares: ``--base`` and ``--head`` (the two
    checkouts), ``--index`` and ``--base-index`` (the base side's own index, when it has one)."""
    ap.add_argument("--base", required=True, help="the checkout to compare with (e.g. main)")
    ap.add_argument("--head", default=str(ROOT), help="this checkout by default")
    ap.add_argument("--index", required=True)
    ap.add_argument(
        "--base-index",
        help="the base side's own index (default: --index): after a change of an index file's"
        " format, each checkout searches the same corpus built by its own code",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    add_checkout_args(ap)
    ap.add_argument("--sets", default=SETS)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--check", action="store_true", help="compare every answer in full")
    args = ap.parse_args()
    base, head = _load(Path(args.base)), _load(Path(args.head))
    ixa = base.open_current(Path(args.base_index or args.index))
    ixb = head.open_current(Path(args.index))
    differ = 0
    for name in args.sets.split(","):
        lines = (QUERIES / f"{name}.jsonl").read_text().splitlines()
        queries = [json.loads(x) for x in lines if x.strip()]
        prefix = name == "prefix"
        for q in queries[:: max(1, len(queries) // 20)][:20]:  # every locale, both sides
            base.search(ixa, q["q"], q["locale"], prefix=prefix)
            head.search(ixb, q["q"], q["locale"], prefix=prefix)
        ta: list[float] = []
        tb: list[float] = []
        for r in range(args.rounds):
            for i, q in enumerate(queries):
                sides = [(base, ixa, ta), (head, ixb, tb)]
                for mod, ix, out in sides if (i + r) % 2 == 0 else sides[::-1]:
                    t = time.process_time()
                    mod.search(ix, q["q"], q["locale"], prefix=prefix)
                    out.append((time.process_time() - t) * 1000)
        if args.check:
            for q in queries:
                loc = q["locale"] if q["locale"] in ixa.indexes else "en-US"
                a = base.run_query(ixa, q["q"], loc, prefix=prefix)
                b = head.run_query(ixb, q["q"], loc, prefix=prefix)
                if (a.total, a.corrected, a.relaxed, a.ranked, a.hits) != (
                    b.total,
                    b.corrected,
                    b.relaxed,
                    b.ranked,
                    b.hits,
                ):
                    differ += 1
                    print(f"  differs: {name} {q['q']!r} ({loc})", flush=True)
                for offset, limit in PAGES:
                    a = base.search(ixa, q["q"], q["locale"], limit, offset, prefix)
                    b = head.search(ixb, q["q"], q["locale"], limit, offset, prefix)
                    if a != b:
                        differ += 1
                        print(f"  differs: {name} {q['q']!r} page {offset}", flush=True)
        a50, b50, a99, b99 = _pct(ta, 50), _pct(tb, 50), _pct(ta, 99), _pct(tb, 99)
        print(
            f"{name:6} n={len(ta):5}  base p50 {a50:6.3f} p99 {a99:6.3f} | head p50 {b50:6.3f}"
            f" p99 {b99:6.3f} | head/base p50 {b50 / a50:4.2f} p99 {b99 / a99:4.2f}"
            # The mean (total CPU) is what a worker's throughput follows.
            f" mean {sum(tb) / sum(ta):5.3f}",
            flush=True,
        )
    if args.check:
        print(f"answers that differ: {differ}")


if __name__ == "__main__":
    main()
