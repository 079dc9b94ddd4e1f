"""What a worker's memos hold after scale.py's replay (issue #14 item 5, stop 22).

In one process (a worker that took every request: an upper bound of what each of gunicorn's
workers holds), ``--warm`` searches per locale then the replay of ``bench/scale.py`` (the same
``--replay`` queries in the same shuffled order, result cache off), then:

* the memory the replay allocated and still holds (``tracemalloc``, started after the warm
  searches: each locale's files and tables opened), by allocating line, the largest first;
* every memo kept per field (``helpapi.memindex.FieldPostings``: the term numbers, the clause
  memo ``clauses``, the prefix ranges, the distinct-document counts, ``run_reads_memo``,
  ``helpapi.engine._TITLE_RUNS``) and per locale (``helpapi.query``'s term memo): how many
  fields hold one, entries (largest and total) against the bound, bytes (``sys.getsizeof`` of
  the table, its keys and values: an upper bound, a key shared with another memo counted in
  each);
* the module-level ``functools.lru_cache`` memos of ``helpapi``: entries against maxsize.

    python bench/memos.py --index /tmp/helpapi-regen-index --queries ../shared/queries
"""

from __future__ import annotations

import argparse
import functools
import gc
import random
import sys
import time
import tracemalloc
from pathlib import Path

from whoosh.columns import CompressedBytesColumn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import SHARED  # noqa: E402
from bench.scale import is_prefix  # noqa: E402
from bench.scale import load_queries  # noqa: E402
from helpapi import engine  # noqa: E402
from helpapi import memindex  # noqa: E402
from helpapi import query as query_mod  # noqa: E402
from helpapi import search as hs  # noqa: E402

MB = 1024 * 1024


