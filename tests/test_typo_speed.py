"""The cheaper as-you-type and spelling-correction work of issue 14 item 5 leaves every answer
identical: term look-ups, fuzzy candidates, title completions summed for the strict matches
only, and the strict pass's scores to the last bit (bench/passes.py --dump shows the same on
the dev corpus)."""

from __future__ import annotations

import random
from array import array
from bisect import bisect_left

import pytest

from helpapi import engine
from helpapi import memindex
from helpapi.analysis import title_key
from helpapi.memindex import _Terms
from helpapi.query import correction_limit
from helpapi.query import osa_distance
from helpapi.query import parse_user_text


def _plain_id(terms, key: bytes) -> int:
    """The look-up before: a bisect calling ``__getitem__`` at every step (the oracle)."""
    i = bisect_left(terms, key)
    return i if i < len(terms) and terms[i] == key else -1


def _plain_range(terms, key: bytes) -> tuple[int, int]:
    lo = bisect_left(terms, key)
    hi = lo
    while hi < len(terms) and terms[hi].startswith(key):
        hi += 1
    return lo, hi


def _terms(words: list[str]) -> _Terms:
    """A term table over plain bytes, laid out as postings.bin lays it out."""
    encoded = [w.encode() for w in sorted(set(words))]
    off = array("I", [0])
    for e in encoded:
        off.append(off[-1] + len(e))
    blob = b"".join(encoded)
    return _Terms(memoryview(blob), memoryview(off), blob, 0)


def _probes(words: list[str], rng: random.Random) -> list[bytes]:
    """Every term, and keys near them: cut, extended, joined across a term boundary."""
    out = []
    for i, w in enumerate(words):
        nxt = words[(i + 1) % len(words)]
        out += [w, w[:-1], w + "a", w + "\x00", "a" + w, w[-1:] + nxt[:1], w[1:] + nxt[:2]]
    out += ["", "\x00", "\U0010ffff", "zzzz"] + [rng.choice(words)[:2] for _ in range(20)]
    return [p.encode() for p in out]


@pytest.mark.parametrize("step", [1, 2, 3, 5, 32])
def test_term_lookups_match_a_plain_bisect(monkeypatch, step):
    # Short terms that are starts of others and join into others ("ab" + "c" is "abc"): the
    # block search must only accept a key where a term starts and ends.
    rng = random.Random(step)
    words = ["a", "ab", "abc", "abcd", "b", "bc", "c", "ca", "cab", "ä", "äb", "日本", "日本語"]
    words += ["".join(rng.choice("abcä日") for _ in range(rng.randint(1, 5))) for _ in range(200)]
    monkeypatch.setattr(memindex, "SAMPLE_STEP", step)
    terms = _terms(words)
    words = sorted({w.encode() for w in words})
    for key in _probes([w.decode() for w in words], rng):
        assert terms.find(key) == _plain_id(terms, key), key
        assert terms.bisect(key) == bisect_left(terms, key), key
        lo = bisect_left(terms, key)
        assert terms.bisect(key, lo) == lo
    assert _terms([]).find(b"a") == -1 and _terms([]).bisect(b"a") == 0


def test_index_term_lookups_and_ranges_match_a_plain_bisect(ixset):
    rng = random.Random(14)
    for locale in ixset.locales:
        mem = ixset.mem[locale]
        tables = [f for f in mem.fields.values() if len(f.terms)]
        tables += [t.keys for t in mem.fuzzy.values()]
        for field in tables:
            picked = rng.sample(range(len(field.terms)), min(40, len(field.terms)))
            words = [field.term(i) for i in picked]
            for key in _probes(words, rng):
                text = key.decode()
                assert field.term_id(text) == _plain_id(field.terms, key), (locale, text)
                if key:
                    assert field.prefix_range(text) == _plain_range(field.terms, key), text


def _old_within(table, word: str, maxdist: int) -> list[int]:
    """FuzzyTable.within before: entry by entry, one distance call per candidate."""
    found = set()
    for key in memindex.fuzzy_keys(word, maxdist, table.chars):
        kid = table.keys.term_id(key)
        if kid >= 0:
            start, end = table.keys.span(kid)
            found.update(e >> 2 for e in table.keys.docs[start:end] if e & 3 <= maxdist)
    off, size = table.field.terms.off, len(word.encode())
    return [
        t
        for t in sorted(found)
        if abs(off[t + 1] - off[t] - size) <= 4 * maxdist
        and memindex.levenshtein(word, table.field.term(t), maxdist) <= maxdist
    ]


def _typos(words: list[str], rng: random.Random) -> list[str]:
    out = []
    for w in words:
        i = rng.randrange(len(w))
        out += [w, w[:i] + w[i + 1 :], w[:i] + "x" + w[i:], w[:i] + "e" + w[i + 1 :]]
        out += engine.swaps(w)[:2]
    return [w for w in out if w]


