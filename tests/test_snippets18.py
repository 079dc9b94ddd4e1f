"""Stop 18, snippet cost: the cheaper scan (chunks sized by the density of matches) and window
choice (a sliding count) give the same spans and snippets as the plain definitions."""

from __future__ import annotations

import random
import re

import pytest

from helpapi import snippets


def _reference_spans(text: str, surfaces: list[str]) -> list[tuple[int, int]]:
    """The definition match_spans documents: one alternation, words then runs, adjacent
    spans joined."""
    words, runs = snippets._plan(frozenset(s for s in surfaces if s)) or ((), ())
    alts = []
    if words:
        alts.append(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")\w*")
    if runs:
        alts.append(r"(?=(" + "|".join(map(re.escape, runs)) + "))")
    out: list[list[int]] = []
    for m in re.finditer("|".join(alts), text, re.IGNORECASE):
        a, b = m.span() if m.end() > m.start() else m.span(1)
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _reference_start(text: str, spans: list[tuple[int, int]], size: int) -> int:
    """The window choice by its definition: of the windows starting at the first 64 spans,
    the one holding the most distinct matched words (casefolded), the earliest on ties."""
    best, best_score = 0, -1
    for a, _ in spans[:64]:
        seen = len({text[x:y].casefold() for x, y in spans if a <= x < a + size})
        if seen > best_score:
            best, best_score = a, seen
    return best


def _snippet_by_definition(text: str, surfaces: list[str], size: int = 180) -> str:
    """make_snippet from the spans of the whole text (no window), and the start of the
    window chosen by its definition."""
    real = snippets.match_spans
    spans = real(text, surfaces)
    start = _reference_start(text, spans, size)

    def fixed(t, s, limit=2000, window=None, folded=None):
        return spans if t == text else real(t, s, limit)

    try:
        snippets.match_spans = fixed
        return snippets.make_snippet(text, surfaces, size), start
    finally:
        snippets.match_spans = real


LATIN = ["reset", "resets", "password", "passwords", "pass", "Reset", "PASSWORD", "set", "the"]
CJK = ["密码", "重置", "密", "码", "パスワード", "リセット", "の", "を"]


def _text(rng: random.Random, n: int, vocab: list[str], sep: str) -> str:
    return sep.join(rng.choice(vocab) for _ in range(n))


@pytest.mark.parametrize("seed", range(40))
def test_spans_match_the_alternation_for_random_texts(seed):
    rng = random.Random(seed)
    vocab = LATIN + ["filler", "other", "x", "ab", "Straße", "STRASSE"] + CJK
    text = _text(rng, rng.choice([5, 60, 400, 3000]), vocab, rng.choice([" ", ""]))
    surfaces = rng.sample(LATIN + CJK + ["ab", "x", "straße"], rng.randint(1, 6))
    got = snippets.match_spans(text, surfaces)
    assert got == _reference_spans(text, surfaces)
    # The scan stopped at the window keeps every span up to the window's reach.
    cut = snippets.match_spans(text, surfaces, window=(64, 180))
    assert got[: len(cut)] == cut
    if len(cut) < len(got):
        assert len(cut) > 64 and got[len(cut)][0] > cut[63][0] + 180


@pytest.mark.parametrize("seed", range(40))
def test_window_choice_is_the_defined_one(seed):
    rng = random.Random(1000 + seed)
    vocab = LATIN + ["filler", "other", "words", "here"] + CJK
    text = _text(rng, rng.choice([20, 200, 1500]), vocab, " ")
    surfaces = rng.sample(LATIN + CJK, rng.randint(1, 5))
    spans = snippets.match_spans(text, surfaces)
    if not spans:
        return
    got = snippets.make_snippet(text, surfaces)
    # The snippet starts _LEAD before the chosen span (then snapped): the chosen span's
    # text is marked in it, and the snippet is the one the whole scan gives.
    full, start = _snippet_by_definition(text, surfaces)
    assert full == got
    lead = max(0, start - snippets._LEAD)
    assert got.startswith("…") == (lead > 0)


def test_overlapping_cjk_runs_are_one_highlight():
    text = "请先重置密码然后登录。密码很长"
    got = snippets.make_snippet(text, ["重置密码", "密码", "置密"])
    assert got == "请先<mark>重置密码</mark>然后登录。<mark>密码</mark>很长"
    assert snippets.match_spans(text, ["密码", "置密"]) == [(3, 6), (11, 13)]


def test_match_near_the_end_of_a_long_body():
    body = " ".join(["filler"] * 3000) + " reset your password now"
    got = snippets.make_snippet(body, ["reset", "password"])
    assert "<mark>reset</mark> your <mark>password</mark> now" in got
    assert got.startswith("…") and not got.endswith("…")
    spans = snippets.match_spans(body, ["reset", "password"], window=(64, 180))
    assert [body[a:b] for a, b in spans] == ["reset", "password"]


def test_the_window_with_most_distinct_words_wins_past_the_first_chunk():
    # Many matches of one word first, the two words together only far later: the scan
    # must reach them (fewer than 64 spans) and choose that window.
    body = " ".join(["reset filler filler filler"] * 40) + " filler " * 200
    body += "reset the password here " + "filler " * 50
    body = " ".join(body.split())
    got = snippets.make_snippet(body, ["reset", "password"])
    assert "<mark>reset</mark> the <mark>password</mark>" in got


def test_highlight_spans_run_to_the_end_of_words_and_escape_html():
    text = 'Resetting <b> & "passwords" reset'
    got = snippets.make_snippet(text, ["reset", "password"])
    assert got == (
        "<mark>Resetting</mark> &lt;b&gt; &amp; &quot;<mark>passwords</mark>&quot; "
        "<mark>reset</mark>"
    )


def test_zero_size_window_and_no_match():
    assert snippets.make_snippet("reset it", ["reset"], size=0) == "…"
    assert snippets.make_snippet("nothing here", ["reset"]) == "nothing here"
    assert snippets.match_spans("", ["reset"]) == []


def test_flood_reads_a_bounded_prefix_of_a_long_body(monkeypatch):
    # A flood of frequent words: the scan ends near the window, whatever the body's length.
    body = " ".join(["the a to of and"] * 20000)
    read = []
    real = snippets._word_matches

    def spy(word, tail):
        finditer = real(word, tail)

        def wrapped(text, lo, hi):
            read.append(hi - lo)
            return finditer(text, lo, hi)

        return wrapped

    monkeypatch.setattr(snippets, "_word_matches", spy)
    spans = snippets.match_spans(body, ["the", "a", "to", "of", "and"], window=(64, 180))
    assert 64 < len(spans) < 200
    assert max(read) <= snippets._CHUNK + 2 and sum(read) < 5 * 4096
