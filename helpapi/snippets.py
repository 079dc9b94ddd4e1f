"""Snippets: a short, HTML-escaped passage around the matched words, matches in ``<mark>``.

Cuts fall on grapheme-cluster boundaries (ICU character break rules), and, in scripts written
with spaces, on word boundaries, so a snippet never ends in half a character or half a word.
"""

from __future__ import annotations

import bisect
import functools
import html
import re
import threading

import icu

from .analysis import GRAM_RUN
from .analysis import utf16_to_index

SNIPPET_CHARS = 180
_LEAD = 40  # characters of context kept before the first match
_local = threading.local()


def _grapheme_iterator():
    it = getattr(_local, "it", None)
    if it is None:
        it = _local.it = icu.BreakIterator.createCharacterInstance(icu.Locale.getRoot())
    return it


def _pattern(surfaces: list[str]) -> re.Pattern | None:
    return _compiled(frozenset(s for s in surfaces if s))


# Every hit of a page shares its query's pattern: compile it once (re's own cache is global
# and small, and a page's ten snippets would each miss it under varied traffic).
@functools.lru_cache(maxsize=256)
def _compiled(surfaces: frozenset[str]) -> re.Pattern | None:
    """One alternation over all surfaces, longest first, scanned in a single pass.

    Words match at a word start and run to the word's end (prefix, stem, case). Runs of
    no-space scripts sit in a lookahead, so overlapping pieces ("パスワ", "スワー") all match.
    """
    ordered = sorted(surfaces, key=lambda s: (-len(s), s))
    words = [re.escape(s) for s in ordered if not GRAM_RUN.fullmatch(s)]
    runs = [re.escape(s) for s in ordered if GRAM_RUN.fullmatch(s)]
    alternatives = []
    if words:
        alternatives.append(r"(?<!\w)(?:" + "|".join(words) + r")\w*")
    if runs:
        alternatives.append(r"(?=(" + "|".join(runs) + r"))")
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


def match_spans(
    text: str, surfaces: list[str], limit: int = 2000, window: tuple[int, int] | None = None
) -> list[tuple[int, int]]:
    """Sorted, merged ``(start, end)`` spans where any surface occurs (adjacent ones joined).

    With ``window=(n, size)`` the scan stops once past ``size`` characters after the start of
    the ``n``-th span: all that a snippet window starting at one of the first ``n`` can show.
    """
    pattern = _pattern(surfaces)
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
            and a > merged[-1][1]  # (a match that extends the last span still does)
        ):
            break
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _snap(text: str, index: int, forward: bool) -> int:
    """Move ``index`` to a grapheme boundary, and out of a space-delimited word."""
    lo, hi = max(0, index - 24), min(len(text), index + 24)
    window = text[lo:hi]
    it = _grapheme_iterator()
    it.setText(window)
    rel = index - lo
    to_index = utf16_to_index(window)
    if to_index is None:
        # No character outside the BMP: ICU's UTF-16 offsets are string indexes.
        if not it.isBoundary(rel):
            rel = it.following(rel) if forward else it.preceding(rel)
        pos = lo + (rel if rel != icu.BreakIterator.DONE else (len(window) if forward else 0))
    else:
        bounds = [to_index(b) for b in [it.first(), *it]]
        if forward:
            cand = [b for b in bounds if b >= rel] or [len(window)]
        else:
            cand = [b for b in bounds if b <= rel][::-1] or [0]
        pos = lo + cand[0]
    # Inside a word of a spaced script: go to the nearest space within reach.
    step = 1 if forward else -1
    for _ in range(20):
        if pos <= 0 or pos >= len(text):
            break
        a, b = text[pos - 1], text[pos]
        if not (a.isalnum() and b.isalnum()) or GRAM_RUN.match(a) or GRAM_RUN.match(b):
            break
        pos += step
    return pos


def make_snippet(text: str, surfaces: list[str], size: int = SNIPPET_CHARS) -> str:
    """HTML snippet of ``text`` around the words in ``surfaces``."""
    text = " ".join(text.split())
    if not text:
        return ""
    # A window starts at one of the first 64 matches and spans ``size`` characters: matches
    # past that change nothing, and a query of frequent characters finds thousands.
    spans = match_spans(text, surfaces, window=(64, size))
    start = 0
    if spans:
        # The window holding the most distinct matched words wins; the earliest on ties.
        best, best_score = spans[0][0], -1
        starts = [x for x, _ in spans]
        words = [text[x:y].casefold() for x, y in spans[:256]]
        for i, a in enumerate(starts[:64]):
            # Spans are sorted: the window [a, a + size) is spans[i:j].
            j = bisect.bisect_left(starts, a + size, i)
            seen = len(set(words[i:j]))
            if seen > best_score:
                best, best_score = a, seen
        start = max(0, best - _LEAD)
    end = min(len(text), start + size)
    if start > 0:
        start = _snap(text, start, forward=True)
    if end < len(text):
        end = _snap(text, end, forward=False)
    out, pos = [], start
    for a, b in spans:
        if a < start or b > end:
            continue
        out.append(html.escape(text[pos:a]))
        out.append("<mark>" + html.escape(text[a:b]) + "</mark>")
        pos = b
    out.append(html.escape(text[pos:end]))
    return ("…" if start > 0 else "") + "".join(out).strip() + ("…" if end < len(text) else "")
