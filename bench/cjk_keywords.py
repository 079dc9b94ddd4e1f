"""CJK keyword queries drawn from ``../shared/corpus-scale`` articles no tuning half uses.

People type a few keywords of a title, not the title: this takes the localized title of each
ja-JP, zh-CN and zh-TW article of the scale corpus, cuts it into words with ICU (the same
breaking the index uses), keeps two or three of its content words (at least two characters, or
Latin product names), and writes them in another order, separated by spaces. Articles that any
query of a tuning half expects (``../shared/queries`` and ``../shared/queries-scale``, split as
``bench/quality.py`` splits them) are left out, and so is every generated query whose own hash
falls in the tuning half: the whole set is reporting material, never tuned on.

    python bench/cjk_keywords.py --out /tmp/cjk_kw.jsonl [--per-locale 300]
        [--index DIR]   # also evaluate them on an index holding those locales

With ``--index``, prints MRR@10, Recall@1/@10 and zero-result rate per locale like
``bench/quality.py`` (the index must hold ``corpus-scale``'s CJK locales, e.g. one built
from a folder holding copies of them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality  # noqa: E402  (bench/quality.py: halves, evaluation, tables)

from helpapi import search as hs  # noqa: E402
from helpapi.analysis import GRAM_RUN  # noqa: E402
from helpapi.analysis import words_analyzer  # noqa: E402
from helpapi.corpus import UnreadableArticle  # noqa: E402
from helpapi.corpus import article_files  # noqa: E402
from helpapi.corpus import parse_article  # noqa: E402

LOCALES = ("ja-JP", "zh-CN", "zh-TW")


def tuning_articles() -> set[str]:
    """Every expected id and path of a tuning-half query, in every shared query set."""
    out: set[str] = set()
    for folder in ("queries", "queries-scale"):
        for path in sorted((quality.SHARED / folder).glob("*.jsonl")):
            for line in path.read_text("utf-8").splitlines():
                if not line.strip():
                    continue
                q = json.loads(line)
                if quality.half_of(q) == "tune":
                    out.update(q.get("expect", []))
                    out.update(f"path:{p}" for p in q.get("expect_paths", []))
    return out


_HIRAGANA = re.compile("[\u3041-\u309f\u30fc]+")


def title_words(title: str, locale: str) -> list[str]:
    """The content-word candidates of ``title``: ICU words of at least two CJK characters (not
    all hiragana: Japanese particles, okurigana, auxiliaries) or Latin names of 3+ letters."""
    words = []
    for tok in words_analyzer(locale)(title, chars=True):
        surface = title[tok.startchar : tok.endchar]
        cjk = GRAM_RUN.fullmatch(surface) is not None
        if cjk and len(surface) >= 2 and not _HIRAGANA.fullmatch(surface):
            ok = True
        else:
            # Latin words are product names or acronyms here (OneDrive, Teams, PIN).
            ok = not cjk and surface.isalpha() and len(surface) >= 3
        if ok and surface not in words:
            words.append(surface)
    return words


def keywords(words: list[str], common: set[str], rng: random.Random) -> list[str] | None:
    """Two or three of a title's ``words`` (not ``common`` ones) in a new order, or None."""
    words = [w for w in words if w not in common]
    if len(words) < 2 or not any(GRAM_RUN.fullmatch(w) for w in words):
        return None
    picked = rng.sample(words, min(len(words), rng.choice((2, 3))))
    if picked == [w for w in words if w in picked]:
        picked.reverse()  # never the title's own order
    return picked


def generate(per_locale: int) -> list[dict]:
    """The keyword queries, at most ``per_locale`` for each CJK locale, in a stable order."""
    used = tuning_articles()
    out = []
    for locale in LOCALES:
        folder = quality.SHARED / "corpus-scale" / locale
        articles = []
        for slug, path in article_files(folder):
            try:
                article = parse_article(path, locale, slug)
            except UnreadableArticle:
                continue
            articles.append((slug, article, title_words(article.title, locale)))
        # Words in many titles are function words of the language (关于, 中的, 使用): with no
        # per-language stop list, frequency tells them (at most 1% of the titles).
        df = Counter(w for _, _, words in articles for w in words)
        common = {w for w, n in df.items() if n > max(3, len(articles) // 100)}
        made = []
        for slug, article, words in articles:
            name = f"{slug}.md"  # how the query sets name an article (``expect_paths``)
            ids = {f"path:{name}", article.assetid}
            if ids & used:
                continue
            seed = hashlib.sha256(f"{locale}/{slug}".encode()).digest()
            picked = keywords(words, common, random.Random(seed))
            if not picked:
                continue
            expect = [article.assetid] if article.assetid else [f"path:{name}"]
            q = {
                "locale": locale,
                "kind": "cjk_kw",
                "q": " ".join(picked),
                "expect": expect,
                "expect_paths": [name],
                "src": name,
                "title": article.title,
            }
            if quality.half_of(q) == "report":
                made.append(q)
        out += made[:per_locale]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/cjk_kw.jsonl")
    ap.add_argument("--per-locale", type=int, default=300)
    ap.add_argument("--index", help="evaluate the queries on this index")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    queries = generate(args.per_locale)
    Path(args.out).write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries))
    print(f"{len(queries)} queries -> {args.out} ({time.perf_counter() - t:.0f}s)")
    for q in queries[:: max(1, len(queries) // 6)]:
        print(f"  {q['locale']}  {q['q']!r}  <- {q['title']!r}")
    if args.index:
        with hs.open_current(Path(args.index)) as ixset:
            t = time.perf_counter()
            rows = quality.evaluate(ixset, queries)
            secs = time.perf_counter() - t
        quality.print_table("cjk_kw (corpus-scale, no tuning-half article)", rows, sys.stdout)
        print(f"\n({len(queries)} queries, {1000 * secs / max(1, len(queries)):.1f} ms/query)")


if __name__ == "__main__":
    main()
