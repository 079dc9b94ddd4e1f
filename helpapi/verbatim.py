"""A fragment standing verbatim in a body: its punctuation as typed (helpapi.search._rerank).

The positions of the index hold words and bigrams only: "Åtkomst nekad" till en delad mapp"
and "nekad till en delad mapp" are the same words in a row, "OneDrive - Aucune configuration"
(a list item after a heading) and "OneDrive, aucune configuration" too. Text copied from an
article keeps the marks between its words, so of the documents whose body holds a copied
fragment's words as typed (helpapi.engine's past-the-titles checks), those whose body text
also holds its marks as typed are where it was copied from; a mark the text has and the
fragment lacks (a quote, a dash, a sentence's end) or the other way round says that the
words only happen to stand in a row there.

The body text is ``display.bin``'s (``folded``: case-folded, one space for any whitespace).
Spaces are left out on both sides (the no-space scripts' text is not spaced alike in the
query and the rendered body), and so are the marks a rendering drops or escapes: a link's
brackets (``[設定]`` in the Markdown, ``設定`` in the text) and a backslash escape (``\\>``).

The body text drops every bracket, not only a link's, so a fragment copied with ``[ 篩選`` and
one copied with ``[篩選`` hold the same there. When several bodies still hold a fragment that
has a bracket, their pages (the stored HTML's text, helpapi.page_text, which keeps the
brackets that are not a link's) tell them apart: those holding it with its brackets and
spaces as typed, when some but not all do (ranking.VERBATIM_LITERAL). Reading a page costs
more than a body; the pages have their own budget, in the same units
(ranking.VERBATIM_PAGE_BYTES).
"""

from __future__ import annotations

from functools import lru_cache

from . import ranking
from .analysis import _APOSTROPHES
from .display import Display
from .display import fold

# Bytes left out of the body and of the fragment before they are compared: a link's brackets,
# a backslash escape (ASCII: a UTF-8 sequence of another character never holds one of them).
_MARKUP = b"[]\\"
_BARE = _MARKUP + b" "  # ... and the spaces too
# The apostrophes the index takes for ' (helpapi.analysis's own table), as UTF-8: French and
# Ukrainian bodies write both ’ and ', the query has whichever its keyboard types. Case is
# folded on both sides already (fold); the other forms NFKC unifies in the index (full-width
# letters and marks) are left as typed: unifying them would mean normalizing every body read
# (a decode and an NFKC pass), and a Japanese copy keeps the body's full-width marks.
_APOSTROPHE_BYTES = tuple((chr(c).encode(), s.encode()) for c, s in _APOSTROPHES.items())
# What each pass over a body costs, in bytes of ranking.VERBATIM_MAX_BYTES per byte passed
# (CPU per byte measured against reading a body: a copy, a translate and a search; see
# bench/RESULTS.md, stop 20 review fixes). One replace of many matches costs ~5 times a read.
_UNIFY_COST = 2
_SQUEEZE_COST = 5


def _unified(raw: bytes) -> bytes:
    """``raw`` with each apostrophe the index unifies written '."""
    for variant, plain in _APOSTROPHE_BYTES:
        raw = raw.replace(variant, plain)
    return raw


def _spaced(raw: bytes, limit: float = float("inf")) -> tuple[bytes | None, float]:
    """``(spaced, cost)``: ``raw`` (one space between words already) without :data:`_MARKUP`,
    one space between its pieces again (no split: bodies are long, and most hold few marks),
    and the bytes passed doing so (weighted, :data:`_SQUEEZE_COST`); ``spaced`` is None once
    that would pass ``limit`` (a body of marks left out, ``[ ] \\`` over and over, halves its
    runs of spaces pass after pass)."""
    out = raw.translate(None, _MARKUP)
    cost = float(len(raw))
    while b"  " in out:
        cost += _SQUEEZE_COST * len(out)
        if cost > limit:
            return None, cost
        out = out.replace(b"  ", b" ")
    return out.strip(b" "), cost


def _core(text: str, unify: bool) -> str:
    """``text`` case-folded, its apostrophes unified (``unify``), without the marks before
    its first letter or digit and after its last."""
    chars = fold(text.translate(_APOSTROPHES) if unify else text)
    start = next((i for i, c in enumerate(chars) if c.isalnum()), len(chars))
    end = next((i for i in range(len(chars) - 1, -1, -1) if chars[i].isalnum()), -1)
    return chars[start : end + 1]


@lru_cache(maxsize=512)
def literal(text: str, unify: bool = True) -> bytes:
    """``text`` as compared with a page (helpapi.page_text): as :func:`needles`'s ``spaced``
    but with its brackets kept (a page keeps the brackets that are not a link's), or b""
    when it holds none (the page then tells nothing the body text does not)."""
    core = _core(text, unify)
    if "[" not in core and "]" not in core:
        return b""
    return " ".join(core.split()).encode("utf-8").replace(b"\\", b"")


@lru_cache(maxsize=512)
def needles(text: str, unify: bool = True) -> tuple[bytes, bytes]:
    """``(spaced, bare)``: ``text`` as compared with a body, case-folded
    (:func:`helpapi.display.fold`), its apostrophes unified as the index unifies them, without
    :data:`_MARKUP` and the marks before its first letter or digit and after its last (quotes
    around a fragment, a question mark typed after it), with one space wherever it has
    whitespace (``spaced``) or none (``bare``). ``(b"", b"")`` when fewer than two letters or
    digits are left (nothing to tell). ``unify`` False: the apostrophes as typed."""
    core = _core(text, unify)
    if sum(c.isalnum() for c in core) < 2:
        return b"", b""
    # Any whitespace as one space, as the body's (helpapi.display.entry).
    spaced = _spaced(" ".join(core.split()).encode("utf-8"))[0]
    return spaced, spaced.replace(b" ", b"")


