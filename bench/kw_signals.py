"""Which article signals tell a keyword query's expected article from the other title holders,
and the ceiling of any ranking that keeps the more specific title first (issue #15, stop 20).

For each query of a half (default ``tune``) of one set (default ``kw``): the first ``--depth``
results with their scores, which of them hold every unit of the query in a title and that
title's share (:func:`helpapi.engine.title_cover`, the engine's ``TITLE_COVER_BOOST`` term),
and per article the signals read from its source file in ``--corpus``: front matter
(``localization_priority``, ``ms.translationtype``, ``ms.date``, ``ms.lasthandoff``,
``ms.custom``, the front-matter title when it is not the heading), the lead (the body's first
line after that title), the H2-H6 headings, the English title, the sub-folder. A unit is a
space-separated piece of the query, found case-folded anywhere in a text (the keyword sets
type the title's words as they stand). Prints:

1. how many of the candidate articles carry each field (and ``description``/``keywords``);
2. per signal, the pairs (expected article, a title holder ranked above it): the expected
   one's signal higher / lower / equal, with a two-sided sign test's p (the pairs of one query
   are not independent: a guide, not a proof);
3. per signal scaled to 0..1, MRR@10 with ``score + beta * signal`` on the title holders for
   each beta of BETAS, and the best, beside the best of RANDOM signals (a hash of the article
   and a seed) at the same betas: a signal whose best lies inside the random ones' range
   separates nothing this half can show;
4. the misses by class, with what each class would add if its expected articles came first,
   and the ceiling: MRR@10 with each expected article placed right under the title holders
   whose title it covers less of (ties won), the best any ranking reaches that never puts a
   less specific title above a more specific one.

Offline analysis, for reading before building anything (figures only, nothing to tune on the
reporting half):

    python bench/kw_signals.py --index /tmp/helpapi-regen-index [--half tune] [--kind kw]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import re
from collections import Counter
from pathlib import Path

import quality

from helpapi import engine
from helpapi import search as hs
from helpapi.analysis import clean_text
from helpapi.corpus import _split_front_matter
from helpapi.corpus import localized_markdown
from helpapi.corpus import parse_article
from helpapi.query import parse_user_text
from helpapi.query import query_title_key

BETAS = (-64.0, -32.0, -16.0, -8.0, -4.0, 4.0, 8.0, 16.0, 32.0, 64.0)
RANDOM = 20
HEADING = re.compile(r"^#{2,6}\s*(.+)$", re.M)
DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def _years(value) -> float | None:
    """``MM/DD/YYYY`` (or a YAML date) as years since 2020, None when absent."""
    if hasattr(value, "year"):
        return value.year - 2020 + (value.month - 1) / 12 + (value.day - 1) / 365
    found = DATE.match(str(value or ""))
    if not found:
        return None
    month, day, year = map(int, found.groups())
    return year - 2020 + (month - 1) / 12 + (day - 1) / 365


def article_signals(corpus: Path, locale: str, slug: str) -> dict:
    """The raw fields of one article's source file that the signals read."""
    path = corpus / locale / f"{slug}.md"
    article = parse_article(path, locale, slug)
    meta, source = _split_front_matter(clean_text(path.read_text("utf-8-sig")), [])
    lines = [x.strip() for x in article.body.split("\n") if x.strip()]
    if lines and article.title_alias and lines[0] == article.title_alias.strip():
        lines = lines[1:]
    custom = meta.get("ms.custom")
    return {
        "title": article.title,
        "english_title": article.english_title,
        "alias": article.title_alias,
        "lead": lines[0] if lines else "",
        "headings": HEADING.findall(localized_markdown(source)),
        "body_chars": len(article.body),
        "priority": str(meta.get("localization_priority", "")),
        "translation": str(meta.get("ms.translationtype", "")),
        "date": _years(meta.get("ms.date")),
        "handoff": _years(meta.get("ms.lasthandoff")),
        "products": len(custom) if isinstance(custom, list) else int(bool(custom)),
        "section": "/" in slug,
        "description": bool(meta.get("description")),
        "keywords": bool(meta.get("keywords")),
        "topic": str(meta.get("ms.topic", "")),
    }


def _share(units: list[str], text: str) -> float:
    text = text.casefold()
    return sum(u in text for u in units) / len(units)


