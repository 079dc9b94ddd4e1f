"""Searching and fetching over one index generation, with English fallback. No Flask here.

:class:`IndexSet` holds the open indexes of one generation. :func:`search` runs the strict pass,
then the relaxed pass, then the same two in English when the locale finds nothing (or is not
indexed). :func:`find_article` resolves an assetid or slug in a locale, falling back to English.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

from . import display
from . import engine
from . import facets
from . import generations
from . import memindex
from . import page_text
from . import ranking
from . import verbatim
from .analysis import clean_text
from .corpus import parse_assetid
from .corpus import parse_own_id
from .memindex import MemIndex
from .query import corrected_title_key
from .query import corrected_units
from .query import parse_user_text
from .query import query_title_key
from .query import relaxed_units
from .query import replaced_text
from .query import replacements
from .schema import ENGLISH
from .snippets import make_snippet


class NoIndex(Exception):
    """No index generation has been built in the index directory."""


class LocaleUnavailable(Exception):
    """The only locale that could answer (the asked one, or English) is damaged."""

    def __init__(self, locale: str, reason: str):
        super().__init__(f"{locale}: {reason}")
        self.locale, self.reason = locale, reason


class IndexSet:
    """The open per-locale indexes of one generation, plus its article catalog.

    A locale whose files fail the open-time checks is listed in :attr:`damaged` (locale ->
    reason) and not served: it is left out of :attr:`indexes`, so locale negotiation and
    searches treat it like a locale that is not indexed and answer from English with
    ``fallback: true``. That keeps the rest of the service answering (a 503 for the whole
    locale would turn a disk fault into an outage for its users, while English answers are
    what any unindexed locale gets); only when English itself is damaged and nothing else
    can answer does a request get :class:`LocaleUnavailable` (503).
    """

    def __init__(self, index_dir: Path, name: str):
        self.name = name
        self.path = Path(index_dir) / name
        meta = generations.read_meta(self.path)
        # Counts and file sizes only: the catalogs and manifests (most of meta.json) become
        # the lookup maps below, and the parsed copy is dropped (see :attr:`meta`).
        self.info = {
            loc: {k: v for k, v in info.items() if k not in ("catalog", "manifest")}
            for loc, info in meta["locales"].items()
        }
        self.damaged: dict[str, str] = {}
        self._broken: dict[str, str] = {}  # served, but Whoosh failed to read it later
        for loc, info in self.info.items():
            problem = self._check_locale(loc, info.get("files"))
            if problem:
                self.damaged[loc] = problem
        served = [loc for loc in self.info if loc not in self.damaged]
        # Opened on first use, so a locale nobody queries costs a worker nothing (issue #16):
        # the postings engine's files (helpapi.memindex), a required part of every locale,
        # and the Whoosh index (its table of contents; segments open per thread, searcher).
        self.mem: generations.LazyMap = generations.LazyMap(served, self._open_mem)
        self.indexes: generations.LazyMap = generations.LazyMap(
            served, lambda loc: generations.open_whoosh(self.path / loc)
        )
        self._locale_tuple = tuple(sorted(served))
        # Filters, facet counts and dates (helpapi.facets), read on first use too.
        self.facets: generations.LazyMap = generations.LazyMap(served, self._open_facets)
        # What each hit shows (helpapi.display), also required and checked at open.
        self.display: generations.LazyMap = generations.LazyMap(served, self._open_display)
        self._local = threading.local()
        self._opened: list = []  # every searcher of every thread, to close them all
        self._opened_lock = threading.Lock()
        self.slug_locales: dict[str, tuple[str, ...]] = {}
        self.asset_slugs: dict[str, list[str]] = {}
        # One article's languages: group (its source's slug) -> {locale: slug}, and back.
        self.members: dict[str, dict[str, str]] = {}
        self.group_of: dict[tuple[str, str], str] = {}
        # The same slug comes once per locale from the JSON: keep one string of each.
        same: dict[str, str] = {}
        # Damaged locales stay in the catalog (an article there exists, it is just not served
        # now: a 503, not a 404, when nothing else has it); find_article filters them out.
        for loc, info in sorted(meta["locales"].items()):
            for entry in info.get("catalog", []):
                # (slug, assetid[, group, updated]): generations before linked translations
                # recorded two fields; their group is the slug.
                slug = same.setdefault(entry[0], entry[0])
                assetid = entry[1]
                group = same.setdefault(entry[2], entry[2]) if len(entry) > 2 else slug
                self.slug_locales.setdefault(slug, []).append(loc)
                if group != slug:  # read as group_of.get((loc, slug), slug)
                    self.group_of[(loc, slug)] = group
                self.members.setdefault(group, {}).setdefault(loc, slug)
                if assetid:
                    slugs = self.asset_slugs.setdefault(same.setdefault(assetid, assetid), [])
                    if slug not in slugs:
                        slugs.append(slug)
        for slugs in self.asset_slugs.values():
            slugs.sort()
        # Most articles exist in the same locales: one shared tuple per distinct list.
        shared: dict[tuple, tuple] = {}
        for slug, locs in self.slug_locales.items():
            self.slug_locales[slug] = shared.setdefault(tuple(locs), tuple(locs))

    @property
    def meta(self) -> dict:
        """This generation's whole ``meta.json``, read from disk on each call (it never
        changes): catalogs and manifests are large and only the coverage report needs them."""
        return generations.read_meta(self.path)

    def _check_locale(self, loc: str, files: dict | None) -> str | None:
        """None when one locale's files can be served, else why not (nothing is kept open).

        Sizes (one stat per file: see generations.check_sizes for why not checksums), then the
        postings file's header and section bounds (mapped, checked, unmapped): a missing file
        or one of another version is never served. Whoosh's table of contents is read when
        the locale is first used; a failure there answers 503 for it (see searcher).
        """
        problem = generations.check_sizes(self.path, loc, files)
        if problem:
            return problem
        folder = self.path / loc
        try:
            problem = memindex.check(folder) or display.check(folder)
            if not problem and (folder / facets.FILENAME).exists():
                # A generation built before facets has none: served, filters match nothing.
                problem = facets.check(folder)
        except Exception as exc:  # any reader error means: do not serve this locale
            problem = str(exc) or type(exc).__name__
        return problem and problem.replace(str(folder) + os.sep, "")

    def _open_mem(self, loc: str) -> MemIndex:
        """Map one locale's postings (checked at open: only a file changed since fails)."""
        try:
            return MemIndex.open(self.path / loc)
        except Exception as exc:
            reason = str(exc).replace(str(self.path / loc) + os.sep, "") or type(exc).__name__
            self._broken[loc] = reason
            raise LocaleUnavailable(loc, reason) from None

    def _open_facets(self, loc: str) -> facets.FacetData:
        """Read one locale's facet data (its header was checked at open)."""
        try:
            return facets.FacetData.load(self.path / loc)
        except Exception as exc:
            reason = f"{facets.FILENAME}: {exc}" if str(exc) else type(exc).__name__
            self._broken[loc] = reason
            raise LocaleUnavailable(loc, reason) from None

    def _open_display(self, loc: str) -> display.Display:
        """Map one locale's display file (checked at open, like :meth:`_open_mem`)."""
        try:
            return display.Display.open(self.path / loc)
        except Exception as exc:
            reason = str(exc).replace(str(self.path / loc) + os.sep, "") or type(exc).__name__
            self._broken[loc] = reason
            raise LocaleUnavailable(loc, reason) from None

    def health(self) -> dict[str, str]:
        """Locales not served, with the reason: damaged at open, unreadable by Whoosh when
        first searched, or a mapped file that shrank since it was opened.

        The second part is the cheap guard (one system call per mapped file:
        memindex.file_size) against a file truncated in place after it was mapped, which
        generations never do.
        """
        problems = {**self.damaged, **self._broken}
        for loc, mem in self.mem.opened().items():
            if not mem.intact():
                problems[loc] = f"{memindex.FILENAME}: changed on disk after it was opened"
        for loc, shown in self.display.opened().items():
            if not shown.intact():
                problems[loc] = f"{display.FILENAME}: changed on disk after it was opened"
        return problems

    @property
    def locales(self) -> list[str]:
        """Indexed (served) locale codes, sorted (none of them is opened by asking)."""
        return sorted(self.indexes)

    @property
    def locale_tuple(self) -> tuple[str, ...]:
        """:attr:`locales` as a tuple, sorted once when the served locales are set (every
        search negotiates against it; :meth:`close` empties it)."""
        return self._locale_tuple

    def article_count(self, locale: str) -> int:
        """Articles indexed in ``locale``."""
        return self.info[locale]["articles"]

    def searcher(self, locale: str):
        """This thread's searcher for ``locale`` (Whoosh searchers are not shared by threads)."""
        cache = getattr(self._local, "searchers", None)
        if cache is None:
            cache = self._local.searchers = {}
        s = cache.get(locale)
        if s is None:
            s = cache[locale] = self._open_searcher(locale)
            with self._opened_lock:
                self._opened.append(s)
        return s

    def _open_searcher(self, locale: str):
        """A new Whoosh searcher; :class:`LocaleUnavailable` when Whoosh cannot read the index.

        That is damage the open-time size check cannot see (same size, other bytes): the
        locale answers 503, never 500, and the next reindex's checksums find and rebuild it.
        """
        if locale in self._broken:
            raise LocaleUnavailable(locale, self._broken[locale])
        with warnings.catch_warnings():
            # Whoosh leaves the segment file open when it fails; the file is closed when the
            # error is dropped, at the end of the except clause, inside this block.
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                return self.indexes[locale].searcher()
            except Exception as exc:
                reason = str(exc).replace(str(self.path / locale) + os.sep, "")
                reason = reason or type(exc).__name__
        self._broken[locale] = reason
        raise LocaleUnavailable(locale, reason)

    def close(self) -> None:
        """Close every searcher opened on this generation, in any thread."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for s in opened:
            s.close()
        self._local = threading.local()
        for mem in self.mem.opened().values():
            mem.close()
        for shown in self.display.opened().values():
            shown.close()
        # Drop the opened objects too (their views hold the mappings): nothing is served
        # from a closed generation, and its files may be deleted.
        self.mem = generations.LazyMap((), self._open_mem)
        self.indexes = generations.LazyMap((), generations.open_whoosh)
        self._locale_tuple = ()
        self.facets = generations.LazyMap((), self._open_facets)
        self.display = generations.LazyMap((), self._open_display)

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
    # The query as searched when a spelling correction found the hits, else None.
    corrected: str | None = None
    # Every match, best first, as (docnum, score): for merging runs (helpapi.controls).
    ranked: list | None = None
    # The query matches in this locale (strictly, spelling-corrected, relaxed or pinned), but
    # the scope's filters removed every match: the locale's answer is empty (no later pass,
    # no English fallback). ``relaxed`` says whether it was the relaxed pass's matches.
    filtered_out: bool = False


def run_query(
    ixset: IndexSet,
    text: str,
    locale: str,
    limit: int = 10,
    offset: int = 0,
    prefix: bool = False,
    scope: facets.Scope | None = None,
) -> Hits:
    """Search one indexed locale: strict pass, then relaxed when strict finds nothing.

    ``scope`` (helpapi.facets): its filters restrict every pass's candidates, its sort orders
    the matches before the page is cut. The passes are those of the unfiltered query: a
    filter only removes matches, so a query that matches strictly answers nothing when the
    filter removes every match (``filtered_out``), not the relaxed matches of the rest; one
    that matches relaxed only answers nothing when the filter removes every relaxed match.
    """
    # Between searches: the process's term memos kept within their bound (a flood of new
    # whole-title keys, each looked up in three key fields, made no clause to count).
    engine.settle_memos()
    units = parse_user_text(text, locale, prefix=prefix)
    if not units:
        return Hits(0, [])
    # A filter no document passes (a value no article of the locale has) goes through the
    # passes like any other: it removes every match (``filtered_out`` when the locale has
    # some), never a reason to answer from English. Its filtered passes end at once.
    allowed = facets.allowed_in(ixset, locale, scope)
    mem = ixset.mem[locale]
    if not mem.intact():
        # Reading a mapped page past a shrunken file's end would SIGBUS the worker.
        raise LocaleUnavailable(locale, f"{memindex.FILENAME}: changed on disk after opening")
    # Hits come from display.bin, but a locale whose Whoosh index (the index of record,
    # article fetch) cannot be read still answers 503: its thread-local searcher is cached.
    searcher = ixset.searcher(locale)
    shown = ixset.display[locale]
    if not shown.intact():
        raise LocaleUnavailable(locale, f"{display.FILENAME}: changed on disk after opening")
    relaxed = False
    corrected = None
    extra_surfaces: list[str] = []
    key = "" if prefix else query_title_key(text, locale)
    # A facet counts' run (Scope.without) reads its set of matches only: nothing is ranked
    # (the keyword only then: the passes' other callers and wrappers are unchanged).
    ranks = scope is None or scope.ranks
    unranked = {} if ranks else {"ranks": False}
    ranked = engine.strict(mem, units, key, allowed, **unranked)
    if not ranked and _filtered_out(mem, units, key, allowed):
        return Hits(0, [], ranked=[], filtered_out=True)
    freqs = None
    if not ranked:
        # A mistyped word: the strict query again with the spelling corrected.
        freqs = engine.Frequencies(mem)
        fixed = corrected_units(units, freqs, lambda term: engine.best_correction(mem, term))
        if fixed is not None:
            cleaned = clean_text(text)
            replaced = replacements(cleaned, units, fixed)
            corrected = replaced_text(cleaned, replaced)
            # The corrected query may be a whole title, as the typed one may (key): made from
            # the typed text's words where that is the same key, else analyzed again.
            fixed_key = key and (
                corrected_title_key(cleaned, replaced, locale) or query_title_key(corrected, locale)
            )
            ranked = engine.strict(mem, fixed, fixed_key, allowed, **unranked)
            if not ranked and _filtered_out(mem, fixed, fixed_key, allowed):
                return Hits(0, [], ranked=[], filtered_out=True)
            extra_surfaces = [u.term for u in fixed]
            # What follows ranks the query as searched: the corrected one, and its key.
            units, key = fixed, fixed_key
    if not ranked:
        relaxed = True
        budget = ranking.RELAXED_MAX_VOLUME * mem.doc_count
        freqs = freqs or engine.Frequencies(mem)
        scored = relaxed_units(units, freqs, budget)  # the units the relaxed pass scores
        ranked = engine.relaxed(mem, scored, allowed, **unranked)
        # The relaxed matches without the filter, as a set (no ranking): the same bounded
        # pass (the same scored units) over every document.
        if not ranked and allowed is not None and engine.relaxed(mem, scored, None, ranks=False):
            return Hits(0, [], relaxed=True, ranked=[], filtered_out=True)
    total = len(ranked)
    if not ranks:
        # Its matches are counted as a set, never shown: no re-ranking, no page.
        return Hits(total, [], relaxed, corrected if total else None, ranked)
    # The query as searched, cleaned as the corpus is (helpapi.verbatim compares its marks):
    # an NFD query or one holding a soft hyphen is the same text.
    typed = corrected or clean_text(text)
    # Whether the text holds marks between its words matters to its no-space runs only
    # (engine.runs_in_body, when two or more matches are re-ranked): not looked for otherwise.
    copied = len(ranked) > 1 and any(u.kind == "run" for u in units) and engine.punctuated(text)
    # Their pages (nothing read unless the verbatim gate asks; one match is not re-ranked).
    pages = page_text.Pages(searcher) if len(ranked) > 1 else None
    ranked = _rerank(mem, ranked, units, key, copied, shown, typed, pages)
    if scope is not None and scope.sort == "updated":
        ranked.sort(key=ixset.facets[locale].date_key())
    surfaces = [u.text for u in units] + extra_surfaces
    if relaxed:
        surfaces += [u.stem for u in units if u.stem]
        # The trigrams of the runs the pass scored, not of those relaxed_units left out (a
        # long run of frequent bigrams, bench/hostile.py): each surface is a scan of every
        # hit's text, and these are at most RELAXED_MAX_UNITS runs' worth.
        trigrams = (
            u.text[i : i + 3] for u in scored if u.kind == "run" for i in range(len(u.text) - 2)
        )
        surfaces += list(dict.fromkeys(trigrams))
    # One set for the page: every hit's snippet reads the same plan (snippets._plan).
    surfaces = frozenset(s for s in surfaces if s)
    hits = []
    for docnum, score in ranked[offset : offset + limit]:
        slug, assetid, title, body, spaced = shown.hit(docnum)
        hits.append(
            {
                "id": assetid or slug,
                "assetid": assetid or None,
                "slug": slug,
                "title": title,
                "snippet": make_snippet(body, surfaces, spaced=spaced),
                "score": round(score, 4),
                "locale": locale,
            }
        )
    return Hits(total, hits, relaxed, corrected if total else None, ranked)


def _filtered_out(mem, units, key: str, allowed) -> bool:
    """Whether a filter (``allowed``) removed every strict match of ``units``: they match
    without it. The unfiltered strict pass only, as a set (no boosts, no order)."""
    return allowed is not None and bool(engine.strict(mem, units, key, None, ranks=False))


def search(
    ixset: IndexSet,
    text: str,
    locale: str,
    limit: int = 10,
    offset: int = 0,
    prefix: bool = False,
    run=None,
    scope: facets.Scope | None = None,
) -> dict:
    """Search ``locale``; answer from English when it is not indexed or finds nothing.

    Returns ``{"locale", "fallback", "total", "corrected", "results", "filtered_out"}``; each
    result names its locale. ``corrected`` is the query as searched when a spelling correction
    found the results (see :func:`helpapi.query.corrected_text`), else None; ``filtered_out``:
    the locale has matches but the scope's filters removed every one (total 0). ``run`` replaces
    :func:`run_query` (same arguments): synonyms and rules wrap it (helpapi.controls).
    ``scope`` (helpapi.facets) filters and sorts every run; with facets asked for, the answer
    also has ``"facets"``: ``{name: [{"value", "label", "count"}]}``.
    """
    run = run or run_query
    if scope is not None and scope.plain:
        scope = None
    extra = {} if scope is None else {"scope": scope}
    if locale in ixset.indexes:
        found = run(ixset, text, locale, limit, offset, prefix, **extra)
        # A locale whose matches the filters removed has the answer (empty): no fallback.
        if found.total or found.filtered_out or ENGLISH not in ixset.indexes or locale == ENGLISH:
            return _answer(ixset, run, text, locale, prefix, scope, found, False)
    if ENGLISH not in ixset.indexes:
        if ENGLISH in ixset.damaged:
            raise LocaleUnavailable(ENGLISH, ixset.damaged[ENGLISH])
        answer = {"locale": locale, "fallback": False, "total": 0, "corrected": None}
        answer["results"] = []
        answer["filtered_out"] = False
        if scope is not None and scope.facets:
            answer["facets"] = {name: [] for name in scope.facets}
        return answer
    found = run(ixset, text, ENGLISH, limit, offset, prefix, **extra)
    return _answer(ixset, run, text, ENGLISH, prefix, scope, found, locale != ENGLISH)


def _answer(ixset, run, text, locale, prefix, scope, found: Hits, fallback: bool) -> dict:
    answer = {
        "locale": locale,
        "fallback": fallback,
        "total": found.total,
        "corrected": found.corrected,
        "results": found.hits,
        "filtered_out": found.filtered_out,
    }
    if scope is not None and scope.facets:
        matched = facets.matched_docs(found.ranked)
        answer["facets"] = facets.facet_counts(ixset, run, text, locale, prefix, scope, matched)
    return answer


def _rerank(
    mem,
    ranked,
    units,
    key: str = "",
    copied: bool = False,
    shown=None,
    text: str = "",
    pages=None,
) -> list[tuple[int, float]]:
    """``(docnum, score)`` best first: proximity scores (and a fragment standing in a body,
    and title coverage: helpapi.engine.title_cover) added to the top candidates. ``key``:
    the query's whole-title key ("" while typing), ``copied``: whether it holds punctuation
    (helpapi.engine.runs_in_body); ``shown`` (the locale's helpapi.display.Display, or None)
    and ``text`` (the query as searched): the bodies checked for the fragment verbatim
    (helpapi.verbatim), and ``pages`` (helpapi.page_text.Pages, or None) their pages."""
    if len(ranked) < 2:
        return ranked
    head = ranked[: ranking.RERANK_DEPTH]
    docs = [d for d, _ in head]
    in_body: dict[int, float] = {}
    in_order: dict[int, float] = {}
    extra = engine.proximity(mem, units, docs, in_body, in_order)
    # The titles holding every unit, whatever TITLE_COVER_BOOST (the guards below read them).
    shares = engine.title_shares(mem, units, docs)
    # The boost grows with the scores' scale (ranking.TITLE_COVER_RELATIVE): the best title
    # holder's score per unit (``head`` is best first: the first holder), less the whole-title
    # boost a holder of the query's key carries (not the words' scale: counted in, every other
    # holder's cover grew ~13x on a whole-title query); not for runs with marks between them
    # (copied, not keywords).
    top = 0.0
    if shares and not copied and ranking.TITLE_COVER_RELATIVE:
        held = engine.key_boosts(mem, key)
        top = next(s - held.get(d, 0.0) for d, s in head if d in shares) / len(units)
    cover = engine.cover_extra(shares, top)
    # Runs typed apart by spaces count in a body only when no title holds every unit (then
    # they may be that title's keywords): the title holders first.
    runs: dict[int, float] = {}
    engine.runs_in_body(mem, units, docs, runs, key, copied, titled=bool(shares))
    # A query mixing words and runs: the runs count where the whole fragment stands.
    frag: dict[int, float] = {}
    held = engine.fragment_in_body(mem, units, docs, frag, key)
    if held is not None and ranking.FRAGMENT_RUNS_GATE:
        runs = {d: x for d, x in runs.items() if d in held}
    for extra_of in (runs, frag):
        for d, x in extra_of.items():
            in_body[d] = in_body.get(d, 0.0) + x
    if len(in_body) > 1 and shown is not None and ranking.VERBATIM_GATE:
        # Of the bodies holding the words or runs as typed, those holding the marks typed
        # between them too (a copied fragment's source) keep the extra; where a mark stands
        # between the words that the fragment lacks, they only happen to stand in a row.
        kept = verbatim.holders(shown, text, [d for d in docs if d in in_body], pages)
        if kept is not None:
            in_body = {d: x for d, x in in_body.items() if d in kept}
    if shares and not ranking.TITLE_HOLDER_IN_ORDER:
        # A title holding every unit, not made of them only: the in-order clauses found the
        # words as typed in that title (the text starts with the titles) when the title
        # happens to list them in the order typed, which is the title's wording, not a sign
        # of the article (a keyword query's order is the user's). A title the query makes up
        # whole keeps them: typed as it stands.
        for d, x in in_order.items():
            if shares.get(d, 1.0) < 1.0:
                extra[d] -= x
    head = sorted(
        ((d, s + extra.get(d, 0.0) + in_body.get(d, 0.0) + cover.get(d, 0.0)) for d, s in head),
        key=lambda x: (-x[1], x[0]),
    )
    return head + ranked[ranking.RERANK_DEPTH :]


class ArticleNotFound(LookupError):
    """No article with that assetid or slug in any locale."""


def _stored(ixset: IndexSet, locale: str, slug: str) -> dict | None:
    return ixset.searcher(locale).document(slug=slug)


def _slug_in(ixset: IndexSet, locale: str, slug: str) -> str | None:
    """The slug of ``slug``'s article in ``locale``: itself, or the translation linked to the
    same source (by ``translation_of``, assetid or slug), or None."""
    holders = ixset.slug_locales.get(slug, [])
    if locale in holders:
        return slug
    for loc in holders:
        found = ixset.members.get(ixset.group_of.get((loc, slug), slug), {}).get(locale)
        if found:
            return found
    return None


def find_article(ixset: IndexSet, ident: str, locale: str) -> dict:
    """Resolve an assetid (any case) or slug in ``locale``, falling back to English.

    An assetid shared by several articles resolves to the first slug (sorted) present in the
    locale; the others are listed under ``"also"``.
    """
    assetid = parse_assetid(ident) or parse_own_id(ident)
    slugs = ixset.asset_slugs.get(assetid, []) if assetid else []
    if not slugs:
        slugs = [ident] if ident in ixset.slug_locales else []
    if not slugs:
        raise ArticleNotFound(ident)
    for loc, fallback in ((locale, False), (ENGLISH, locale != ENGLISH)):
        if loc not in ixset.indexes:
            continue
        for slug in slugs:
            own = _slug_in(ixset, loc, slug)
            doc = _stored(ixset, loc, own) if own else None
            if doc is not None:
                group = ixset.members.get(ixset.group_of.get((loc, own), own), {})
                return {
                    "doc": doc,
                    "locale": loc,
                    "fallback": fallback,
                    "also": [s for s in slugs if s != slug],
                    "locales": sorted(x for x in group if x in ixset.indexes),
                }
    for loc in (locale, ENGLISH):
        if loc in ixset.damaged and any(loc in ixset.slug_locales.get(s, []) for s in slugs):
            raise LocaleUnavailable(loc, ixset.damaged[loc])
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
    "LocaleUnavailable",
    "NoIndex",
    "ResultCache",
    "find_article",
    "open_current",
    "run_query",
    "search",
]