def test_fuzzy_candidates_and_corrections_are_unchanged(ixset):
    rng = random.Random(5)
    for locale in ixset.locales:
        mem = ixset.mem[locale]
        for name, table in mem.fuzzy.items():
            picked = rng.sample(range(len(table.field.terms)), 30)
            for word in _typos([table.field.term(i) for i in picked], rng):
                for maxdist in range(table.k + 1):
                    got = table.within(word, maxdist)
                    assert list(got) == _old_within(table, word, maxdist), (locale, name, word)
                    assert table.within(word, maxdist) == got  # remembered, unchanged
        text = mem.fields["text"]
        for word in _typos([text.term(i) for i in rng.sample(range(len(text.terms)), 30)], rng):
            assert engine.best_correction(mem, word) == _old_correction(mem, word), word


def _old_correction(mem, word: str) -> str | None:
    """engine.best_correction over the candidates of :func:`_old_within`."""
    if len(word) > 40:
        return None
    limit, text = correction_limit(word), mem.fields["text"]
    tids = _old_within(mem.fuzzy["text"], word, limit)
    tids += [t for t in map(text.term_id, engine.swaps(word)) if t >= 0]
    key = lambda t: (osa_distance(word, text.term(t), limit), -text.doc_frequency(t))  # noqa: E731
    best = min(tids, key=key, default=None)
    return None if best is None else text.term(best)


def test_positions_keeps_item_aligned_matches_only():
    # Little or big endian, 0x0101 0x0001 0x0100 0x0001 0x0101: the bytes of one item also
    # occur across two neighbours, which must not count.
    docs = memoryview(array("H", [0x0101, 0x0001, 0x0100, 0x0001, 0x0101]))
    assert engine._positions(docs, 0x0101) == [0, 4]
    assert engine._positions(docs, 1) == [1, 3]
    assert engine._positions(docs, 0x0100) == [2]
    assert engine._positions(docs, 7) == []
    assert engine._positions(docs, 1 << 16) == []  # wider than an item
    wide = memoryview(array("I", [5, 1 << 20, 5]))
    assert engine._positions(wide, 5) == [0, 2]


def _title_prefixes(ixset, locale: str, rng: random.Random) -> list[str]:
    """Titles cut inside a word (the last one being typed), at one letter too."""
    out = []
    for doc in rng.sample(list(ixset.searcher(locale).all_stored_fields()), 12):
        title = doc["display_title"]
        words = title.split()
        for n in range(1, min(len(words), 5) + 1):
            head = " ".join(words[: n - 1])
            last = words[n - 1]
            out += [f"{head} {last[:1]}".strip(), f"{head} {last[: max(1, len(last) // 2)]}"]
        out.append(title)
    return out + ["a", "s", "o", "the a", "de", "設"]


def test_completions_for_some_documents_equal_the_whole_clause(ixset):
    rng = random.Random(3)
    for locale in ixset.locales:
        title = ixset.mem[locale].fields["title"]
        for prefix in ["a", "s", "o", "p", "m", "d", "c", "v", "k", "t"]:
            whole = engine._title_completions(title, prefix)
            if whole is None:
                assert engine._title_completions(title, prefix, {1: 0.0}) is None
                continue
            docs = sorted(whole)
            for count in (0, 1, 3, 8, 9, 40):
                # Documents with a completion, and some without one.
                within = dict.fromkeys(rng.sample(docs, min(count, len(docs))), 0.0)
                within.update(dict.fromkeys(rng.sample(range(len(docs) * 2), count // 2), 0.0))
                part = engine._title_completions(title, prefix, within)
                assert dict(part) == {d: s for d, s in whole.items() if d in within}
                # Where _intersect sorts it; a clause for no document only needs to be true
                # (its intersection is empty in any order).
                assert len(part) == len(whole) if within else part


def test_strict_scores_are_those_of_the_whole_boost_clauses(ixset, monkeypatch):
    # The strict pass now builds its title boosts for its matches only; with the boosts
    # built over every document (as before) each match's score is the same float.
    rng = random.Random(11)
    cases = []
    for locale in ixset.locales:
        for text in _title_prefixes(ixset, locale, rng):
            mem = ixset.mem[locale]
            cases.append((mem, parse_user_text(text, locale, prefix=True), ""))
            units = parse_user_text(text, locale)
            cases.append((mem, units, title_key(text, locale)))
    ours = [engine.strict(mem, units, key) for mem, units, key in cases]
    boosts = engine._boosts
    monkeypatch.setattr(engine, "_boosts", lambda m, u, k, a=None, within=None: boosts(m, u, k, a))
    before = [engine.strict(mem, units, key) for mem, units, key in cases]
    assert sum(1 for r in before if len(r) > 1) > 50  # enough queries rank several matches
    assert ours == before
