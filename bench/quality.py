"""Retrieval quality benchmark: MRR@10, Recall@1/@10 and zero-result rate per kind and locale.

Runs the query sets of ``../shared/queries`` (title, body, xling, kw, prefix, typo; ``prefix``
in as-you-type mode), plus ``fallback`` (the English titles of xling sent with an unindexed
locale, pt-BR) and ``free`` (a free-text set generated from the title queries: words shuffled,
the last word cut as if still being typed, one letter mistyped), through helpapi's own search
function, in process, on an index of ``../shared/corpus``.

Every set is split in two halves by a stable hash of its expected article ids (an article's
queries all fall in one half, see :func:`half_of`): ``tune`` is the half ranking constants may
be chosen on, ``report`` the half whose figures go in ``bench/RESULTS.md``. ``--half`` picks
one (default ``report``; ``all`` for both).

    python bench/quality.py [--index DIR] [--build] [--kinds title,body] [--half report]
        [--set TITLE_BOOST=2.0] [--json out.json]

``--scale`` runs ``../shared/queries-scale`` (title, body, xling over ``../shared/corpus-scale``,
20 locales) on a scale index instead (default ``/tmp/helpapi-scale-index``), same halves; it
prints the per-locale tables, then each kind's worst locales and every locale below its
per-locale target (:data:`SCALE_TARGETS`) or with a zero-result answer. ``--queries DIR`` reads
the query sets of another folder (same ``<kind>.jsonl`` layout).

    python bench/quality.py --scale [--index DIR] [--build] [--kinds title,body,xling]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

from helpapi import ranking
from helpapi import search as hs
from helpapi.indexer import build_indexes

HERE = Path(__file__).resolve().parent


def _shared() -> Path:
    """``../shared`` of the checkout (a git worktree may sit one level deeper)."""
    for parent in HERE.parents:
        if (parent / "shared" / "queries").is_dir():
            return parent / "shared"
    return HERE.parent.parent / "shared"


SHARED = _shared()
KINDS = "title,body,xling,fallback,kw,prefix,typo,free"
SCALE_KINDS = "title,body,xling"
# Issue #15 item 4: MRR@10 of the reporting half in EVERY locale of queries-scale.
SCALE_TARGETS = {"title": 0.995, "body": 0.985}
HALVES = ("tune", "report", "all")


def half_of(q: dict) -> str:
    """``tune`` or ``report``: a stable hash of the query's expected article ids.

    The article, not the query text, picks the half, so an article and all its queries (every
    set, every locale, the generated ``fallback`` and ``free`` copies) fall in the same half:
    constants chosen on the tuning half never saw the reporting half's articles. A query
    without expected ids is hashed by its locale and text. The same query falls in the same
    half in every run and on every machine (no seed, no position in its file).
    """
    ident = "\x1f".join(sorted(q.get("expect", []))) or f"{q['locale']}\x1f{q['q']}"
    return "tune" if hashlib.sha256(ident.encode("utf-8")).digest()[0] % 2 == 0 else "report"


def load(kind: str, queries_dir: Path | None = None) -> list[dict]:
    """The queries of ``<queries_dir>/<kind>.jsonl`` (default ``../shared/queries``)."""
    path = Path(queries_dir or SHARED / "queries") / f"{kind}.jsonl"
    out = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    if kind == "prefix":  # the last word is still being typed
        out = [dict(q, prefix=True) for q in out]
    return out


def queries_of(kind: str, half: str = "report", queries_dir: Path | None = None) -> list[dict]:
    """The queries of ``kind`` in ``half`` (``tune``, ``report`` or ``all``).

    ``queries_dir`` is the folder of the sets (default ``../shared/queries``; the generated
    ``fallback`` and ``free`` sets are drawn from its ``xling`` and ``title``).
    """
    gen = {"fallback": fallback_set, "free": free_set}.get(kind)
    queries = gen(queries_dir) if gen else load(kind, queries_dir)
    return [q for q in queries if half == "all" or half_of(q) == half]


def fallback_set(queries_dir: Path | None = None) -> list[dict]:
    """xling's English titles sent with an unindexed locale (pt-BR), grouped by their locale."""
    return [
        dict(q, locale="pt-BR", kind="fallback", group=q["locale"])
        for q in load("xling", queries_dir)
    ]