# Each signal: (fields of the article, the query's units) -> a number; higher = "prefer".
SIGNALS = {
    "localization_priority Priority": lambda a, u: float(a["priority"] == "Priority"),
    "human translation (HT)": lambda a, u: float(a["translation"] == "HT"),
    "ms.date present": lambda a, u: float(a["date"] is not None),
    "ms.date (newer)": lambda a, u: a["date"] if a["date"] is not None else 0.0,
    "ms.lasthandoff (newer)": lambda a, u: a["handoff"] if a["handoff"] is not None else 0.0,
    "ms.custom products": lambda a, u: float(a["products"]),
    "in a sub-folder": lambda a, u: float(a["section"]),
    "front-matter title apart": lambda a, u: float(bool(a["alias"])),
    "front-matter title holds every unit": lambda a, u: float(_share(u, a["alias"]) == 1.0),
    "lead: share of units": lambda a, u: _share(u, a["lead"]),
    "lead holds every unit": lambda a, u: float(_share(u, a["lead"]) == 1.0),
    "headings: share of units": lambda a, u: _share(u, "\n".join(a["headings"])),
    "English title: share of units": lambda a, u: _share(u, a["english_title"]),
    "English title holds every unit": lambda a, u: float(_share(u, a["english_title"]) == 1.0),
    "shown title holds every unit": lambda a, u: float(_share(u, a["title"]) == 1.0),
    "body length (log)": lambda a, u: math.log1p(a["body_chars"]),
}


def collect(ixset, corpus: Path, kind: str, half: str, depth: int) -> list[dict]:
    """Each query's first ``depth`` results: score, expected or not, title share or None."""
    fields: dict = {}
    out = []
    for q in quality.queries_of(kind, half, quality.SHARED / "queries"):
        loc = q["locale"]
        found = hs.search(ixset, q["q"], loc, limit=depth)["results"]
        mem = ixset.mem[loc]
        units = parse_user_text(q["q"], loc, prefix=False)
        docs = [d for d, _ in engine.strict(mem, units, query_title_key(q["q"], loc))]
        cover = engine.title_cover(mem, units, docs[: hs.ranking.RERANK_DEPTH])
        shares = {ixset.display[loc].hit(d)[0]: s for d, s in cover.items()}
        rows = []
        for h in found:
            key = (loc, h["slug"])
            if key not in fields:
                fields[key] = article_signals(corpus, loc, h["slug"])
            rows.append(
                {
                    "score": h["score"],
                    "want": quality.matches(h, q),
                    "share": shares.get(h["slug"]),
                    "a": fields[key],
                    "slug": h["slug"],
                }
            )
        out.append({"units": [u.casefold() for u in q["q"].split()], "rows": rows})
    return out


def _mrr(queries: list[dict], extra) -> float:
    total = 0.0
    for q in queries:
        rescored = sorted(
            (
                (r["score"] + (extra(r, q["units"]) if r["share"] is not None else 0.0), -i)
                for i, r in enumerate(q["rows"])
            ),
            reverse=True,
        )
        for rank, (_, neg) in enumerate(rescored[:10], 1):
            if q["rows"][-neg]["want"]:
                total += 1 / rank
                break
    return total / len(queries)


def _sign_p(k: int, n: int) -> float:
    if not n:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1)) / 2**n
    return min(1.0, 2 * tail)


def _scaled(signal, queries):
    values = [signal(r["a"], q["units"]) for q in queries for r in q["rows"]]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return lambda r, u: (signal(r["a"], u) - low) / span


def report_signals(queries: list[dict]) -> None:
    """Tables 2 and 3: pairs against the holders above, and the re-scored MRR@10."""
    print("| signal | expected higher / lower / equal than a holder above it | p |", end="")
    print(" best MRR@10 (beta) | at beta -8 / +8 |")
    print("|---|---|---:|---:|---:|")
    for name, signal in SIGNALS.items():
        counts = [0, 0, 0]
        for q in queries:
            rows = q["rows"]
            want = next((i for i, r in enumerate(rows) if r["want"]), None)
            if want is None or rows[want]["share"] is None:
                continue
            mine = signal(rows[want]["a"], q["units"])
            for r in rows[:want]:
                if r["share"] is not None:
                    theirs = signal(r["a"], q["units"])
                    counts[0 if mine > theirs else 1 if mine < theirs else 2] += 1
        scaled = _scaled(signal, queries)
        runs = {b: _mrr(queries, lambda r, u, b=b, s=scaled: b * s(r, u)) for b in BETAS}
        best = max(runs, key=runs.get)
        print(
            f"| {name} | {counts[0]} / {counts[1]} / {counts[2]} "
            f"| {_sign_p(counts[0], counts[0] + counts[1]):.3f} | {runs[best]:.4f} ({best:+g}) "
            f"| {runs[-8.0]:.4f} / {runs[8.0]:.4f} |"
        )
    bests = []
    for seed in range(RANDOM):

        def noise(r, u, seed=seed):
            return hashlib.sha256(f"{seed}\x1f{r['slug']}".encode()).digest()[0] / 255

        bests.append(max(_mrr(queries, lambda r, u, b=b: b * noise(r, u)) for b in BETAS))
    bests.sort()
    print(
        f"\n{RANDOM} random signals, best MRR@10 over the same betas: min {bests[0]:.4f}, "
        f"median {bests[RANDOM // 2]:.4f}, max {bests[-1]:.4f} (measured: "
        f"{_mrr(queries, lambda r, u: 0.0):.4f})"
    )


