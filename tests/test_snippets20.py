"""Stop 20, snippet cost: display.bin stores ``words`` (the fold with every non-word character
a space) instead of the fold, and a query of words of word characters finds its spans there
(a space and the word: only word starts found; the next space: its end). Spans and snippets
are those of the definition (the per-query alternation) and of the path through the fold."""

from __future__ import annotations

import random
import re

from helpapi import display
from helpapi import snippets

from .test_engine_latency2 import _regex_spans

# Iota (which folds to the mark U+0345), ß/ss, İ, σ/ς/Σ, K/K, marks and punctuation (no word
# characters: spaces in ``words``), digits, "_", Thai vowel marks inside a run (a run that is
# not all word characters), kana and Han, a Cyrillic word.
ALPHABET = "aAbBsSſßiIİıΙιͅσςΣkKK_1٣ -.,'’()é\u0301日本語パスワードไทีย пароль"


def _words_by_definition(text: str) -> str:
    return "".join(
        " " if not (c.isalnum() or c == "_") else f
        for c, f in zip(text, display.fold(text), strict=True)
    )


def _text(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, most)))


def _surfaces(rng: random.Random, text: str) -> list[str]:
    out = []
    for _ in range(rng.randint(1, 4)):
        if text and rng.random() < 0.7:
            a = rng.randrange(len(text))
            piece = text[a : a + rng.randint(1, 5)]
        else:
            piece = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 3)))
        out.append(piece.swapcase() if rng.random() < 0.3 else piece)
    if rng.random() < 0.5:  # words of word characters only: the path through words()
        out = [w for s in out for w in re.findall(r"\w+", s)] or ["a"]
    return out


def test_words_is_the_fold_with_non_word_characters_as_spaces():
    for c in map(chr, range(0x110000)):
        if not 0xD800 <= ord(c) < 0xE000:
            assert display.words(c) == _words_by_definition(c), hex(ord(c))
    rng = random.Random(20)
    for _ in range(3000):
        text = _text(rng, 40)
        assert display.words(text) == _words_by_definition(text), text
    # final sigma's lowercase reads its neighbours; σ and ς fold to one character
    for text in ("ΟΔΟΣ'Α", "ΟΔΟΣ.", "ΣΑΣ", "İSTANBUL'A", "straße STRASSE"):
        assert display.words(text) == _words_by_definition(text)


def test_spans_through_words_are_the_regex_spans():
    rng = random.Random(2020)
    for _ in range(6000):
        text = _text(rng, 60)
        surfaces = _surfaces(rng, text)
        spaced = display.words(text)
        for limit, window in ((2000, None), (3, None), (2000, (2, 5)), (2000, (1, 3)), (2, (0, 4))):
            want = _regex_spans(text, surfaces, limit, window)
            got = snippets.match_spans(text, surfaces, limit, window, spaced=spaced)
            assert got == want, (text, surfaces, limit, window)


def test_many_places_of_one_word_keep_the_window_cut():
    # Each word's first n + 1 places, then the places up to the cut: the spans of the scan.
    rng = random.Random(7)
    for _ in range(300):
        words = ["ab", "abc", "b", "cab"]
        text = " ".join(rng.choice(words + ["x", "yab"]) for _ in range(rng.randint(0, 200)))
        surfaces = rng.sample(words, rng.randint(1, 3))
        for limit, window in ((2000, (64, 180)), (2000, (5, 12)), (40, (64, 180)), (7, None)):
            want = _regex_spans(text, surfaces, limit, window)
            got = snippets.match_spans(text, surfaces, limit, window, spaced=display.words(text))
            assert got == want, (text, surfaces, limit, window)


def test_snippets_through_words_equal_the_snippets_through_the_fold():
    rng = random.Random(44)
    for _ in range(2000):
        text = " ".join(_text(rng, 300).split())
        surfaces = _surfaces(rng, text)
        for size in (20, 60, 180):
            want = snippets.make_snippet(text, surfaces, size)
            assert snippets.make_snippet(text, surfaces, size, spaced=display.words(text)) == want


def test_a_long_text_takes_the_chunked_scan_with_the_same_spans():
    # Past _FAST_MAX; surfaces of other characters (folded only as far as the scan reads),
    # more than _MANY_SURFACES of them, Greek iota and its mark, final sigma.
    text = " ".join(["Passwort ändern."] * 2000 + ["passwörter ΚΑΙ ΟΔΟΣ. e-mail ι\u0345a"])
    assert len(text) > snippets._FAST_MAX
    spaced = display.words(text)
    many = [f"w{i}.x" for i in range(40)] + ["ändern.", "e-mail", "οδοσ.", "και"]
    for surfaces in (["passw"], ["ändern", "zz"], ["p"], ["ändern.", "x"], ["e-mail"], many):
        want = _regex_spans(text, surfaces, window=(64, 180))
        assert snippets.match_spans(text, surfaces, window=(64, 180), spaced=spaced) == want
        assert snippets.make_snippet(text, surfaces, spaced=spaced) == snippets.make_snippet(
            text, surfaces
        )


def test_corpus_hits_give_the_snippets_of_the_fold(ixset):
    """Every display entry holds words(body), and its snippets equal those of the fold."""
    rng = random.Random(9)
    for locale in ixset.locales:
        shown = ixset.display[locale]
        for docnum in rng.sample(range(shown.doc_count), min(15, shown.doc_count)):
            _, _, title, body, spaced = shown.hit(docnum)
            assert spaced == display.words(body)
            words = body.split()
            for _ in range(4):
                surfaces = [w[: rng.randint(1, len(w))] for w in rng.sample(words, 2)]
                for found in (surfaces, [*surfaces, title]):
                    want = snippets.make_snippet(body, found, folded=display.fold(body))
                    assert snippets.make_snippet(body, found, spaced=spaced) == want


def _snap_through_icu(text: str, index: int, forward: bool) -> int:
    """The cut before: ICU's iterator asked on every text that is not all below U+0300."""
    lo, hi = max(0, index - 24), min(len(text), index + 24)
    window = text[lo:hi]
    if window and max(window) < "\u0300" and "\r" not in window:
        pos = index
    else:
        pos = snippets._grapheme_snap(window, lo, index - lo, forward)
    return snippets._out_of_word(text, pos, forward)


# Characters of every grapheme-joining kind (combining marks, ZWJ and emoji, regional
# indicators, Hangul jamo and syllables, Indic virama and spacing marks, Thai, Arabic prepend,
# CR LF), beside letters, Cyrillic, kana and a character outside the BMP.
GRAPHEMES = (
    "ae \u0301\u200d\U0001f469\U0001f1e9\U0001f1ea\u1100\u1161\u11a8\uac00\uac01"
    "क्षि\u093fไทย\u0600\r\nжЖ日パ.-_"
)


def test_cuts_fall_where_icu_puts_them():
    rng = random.Random(29)
    for _ in range(20000):
        text = "".join(rng.choice(GRAPHEMES) for _ in range(rng.randint(2, 30)))
        index = rng.randrange(1, len(text))
        for forward in (True, False):
            want = _snap_through_icu(text, index, forward)
            assert snippets._snap(text, index, forward) == want, (text, index, forward)