def _mangle(text: str, rng: random.Random) -> str | None:
    words = text.split()
    if len(words) < 3:
        return None
    rng.shuffle(words)
    choice = rng.randrange(2)
    if choice == 0:  # a word still being typed
        last = words[-1]
        words[-1] = last[: max(2, (len(last) * 2) // 3)]
    else:  # one mistyped letter in a long word
        longs = [i for i, w in enumerate(words) if len(w) >= 7 and w.isalpha()]
        if not longs:
            return None
        i = rng.choice(longs)
        w = words[i]
        j = rng.randrange(1, len(w) - 1)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]  # two letters swapped
    return " ".join(words)


def free_set(queries_dir: Path | None = None) -> list[dict]:
    """Spaced-language title queries written differently: other order, half-typed, a typo."""
    rng = random.Random(20261123)
    out = []
    for q in load("title", queries_dir):
        if q["locale"] in ("ja-JP", "zh-CN", "zh-TW"):
            continue
        text = _mangle(q["q"], rng)
        if text:
            out.append(dict(q, q=text, kind="free", prefix=True))
    return out


def matches(hit: dict, q: dict) -> bool:
    if hit.get("assetid") and hit["assetid"] in q["expect"]:
        return True
    return hit["slug"] + ".md" in q.get("expect_paths", [])


def evaluate(ixset, queries):
    rows = defaultdict(lambda: {"n": 0, "rr": 0.0, "r1": 0, "r10": 0, "zero": 0})
    for q in queries:
        ans = hs.search(ixset, q["q"], q["locale"], limit=10, prefix=q.get("prefix", False))
        rank = next((i for i, h in enumerate(ans["results"], 1) if matches(h, q)), None)
        for key in (q.get("group", q["locale"]), "ALL"):
            r = rows[key]
            r["n"] += 1
            r["zero"] += ans["total"] == 0
            if rank:
                r["rr"] += 1 / rank
                r["r1"] += rank == 1
                r["r10"] += 1
    return rows


def print_table(kind, rows, out):
    print(f"\n### {kind}\n", file=out)
    print("| locale | n | MRR@10 | R@1 | R@10 | zero |", file=out)
    print("|---|---:|---:|---:|---:|---:|", file=out)
    for key in sorted(rows, key=lambda k: (k == "ALL", k)):
        r = rows[key]
        n = r["n"]
        print(
            f"| {key} | {n} | {r['rr'] / n:.3f} | {r['r1'] / n:.3f} | {r['r10'] / n:.3f} "
            f"| {r['zero'] / n:.3f} |",
            file=out,
        )


def mrr(row: dict) -> float:
    """MRR@10 of one row of :func:`evaluate`."""
    return row["rr"] / row["n"] if row["n"] else 0.0


def worst_locales(rows: dict, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` locales of ``rows`` with the lowest MRR@10, worst first (``ALL`` left out)."""
    return sorted(((key, mrr(r)) for key, r in rows.items() if key != "ALL"), key=lambda x: x[1])[
        :k
    ]


def below_target(rows: dict, target: float | None) -> list[str]:
    """Locales below ``target`` MRR@10 or with any zero-result answer, worst first."""
    return [
        key
        for key, value in worst_locales(rows, len(rows))
        if (target is not None and value < target) or rows[key]["zero"]
    ]


def print_worst(kind: str, rows: dict, target: float | None, out) -> None:
    """The worst locales of a kind, then the locales that miss its per-locale target."""
    worst = ", ".join(f"{key} {value:.3f}" for key, value in worst_locales(rows))
    print(f"\nworst locales ({kind}): {worst}", file=out)
    bad = below_target(rows, target)
    goal = f"MRR@10 >= {target} and " if target is not None else ""
    verdict = ", ".join(bad) if bad else "none"
    print(f"locales missing the target ({goal}zero-result rate 0): {verdict}", file=out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--index",
        help="index folder (default /tmp/helpapi-bench-index, or "
        "/tmp/helpapi-scale-index with --scale)",
    )
    ap.add_argument("--build", action="store_true", help="(re)build the index first")
    ap.add_argument("--kinds", help=f"default {KINDS} ({SCALE_KINDS} with --scale)")
    ap.add_argument(
        "--scale",
        action="store_true",
        help="queries-scale over corpus-scale (20 locales), with per-locale targets",
    )
    ap.add_argument("--queries", type=Path, help="folder of the <kind>.jsonl query sets")
    ap.add_argument("--corpus", type=Path, help="corpus that --build indexes")
    ap.add_argument(
        "--half",
        choices=HALVES,
        default="report",
        help="which half of every set: tune (choose constants on it), report (default), all",
    )
    ap.add_argument("--json", help="also write the figures as JSON here")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a helpapi.ranking constant for this run (tuning; repeatable)",
    )
    args = ap.parse_args(argv)
    queries_dir = args.queries or SHARED / ("queries-scale" if args.scale else "queries")
    corpus = args.corpus or SHARED / ("corpus-scale" if args.scale else "corpus")
    index = args.index or ("/tmp/helpapi-scale-index" if args.scale else "/tmp/helpapi-bench-index")
    kinds = args.kinds or (SCALE_KINDS if args.scale else KINDS)
    for item in args.set:
        name, _, value = item.partition("=")
        old = getattr(ranking, name)  # AttributeError: no such constant
        setattr(ranking, name, type(old)(value == "True" if isinstance(old, bool) else value))
        print(f"ranking.{name} = {getattr(ranking, name)!r}")
    if args.build or not (Path(index) / "CURRENT").exists():
        t = time.perf_counter()
        build_indexes(corpus, index)
        print(f"built {index} in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    ixset = hs.open_current(Path(index))
    figures = {"half": args.half, "queries": str(queries_dir), "index": str(index)}
    print(f"half: {args.half} (split by a hash of each query: bench/quality.py half_of)")
    print(f"queries: {queries_dir}; index: {index}")
    for kind in kinds.split(","):
        queries = queries_of(kind, args.half, queries_dir)
        t = time.perf_counter()
        rows = evaluate(ixset, queries)
        secs = time.perf_counter() - t
        print_table(f"{kind} ({args.half} half)", rows, sys.stdout)
        print(f"\n({len(queries)} queries, {1000 * secs / len(queries):.1f} ms/query)")
        if args.scale:
            print_worst(kind, rows, SCALE_TARGETS.get(kind), sys.stdout)
        figures[kind] = {k: dict(v) for k, v in rows.items()}
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
