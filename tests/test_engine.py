"""The postings engine must match and score exactly as the Whoosh queries it replaces."""

from __future__ import annotations

import random

import pytest

from helpapi import engine
from helpapi.analysis import title_key
from helpapi.indexer import build_indexes
from helpapi.memindex import MemIndex
from helpapi.query import parse_user_text
from helpapi.ranking import RERANK_DEPTH
from helpapi.search import open_current
from helpapi.search import search

from .conftest import sxs_article
from .whoosh_oracle import proximity_query
from .whoosh_oracle import strict_query


def _queries(searcher, locale: str, rng: random.Random) -> list[tuple[str, bool]]:
    """Varied user texts built from the locale's own articles: (text, prefix)."""
    docs = list(searcher.all_stored_fields())
    rng.shuffle(docs)
    out = [("zzqx", False), ("the", True), ("a", True), ("設", True), ("設定", False)]
    for doc in docs[:14]:
        title, body = doc["display_title"], doc.get("body", "")
        words = body.split()
        start = rng.randrange(max(1, len(words) - 4))
        chunk = " ".join(words[start : start + rng.choice((2, 3, 4))])
        chars = body.replace(" ", "")
        cut = rng.randrange(max(1, len(chars) - 6))
        out += [
            (title, False),
            (title[: max(1, len(title) * 2 // 3)], True),
            (chunk, False),
            (f'"{chunk}"', False),
            (chunk + " " + chunk.split()[0] if chunk else "x", False),  # a repeated word
            (chars[cut : cut + rng.choice((1, 2, 3, 5))], rng.random() < 0.5),
            (doc.get("english_title", ""), False),
            (" ".join(title.split()[::-1]), False),
        ]
    return [(q, p) for q, p in out if q.strip()]


def _same(ours: dict, theirs: dict, context) -> None:
    assert set(ours) == set(theirs), context
    for d, s in theirs.items():
        assert ours[d] == pytest.approx(s, rel=1e-9, abs=1e-12), (context, d)


def test_strict_and_proximity_match_whoosh(ixset):
    rng = random.Random(7)
    checked = 0
    for locale in ixset.locales:
        mem = ixset.mem[locale]
        assert mem is not None, locale
        searcher = ixset.searcher(locale)
        reader = searcher.reader()
        for text, prefix in _queries(searcher, locale, rng):
            units = parse_user_text(text, locale, prefix=prefix)
            if not units:
                continue
            key = "" if prefix else title_key(text, locale)
            theirs = searcher.search(strict_query(units, reader, key), limit=None)
            ranked = engine.strict(mem, units, key)
            context = (locale, text, prefix)
            if any(engine.is_prefix(u) for u in units) and len(units) > 1:
                # A prefix is matched exactly next to other units; Whoosh takes a few
                # frequent completions only, so it finds a subset.
                assert {d for _, d in theirs.top_n} <= dict(ranked).keys(), context
            else:
                _same(dict(ranked), {d: s for s, d in theirs.top_n}, context)
                # Ties aside, the same order.
                assert [round(s, 9) for _, s in ranked] == [round(s, 9) for s, _ in theirs.top_n]
            head = [d for d, _ in ranked[:RERANK_DEPTH]]
            prox = proximity_query(units)
            if prox is not None and head:
                hits = searcher.search(prox, filter=set(head), limit=None)
                _same(
                    engine.proximity(mem, units, head), {h.docnum: h.score for h in hits}, context
                )
            checked += 1
    assert checked > 500


@pytest.mark.parametrize(
    "lists, slop, ordered, expected",
    [
        ([[3], [4]], 1, True, True),
        ([[4], [3]], 1, True, False),  # wrong order
        ([[4], [3]], 1, False, True),
        ([[3], [3]], 1, False, False),  # the same position is not two words
        ([[1, 9], [5, 11]], 2, True, True),
        ([[1], [5]], 3, False, False),
        ([[1], [4], [6]], 3, False, True),  # within slop of the span built so far
        ([[1], [4], [2]], 3, False, False),  # inside that span counts as overlapping (Whoosh)
        ([[2], [3], [4]], 1, True, True),
        ([[2], [3], [5]], 1, True, False),
        ([[], [1]], 1, True, False),
    ],
)
def test_near(lists, slop, ordered, expected):
    assert engine.near(lists, slop, ordered) is expected


def test_a_word_being_typed_finds_a_rare_completion(make_corpus, tmp_path):
    frequent = " ".join(f"kaa{i}" for i in range(40))  # 40 completions of "ka" in every doc
    files = {
        f"common-{i}": sxs_article(f"Common {i}", f"Common {i}", [(frequent, "x")])
        for i in range(5)
    }
    files["rare"] = sxs_article("Unique kazoo", "Unique kazoo", [("unique kazoo", "y")])
    build_indexes(make_corpus({"de-DE": files}), tmp_path / "ix", jobs=1)
    with open_current(tmp_path / "ix") as ix:
        found = search(ix, "unique ka", "de-DE", prefix=True)
        assert [r["slug"] for r in found["results"]] == ["rare"]
        mem = ix.mem["de-DE"]
        assert engine.strict(mem, parse_user_text("unique kb", "de-DE", prefix=True)) == []
        # Alone, a prefix stands for its most frequent completions.
        alone = search(ix, "ka", "de-DE", prefix=True)
        assert alone["total"] == 5


def test_prefix_range(ixset):
    text = ixset.mem["de-DE"].fields["text"]
    lo, hi = text.prefix_range("micro")
    found = [bytes(text.terms[i]).decode() for i in range(lo, hi)]
    assert found and all(t.startswith("micro") for t in found)
    assert not bytes(text.terms[lo - 1]).decode().startswith("micro")
    assert hi == len(text.terms) or not bytes(text.terms[hi]).decode().startswith("micro")
    assert text.prefix_range("zzzzzzzz")[0] == text.prefix_range("zzzzzzzz")[1]


def test_rejects_a_foreign_file(tmp_path):
    (tmp_path / "postings.bin").write_bytes(b"not postings at all")
    with pytest.raises(ValueError):
        MemIndex.open(tmp_path)
