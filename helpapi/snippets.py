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
from itertools import repeat

import icu

from .analysis import GRAM_RUN
from .analysis import _char_class
from .analysis import utf16_to_index
from .display import fold

SNIPPET_CHARS = 180
_LEAD = 40  # characters of context kept before the first match
_local = threading.local()


def _grapheme_iterator():
    it = getattr(_local, "it", None)
    if it is None:
        it = _local.it = icu.BreakIterator.createCharacterInstance(icu.Locale.getRoot())
    return it


# Stand-ins for <mark> and </mark> while a snippet is escaped (control characters that a
# body text hardly ever holds; when it does, make_snippet escapes piece by piece).
_OPEN, _CLOSE = "\x02", "\x03"
# What html.escape changes, and the stand-ins.
_HTML = re.compile("[&<>\"'\x02\x03]")

# A word match runs to the end of its word: the one regex here, compiled once.
_TAIL = re.compile(r"\w*")


# Every hit of a page shares its query's plan: made once (a few folds, no regex compiled).
@functools.lru_cache(maxsize=256)
def _plan(surfaces: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The query's surfaces as :func:`helpapi.display.fold` sees them, in the order a match
    at one position prefers them: words (matched at a word start, running to the word's
    end: prefix, stem, case), then runs of no-space scripts (overlapping pieces all match);
    longest first within each."""
    # Longest first, ties in code point order (the order of the key (-len(s), s)): sorted,
    # then stably by length, both keys in C. Each surface folded and told apart once.
    ordered = sorted(surfaces)
    ordered.sort(key=len, reverse=True)
    found: tuple[dict, dict] = ({}, {})  # words, runs: folded surfaces, first place kept
    for s in ordered:
        found[GRAM_RUN.fullmatch(s) is not None].setdefault(fold(s))
    words, runs = tuple(found[0]), tuple(found[1])
    return (words, runs) if words or runs else None


# A surface of word characters only is found in display.words() exactly where it is in the
# fold: no word character folds to a non-word one but iota (to U+0345, no \w), nor the
# reverse (tests/test_snippets20.py).
_PLAIN = re.compile(r"\w+")


@functools.lru_cache(maxsize=256)
def _plain(surfaces: frozenset[str]) -> bool:
    """Whether every surface of the plan is of word characters only (as folded)."""
    words, runs = _plan(surfaces) or ((), ())
    return all(_PLAIN.fullmatch(s) for s in (*words, *runs))


# Words up to this long are found at word starts by a regular expression (one per word,
# compiled once: few distinct short words), longer ones by str.find: a one- or two-letter word,
# the prefix being typed, occurs mostly inside other words, each a step of a Python loop.
_SHORT = 2
# fold() maps iota (a letter) to U+0345, a combining mark that is no \w: after it, a word
# start in the folded text may be none in the text (the only such character, as checked by
# tests/test_snippets_prefix.py).
_IOTA = "\u0345"
_NONWORD = re.compile(r"\W")


@functools.lru_cache(maxsize=1024)
def _word_matches(word: str, tail: bool):
    """``finditer`` of the places in a folded text where ``word`` starts a word, each match
    running to the word's end with ``tail`` (then the text must hold no :data:`_IOTA`)."""
    # The word first, then the look back past it: the search skips to each occurrence of
    # the word's first character as str.find does (a leading look-behind is tried at every
    # position). Folded bodies hold no line breaks; (?s) all the same.
    back = r"(?<!\w" + "." * len(word) + ")"
    return re.compile("(?s)" + re.escape(word) + back + (r"\w*" if tail else "")).finditer


def _inside(text: str, p: int) -> bool:
    """Whether ``text[p]`` continues a word (as ``\\w`` sees the character before it)."""
    return (c := text[p - 1]).isalnum() or c == "_"


# Occurrences are collected and sorted a chunk of text at a time: most texts are a few chunks
# (no per-occurrence generator or heap), and a flood of frequent characters in a long text
# stops at the window without finding every occurrence. The chunks grow from _FIRST_CHUNK to
# _CHUNK characters: a flood of frequent words fills a snippet's window within a few hundred
# characters, and every word found in the rest of a large first chunk was wasted work.
_FIRST_CHUNK = 256
_CHUNK = 4096
_GROW = 8
# match_spans first drops the surfaces a text lacks when the query brings more than this many.
_MANY_SURFACES = 32


def match_spans(
    text: str,
    surfaces: list[str] | frozenset[str],
    limit: int = 2000,
    window: tuple[int, int] | None = None,
    folded: str | None = None,
    spaced: str | None = None,
) -> list[tuple[int, int]]:
    """Sorted, merged ``(start, end)`` spans where any surface occurs (adjacent ones joined).
    ``surfaces``: any iterable of strings; a frozenset is used as it stands (one per page).

    The spans of one left-to-right scan trying, at each position, the words then the runs of
    :func:`_plan` (a match consumes its text: nothing starts inside it), case-insensitive as
    ``re.IGNORECASE``: the same spans as one alternation ``(?<!\\w)(?:words)\\w*|(?=(runs))``
    compiled per query, found with ``str.find`` on ``folded`` (``fold(text)``, computed when
    not given) instead. ``spaced`` (``display.words(text)``, which :mod:`helpapi.display`
    stores) serves for ``folded`` when every surface is of word characters, and when they are
    all words (no run) and the text is not long, :func:`_word_spans` finds the spans.

    With ``window=(n, size)`` the scan stops once past ``size`` characters after the start of
    the ``n``-th span: all that a snippet window starting at one of the first ``n`` can show.
    """
    if type(surfaces) is not frozenset or "" in surfaces:
        surfaces = frozenset(s for s in surfaces if s)
    # (A page's hits share one frozenset: its hash is made once, each hit's look-up is O(1).)
    plan = _plan(surfaces)
    if plan is None:
        return []
    words, runs = plan
    if spaced is not None and _plain(surfaces):
        if not runs and len(text) <= _FAST_MAX:
            return list(zip(*_word_spans(spaced, words, limit, window), strict=True))
        folded = spaced  # (every surface is found there as in the fold)
    # A long text with a surface of other characters: folded as far as the scan reads it
    # (fold(text[:k]) is fold(text)[:k]: characters fold one for one, and σ/ς alike).
    lazy = folded is None and spaced is not None and len(text) > _FAST_MAX
    if folded is None:
        folded = "" if lazy else fold(text)
    if len(words) + len(runs) > _MANY_SURFACES:
        # Only the surfaces the text holds are looked for chunk by chunk (one C scan each to
        # tell): a long relaxed run brings every trigram of it. Filtering keeps the plan's
        # order, so the same alternative wins at each position. Not for a few surfaces: a
        # scan of the whole text for an absent one can cost more than the chunks the window
        # lets the loop read. (Unfolded, a surface is looked for in ``spaced`` with spaces
        # for its non-word characters; one holding the mark iota folds to is kept.)
        if lazy:
            words = tuple(w for w in words if _IOTA in w or _NONWORD.sub(" ", w) in spaced)
            runs = tuple(r for r in runs if _IOTA in r or _NONWORD.sub(" ", r) in spaced)
        else:
            words = tuple(w for w in words if w in folded)
            runs = tuple(r for r in runs if r in folded)
    longest = max(map(len, (*words, *runs)), default=0)
    word_len = [len(w) for w in words]
    # The spans so far: starts and ends (a match reaching into the last span extends it).
    starts: list[int] = []
    ends: list[int] = []
    end = -1  # ends[-1]
    # With a window, once more than n spans are found: a match starting past ``cut`` and
    # past the last span ends the scan (the n-th span's start never moves).
    n, reach = window if window else (0, 0)
    cut = None
    count, last, consumed = 0, -1, 0
    iota = None  # whether folded holds _IOTA (looked up once, when needed)
    lo, size = 0, _FIRST_CHUNK
    if window and 2 * (n - 1) + reach >= _FIRST_CHUNK:
        # No scan stops inside the first chunk (the n-th span starts past 2 (n - 1): spans
        # are one character or more, apart), so every scan reads the second one too: the
        # two are read as one (the same text found, one round of the loop instead of two).
        size = 3 * _FIRST_CHUNK
    while lo < len(text):
        hi = lo + size
        if lazy and len(folded) < min(len(text), hi + longest):
            # (doubled: each character folded at most about twice)
            folded = fold(text[: max(2 * len(folded), hi + longest)])
        # (position, group, rank, end): group 0 a word, 1 a run; rank = plan order; end -1
        # for a word's until it is used (most found past a window's end never are)
        found = []
        for rank, w in enumerate(words):
            stop = hi - 1 + len(w)  # occurrences starting before hi
            if len(w) <= _SHORT:
                # Most occurrences of a short word are inside other words: the word starts
                # are found in C, their ends too when no _IOTA can stop a \w* early.
                if iota is None:
                    iota = _IOTA in folded if not lazy else _IOTA in spaced or _IOTA in text
                if not iota:
                    got = [
                        (m.start(), 0, rank, m.end())
                        for m in _word_matches(w, True)(folded, lo, stop)
                    ]
                    if got and got[-1][3] == stop:  # its tail may run on past stop
                        got[-1] = (got[-1][0], 0, rank, -1)
                    found += got
                    continue
                ps = [m.start() for m in _word_matches(w, False)(folded, lo, stop)]
                found += [
                    (p, 0, rank, -1)
                    for p in ps
                    if p == 0 or folded[p - 1] != _IOTA or not _inside(text, p)
                ]
                continue
            p = folded.find(w, lo, stop)
            while p >= 0:
                # not _inside(text, p), inlined: this runs once per occurrence.
                if p == 0 or not ((c := text[p - 1]).isalnum() or c == "_"):
                    found.append((p, 0, rank, -1))
                p = folded.find(w, p + 1, stop)
        for rank, r in enumerate(runs):
            stop = hi - 1 + len(r)
            p = folded.find(r, lo, stop)
            while p >= 0:
                found.append((p, 1, rank, p + len(r)))
                p = folded.find(r, p + 1, stop)
        found.sort()
        for p, group, rank, b in found:
            if p == last or p < consumed:
                continue  # one match per position (the first alternative); none inside a match
            last = p
            if count >= limit:
                return list(zip(starts, ends, strict=True))
            count += 1
            if not group:
                if b < 0:
                    b = _TAIL.match(text, p + word_len[rank]).end()
                consumed = b
            if p <= end:  # (a match that extends the last span never ends the scan)
                if b > end:
                    end = ends[-1] = b
                continue
            if cut is not None and p > cut:
                return list(zip(starts, ends, strict=True))
            starts.append(p)
            ends.append(b)
            end = b
            if cut is None and window and len(starts) > n:  # (the n-th start stays)
                cut = starts[n - 1] + reach
        if window:
            # Sized by the density so far: the chunk expected to reach the window's end (a
            # sparse text, most bodies, is read in two chunks instead of four), at most
            # _GROW times the last one (a text whose matches crowd past its start).
            want = (n + 1 - len(starts)) * hi // max(len(starts), 1) + reach
            size = min(max(2 * size, want), _GROW * size, _CHUNK)
        else:
            size = min(2 * size, _CHUNK)
        lo = hi
    return list(zip(starts, ends, strict=True))


# Longest text _word_spans reads (the display text of most articles: 99 % are shorter than
# 8,000 characters): its scan is one C find per occurrence, but a word the text lacks is a
# find through the whole text; longer ones are read chunk by chunk as the window allows.
_FAST_MAX = 16384


def _word_spans(
    spaced: str, words: tuple[str, ...], limit: int, window: tuple[int, int] | None
) -> tuple[list[int], list[int]]:
    """:func:`match_spans`, as its starts and its ends, of words of word characters only
    (no run), found in ``spaced`` (``display.words(text)``).

    Such a word matches at a word start, a space before it in ``spaced`` (or at 0), and
    runs to its word's end, the next space: two words at one place match the same span,
    and no match starts inside another nor next to it (a non-word character ends a word
    and another starts after it). So the spans are the places found, sorted, each with its
    word's end: no merging, and the first ``limit``, or those a window lets the scan reach
    (the ``n + 1`` first, then those starting at most ``size`` after the ``n``-th).
    """
    n, reach = window if window else (limit, 0)
    # Each word's first ``cap`` places hold every place of it among the first ``cap`` of all.
    cap = min(limit, n + 1)
    found: list[int] = []
    more = []  # (key, place) of the words with more than ``cap`` places: where they stopped
    for w in words:
        got = 0
        if spaced.startswith(w):
            found.append(0)
            got = 1
        key = " " + w
        step = len(key)
        p = spaced.find(key)
        while p >= 0:
            if got == cap:
                more.append((key, p))
                break
            found.append(p + 1)
            got += 1
            p = spaced.find(key, p + step)
    starts = sorted(set(found))
    if window and len(starts) > n:
        # The n-th start is among the places found; past it, the window's reach.
        cut = starts[max(n - 1, 0)] + reach
        if more:
            for key, p in more:
                step = len(key)
                while 0 <= p < cut:  # (the place starts at p + 1)
                    found.append(p + 1)
                    p = spaced.find(key, p + step)
            starts = sorted(set(found))
        del starts[max(n + 1, bisect.bisect_right(starts, cut)) :]
    del starts[limit:]
    # Each end is the next space (found in C, no Python step per span); only the last
    # word can end the text.
    ends = list(map(spaced.find, repeat(" "), starts))
    if ends and ends[-1] < 0:
        ends[-1] = len(spaced)
    return starts, ends


# The characters that may join a neighbour into one grapheme cluster, by ICU's own property
# values: every rule of UAX #29 that keeps two characters together (CR LF, Hangul syllable
# sequences, before Extend, ZWJ or SpacingMark, after Prepend, ZWJ or a regional indicator)
# has one of these on one side or the other; between two other characters ICU breaks.
_JOINS = re.compile(
    _char_class(
        icu.UnicodeSet(
            "[[:GCB=CR:][:GCB=Extend:][:GCB=ZWJ:][:GCB=SpacingMark:][:GCB=Prepend:][:GCB=L:]"
            "[:GCB=V:][:GCB=T:][:GCB=LV:][:GCB=LVT:][:GCB=Regional_Indicator:]]"
        )
    )
)


def _snap(text: str, index: int, forward: bool) -> int:
    """Move ``index`` to a grapheme boundary, and out of a space-delimited word."""
    if _JOINS.search(text, index - 1, index + 1) is None:
        # Neither character beside the index can join the other: it is a boundary, as
        # ICU would answer (most cuts of every script; no iterator set on a text).
        pos = index
    else:
        lo, hi = max(0, index - 24), min(len(text), index + 24)
        pos = _grapheme_snap(text[lo:hi], lo, index - lo, forward)
    return _out_of_word(text, pos, forward)


def _grapheme_snap(window: str, lo: int, rel: int, forward: bool) -> int:
    """``lo + rel`` moved to a grapheme boundary of ``window`` by ICU's rules."""
    it = _grapheme_iterator()
    it.setText(window)
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
    return pos


# A letter or digit of a spaced script (str.isalnum, no no-space script's character): the
# characters _out_of_word walks over, as many as a run of them in one C call.
_SPACED_RUN = re.compile(r"(?:(?!" + GRAM_RUN.pattern.removesuffix("+") + r")[^\W_])*")
_REACH = 20  # characters _out_of_word moves at most


def _out_of_word(text: str, pos: int, forward: bool) -> int:
    """Inside a word of a spaced script: ``pos`` moved to the nearest space within reach.

    ``pos`` is inside such a word when the characters on both sides of it are of it; it
    moves (at most :data:`_REACH`) while that stays so."""
    if pos <= 0 or pos >= len(text):
        return pos
    if forward:
        if _SPACED_RUN.match(text, pos - 1, pos).end() < pos:
            return pos
        return _SPACED_RUN.match(text, pos, pos + _REACH).end()
    if _SPACED_RUN.match(text, pos, pos + 1).end() == pos:
        return pos
    return pos - _SPACED_RUN.match(text[max(0, pos - _REACH) : pos][::-1]).end()


def _starts_ends(
    text: str, surfaces: list[str] | frozenset[str], size: int, spaced: str
) -> tuple[list[int], list[int]]:
    """The starts and ends of :func:`match_spans` for a snippet window of ``size``."""
    if type(surfaces) is not frozenset or "" in surfaces:
        surfaces = frozenset(s for s in surfaces if s)
    plan = _plan(surfaces)
    if plan is not None and not plan[1] and len(text) <= _FAST_MAX and _plain(surfaces):
        return _word_spans(spaced, plan[0], 2000, (64, size))
    spans = match_spans(text, surfaces, window=(64, size), spaced=spaced)
    return [a for a, _ in spans], [b for _, b in spans]


def _best_window(text: str, starts: list[int], ends: list[int], size: int) -> int:
    """The start of the window holding the most distinct matched words (casefolded), the
    earliest on ties, of those starting at the first 64 spans."""
    best, best_score = starts[0], -1
    words = [text[x:y].casefold() for x, y in zip(starts[:256], ends, strict=False)]
    most = len(set(words))  # no window holds more: a later one could only tie
    # Spans are sorted: the window [a, a + size) of span i is spans[i:j], j only grows
    # with i. The window slides: ``held`` counts its words (one step per span in and
    # out, not a bisect and a set per window: faster on the few spans of most texts).
    held: dict[str, int] = {}
    j, count = 0, len(words)
    for i, a in enumerate(starts[:64]):
        if j < i:  # (a window of size 0 holds nothing, not even its own span)
            j = i
        while j < count and starts[j] < a + size:
            held[words[j]] = held.get(words[j], 0) + 1
            j += 1
        if len(held) > best_score:
            best, best_score = a, len(held)
            if best_score == most:
                break
        if i < j:
            if held[words[i]] == 1:
                del held[words[i]]
            else:
                held[words[i]] -= 1
    return best


def make_snippet(
    text: str,
    surfaces: list[str] | frozenset[str],
    size: int = SNIPPET_CHARS,
    folded: str | None = None,
    spaced: str | None = None,
) -> str:
    """HTML snippet of ``text`` around the words in ``surfaces``.

    With ``folded`` (:func:`helpapi.display.fold` of ``text``) or ``spaced``
    (:func:`helpapi.display.words` of it, as :mod:`helpapi.display` stores it), ``text`` is
    taken as already collapsed to single spaces (see :func:`match_spans`).
    """
    if folded is None and spaced is None:
        text = " ".join(text.split())
    if not text:
        return ""
    # A window starts at one of the first 64 matches and spans ``size`` characters: matches
    # past that change nothing, and a query of frequent characters finds thousands.
    if spaced is not None:
        starts, ends = _starts_ends(text, surfaces, size, spaced)
    else:
        if folded is not None:
            spans = match_spans(text, surfaces, window=(64, size), folded=folded)
        else:
            spans = match_spans(text, surfaces, window=(64, size))
        starts, ends = [a for a, _ in spans], [b for _, b in spans]
    start = 0
    if starts and starts[-1] < starts[0] + size:
        # The first window holds every span: no other holds more words (most hits' texts).
        start = max(0, starts[0] - _LEAD)
    elif starts:
        start = max(0, _best_window(text, starts, ends, size) - _LEAD)
    end = min(len(text), start + size)
    if start > 0:
        start = _snap(text, start, forward=True)
    if end < len(text):
        end = _snap(text, end, forward=False)
    out, pos = [], start
    # A passage with nothing to escape (most) takes its marks as they are: the same text as
    # html.escape would leave, with no pass over it.
    plain = _HTML.search(text, start, end) is None
    opening, closing = ("<mark>", "</mark>") if plain else (_OPEN, _CLOSE)
    # Spans are sorted and disjoint: those inside [start, end] are consecutive.
    for i in range(bisect.bisect_left(starts, start), len(starts)):
        a, b = starts[i], ends[i]
        if b > end:
            break
        out += (text[pos:a], opening, text[a:b], closing)
        pos = b
    out.append(text[pos:end])
    raw, marks = "".join(out), len(out) // 4
    if plain:
        marked = raw
    elif raw.count(_OPEN) == marks and raw.count(_CLOSE) == marks:
        # Escaped at once, the marks put in after (html.escape maps each character alone):
        # the same text as each piece escaped, in one call instead of two per mark.
        marked = html.escape(raw).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")
    else:  # the text itself holds a mark's stand-in: each piece escaped alone
        tags = {1: "<mark>", 3: "</mark>"}
        marked = "".join(tags.get(k % 4) or html.escape(x) for k, x in enumerate(out))
    return ("…" if start > 0 else "") + marked.strip() + ("…" if end < len(text) else "")
