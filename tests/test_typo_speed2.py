"""Second round of issue 14 item 5 (typo and prefix searches): stems made when read, one
analysis of a search's text, fewer correction look-ups. Every answer stays what it was
(bench/passes_ab.py --check compares them all on the dev corpus)."""

from __future__ import annotations

import dataclasses
import random

from helpapi import engine
from helpapi.analysis import clean_text
from helpapi.analysis import title_key
from helpapi.analysis import words_analyzer
from helpapi.query import Unit
from helpapi.query import _stem_of
from helpapi.query import correction_limit
from helpapi.query import osa_distance
from helpapi.query import parse_user_text
from helpapi.query import query_title_key
from helpapi.query import query_words

TEXTS = [
    "Reset your passwords quickly",
    'Set up "multi-factor authentication" for users',
    "Behandeln von Problemen mit der Azure AD-Verknüpfung",
    "l'utilisateur réinitialise son mot de passe",
    "Teams 通話の設定 and 会議",
    "Käyttäjien salasanojen palauttaminen",
    "Налаштування двофакторної автентифікації",
    "outlook.com Allow_Recording 8326.2146",
    "zero\u200bwidth soft\u00adhyphen",
    "A" * 300 + " long " * 60,
    "L’Utilisateur d'Outlook qu'il a",
    "İstanbul IŞIK ıi",
    "הסיסמה והגדרות والإعدادات",
    "école ZWJ‍text non breaking",
    "x" * 60 + " " + "ü" * 50,
    "",
    "   ",
]
LOCALES = ["en-US", "de-DE", "fr-FR", "fi-FI", "uk-UA", "ja-JP", "tr-TR", "he-IL", "ar-SA"]


def _eager_stem(unit: Unit) -> str:
    """A parsed word's stem as parse_user_text made it before (at parse time)."""
    stem = _stem_of(unit.text, unit.locale)
    return unit.term if stem is None else stem


def test_stems_made_when_read_equal_those_made_at_parse_time():
    for locale in LOCALES:
        for text in TEXTS:
            for prefix in (False, True):
                for u in parse_user_text(text, locale, prefix=prefix):
                    if u.kind == "word":
                        assert u.stem == _eager_stem(u), (locale, text, u)
                    else:
                        assert u.stem == "", u


def test_a_unit_stem_given_or_defaulted_is_kept():
    assert Unit("run", "通話").stem == ""
    assert Unit("word", "x", term="x").stem == ""
    assert Unit("word", "x", term="x", stem="y").stem == "y"
    parsed = parse_user_text("passwords", "en-US")[0]
    fixed = dataclasses.replace(parsed, term="password", stem="password")
    assert fixed.stem == "password"
    assert parsed.stem == "password"  # the parsed one's own, made when read
    # Equality and repr see the stem like any field.
    assert parsed == parse_user_text("passwords", "en-US")[0]
    assert "stem='password'" in repr(parsed)


def test_query_words_and_title_key_equal_the_words_chain():
    # ICU's words put through the chain's filters one by one (terms remembered per word)
    # give the chain's own tokens and offsets: query-time filters map a token to one or none.
    for locale in LOCALES:
        for text in TEXTS:
            text = clean_text(text)
            chain = words_analyzer(locale)(text, chars=True)
            expected = tuple((t.text, t.startchar, t.endchar) for t in chain)
            assert query_words(text, locale) == expected, (locale, text)
            assert query_words(text, locale) == expected  # remembered
            assert query_title_key(text, locale) == title_key(text, locale), (locale, text)


def test_units_of_a_text_analyzed_twice_are_fresh_objects():
    # The analysis is remembered, the units are not: a caller changing one (corrected_units
    # replaces, prefix marks) never changes a later search's.
    first = parse_user_text("reset password", "en-US")
    first[0].term = "changed"
    again = parse_user_text("reset password", "en-US")
    assert again[0].term == "reset"


