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
"""

from __future__ import annotations

from functools import lru_cache

from . import ranking
from .display import Display
from .display import fold

# Bytes left out of the body and of the fragment before they are compared: a link's brackets,
# a backslash escape (ASCII: a UTF-8 sequence of another character never holds one of them).
_MARKUP = b"[]\\"
_BARE = _MARKUP + b" "  # ... and the spaces too


def _spaced(raw: bytes) -> bytes:
    """``raw`` (one space between words already) without :data:`_MARKUP`, one space between
    its pieces again (no split: bodies are long, and most hold few marks)."""
    out = raw.translate(None, _MARKUP)
    while b"  " in out:
        out = out.replace(b"  ", b" ")
    return out.strip(b" ")


@lru_cache(maxsize=512)
def needles(text: str) -> tuple[bytes, bytes]:
    """``(spaced, bare)``: ``text`` as compared with a body, case-folded
    (:func:`helpapi.display.fold`), without :data:`_MARKUP` and the marks before its first
    letter or digit and after its last (quotes around a fragment, a question mark typed
    after it), with one space wherever it has whitespace (``spaced``) or none (``bare``).
    ``(b"", b"")`` when fewer than two letters or digits are left (nothing to tell)."""
    chars = fold(text)
    start = next((i for i, c in enumerate(chars) if c.isalnum()), len(chars))
    end = next((i for i in range(len(chars) - 1, -1, -1) if chars[i].isalnum()), -1)
    core = chars[start : end + 1]
    if sum(c.isalnum() for c in core) < 2:
        return b"", b""
    # Any whitespace as one space, as the body's (helpapi.display.entry).
    spaced = _spaced(" ".join(core.split()).encode("utf-8"))
    return spaced, spaced.replace(b" ", b"")


def holders(shown: Display, text: str, docs: list[int]) -> set[int] | None:
    """The documents of ``docs`` (best first) whose body text holds ``text`` verbatim (its
    letters and marks as typed, :func:`needles`), plus those left unchecked once
    ranking.VERBATIM_MAX_BYTES bytes of bodies were read (taken to hold it: nothing is known
    against them). With ranking.VERBATIM_SPACES, the bodies holding it with its spaces as
    typed when some do (a copy keeps the text's spacing, which in a no-space script marks
    where the rendered text had a link or emphasis), else those holding it with any spacing
    (the query's spaces may be the user's). None when none of those checked holds it (the
    marks typed may not be the rendered text's, or the fragment was typed, not copied):
    nothing tells the documents apart then."""
    spaced, bare = needles(text)
    if not bare:
        return None
    budget = ranking.VERBATIM_MAX_BYTES
    with_spaces: set[int] = set()
    without: set[int] = set()
    unchecked: list[int] = []
    for i, d in enumerate(docs):
        body = shown.folded_bytes(d)
        budget -= len(body)
        if budget < 0:
            unchecked = docs[i:]
            break
        raw = bytes(body)
        # Any spacing first (one C pass; a body lacking it lacks it spaced as typed too).
        if bare not in raw.translate(None, _BARE):
            continue
        without.add(d)
        if ranking.VERBATIM_SPACES and spaced in _spaced(raw):
            with_spaces.add(d)
    found = with_spaces or without
    return found.union(unchecked) if found else None
