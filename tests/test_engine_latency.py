"""Speed-ups of the search path that must not change an answer (bench/passes.py measures them)."""

from __future__ import annotations

import random

import pytest

from helpapi import memindex
from helpapi import snippets


def _reference_spans(text: str, surfaces: list[str], limit: int = 2000, window=None):
    """match_spans as it was: one compiled alternation of the whole query, scanned once."""
    pattern = snippets._compiled(frozenset(s for s in surfaces if s))
    merged: list[list[int]] = []
    if pattern is None:
        return []
    for i, m in enumerate(pattern.finditer(text)):
        if i >= limit:
            break
        a, b = m.span(1) if m.lastindex else m.span()
        if (
            window
            and len(merged) > window[0]
            and a > merged[window[0] - 1][0] + window[1]
            and a > merged[-1][1]
        ):
            break
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


# Latin words, case variants, kana/kanji runs and Thai pieces, so that word matches, run
# lookaheads, overlapping runs and runs inside words all occur.
_PIECES = [
    "pass",
    "Pass",
    "passwort",
    "wort",
    "the",
    "to",
    "ä",
    "パス",
    "スワ",
    "ワード",
    "の",
    "を",
    "設定",
    "定",
    "รหัส",
    "ผ่าน",
    "ัส",
    " ",
    " ",
    "-",
    ".",
    "ß",
    "SS",
    "İ",
    "ı",
]


@pytest.mark.parametrize("seed", range(10))
def test_snippet_spans_equal_the_single_pattern(seed):
    for case in range(100):
        _check_case(random.Random(seed * 100 + case))


def _check_case(rng):
    text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 120)))
    surfaces = rng.sample(_PIECES[:17] + ["ss", "i", "パスワ"], rng.randint(0, 6))
    for kwargs in ({}, {"window": (3, 20)}, {"limit": 5}):
        assert snippets.match_spans(text, surfaces, **kwargs) == _reference_spans(
            text, surfaces, **kwargs
        ), (text, surfaces, kwargs)


def test_snippet_spans_of_surfaces_with_other_characters_use_the_single_pattern():
    text = "Azure AD-Verbindung und AD-V, e-mail E-Mail"
    for surfaces in (["AD-V"], ["e-mail", "e"], ["ad-v", "und"]):
        assert snippets.match_spans(text, surfaces) == _reference_spans(text, surfaces)


@pytest.mark.parametrize(
    "a, b, limit",
    [
        ("konto", "kontto", 1),
        ("konto", "knoto", 1),
        ("passwort", "pasword", 2),
        ("", "ab", 2),
        ("abc", "xyzabc", 2),
        ("設定変更", "設定変", 1),
        ("straße", "strasse", 2),
    ],
)
def test_levenshtein_within_its_limit_equals_the_table(a, b, limit):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    full = prev[-1]
    got = memindex.levenshtein(a, b, limit)
    assert got == full if full <= limit else got == limit + 1
