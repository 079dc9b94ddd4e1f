"""Searching and fetching over one index generation, with English fallback. No Flask here.

:class:`IndexSet` holds the open indexes of one generation. :func:`search` runs the strict pass,
then the relaxed pass, then the same two in English when the locale finds nothing (or is not
indexed). :func:`find_article` resolves an assetid or slug in a locale, falling back to English.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from pathlib import Path

from whoosh import collectors
from whoosh import index as whoosh_index

from . import engine
from . import generations
from .analysis import title_key
from .corpus import parse_assetid
from .memindex import MemIndex
from .query import corrected_units
from .query import parse_user_text
from .query import proximity_query
from .query import relaxed_query
from .query import relaxed_units
from .query import strict_query
from .schema import ENGLISH
from .snippets import make_snippet


class NoIndex(Exception):
    """No index generation has been built in the index directory."""


class IndexSet:
    """The open per-locale indexes of one generation, plus its article catalog."""

    def __init__(self, index_dir: Path, name: str):
        self.name = name
        self.path = Path(index_dir) / name
        self.meta = generations.read_meta(self.path)
        self.indexes = {
            loc: whoosh_index.open_dir(str(self.path / loc)) for loc in self.meta["locales"]
        }
        # The strict pass's postings (helpapi.memindex); None for an index built without them.
        self.mem = {loc: MemIndex.open(self.path / loc) for loc in self.meta["locales"]}
        self._local = threading.local()
        self._opened: list = []  # every searcher of every thread, to close them all
        self._opened_lock = threading.Lock()
        self.slug_locales: dict[str, list[str]] = {}
        self.asset_slugs: dict[str, list[str]] = {}
        for loc, info in sorted(self.meta["locales"].items()):
            for slug, assetid in info.get("catalog", []):
                self.slug_locales.setdefault(slug, []).append(loc)
                if assetid:
                    slugs = self.asset_slugs.setdefault(assetid, [])
                    if slug not in slugs:
                        slugs.append(slug)
        for slugs in self.asset_slugs.values():
            slugs.sort()

    @property
    def locales(self) -> list[str]:
        """Indexed locale codes, sorted."""
        return sorted(self.indexes)

    def article_count(self, locale: str) -> int:
        """Articles indexed in ``locale``."""
        return self.meta["locales"][locale]["articles"]

    def searcher(self, locale: str):
        """This thread's searcher for ``locale`` (Whoosh searchers are not shared by threads)."""
        cache = getattr(self._local, "searchers", None)
        if cache is None:
            cache = self._local.searchers = {}
        s = cache.get(locale)
        if s is None:
            s = cache[locale] = self.indexes[locale].searcher()
            with self._opened_lock:
                self._opened.append(s)
        return s

    def close(self) -> None:
        """Close every searcher opened on this generation, in any thread."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for s in opened:
            s.close()
        self._local = threading.local()
        for mem in self.mem.values():
            if mem is not None:
                mem.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_current(index_dir: Path) -> IndexSet:
    """Open the serving generation. Raises :class:`NoIndex` when there is none."""
    name = generations.current_generation(index_dir)
    if name is None:
        raise NoIndex(f"no index built in {index_dir}; run: helpapi index build")
    return IndexSet(index_dir, name)


@dataclasses.dataclass
class Hits:
    """One page of hits from one locale's index."""

    total: int
    hits: list[dict]
    relaxed: bool = False


def run_query(
    ixset: IndexSet, text: str, locale: str, limit: int = 10, offset: int = 0, prefix: bool = False
) -> Hits:
    """Search one indexed locale: strict pass, then relaxed when strict finds nothing."""
    units = parse_user_text(text, locale, prefix=prefix)
    if not units:
        return Hits(0, [])
    searcher = ixset.searcher(locale)
    reader = searcher.reader()
    mem = ixset.mem.get(locale)
    relaxed = False
    extra_surfaces: list[str] = []
    key = "" if prefix else title_key(text, locale)
    ranked = _strict(searcher, mem, units, key)
    # The postings file answers every pass when the index has one; else Whoosh does.
    freqs = reader if mem is None else engine.Frequencies(mem)
    if not ranked:
        # A mistyped word: the strict query again with the spelling corrected.
        correct = None if mem is None else (lambda term: engine.best_correction(mem, term))
        fixed = corrected_units(units, freqs, correct)
        if fixed is not None:
            ranked = _strict(searcher, mem, fixed)
            extra_surfaces = [u.term for u in fixed]
            units = fixed
    if not ranked:
        relaxed = True
        loose = relaxed_units(units, freqs)
        if mem is not None:
            ranked = engine.relaxed(mem, loose)
        else:
            # Whoosh's collector swaps matchers every 10 matches, and coordination then
            # recounts the terms: never swap, so scores do not depend on document numbers.
            collector = collectors.UnlimitedCollector()
            collector.replace = 0
            searcher.search_with_collector(relaxed_query(loose, reader), collector)
            ranked = _top(collector.results())
    total = len(ranked)
    ranked = _rerank(searcher, mem, ranked, units)
    surfaces = [u.text for u in units] + extra_surfaces
    if relaxed:
        surfaces += [u.stem for u in units if u.stem]
        surfaces += [
            u.text[i : i + 3] for u in units if u.kind == "run" for i in range(len(u.text) - 2)
        ]
    hits = []
    for docnum, score in ranked[offset : offset + limit]:
        stored = searcher.stored_fields(docnum)
        hits.append(
            {
                "id": stored.get("assetid") or stored["slug"],
                "assetid": stored.get("assetid") or None,
                "slug": stored["slug"],
                "title": stored["display_title"],
                "snippet": make_snippet(stored.get("body", ""), surfaces),
                "score": round(score, 4),
                "locale": locale,
            }
        )
    return Hits(total, hits, relaxed)


