"""Issue 14 item 5: the snippet step of prefix and typo queries made cheaper, spans unchanged.

Short words (the one or two letters of a word being typed) are found at word starts by a
regular expression over the folded text, and a cut moves out of a word by a run match: both
must find what the scan they replace found, on texts where that is subtle (Greek iota, which
``fold`` maps to a combining mark that is no word character)."""

from __future__ import annotations

import random

from helpapi import display
from helpapi import snippets
from helpapi.analysis import GRAM_RUN

from .test_engine_latency2 import _regex_spans

# Iota in three cases and forms (U+0399, U+03B9, U+1FBE) and the combining U+0345 they fold
# to; short Latin and Greek words; no-space scripts; marks and digits of other scripts.
ALPHABET = "aAbBoOvViIsSΙιιͅαΑσς_-1 .日本パไทย\u0301١"


def test_short_words_find_the_regex_spans():
    rng = random.Random(145)
    for _ in range(4000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 50)))
        surfaces = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 2)))]
        if text and rng.random() < 0.5:
            a = rng.randrange(len(text))
            surfaces.append(text[a : a + rng.randint(1, 3)])
        for limit, window in ((2000, None), (3, None), (2000, (2, 5)), (2000, (1, 3))):
            want = _regex_spans(text, surfaces, limit, window)
            got = snippets.match_spans(text, surfaces, limit, window, folded=display.fold(text))
            assert got == want, (text, surfaces, limit, window)


def test_short_word_after_iota_is_inside_a_word():
    # "ιa": the "a" follows a letter, though fold("ι") is the mark U+0345.
    assert snippets.match_spans("ιa a", ["a"]) == [(3, 4)]
    assert snippets.match_spans("\u0345a", ["a"]) == [(1, 2)]  # after a lone mark: a start
    assert snippets.match_spans("ab ι", ["a"]) == [(0, 2)]  # a match at 0 is always a start


def test_short_word_running_past_a_chunk_keeps_its_whole_tail():
    text = "x " * 127 + "abcdefgh" + " z"  # "a" starts at 254, its word runs past 256
    assert snippets.match_spans(text, ["a"]) == [(254, 262)]


def _old_out_of_word(text, pos, forward):
    """The cut's walk out of a word before: one character at a time."""
    step = 1 if forward else -1
    for _ in range(20):
        if pos <= 0 or pos >= len(text):
            break
        a, b = text[pos - 1], text[pos]
        if not (a.isalnum() and b.isalnum()) or GRAM_RUN.match(a) or GRAM_RUN.match(b):
            break
        pos += step
    return pos


def test_cut_moves_out_of_a_word_as_before():
    rng = random.Random(7)
    for _ in range(3000):
        letters = ALPHABET if rng.random() < 0.3 else "abcdefghij "
        text = "".join(rng.choice(letters) for _ in range(rng.randint(0, 50)))
        for pos in range(-1, len(text) + 2):
            for forward in (True, False):
                want = _old_out_of_word(text, pos, forward)
                assert snippets._out_of_word(text, pos, forward) == want, (text, pos, forward)