def holders(shown: Display, text: str, docs: list[int], pages=None) -> set[int] | None:
    """The documents of ``docs`` (best first) whose body text holds ``text`` verbatim (its
    letters and marks as typed, :func:`needles`), plus those left unchecked once
    ranking.VERBATIM_MAX_BYTES bytes of bodies were read (taken to hold it: nothing is known
    against them). With ranking.VERBATIM_SPACES, the bodies holding it with its spaces as
    typed when some do (a copy keeps the text's spacing, which in a no-space script marks
    where the rendered text had a link or emphasis), else those holding it with any spacing
    (the query's spaces may be the user's). The same with the apostrophes as typed (a copy
    keeps the body's ’ or ') when some body holds them so, else with the apostrophes the
    index unifies taken for one (a keyboard types '). None when none of those checked holds
    it (the marks typed may not be the rendered text's, or the fragment was typed, not
    copied): nothing tells the documents apart then. With ``pages``
    (:class:`helpapi.page_text.Pages`) and ranking.VERBATIM_LITERAL, of several found, those
    whose page holds it with its brackets as typed when some but not all do
    (:func:`_literal`)."""
    # Every pass over a body counts against the budget, not the bytes read only: a body
    # holding the fragment amid marks left out costs several passes (bench/hostile_articles).
    budget = [float(ranking.VERBATIM_MAX_BYTES)]
    typed = needles(text, unify=False)
    found = _holders(shown, *typed, b"", docs, budget)
    unify = False
    unified = needles(text)
    if found is None and b"'" in unified[1]:
        # A body is searched for the longest piece between apostrophes first, unified only
        # when it holds that (most bodies do not: they cost one search).
        probe = max(unified[1].split(b"'"), key=len)
        found = _holders(shown, *unified, probe, docs, budget)
        unify = True
    if found is None or len(found) < 2 or pages is None or not ranking.VERBATIM_LITERAL:
        return found
    needle = literal(text, unify)
    if not needle or budget[0] < 0:  # (past the budget: those left are in found, unread)
        return found
    # The pages' own budget: a page costs 20-60 times its body (tags, a pickle of the whole
    # record), and the fragments that reach here are few.
    page_budget = [float(ranking.VERBATIM_PAGE_BYTES)]
    return _literal(pages, needle, unify, [d for d in docs if d in found], page_budget) or found


def _literal(
    pages, needle: bytes, unify: bool, docs: list[int], budget: list[float]
) -> set[int] | None:
    """Those of ``docs`` (the holders found, best first) whose page text holds ``needle``
    (:func:`literal`), when some but not all do, else None. The body text drops every
    bracket, so ``[ 篩選 ]`` and ``[篩選]`` are the same there; a copy keeps the page's. The
    pages left once one cannot be read within ``budget[0]`` are taken to hold it (as the
    bodies left unread: nothing is known against them); so are those left once the passes over
    a page (:data:`_UNIFY_COST`) would pass it."""
    held: set[int] = set()
    for i, d in enumerate(docs):
        page, cost = pages.text(d, budget[0])
        budget[0] -= cost
        if page is not None:
            # The passes below, counted before they are made: the backslashes left out and
            # the search as a body's read (a byte each), the apostrophes as a body's.
            budget[0] -= (1 + _UNIFY_COST * unify) * len(page)
        if page is None or budget[0] < 0:
            held.update(docs[i:])
            break
        page = page.replace(b"\\", b"")
        if unify:
            page = _unified(page)
        if needle in page:
            held.add(d)
    return held if held and len(held) < len(docs) else None


def _holders(
    shown: Display, spaced: bytes, bare: bytes, probe: bytes, docs: list[int], budget: list[float]
) -> set[int] | None:
    """:func:`holders` of the needles ``spaced`` and ``bare``, the bodies unified
    (:func:`_unified`) when ``probe`` (then in those holding it only), ``budget[0]`` left."""
    if not bare:
        return None
    with_spaces: set[int] = set()
    without: set[int] = set()
    unchecked: list[int] = []
    for i, d in enumerate(docs):
        view = shown.folded_bytes(d)
        budget[0] -= len(view)
        if budget[0] < 0:  # (before the copy: a huge body is never copied)
            unchecked = docs[i:]
            break
        raw = bytes(view)
        # Any spacing first (one C pass; a body lacking it lacks it spaced as typed too).
        stripped = raw.translate(None, _BARE)
        if probe:
            if probe not in stripped:
                continue
            budget[0] -= _UNIFY_COST * (len(stripped) + len(raw))
            if budget[0] < 0:
                unchecked = docs[i:]
                break
            raw, stripped = _unified(raw), _unified(stripped)
        if bare not in stripped:
            continue
        if ranking.VERBATIM_SPACES:
            body, cost = _spaced(raw, budget[0])
            budget[0] -= cost
            if body is None:
                unchecked = docs[i:]  # nothing known against it (as those not read)
                break
            if spaced in body:
                with_spaces.add(d)
        without.add(d)
    found = with_spaces or without
    return found.union(unchecked) if found else None
