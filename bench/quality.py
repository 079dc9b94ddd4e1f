"""Retrieval quality benchmark: MRR@10, Recall@1/@10 and zero-result rate per kind and locale.

Runs the query sets of ``../shared/queries`` (title, body, xling), plus ``fallback`` (the English
titles of xling sent with an unindexed locale, pt-BR) and ``free`` (a free-text set generated
from the title queries: words shuffled, the last word cut as if still being typed, one letter
mistyped), through helpapi's own search function, in process, on an index of ``../shared/corpus``.

    python bench/quality.py [--index DIR] [--build] [--kinds title,body] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

from helpapi import search as hs
from helpapi.indexer import build_indexes

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"


def load(kind: str) -> list[dict]:
    path = SHARED / "queries" / f"{kind}.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def fallback_set() -> list[dict]:
    return [dict(q, locale="pt-BR", kind="fallback", group=q["locale"]) for q in load("xling")]


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


def free_set() -> list[dict]:
    """Spaced-language title queries written differently: other order, half-typed, a typo."""
    rng = random.Random(20261123)
    out = []
    for q in load("title"):
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", default="/tmp/helpapi-bench-index")
    ap.add_argument("--build", action="store_true", help="(re)build the index first")
    ap.add_argument("--kinds", default="title,body,xling,fallback,free")
    ap.add_argument("--json", help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    if args.build or not (Path(args.index) / "CURRENT").exists():
        t = time.perf_counter()
        build_indexes(SHARED / "corpus", args.index)
        print(f"built {args.index} in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    ixset = hs.open_current(Path(args.index))
    figures = {}
    for kind in args.kinds.split(","):
        queries = {"fallback": fallback_set, "free": free_set}.get(kind, lambda k=kind: load(k))()
        t = time.perf_counter()
        rows = evaluate(ixset, queries)
        secs = time.perf_counter() - t
        print_table(kind, rows, sys.stdout)
        print(f"\n({len(queries)} queries, {1000 * secs / len(queries):.1f} ms/query)")
        figures[kind] = {k: dict(v) for k, v in rows.items()}
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