def _all_swaps_correction(mem, word: str) -> str | None:
    """best_correction as before: every swap of neighbours looked up, at any distance."""
    if len(word) > 40:
        return None
    limit, text = correction_limit(word), mem.fields["text"]
    tids = list(mem.fuzzy["text"].within(word, limit))
    tids += [t for t in map(text.term_id, engine.swaps(word)) if t >= 0]
    key = lambda t: (osa_distance(word, text.term(t), limit), -text.doc_frequency(t))  # noqa: E731
    best = min(tids, key=key, default=None)
    return None if best is None else text.term(best)


def test_long_word_swaps_correct_as_when_every_swap_was_looked_up(ixset):
    # Long words (two edits allowed) with two neighbours swapped at every place, the first
    # two letters included, and a letter doubled: the fuzzy table holds the swaps the
    # look-ups no longer make.
    rng = random.Random(52)
    checked = 0
    for locale in ixset.locales:
        mem = ixset.mem[locale]
        text = mem.fields["text"]
        longs = [t for t in map(text.term, range(len(text.terms))) if 8 <= len(t) <= 40]
        for word in rng.sample(longs, min(25, len(longs))):
            for typo in [*engine.swaps(word), word[0] + word, word[1:]]:
                assert engine.best_correction(mem, typo) == _all_swaps_correction(mem, typo), (
                    locale,
                    typo,
                )
                checked += 1
    assert checked > 100


def test_snippet_escapes_once_and_still_when_the_text_holds_the_mark_stand_ins():
    from helpapi.snippets import make_snippet

    plain = make_snippet('Reset <b> & "reset" it', ["reset"])
    assert plain == "<mark>Reset</mark> &lt;b&gt; &amp; &quot;<mark>reset</mark>&quot; it"
    odd = make_snippet("a \x02 & \x03 <reset>", ["reset"])
    assert odd == "a \x02 &amp; \x03 &lt;<mark>reset</mark>&gt;"


def test_snippet_window_is_the_first_with_every_distinct_word():
    from helpapi.snippets import make_snippet

    # The first window already holds every distinct word: later ones only tie (earliest wins).
    text = "alpha beta " + "filler " * 40 + "alpha beta gamma " + "filler " * 40
    got = make_snippet(text, ["alpha", "beta"], size=40)
    assert got.startswith("<mark>alpha</mark> <mark>beta</mark>")
    got = make_snippet(text, ["alpha", "beta", "gamma"], size=100)
    assert "<mark>alpha</mark> <mark>beta</mark> <mark>gamma</mark>" in got


def test_find_all_equals_find_for_each_key(ixset):
    # Keys near real terms (cut, extended, swapped), sorted: shared blocks must never let a
    # key be found where a term does not start and end.
    rng = random.Random(8)
    for locale in ixset.locales:
        mem = ixset.mem[locale]
        for table in [mem.fields["text"], *(t.keys for t in mem.fuzzy.values())]:
            picked = rng.sample(range(len(table.terms)), min(60, len(table.terms)))
            words = [table.term(i) for i in picked]
            keys = {w for x in words for w in (x, x[:-1], x + "a", x[1:], *engine.swaps(x)[:2])}
            keys = sorted(k.encode() for k in keys | {"", "\U0010ffff"})
            assert table.terms.find_all(keys) == [table.terms.find(k) for k in keys], locale


def test_snap_without_icu_below_u0300_equals_icu():
    # Texts of characters below U+0300 (controls, CR LF, soft hyphen, Latin letters) snap
    # where ICU's grapheme rules put them; other texts still go through ICU.
    from helpapi.snippets import _grapheme_snap
    from helpapi.snippets import _out_of_word
    from helpapi.snippets import _snap

    rng = random.Random(3)
    alpha = [chr(c) for c in range(0x20, 0x300)] + ["\r", "\n", "\x00", "\x85", "\xad", " "] * 5
    alpha += ["e\u0301", "\u200d", "👍", "한"]
    for _ in range(5000):
        text = "".join(rng.choice(alpha) for _ in range(rng.randrange(1, 80)))
        i, forward = rng.randrange(len(text) + 1), rng.random() < 0.5
        lo, hi = max(0, i - 24), min(len(text), i + 24)
        icu_pos = _grapheme_snap(text[lo:hi], lo, i - lo, forward)
        assert _snap(text, i, forward) == _out_of_word(text, icu_pos, forward), (text, i)
