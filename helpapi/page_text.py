"""An article's page text as a reader sees it, read from its stored HTML (helpapi.verbatim).

The body text of the index (``display.bin``, the ``text`` field) drops every bracket the
Markdown holds (``helpapi.corpus._drop_markup``): ``按一下 [ **下載發票 PDF** ]`` and
``按一下 **[下載發票]**`` are the same text there. The page keeps the brackets that are not a
link's (a UI label written ``[篩選]``) with the spacing around them, which a fragment copied
from it keeps too: the stored ``html`` without its tags, the renderer's entities decoded,
case-folded.

Reading it costs a decompression and an unpickle of the whole stored record, so it is done
only for the few documents helpapi.verbatim still cannot tell apart, and every read is
bounded: the stored record's compressed length is known (the column's table of lengths)
before any of its bytes is read, a record longer than the bytes left is not read, and one
decompressing past them is not inflated further (a zlib bomb stops there).
"""

from __future__ import annotations

import pickle
import re
import zlib

from .display import fold
from .html_source import BLOCK_NAMES

_TAG = re.compile(r"<[^<>]*>")
# A block element's tag stands between two blocks' texts: a space there, as the body text
# has a line break (helpapi.html_source), so a minified "<p>a.</p><p>[b]" reads "a. [b]".
# Lowercase only: the stored html is serialized by the renderer or the sanitizer (nh3), which
# write tag names in lowercase (re.IGNORECASE made each other tag ~4x dearer to pass).
_BLOCK_TAG = re.compile(rf"</?(?:{BLOCK_NAMES}|hr)\b[^<>]*>")
# The entities the Markdown renderer writes (helpapi.render: markdown-it escapes & < > "),
# decoded with str.replace (C passes: html.unescape calls Python once per entity, ~20x the
# cost of a body byte for each); an HTML article's other entities are left as written.
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&nbsp;", " "), ("&amp;", "&"))
# What reading a page costs, in bytes of ranking.VERBATIM_MAX_BYTES (a body byte read by
# helpapi.verbatim, ~0.75 ns of CPU): per record (the column lookup, an inflater, an
# unpickle), per compressed byte, per inflated byte (inflating, unpickling), then, counted
# on the html before any work on it, per character (folded, encoded, joined, searched), per
# whitespace (str.split costs per word: ~45 ns each) and per "<" (a tag removed costs per
# match: ~100 ns each). Measured on hostile and real-looking pages (bench/verbatim_cost.py,
# RESULTS.md stop 21), rounded up.
_RECORD_COST = 6144
_COMPRESSED_COST = 4
_INFLATED_COST = 3
_CHAR_COST = 12
_WIDE_CHAR_COST = (
    32  # (a page not all ASCII: per character, each of 2-3 bytes, str.lower's dearer path)
)
_SPACE_COST = 60
_TAG_COST = 160


def _stored_column(reader):
    """The Whoosh stored-fields column of a one-segment ``reader`` (a ``VarBytesColumn``
    reader: each document's compressed bytes, and their lengths in a table read when the
    column is opened), or None (several segments, another codec: the page is then not read)."""
    perdoc = getattr(reader, "_perdoc", None)
    get = getattr(perdoc, "_cached_reader", None)
    if get is None:
        return None
    try:
        from whoosh.codec.whoosh3 import STORED_COLUMN
        from whoosh.columns import VarBytesColumn

        column = get("_stored", STORED_COLUMN)
        child = getattr(column, "_child", None)
        if not isinstance(child, VarBytesColumn.Reader) or not hasattr(child, "_lengths"):
            return None
        return child
    except (ImportError, AttributeError, KeyError):
        return None


def _packed(column, docnum: int) -> bytes:
    """Document ``docnum``'s record in ``column`` (:func:`_stored_column`) as stored: the
    column's own read, without the decompression its subclass adds."""
    from whoosh.columns import VarBytesColumn

    return VarBytesColumn.Reader.__getitem__(column, docnum)


def _record_cost(size: int) -> float:
    """What opening a stored record of ``size`` compressed bytes costs (:func:`page_of`)."""
    return float(_RECORD_COST + _COMPRESSED_COST * size)


class Pages:
    """The page text of a locale's documents (one Whoosh searcher's), read on demand."""

    def __init__(self, searcher) -> None:
        self._searcher = searcher
        self._column = False  # not looked up yet

    def text(self, docnum: int, limit: float) -> tuple[bytes | None, float]:
        """:func:`page_of` document ``docnum``'s stored record; ``(None, 0.0)`` when the
        index's stored fields cannot be read so (nothing is then known of the page). A record
        whose compressed length (the column's table of lengths) is already past ``limit`` is
        refused unread: ``(None, its cost)``."""
        if self._column is False:
            self._column = _stored_column(self._searcher.reader())
        if self._column is None:
            return None, 0.0
        cost = _record_cost(self._column._lengths[docnum])
        if cost > limit:
            return None, cost
        return page_of(_packed(self._column, docnum), limit)


def page_of(packed: bytes, limit: float) -> tuple[bytes | None, float]:
    """``(text, cost)``: the page text of a stored record (``packed``: Whoosh's zlib-compressed
    pickle of the stored fields) as UTF-8 (the ``html`` field's tags left out, entities
    decoded, whitespace one space, :func:`helpapi.display.fold`), and the bytes counted reading
    it (weighted: the ``_*_COST`` weights above); ``text`` is None when
    that would pass ``limit`` (the record is inflated no further) or the record is unreadable."""
    cost = _record_cost(len(packed))
    if not packed or cost > limit:
        return None, cost
    room = int(min(limit - cost, 1 << 60) / _INFLATED_COST)  # (an infinite limit: no int)
    inflate = zlib.decompressobj()
    try:
        data = inflate.decompress(packed, room + 1)  # (at least 1: 0 is "no limit")
    except zlib.error:
        return None, cost
    cost += _INFLATED_COST * len(data)
    if len(data) > room or inflate.unconsumed_tail:
        return None, cost
    try:
        page = pickle.loads(data).get("html") or ""
    except Exception:  # a damaged record (any unpickling error): nothing known of its page
        return None, cost
    if not isinstance(page, str):
        return None, cost
    tags = page.count("<")  # (an upper bound of the tags: counted before they are removed)
    spaces = page.count(" ") + page.count("\n")
    per_char = _CHAR_COST if page.isascii() else _WIDE_CHAR_COST
    cost += per_char * len(page) + _SPACE_COST * spaces + _TAG_COST * tags
    if cost > limit:
        return None, cost
    if tags:
        page = _TAG.sub("", _BLOCK_TAG.sub(" ", page))
    if "&" in page:
        for entity, char in _ENTITIES:
            page = page.replace(entity, char)
    page = " ".join(page.split())
    # (fold's scan for the characters it maps beyond lowercase finds none in ASCII text)
    return (page.lower() if page.isascii() else fold(page)).encode("utf-8"), cost
