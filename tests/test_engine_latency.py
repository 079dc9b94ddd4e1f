"""Speed-ups of the search path that must not change an answer (bench/passes.py measures them)."""

from __future__ import annotations

import pytest

from helpapi import memindex


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
