"""Typo, prefix and keyword latency of issue 14 item 5, stop 19: the cheaper paths give the
same answers as the ones they replace (bench/passes_ab.py --check compares every answer of
the dev query sets; these pin each path on the sample corpus)."""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect_left

from helpapi import engine
from helpapi import memindex


def _slow_range(terms: list[bytes], prefix: str) -> tuple[int, int]:
    key = prefix.encode("utf-8")
    lo = bisect_left(terms, key)
    hi = lo
    while hi < len(terms) and terms[hi].startswith(key):
        hi += 1
    return lo, hi


def test_long_prefix_range_searched_inside_its_start(ixset):
    """A prefix longer than SHORT_PREFIX is searched inside the remembered range of its first
    SHORT_PREFIX characters: the same range as searching every term, whether that start has
    no term, one, a few or many, and whether the prefix has no completion, a few or many."""
    rng = random.Random(19)
    checked = long_ranges = 0
    for locale in ixset.locales:
        for name, field in ixset.mem[locale].fields.items():
            terms = [field.terms[i] for i in range(len(field.terms))]
            words = [t.decode("utf-8") for t in rng.sample(terms, min(40, len(terms)))]
            for word in words:
                prefixes = {word, word[:9], word[:12], word[:-1], word + "a", word[:9] + "zz"}
                prefixes.add(word[:8] + "\uffff" + word[9:])
                for prefix in prefixes:
                    expected = _slow_range(terms, prefix)
                    assert field.prefix_range(prefix) == expected, (locale, name, prefix)
                    assert field._prefix_range(prefix) == expected, (locale, name, prefix)
                    checked += 1
                    short = field.prefix_range(prefix[: memindex.SHORT_PREFIX])
                    long_ranges += len(prefix) > memindex.SHORT_PREFIX and short[1] - short[0] > 4
    assert checked > 1000
    assert long_ranges > 50  # a start of many terms: the completions' end found by bisection


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