def report_ceiling(queries: list[dict]) -> None:
    """Table 4: the misses by class and the title-specificity ceiling."""
    classes, gains = Counter(), Counter()
    now = ceiling = 0.0
    for q in queries:
        rows = q["rows"]
        rank = next((i for i, r in enumerate(rows[:10], 1) if r["want"]), None)
        rr = 1 / rank if rank else 0.0
        now += rr
        want = next((r for r in rows if r["want"]), None)
        if want is None or want["share"] is None:
            ceiling += rr
            kind = "the expected article holds not every unit in a title, or is past the depth"
        else:
            above = [r for r in rows[: rows.index(want)] if r["share"] is not None]
            more = sum(
                1
                for r in rows
                if r["share"] is not None and not r["want"] and r["share"] > want["share"] + 1e-9
            )
            ceiling += max(rr, 1 / (more + 1) if more < 10 else 0.0)
            if any(r["a"]["title"] == want["a"]["title"] for r in above):
                kind = "a holder above has the same shown title"
            elif above and all(r["share"] > want["share"] + 1e-9 for r in above):
                kind = "every holder above: a larger share of its title"
            elif any(r["share"] > want["share"] + 1e-9 for r in above):
                kind = "some holders above: a larger share, some not"
            else:
                kind = "no holder above covers more (lost on the body's score)"
        if rank != 1:
            classes[kind] += 1
            gains[kind] += 1 - rr
    n = len(queries)
    print("\n| misses | n | MRR@10 gained if each came first |")
    print("|---|---:|---:|")
    for kind, count in classes.most_common():
        print(f"| {kind} | {count} | +{gains[kind] / n:.4f} |")
    print(
        f"\nMRR@10 measured {now / n:.4f}; ceiling with every expected article right under the "
        f"holders of a larger share of their title (equal shares won) {ceiling / n:.4f}"
    )


def report_fields(queries: list[dict]) -> None:
    """Table 1: how many candidate articles carry each field."""
    arts = list({id(r["a"]): r["a"] for q in queries for r in q["rows"]}.values())
    has = {
        "ms.date": sum(a["date"] is not None for a in arts),
        "description": sum(a["description"] for a in arts),
        "keywords": sum(a["keywords"] for a in arts),
        "ms.topic other than article": sum(a["topic"] not in ("", "article") for a in arts),
        "H2-H6 headings": sum(bool(a["headings"]) for a in arts),
        "front-matter title apart from the heading": sum(bool(a["alias"]) for a in arts),
        "localization_priority Priority": sum(a["priority"] == "Priority" for a in arts),
        "ms.translationtype HT": sum(a["translation"] == "HT" for a in arts),
        "in a sub-folder": sum(a["section"] for a in arts),
    }
    print(f"| field ({len(arts)} candidate articles) | articles |")
    print("|---|---:|")
    for name, count in has.items():
        print(f"| {name} | {count} |")
    print()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", default="/tmp/helpapi-bench-index")
    ap.add_argument("--corpus", type=Path, default=quality.SHARED / "corpus")
    ap.add_argument("--kind", default="kw")
    ap.add_argument("--half", choices=quality.HALVES, default="tune")
    ap.add_argument("--depth", type=int, default=30)
    args = ap.parse_args(argv)
    ixset = hs.open_current(Path(args.index))
    queries = collect(ixset, args.corpus, args.kind, args.half, args.depth)
    print(f"### {args.kind} ({args.half} half, {len(queries)} queries, depth {args.depth})\n")
    report_fields(queries)
    report_signals(queries)
    report_ceiling(queries)


if __name__ == "__main__":
    main()
