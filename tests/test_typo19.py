"""Typo, prefix and keyword latency of issue 14 item 5, stop 19: the cheaper paths give the
same answers as the ones they replace (bench/passes_ab.py --check compares every answer of
the dev query sets; these pin each path on the sample corpus)."""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect_left

from helpapi import engine
from helpapi import snippets
from helpapi.analysis import GRAM_RUN
from helpapi.display import fold
from helpapi.query import Unit
from helpapi.query import _bounded


def _slow_range(terms: list[bytes], prefix: str) -> tuple[int, int]:
    key = prefix.encode("utf-8")
    lo = bisect_left(terms, key)
    hi = lo
    while hi < len(terms) and terms[hi].startswith(key):
        hi += 1
    return lo, hi


def test_prefix_range_and_bisect_equal_a_search_of_every_term(ixset):
    """_Terms.bisect (its block searched without a call per step) and the prefix ranges made
    from it equal a search of the whole decoded term list: prefixes with no completion, a
    few or many, long and short, and bisections from a lower bound."""
    rng = random.Random(19)
    checked = 0
    for locale in ixset.locales:
        for name, field in ixset.mem[locale].fields.items():
            terms = [field.terms[i] for i in range(len(field.terms))]
            for word in [t.decode("utf-8") for t in rng.sample(terms, min(40, len(terms)))]:
                for prefix in {word, word[:1], word[:9], word[:-1], word + "a", word[:9] + "zz"}:
                    assert field._prefix_range(prefix) == _slow_range(terms, prefix), (name, prefix)
                    key = prefix.encode("utf-8")
                    lo = rng.randrange(len(terms) + 1)
                    assert field.terms.bisect(key, lo) == max(bisect_left(terms, key), lo)
                    checked += 1
    assert checked > 1000


def _punctuated_by_category(text: str) -> bool:
    marks = [unicodedata.category(c)[0] in "PS" for c in text]
    words = [i for i, c in enumerate(text) if not marks[i] and not c.isspace()]
    if not words:
        return False
    return any(
        marks[i] and not (engine._spaced_letter(text[i - 1]) and engine._spaced_letter(text[i + 1]))
        for i in range(words[0] + 1, words[-1])
    )


def test_punctuated_letters_digits_and_spaces_told_at_once():
    """Text of letters, digits and spaces only holds no mark (told without a category look-up
    per character); any other text is read character by character as before."""
    rng = random.Random(5)
    alphabet = "aéZ9٣ 　\t受信者ー、・.,-!?>+©̈\u200b_"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _c in range(rng.randrange(12)))
        assert engine.punctuated(text) is _punctuated_by_category(text), repr(text)
    assert not engine.punctuated("Difféerr les mises à jour de Windows 10")
    assert not engine.punctuated("共有 連絡先 外部")
    assert engine.punctuated("Bestellung > Zahlung")


def _plan_by_key(surfaces: frozenset[str]):
    ordered = sorted(surfaces, key=lambda s: (-len(s), s))
    words = tuple(dict.fromkeys(fold(s) for s in ordered if not GRAM_RUN.fullmatch(s)))
    runs = tuple(dict.fromkeys(fold(s) for s in ordered if GRAM_RUN.fullmatch(s)))
    return (words, runs) if words or runs else None


def test_snippet_plan_orders_and_folds_as_before():
    """A query's snippet plan (two C sorts, each surface folded once) is the one the sort by
    (-len, text) and a fold per pass made: the same words and runs in the same order."""
    rng = random.Random(7)
    alphabet = "aAbBßSsſKkK受信者ーéÉ İı"
    for _ in range(5000):
        surfaces = frozenset(
            "".join(rng.choice(alphabet) for _c in range(rng.randrange(1, 5)))
            for _s in range(rng.randrange(6))
        )
        assert snippets._plan.__wrapped__(surfaces) == _plan_by_key(surfaces), surfaces


def _bounded_loop(units: list[Unit]) -> list[tuple]:
    """query._bounded's loop alone (every unit through it): what each kept unit becomes."""
    from helpapi import ranking

    seen, out, places, lone, typed = {}, [], [], 0, 0
    for u in units:
        if u.kind == "run" and len(u.text) == 1:
            lone += 1
            if lone > ranking.MAX_LONE_CHARS:
                continue
        key = (u.kind, u.term, u.grams, u.phrase)
        if key in seen:
            if u.prefix:
                out[seen[key]] = None  # the word being typed moves to the end
            else:
                if typed < ranking.MAX_UNITS:
                    places[seen[key]].append(typed)
                    typed += 1
                continue
        seen[key] = len(out)
        out.append(u)
        places.append([typed])
        typed += 1
    kept = [(u.text, u.term, tuple(p)) for u, p in zip(out, places, strict=True) if u]
    return kept[: ranking.MAX_UNITS]


def test_bounded_without_repeats_keeps_every_unit_in_place():
    """Units with no repeat and few lone characters (most queries) are kept as the loop keeps
    them: each at its own place, at most MAX_UNITS; repeats and floods still take the loop."""
    rng = random.Random(11)
    words = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p"]
    for _ in range(3000):
        units = []
        for _u in range(rng.randrange(1, 22)):
            if rng.random() < 0.2:
                text = rng.choice("受信者")
                units.append(Unit("run", text, grams=(text,), phrase=rng.choice([-1, 0])))
            else:
                w = rng.choice(words)
                units.append(Unit("word", w.upper(), term=w, phrase=rng.choice([-1, -1, 0])))
        if rng.random() < 0.3:
            units[-1].prefix = units[-1].kind == "word"
        expected = _bounded_loop(units)
        assert [(u.text, u.term, u.at) for u in _bounded(units)] == expected