def search(
    ixset: IndexSet, text: str, locale: str, limit: int = 10, offset: int = 0, prefix: bool = False
) -> dict:
    """Search ``locale``; answer from English when it is not indexed or finds nothing.

    Returns ``{"locale", "fallback", "total", "results"}``; each result names its locale.
    """
    if locale in ixset.indexes:
        found = run_query(ixset, text, locale, limit, offset, prefix)
        if found.total or ENGLISH not in ixset.indexes or locale == ENGLISH:
            return {
                "locale": locale,
                "fallback": False,
                "total": found.total,
                "results": found.hits,
            }
    if ENGLISH not in ixset.indexes:
        return {"locale": locale, "fallback": False, "total": 0, "results": []}
    found = run_query(ixset, text, ENGLISH, limit, offset, prefix)
    return {
        "locale": ENGLISH,
        "fallback": locale != ENGLISH,
        "total": found.total,
        "results": found.hits,
    }


# How many first-stage candidates the proximity stage re-ranks.
RERANK_DEPTH = 100


def _top(results) -> list[tuple[int, float]]:
    # limit=None scores every match once, which also gives the exact total; top_n holds
    # (score, docnum) best first, without building a Hit object per match.
    return [(docnum, score) for score, docnum in results.top_n]


def _strict(searcher, mem, units, key: str = "") -> list[tuple[int, float]]:
    """The strict pass: from the postings file when the index has one, else from Whoosh."""
    if mem is not None:
        return engine.strict(mem, units, key)
    return _top(searcher.search(strict_query(units, searcher.reader(), key), limit=None))


def _rerank(searcher, mem, ranked, units) -> list[tuple[int, float]]:
    """``(docnum, score)`` best first: proximity scores added to the top candidates."""
    if len(ranked) < 2:
        return ranked
    head = ranked[:RERANK_DEPTH]
    if mem is not None:
        extra = engine.proximity(mem, units, [d for d, _ in head])
    else:
        prox = proximity_query(units)
        if prox is None:
            return ranked
        hits = searcher.search(prox, filter={d for d, _ in head}, limit=None)
        extra = {h.docnum: h.score for h in hits}
    head = sorted(((d, s + extra.get(d, 0.0)) for d, s in head), key=lambda x: (-x[1], x[0]))
    return head + ranked[RERANK_DEPTH:]


class ArticleNotFound(LookupError):
    """No article with that assetid or slug in any locale."""


def _stored(ixset: IndexSet, locale: str, slug: str) -> dict | None:
    return ixset.searcher(locale).document(slug=slug)


def find_article(ixset: IndexSet, ident: str, locale: str) -> dict:
    """Resolve an assetid (any case) or slug in ``locale``, falling back to English.

    An assetid shared by several articles resolves to the first slug (sorted) present in the
    locale; the others are listed under ``"also"``.
    """
    assetid = parse_assetid(ident)
    slugs = ixset.asset_slugs.get(assetid, []) if assetid else []
    if not slugs:
        slugs = [ident] if ident in ixset.slug_locales else []
    if not slugs:
        raise ArticleNotFound(ident)
    for loc, fallback in ((locale, False), (ENGLISH, locale != ENGLISH)):
        if loc not in ixset.indexes:
            continue
        for slug in slugs:
            doc = _stored(ixset, loc, slug)
            if doc is not None:
                return {
                    "doc": doc,
                    "locale": loc,
                    "fallback": fallback,
                    "also": [s for s in slugs if s != slug],
                    "locales": [x for x in ixset.slug_locales.get(slug, [])],
                }
    raise ArticleNotFound(ident)


class ResultCache:
    """A small thread-safe LRU for search answers, keyed with the index generation."""

    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The cached value, or None."""
        if not self.size:
            return None
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        """Remember ``value``; the least recently used entry goes when full."""
        if not self.size:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


__all__ = [
    "ArticleNotFound",
    "Hits",
    "IndexSet",
    "NoIndex",
    "ResultCache",
    "find_article",
    "open_current",
    "run_query",
    "search",
]
