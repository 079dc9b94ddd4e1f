"""The engine's relaxed pass and spelling correction against Whoosh, the index of record."""

from __future__ import annotations

import random

import pytest
from whoosh import collectors
from whoosh import query as wq

from helpapi import engine
from helpapi import ranking
from helpapi.memindex import fuzzy_keys
from helpapi.memindex import levenshtein
from helpapi.query import parse_user_text
from helpapi.query import relaxed_units

from .whoosh_oracle import _best_correction
from .whoosh_oracle import relaxed_query


def _deterministic(q, reader):
    """``q`` as the engine scores it (see the notes in helpapi.engine): every Or a tree of
    union matchers, fuzzy terms expanded to plain BM25F terms."""
    if isinstance(q, wq.FuzzyTerm):
        words = sorted(reader.terms_within(q.fieldname, q.text, q.maxdist, prefix=q.prefixlength))
        q = wq.Or([wq.Term(q.fieldname, w) for w in words]) if words else wq.NullQuery
    if isinstance(q, wq.Or):
        q.matcher_type = wq.Or.DEFAULT_MATCHER
    if hasattr(q, "subqueries"):
        q.subqueries = [_deterministic(s, reader) for s in q.subqueries]
    elif isinstance(q, wq.AndMaybe) or hasattr(q, "a"):
        q.a, q.b = _deterministic(q.a, reader), _deterministic(q.b, reader)
    return q


def _whoosh(searcher, q) -> dict[int, float]:
    c = collectors.UnlimitedCollector()
    c.replace = 0  # never swap matchers mid-search (see helpapi.engine)
    searcher.search_with_collector(q, c)
    return {d: s for s, d in c.results().top_n}


def _typo(word: str, rng: random.Random, alphabet: str) -> str:
    i = rng.randrange(1, len(word)) if len(word) > 1 else 0
    op = rng.choice("sdit")
    if op == "s":
        return word[:i] + rng.choice(alphabet) + word[i + 1 :]
    if op == "d":
        return word[:i] + word[i + 1 :]
    if op == "i":
        return word[:i] + rng.choice(alphabet) + word[i:]
    return word[: i - 1] + word[i : i + 1] + word[i - 1 : i] + word[i + 1 :]


def _queries(searcher, rng: random.Random) -> list[tuple[str, bool]]:
    """User texts for the relaxed pass: words dropped in, stems, typos, runs gone wrong."""
    docs = list(searcher.all_stored_fields())
    rng.shuffle(docs)
    out = [("zzqx", False), ("設定 zzqx", False), ("a", True)]
    for doc in docs[:25]:
        body = doc.get("body", "")
        words = body.split()
        alphabet = "".join(sorted(set(body.replace(" ", ""))))[:200] or "x"
        start = rng.randrange(max(1, len(words) - 6))
        chunk = words[start : start + rng.choice((1, 2, 3, 5, 12))]
        if not chunk:
            continue
        typoed = [
            _typo(w, rng, alphabet) if len(w) >= 5 and rng.random() < 0.6 else w for w in chunk
        ]
        chars = body.replace(" ", "")
        cut = rng.randrange(max(1, len(chars) - 8))
        run = chars[cut : cut + rng.choice((3, 4, 6, 9))]
        wrong = _typo(run, rng, alphabet) if run else run
        out += [
            (" ".join(chunk + ["zzqx"]), False),
            (" ".join(typoed), False),
            (" ".join(typoed[:-1] + [typoed[-1][:3]]), True),
            (wrong, False),
            (wrong + " " + " ".join(typoed[:2]), False),
            (doc["display_title"] + " qqqzz", False),
        ]
    return [(q, p) for q, p in out if q.strip()]


def test_relaxed_matches_whoosh(ixset, monkeypatch):
    # Whoosh checks every piece of a long run: so does the engine here, its bound lifted
    # (tests/test_hostile_bound.py checks the bound).
    monkeypatch.setattr(ranking, "RELAXED_MAX_RUN_READS", 10**9)
    rng = random.Random(11)
    checked = 0
    for locale in ixset.locales:
        mem = ixset.mem[locale]
        searcher = ixset.searcher(locale)
        reader = searcher.reader()
        freqs = engine.Frequencies(mem)
        for text, prefix in _queries(searcher, rng):
            units = parse_user_text(text, locale, prefix=prefix)
            if not units:
                continue
            loose = relaxed_units(units, reader)
            assert relaxed_units(units, freqs) == loose
            theirs = _whoosh(searcher, _deterministic(relaxed_query(loose, reader), reader))
            ours = dict(engine.relaxed(mem, loose))
            context = (locale, text, prefix)
            assert set(ours) == set(theirs), context
            for d, s in theirs.items():
                assert ours[d] == pytest.approx(s, rel=1e-6, abs=1e-9), (context, d)
            checked += 1
    assert checked > 8 * 150


def test_one_typo_expansion_matches_whoosh(ixset):
    rng = random.Random(5)
    checked = 0
    for locale in ixset.locales:
        mem = ixset.mem[locale]
        reader = ixset.searcher(locale).reader()
        stems = mem.fields["stems"]
        words = [stems.term(i) for i in range(len(stems.terms))]
        alphabet = "".join(sorted({c for w in words for c in w}))
        for word in rng.sample(words, min(60, len(words))):
            for probe in (word, _typo(word, rng, alphabet), _typo(word, rng, alphabet) + "x"):
                if len(probe) < 2:
                    continue
                theirs = set(reader.terms_within("stems", probe, 1, prefix=1))
                ours = {stems.term(t) for t in mem.fuzzy["stems"].within(probe, 1)}
                assert ours == theirs, (locale, probe)
                checked += 1
    assert checked > 1000


def test_spelling_correction_matches_whoosh(ixset):
    rng = random.Random(3)
    checked = 0
    for locale in ixset.locales:
        mem = ixset.mem[locale]
        reader = ixset.searcher(locale).reader()
        text = mem.fields["text"]
        words = [text.term(i) for i in range(len(text.terms))]
        words = [w for w in words if len(w) >= 4]
        alphabet = "".join(sorted({c for w in words for c in w}))
        for word in rng.sample(words, min(80, len(words))):
            once = _typo(word, rng, alphabet)
            probes = [once, _typo(once, rng, alphabet), word[0] + once[1:] + "e"]
            for probe in probes:
                if len(probe) < 4:
                    continue
                assert engine.best_correction(mem, probe) == _best_correction(reader, probe), (
                    locale,
                    probe,
                )
                checked += 1
    assert checked > 1500


def test_long_words_are_never_corrected(ixset):
    mem = ixset.mem["de-DE"]
    reader = ixset.searcher("de-DE").reader()
    word = "microsoft" * 5
    assert engine.best_correction(mem, word) is None
    assert _best_correction(reader, word) is None


@pytest.mark.parametrize(
    "a, b, limit, expected",
    [
        ("konto", "konto", 1, 0),
        ("konto", "kontto", 1, 1),
        ("konto", "knoto", 1, 2),  # a swap is two edits here (Whoosh's automaton)
        ("konto", "knoto", 2, 2),
        ("abc", "xyzabc", 2, 3),
        ("", "ab", 2, 2),
    ],
)
def test_levenshtein(a, b, limit, expected):
    assert levenshtein(a, b, limit) == expected


def test_fuzzy_keys_keep_the_first_character():
    keys = fuzzy_keys("konto", 1, 7)
    assert keys == {"konto": 0, "knto": 1, "koto": 1, "kono": 1, "kont": 1}
    assert fuzzy_keys("abcdefghij", 0, 3) == {"abcd": 0}