def _size(obj, seen: set) -> int:
    """``sys.getsizeof`` of ``obj`` and of what it holds (containers, an object's slots),
    not descending into a field (``FieldPostings``), a buffer or a function."""
    if id(obj) in seen or callable(obj) or isinstance(obj, (memindex.FieldPostings, memoryview)):
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(_size(k, seen) + _size(v, seen) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        size += sum(_size(x, seen) for x in obj)
    else:
        for name in getattr(type(obj), "__slots__", ()):
            size += _size(getattr(obj, name, None), seen)
    return size


def memos() -> list[tuple]:
    """Rows ``(memo, fields holding one, largest entries, total entries, bound, MB)``."""
    fields = [o for o in gc.get_objects() if type(o) is memindex.FieldPostings]
    rows = []

    def row(name, tables, bound):
        held = [t for t in tables if t]
        seen: set = set()
        sizes = [len(t) for t in held]
        rows.append(
            (
                name,
                len(held),
                max(sizes, default=0),
                sum(sizes),
                bound,
                sum(_size(t, seen) for t in held) / MB,
            )
        )

    row("FieldPostings.clauses (engine._term)", [f.clauses for f in fields], "4096 / field")
    row(
        "FieldPostings.run_reads_memo (engine.run_reads)",
        [getattr(f, "run_reads_memo", None) for f in fields],
        f"{engine.RUN_READS_MEMO_GRAMS} grams / field",
    )
    runs = [engine._TITLE_RUNS.get(f) for f in fields]
    row(
        "engine._TITLE_RUNS",
        runs,
        f"{engine.TITLE_RUNS_KEPT} runs x {engine.TITLE_RUNS_DOCS} docs / field",
    )
    for name, bound in (
        ("term_id", "lru 4096 / field"),
        ("distinct_docs", "lru 1024 / field"),
        ("_short_range", "lru 1024 / field"),
    ):
        infos = [getattr(f, name).cache_info().currsize for f in fields]
        held = [n for n in infos if n]
        rows.append(
            (f"FieldPostings.{name}", len(held), max(held, default=0), sum(held), bound, None)
        )
    words = [o for o in gc.get_objects() if type(o) is query_mod._LocaleWords]
    row("query._LocaleWords._terms", [w._terms for w in words], f"{query_mod._TERMS_KEPT} / locale")
    # helpapi.page_text.Pages: the Whoosh stored column it reads is opened once per searcher
    # and kept by it (its tables of lengths and offsets: two numbers a document).
    columns = [o for o in gc.get_objects() if type(o) is CompressedBytesColumn.Reader]
    tables = [(c._lengths, c._offsets) for c in columns]
    rows.append(
        (
            "Whoosh stored column (page_text.Pages), lengths + offsets",
            len(columns),
            max((len(a) for a, _ in tables), default=0),
            sum(len(a) for a, _ in tables),
            "one per locale",
            sum(sys.getsizeof(a) + sys.getsizeof(b) for a, b in tables) / MB,
        )
    )
    rows.append(("(FieldPostings objects open)", len(fields), None, None, None, None))
    return rows


def lru_caches() -> list[tuple]:
    """``(function, entries, maxsize)`` of every module-level lru_cache of helpapi holding any."""
    out = []
    for name, module in sorted(sys.modules.items()):
        if not name.startswith("helpapi"):
            continue
        for attr, value in vars(module).items():
            if isinstance(value, functools._lru_cache_wrapper):
                got = value.cache_info()
                if got.currsize:
                    out.append((f"{name}.{attr}", got.currsize, got.maxsize))
    return out


def _report(label: str, before, top: int) -> None:
    """What is held since ``before`` (a tracemalloc snapshot), then every memo's size."""
    gc.collect()
    stats = tracemalloc.take_snapshot().compare_to(before, "lineno")
    held = sum(s.size_diff for s in stats)
    print(f"{label}: held since the warm searches {held / MB:.1f} MB\n")
    print("| allocated at | MB held | blocks |\n|---|---:|---:|")
    for s in stats[:top]:
        where = f"{Path(s.traceback[0].filename).name}:{s.traceback[0].lineno}"
        print(f"| {where} | {s.size_diff / MB:.2f} | {s.count_diff} |")
    print(
        "\n| memo | fields / locales holding one | largest | total entries | bound | MB |"
        "\n|---|---:|---:|---:|---|---:|"
    )
    for name, n, largest, total, bound, mb in memos():
        cells = [name, n, largest, total, bound, None if mb is None else f"{mb:.2f}"]
        print("| " + " | ".join("" if c is None else str(c) for c in cells) + " |")
    print("\n| lru_cache | entries | maxsize |\n|---|---:|---:|")
    for name, n, maxsize in lru_caches():
        print(f"| {name} | {n} | {maxsize} |")
    print()


def _flood(terms, rng: random.Random, words: int) -> str:
    """A query of ``words`` made-up lowercase words (none in any index: each is a new key of
    every memo it reaches), or with ``terms`` (a field's terms) words drawn from them."""
    if terms is not None:
        return " ".join(terms[rng.randrange(len(terms))].decode() for _ in range(words))
    return " ".join(
        "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(5, 9)))
        for _ in range(words)
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=Path("/tmp/helpapi-regen-index"))
    ap.add_argument("--queries", type=Path, default=SHARED / "queries")
    ap.add_argument("--replay", type=int, default=20000)
    ap.add_argument("--warm", type=int, default=6, help="untimed searches per locale first")
    ap.add_argument("--top", type=int, default=12, help="allocating lines shown")
    ap.add_argument(
        "--flood",
        type=int,
        default=0,
        help="then this many queries per locale of 20 made-up words: every memo at its bound",
    )
    ap.add_argument(
        "--real", action="store_true", help="--flood with words of the locale's text field"
    )
    args = ap.parse_args(argv)
    queries = load_queries(args.queries)
    # scale.py's replay: the same order (its seed), every query sent as it sends them.
    rng = random.Random(16)
    order = [queries[i % len(queries)] for i in range(args.replay)]
    rng.shuffle(order)
    by_locale: dict[str, list[dict]] = {}
    for q in queries:
        by_locale.setdefault(q["locale"], []).append(q)
    with hs.open_current(args.index) as ix:
        for group in by_locale.values():
            for q in group[: args.warm]:
                hs.search(ix, q["q"], q["locale"], prefix=is_prefix(q))
        gc.collect()
        tracemalloc.start(1)
        before = tracemalloc.take_snapshot()
        started = time.process_time()
        for q in order:
            hs.search(ix, q["q"], q["locale"], prefix=is_prefix(q))
        cpu = time.process_time() - started
        print(
            f"{args.index}: {len(by_locale)} locales, {len(order)} searches replayed "
            f"({cpu:.0f} s CPU under tracemalloc)\n"
        )
        _report("after the replay", before, args.top)
        if args.flood:
            terms = {}
            for locale in by_locale:
                try:  # (a locale of the queries the index lacks: sent in, as scale.py does)
                    terms[locale] = ix.mem[locale].fields["text"].terms if args.real else None
                except KeyError:
                    terms[locale] = None
            for _ in range(args.flood):
                for locale in by_locale:
                    hs.search(ix, _flood(terms[locale], rng, 20), locale)
            kind = "index-word" if args.real else "made-up-word"
            _report(f"then {args.flood} {kind} queries per locale", before, args.top)
        tracemalloc.stop()


if __name__ == "__main__":
    main()
