"""bench/hostile.py's queries, two checkouts' in-process search interleaved query by query.

Each side is the ``helpapi`` package of its checkout, imported under its own module objects
(as bench/passes_ab.py does); both search the same index, result cache off. Every query of the
chosen families runs ``--reps`` times on each side, the first side alternating: CPU ms
(``time.process_time``) of ``helpapi.search.search`` alone (no Flask: its ~1 ms a request is
the same code on both sides), min and median per side and head/base. On a loaded machine this
is the steadier ratio: separate runs of bench/hostile.py (even ``--base``'s alternating runs)
swing by 20 %. Prints the ``--top`` dearest queries at base.

    .venv/bin/python bench/hostile_ab.py --base /work/main --index /tmp/helpapi-regen-index \\
        [--locales ja-JP,zh-TW] [--families flood,chain,repeat] [--reps 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import hostile  # noqa: E402
from passes_ab import _load  # noqa: E402
from passes_ab import add_checkout_args  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_checkout_args(ap)
    ap.add_argument("--locales", default="")
    ap.add_argument("--families", default="flood,chain,repeat")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--top", type=int, default=14)
    args = ap.parse_args()
    base, head = _load(Path(args.base)), _load(Path(args.head))
    ixa = base.open_current(Path(args.base_index or args.index))
    ixb = head.open_current(Path(args.index))
    rng = random.Random(12)  # the queries of bench/hostile.py
    cases = [(loc, *c) for loc in ixa.locales for c in hostile.generate(ixa, loc, rng)]
    locales = set(args.locales.split(",")) if args.locales else set(ixa.locales)
    families = set(args.families.split(","))
    cases = [c for c in cases if c[0] in locales and c[1] in families]
    rows = []
    for loc, family, q, prefix in cases:
        ta: list[float] = []
        tb: list[float] = []
        for r in range(args.reps):
            sides = [(base, ixa, ta), (head, ixb, tb)]
            for mod, ix, out in sides if r % 2 == 0 else sides[::-1]:
                t = time.process_time()
                mod.search(ix, q, loc, prefix=prefix)
                out.append((time.process_time() - t) * 1000)
        row = (min(ta), min(tb), statistics.median(ta), statistics.median(tb))
        rows.append((*row, loc, family, q, prefix))
    rows.sort(reverse=True)
    print(f"{len(cases)} queries x {args.reps} reps a side, interleaved; CPU ms of search()")
    print("base min  head min  ratio | base med  head med  ratio  query")
    for a, b, ma, mb, loc, family, q, prefix in rows[: args.top]:
        shown = q if len(q) <= 40 else q[:37] + "..."
        print(
            f"{a:8.2f} {b:9.2f} {b / a:6.2f} | {ma:8.2f} {mb:9.2f} {mb / ma:6.2f}  "
            f"{loc} {family} prefix={prefix} {shown!r}"
        )
    worst_a, worst_b = max(r[0] for r in rows), max(r[1] for r in rows)
    print(f"worst min: base {worst_a:.2f} -> head {worst_b:.2f} ms ({worst_b / worst_a:.2f})")


if __name__ == "__main__":
    main()
