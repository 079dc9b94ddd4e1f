"""Build one Whoosh index per locale (plus en-US from the English sxs text) into a new generation.

``build_indexes`` is the single code path for the CLI and the service: parse every file, write
each locale's index in its own process, then switch the generation in atomically.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import fcntl
import functools
import gc
import hashlib
import json
import logging
import marshal
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import wait
from pathlib import Path
from typing import NamedTuple

from whoosh import index as whoosh_index

from . import analysis
from . import article_cache
from . import display
from . import facets
from . import generations
from . import memindex
from . import schedule
from .analysis import clear_index_caches
from .analysis import language_of
from .content import SourceCatalog
from .corpus import DEFAULT_MAX_ARTICLE_BYTES
from .corpus import Article
from .corpus import UnreadableArticle
from .corpus import article_files
from .corpus import content_hash
from .corpus import discover_locales
from .corpus import english_hash
from .corpus import is_locale_folder
from .corpus import parse_article
from .corpus import read_bytes
from .incremental import plan_changes
from .schema import ENGLISH
from .schema import analyze_document
from .schema import document_for
from .schema import make_schema
from .whoosh_writer import DirectWriter
from .whoosh_writer import SegmentReuse
from .whoosh_writer import WriterStats as _WriterStats

Progress = Callable[[str, int, int], None]
log = logging.getLogger("helpapi.index")


class BuildError(Exception):
    """The build could not produce a generation (bad corpus folder, no locales...)."""


@dataclasses.dataclass
class LocaleStats:
    """What building one locale's index did."""

    locale: str
    articles: int = 0
    parsed: int = 0
    repaired: int = 0
    rejected: int = 0
    cached: int = 0  # articles taken from the article cache (not parsed nor analyzed)
    terms: int = 0
    size_bytes: int = 0
    seconds: float = 0.0
    errors: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    repairs: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    # (slug, assetid, group, updated): group is the slug of the source article it translates
    # (its own slug when it has none); articles of one group are one article's languages.
    catalog: list[tuple[str, str, str, str]] = dataclasses.field(default_factory=list)
    # en-US only: {slug: file hash} of the source folder (what changed next time)
    source_manifest: dict[str, str] = dataclasses.field(default_factory=dict)
    # slug -> hash of the file (a locale) or of the English text (en-US): what changed next time
    manifest: dict[str, str] = dataclasses.field(default_factory=dict)
    # {relative path: [size, checksum]} of the index's files (generations.record_files), taken
    # by the process that wrote them: a pool's workers checksum in parallel, while the files
    # are fresh in memory, not the parent one locale after another once the pool is done.
    files: dict[str, list] | None = None


@dataclasses.dataclass
class BuildReport:
    """The outcome of :func:`build_indexes`."""

    generation: str
    index_dir: str
    locales: dict[str, LocaleStats]
    seconds: float
    changes: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    switched: bool = True  # False: incremental build found nothing to do

    @property
    def totals(self) -> dict[str, int]:
        """Counts summed over locales (en-US excluded: its files are the others' files)."""
        keys = ("articles", "parsed", "repaired", "rejected")
        own = [s for loc, s in self.locales.items() if loc != ENGLISH]
        return {k: sum(getattr(s, k) for s in own) for k in keys}


def _failure(exc: BaseException) -> str:
    """The reason a file failed, for the report: never empty (a MemoryError has no message)."""
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _parse_locale(
    corpus_dir: Path,
    locale: str,
    stats: LocaleStats,
    progress: Progress | None,
    max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
    cache: _Cache | None = None,
    hashes: dict[str, str] | None = None,
):
    """Yield parsed articles of one locale, recording repairs and rejects in ``stats``.

    A file that fails in any way (unreadable, a link out of the corpus, too big, or an error
    while parsing, MemoryError and RecursionError included) is rejected with its path and the
    reason, and the build goes on. With a ``cache``, an article whose file is unchanged is
    taken from it instead of parsed (see :class:`_Cache`). ``hashes`` (``{slug: content
    hash}``, as the incremental plan read the files moments before) lets a cached article be
    taken by that hash without reading its file again; the manifest then records that hash,
    so it and the article stay one snapshot of the file (a later change is the next build's).
    """
    links: list[tuple[str, str]] = []
    paths = article_files(corpus_dir / locale, corpus_dir, links)  # str paths: no pathlib
    for path, reason in links:
        stats.rejected += 1
        stats.errors.append((path, reason))
    for done, (slug, path) in enumerate(paths, 1):
        try:
            known = hashes.get(slug) if hashes and cache is not None else None
            # "" is a file the plan could not read: read (and reject) it here.
            article = cache.article(slug, None, path, known) if known else None
            if article is not None:
                stats.manifest[slug] = known
            else:
                data = read_bytes(path, corpus_dir, max_bytes)
                digest = stats.manifest[slug] = content_hash(data)
                article = cache.article(slug, data, path, digest) if cache is not None else None
            if article is None:
                article = parse_article(path, locale, slug, data)
                if cache is not None:
                    cache.parsed(article)
        except Exception as exc:
            # Recorded as incremental.scan_manifest records it, so it is not "new" every time.
            stats.manifest.setdefault(slug, "")
            stats.rejected += 1
            if isinstance(exc, UnreadableArticle):
                stats.errors.append((exc.path, exc.reason))
            else:
                stats.errors.append((path, _failure(exc)))
        else:
            stats.parsed += 1
            if article.repairs:
                stats.repaired += 1
                stats.repairs.append((path, "; ".join(article.repairs)))
            yield article
        if progress and (done % 50 == 0 or done == len(paths)):
            progress(locale, done, len(paths))


class _Cache:
    """One locale's build through the article cache (:mod:`helpapi.article_cache`).

    :meth:`article` gives a cached article whose file is unchanged (or None: parse it, then
    :meth:`parsed`); :meth:`document` gives the cached document and tokens of a linked article
    when its English is also unchanged, else computes them. :meth:`write` keeps the entries of
    this build's articles for the next one.
    """

    def __init__(self, index_dir: str, locale: str):
        self.index_dir, self.locale = index_dir, locale
        self.old = article_cache.load(index_dir, locale)
        self.new: dict[str, tuple[str, str, bytes]] = {}
        self._key: dict[str, str] = {}  # slug -> file key of this build
        self._fields: dict[str, dict] = {}  # slug -> parsed fields (before linking)
        self._hit: dict[str, tuple] = {}  # slug -> (link key, document, analyzed) cached
        self.hits = 0
        self.identity: dict[str, str] = {}  # slug -> what decided its document (file + link)

    def article(
        self, slug: str, data: bytes | None, path, digest: str | None = None
    ) -> Article | None:
        # ``digest``: content_hash(data), the same SHA-1 the key is made of (``data`` is
        # then not needed: None when the file was not read again).
        key = self._key[slug] = article_cache.file_key(data, path, digest)
        entry = self.old.get(slug)
        if entry is None or entry[0] != key:
            return None
        value = article_cache.unpack(entry[2])
        if value is None:
            return None
        fields, doc, analyzed = value
        try:
            article = Article(**fields)
        except TypeError:  # fields of another shape: parse the file instead
            return None
        self._fields[slug] = fields
        self._hit[slug] = (entry[1], doc, analyzed)
        return article

    def parsed(self, article: Article) -> None:
        self._fields[article.slug] = article_fields(article)

    def document(self, article: Article, locale: str) -> tuple[dict, dict]:
        slug = article.slug
        link = article_cache.link_key(article)
        hit = self._hit.pop(slug, None)
        if hit is not None and hit[0] == link:
            self.hits += 1
            doc, analyzed = hit[1], hit[2]
        else:
            doc = document_for(article, locale)
            analyzed = analyze_document(doc, locale)
        if slug in self._key:
            self.identity[slug] = f"{self._key[slug]}|{link}"
        fields = self._fields.pop(slug, None)
        if fields is not None and slug in self._key:
            if hit is not None and hit[0] == link:
                blob = self.old[slug][2]  # unchanged: the same bytes again
            else:
                blob = article_cache.pack(fields, doc, analyzed)
            self.new[slug] = (self._key[slug], link, blob)
        return doc, analyzed

    def write(self) -> None:
        article_cache.store(self.index_dir, self.locale, self.new)


_ARTICLE_FIELDS = tuple(f.name for f in dataclasses.fields(Article))


def article_fields(article: Article) -> dict:
    """``dataclasses.asdict(article)`` (the parsed fields, as the article cache keeps them),
    made for an article's known field types: str, bool and None as they are, the lists of
    str and the labels (``{key: [str]}``) copied one level deep. ``asdict`` copies any value
    recursively through ``copy.deepcopy``: 0.064 s of a 1,423-article locale, 0.006 s here.
    """
    out = {name: getattr(article, name) for name in _ARTICLE_FIELDS}
    for name, value in out.items():
        if type(value) is list:
            out[name] = list(value)
        elif type(value) is dict:
            out[name] = {k: list(v) if type(v) is list else v for k, v in value.items()}
        elif not (value is None or type(value) in (str, bool, int)):
            return dataclasses.asdict(article)  # another type: the general copy
    return out


# Beside each built locale's index: which document each Whoosh document number holds, and what
# decided it (its file and linked English, under the code fingerprint), so that the next
# incremental build can copy the posting bytes of the terms no changed document holds.
DOCS_FILE = "docs.json"


@functools.cache
def _reuse_fingerprint() -> str:
    """The article cache's fingerprint plus the Whoosh writer's code and Whoosh's version:
    everything besides the documents that the segment's posting bytes depend on."""
    import whoosh

    here = Path(__file__).resolve().parent
    code = (here / "whoosh_writer.py").read_bytes() + whoosh.versionstring().encode()
    return article_cache.fingerprint() + ":" + hashlib.sha1(code).hexdigest()


def _previous_docs(folder: Path) -> list | None:
    """The ``[slug, identity]`` of each document of the previous segment in ``folder``, or
    None (no record, another fingerprint, unreadable: nothing is reused)."""
    try:
        record = json.loads((folder / DOCS_FILE).read_text("utf-8"))
        if record.get("fingerprint") != _reuse_fingerprint():
            return None
        docs = record["docs"]
        if not all(isinstance(d, list) and len(d) == 2 for d in docs):
            return None
        return docs
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _terms_of(analyzed: dict) -> dict[str, set]:
    """The terms of each recorded field of one analyzed document."""
    out = {f: {t for t, _ in analyzed[f]} for f in memindex.POSITION_FIELDS}
    out.update({f: set(analyzed[f]) for f in memindex.FREQUENCY_FIELDS})
    return out


def _english_sources(
    corpus_dir: Path,
    locales: list[str],
    stats,
    progress,
    max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
    covered: SourceCatalog | None = None,
    sides_dir: Path | None = None,
):
    """English from sxs spans: one article per slug across ``locales`` (a side-by-side file
    of each slug, if any has one), leaving out what the source folder (``covered``) holds.

    Plain localized files have no English of their own and never feed the English index.
    ``sides_dir``: where the locales built before in this build left the English side of
    their files (:func:`_write_english_sides`); a file found there is not parsed again.
    """
    sides = {loc: _read_english_sides(sides_dir, loc) for loc in locales} if sides_dir else {}
    # The English spans are the same source text in every locale, so each slug is parsed once
    # from the first locale that has it, and again from later ones only while it lacks spans.
    best: dict[str, object] = {}
    todo = {}
    for locale in locales:
        for slug, path in article_files(corpus_dir / locale, corpus_dir):
            todo.setdefault(slug, []).append((locale, path))
    total = len(todo)
    for done, slug in enumerate(sorted(todo), 1):
        for locale, path in todo[slug]:
            known = sides.get(locale)
            if known is not None and slug in known:
                side = known[slug]
                if side is None:
                    continue  # not side by side in that locale
                article = _english_article(locale, slug, side)
            else:
                try:
                    # The English side only: the localized text is that locale's build's.
                    article = parse_article(path, locale, slug, None, corpus_dir, max_bytes, True)
                except Exception:
                    continue  # any failure is reported by that locale's own build
            if article.has_sxs:
                if covered is None or covered.source_of(article) is None:
                    best[slug] = article
                break
        if progress and (done % 50 == 0 or done == total):
            progress(ENGLISH, done, total)
    return [best[slug] for slug in sorted(best)]


# In the staging folder while the build runs: each locale's English side of its files, for
# en-US (removed before the generation is switched in).
ENGLISH_SIDES = ".english-sides"


def _english_side(article: Article) -> tuple | None:
    """What en-US's parse of ``article``'s file (``english_only``) would give it: the fields
    the English index reads, or None for a file that is not side by side."""
    if not article.has_sxs:
        return None
    return (
        article.assetid,
        article.refs,
        article.english_title,
        article.english_body,
        article.english_markdown,
        article.updated,
        article.translation_of,
        article.labels,
    )


def _english_article(locale: str, slug: str, side: tuple) -> Article:
    """The article :func:`parse_article` (``english_only``) gives for a side-by-side file,
    from its :func:`_english_side` (its repairs, which en-US does not report, left empty)."""
    assetid, refs, title, body, markdown, updated, translation_of, labels = side
    return Article(
        locale=locale,
        slug=slug,
        assetid=assetid,
        refs=list(refs),
        title="",
        english_title=title,
        body="",
        english_body=body,
        markdown="",
        english_markdown=markdown,
        updated=updated,
        has_sxs=True,
        repairs=[],
        format="sxs",
        translation_of=translation_of,
        labels=dict(labels),
    )


def _write_english_sides(out_dir: str, locale: str, sides: dict) -> None:
    """Leave ``{slug: _english_side}`` of a locale's parsed files for en-US's build, written
    whole (a temporary file renamed in): en-US reads it only if it is there when it starts,
    and parses the files otherwise. ``marshal``: plain values only, nothing runs to read it."""
    folder = Path(out_dir) / ENGLISH_SIDES
    folder.mkdir(exist_ok=True)
    tmp = folder / f"{locale}.part"
    tmp.write_bytes(marshal.dumps(sides, 4))
    os.replace(tmp, folder / f"{locale}.marshal")


def _read_english_sides(folder: Path, locale: str) -> dict | None:
    """:func:`_write_english_sides`'s ``{slug: side}`` of ``locale``, or None (not written
    yet, or not of that shape: the files are then parsed)."""
    try:
        sides = marshal.loads((Path(folder) / f"{locale}.marshal").read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(sides, dict):
        return None
    for slug, side in sides.items():
        if not isinstance(slug, str):
            return None
        if side is not None and not (isinstance(side, tuple) and len(side) == 8):
            return None
    return sides


def _as_source(article):
    """A source-folder article as the English index holds it: its own text is the English."""
    article.english_title = article.title
    article.english_body = article.body
    article.english_markdown = article.markdown
    return article


def _source_articles(corpus_dir: Path, source_locale: str, stats, max_bytes) -> list:
    """The parsed articles of the source folder (empty when there is none)."""
    if not (corpus_dir / source_locale).is_dir():
        return []
    return list(_parse_locale(corpus_dir, source_locale, stats, None, max_bytes))


class SourceRef(NamedTuple):
    """What a translation takes from its linked source article (see :func:`_linked`)."""

    slug: str
    assetid: str | None
    title: str
    body: str


def source_refs(corpus_dir: Path, source_locale: str, max_bytes: int) -> list[SourceRef]:
    """The source folder's articles as links need them (empty when there is no folder).

    Parsed once per build by :func:`build_indexes` and handed to every locale's build, which
    would otherwise each parse the whole source folder again.
    """
    stats = LocaleStats(source_locale)
    return [
        SourceRef(a.slug, a.assetid, a.title, a.body)
        for a in _source_articles(Path(corpus_dir), source_locale, stats, max_bytes)
    ]


def _english_articles(corpus, sources, source_locale, stats, progress, max_bytes, sides_dir=None):
    """Everything the English index holds: the source folder, then sxs English for the rest
    (``sides_dir``: see :func:`_english_sources`)."""
    own = LocaleStats(source_locale)
    articles = [_as_source(a) for a in _source_articles(corpus, source_locale, own, max_bytes)]
    # The source folder's problems are the English index's to report; its file hashes tell
    # the next incremental build whether the source changed.
    stats.rejected, stats.repaired = own.rejected, own.repaired
    stats.errors, stats.repairs = own.errors, own.repairs
    stats.source_manifest = own.manifest
    catalog = SourceCatalog.of(source_locale, articles) if articles else None
    others = [loc for loc in sources if loc != source_locale]
    taken = {a.slug for a in articles}
    spans = _english_sources(
        corpus, others, LocaleStats(ENGLISH), progress, max_bytes, catalog, sides_dir
    )
    merged = articles + [a for a in spans if a.slug not in taken]
    stats.parsed = len(merged)
    return sorted(merged, key=lambda a: a.slug)


def _linked(articles, catalog: SourceCatalog | None):
    """Each article with its source's English (plain files) and the slug of its group."""
    for article in articles:
        source = catalog.source_of(article) if catalog is not None else None
        if source is not None and not article.has_sxs:
            # The linked source's English title and body are searchable in the translation,
            # as the sxs English spans are: an English query finds the localized article.
            article.english_title = source.title
            article.english_body = source.body
        yield article, (source.slug if source is not None else article.slug)


def build_locale(
    corpus_dir: str,
    locale: str,
    out_dir: str,
    sources: list[str] | None = None,
    progress: Progress | None = None,
    max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
    source_locale: str = ENGLISH,
    sources_parsed: list[SourceRef] | None = None,
    cache_dir: str | None = None,
    previous: dict[str, str] | None = None,
    hashes: dict[str, dict[str, str]] | None = None,
    english_sides: bool = False,
) -> LocaleStats:
    """Write the index of one locale into ``out_dir/<locale>``.

    For ``en-US``, ``sources`` names the locales whose English spans feed it; the folder of
    ``source_locale`` (the team's English source, when present) *is* the English index, and the
    other locales' articles are linked to it (:mod:`helpapi.content`); ``sources_parsed``
    is that folder already read (:func:`source_refs`), else it is read here. Files over
    ``max_article_bytes`` are rejected unread. With ``cache_dir`` (the index folder), a
    locale's unchanged articles are taken from the article cache kept there
    (:mod:`helpapi.article_cache`), which the build then writes anew. ``previous`` maps locales
    to the verified folder of their serving index: when this locale's holds the same articles
    in the same order, the Whoosh postings of the terms no changed article holds are copied
    from it (:class:`helpapi.whoosh_writer.SegmentReuse`; the segment is a fresh build's).
    ``hashes`` maps locales to ``{slug: content hash}`` as an incremental plan just read
    them (:attr:`helpapi.incremental.Plan.hashes`): a cached article is then taken by its
    hash without reading its file a second time. ``english_sides``: a locale leaves the
    English side of its files in ``out_dir`` (:data:`ENGLISH_SIDES`) and en-US takes those
    it finds there instead of parsing the files again (:func:`_english_sources`).
    """
    # The build makes millions of small tuples and lists that live until it ends: each
    # collection of the cyclic garbage collector walks all of them (a third of the recorder's
    # time, on corpus-scale de-DE). Reference counting frees them; the few cycles wait.
    if _kept:
        # Only the last locale's objects wait for the exit: a build of several locales in
        # this process frees each before starting the next, so its peak memory is unchanged.
        # Unfrozen first, so the collector can reclaim their cycles too.
        gc.unfreeze()
        _kept.clear()
    with _cyclic_gc_paused(), _index_caches_cleared():
        return _build_locale(
            corpus_dir=corpus_dir,
            locale=locale,
            out_dir=out_dir,
            sources=sources,
            progress=progress,
            max_article_bytes=max_article_bytes,
            source_locale=source_locale,
            sources_parsed=sources_parsed,
            cache_dir=cache_dir,
            previous=previous,
            hashes=hashes,
            english_sides=english_sides,
        )


@contextlib.contextmanager
def _index_caches_cleared():
    """The analysis fast paths' per-word caches dropped when the block ends (a pool worker
    builds several locales; each locale's words would otherwise stay for the next ones)."""
    try:
        yield
    finally:
        clear_index_caches()


@contextlib.contextmanager
def _cyclic_gc_paused():
    """The cyclic garbage collector off inside the block (as it was, after).

    In a process that keeps its builds' objects until it exits (:func:`keep_until_exit`),
    they are frozen first: the collector would otherwise walk all of them at its next pass.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _kept is not None:
            gc.freeze()
        if was:
            gc.enable()


# Set by keep_until_exit(): the objects of finished locale builds, never freed.
_kept: list | None = None


def keep_until_exit() -> None:
    """Keep each locale build's working objects (postings, the writer's tables: about a
    million tuples and lists per 3,000 articles) alive until the process ends, instead of
    freeing them one by one when the build returns (with the collector's pass over them when
    it is re-enabled, 0.5-0.9 s of CPU on corpus-scale de-DE, spent before the new generation
    could be switched in).

    Only for a process that ends with ``os._exit`` once its work is recorded: a reindex job's
    runner (:mod:`helpapi.jobs`), where nothing else would use the memory. Its files are
    written and closed as always; only the freeing of memory is left to the kernel. Only the
    last locale built is kept (the ones before are freed as the next starts): the peak memory
    of a build is that of its largest locale, as without this.
    """
    global _kept
    if _kept is None:
        _kept = []


def _build_locale(
    corpus_dir: str,
    locale: str,
    out_dir: str,
    sources: list[str] | None = None,
    progress: Progress | None = None,
    max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
    source_locale: str = ENGLISH,
    sources_parsed: list[SourceRef] | None = None,
    cache_dir: str | None = None,
    previous: dict[str, str] | None = None,
    hashes: dict[str, dict[str, str]] | None = None,
    english_sides: bool = False,
) -> LocaleStats:
    started = time.perf_counter()
    corpus = Path(corpus_dir)
    target = Path(out_dir) / locale
    target.mkdir(parents=True)
    stats = LocaleStats(locale)
    ix = whoosh_index.create_in(target, make_schema())
    cache = None
    if locale == ENGLISH and sources is not None:
        sides_dir = Path(out_dir) / ENGLISH_SIDES if english_sides else None
        articles = _english_articles(
            corpus, sources, source_locale, stats, progress, max_article_bytes, sides_dir
        )
        linked = ((a, a.slug) for a in articles)
    else:
        if sources_parsed is None:
            sources_parsed = source_refs(corpus, source_locale, max_article_bytes)
        catalog = SourceCatalog.of(source_locale, sources_parsed) if sources_parsed else None
        if cache_dir is not None:
            cache = _Cache(cache_dir, locale)
        known = (hashes or {}).get(locale)
        articles = _parse_locale(corpus, locale, stats, progress, max_article_bytes, cache, known)
        linked = _linked(articles, catalog)
    recorder = memindex.Recorder()
    labels = facets.Collector()  # filters, facet counts, sort=updated (helpapi.facets)
    # One segment, written from the recorder's postings (see helpapi.whoosh_writer).
    writer = DirectWriter(ix, recorder)
    shown = []  # display.bin: what each hit shows, in document order
    # slug -> the English side of its file for en-US (None when not side by side: only
    # such a file is given its linked source's English by _linked).
    sides: dict | None = {} if english_sides and locale != ENGLISH else None
    previous_dir = (previous or {}).get(locale)
    before = _previous_docs(Path(previous_dir)) if previous_dir and cache is not None else None
    touched: dict[str, set] = {}  # field -> terms of the documents changed since ``before``
    reused = None
    try:
        for article, group in linked:
            if sides is not None:
                sides[article.slug] = _english_side(article)
            try:
                if cache is not None:
                    doc, analyzed = cache.document(article, locale)
                else:
                    doc = document_for(article, locale)
                    # Analyzed once: the same tokens feed postings.bin and Whoosh.
                    analyzed = analyze_document(doc, locale)
                if before is not None:
                    n = len(recorder.slugs)
                    now = [article.slug, cache.identity.get(article.slug)]
                    if now[1] is None or n >= len(before) or before[n] != now:
                        for field, terms in _terms_of(analyzed).items():
                            touched.setdefault(field, set()).update(terms)
                recorder.add_document(doc, analyzed)
                writer.add_analyzed(doc, analyzed)
                labels.add(article)
                shown.append(display.entry(doc))
            except Exception as exc:
                # The index may be half-written: abort, but say which file did it.
                where = f"{article.locale}/{article.slug}.md"
                raise BuildError(f"{locale}: indexing {where} failed: {_failure(exc)}") from exc
            if locale == ENGLISH:
                stats.manifest[article.slug] = english_hash(article)
            stats.catalog.append(
                (article.slug, article.assetid or "", group, article.updated or "")
            )
            stats.articles += 1
        if before is not None and [d[0] for d in before] == recorder.slugs:
            # The same documents under the same numbers: unchanged terms keep their bytes.
            reused = SegmentReuse.open(Path(previous_dir))
            if reused is not None:
                writer.reuse(reused, touched)
    except BaseException:
        writer.cancel()
        if reused is not None:
            reused.close()
        raise
    if sides is not None:
        _write_english_sides(out_dir, locale, sides)
    # The segment's "text" terms are the recorder's (it writes them), counted without
    # walking Whoosh's term index.
    stats.terms = len(recorder.postings["text"])
    # The serving file's fuzzy tables are patched rather than rebuilt (verified folder).
    if previous_dir and reused:
        recorder.previous = Path(previous_dir) / memindex.FILENAME
    # In a job's runner, postings.bin is written by a forked copy of this process while this
    # one writes the Whoosh segment and the other files (see _fork_postings).
    child = _fork_postings(recorder, target / memindex.FILENAME, writer) if _parallel else None
    try:
        try:
            writer.commit()
        finally:
            if reused is not None:
                reused.close()
        if cache is not None and len(cache.identity) == len(recorder.slugs):
            docs = [[slug, cache.identity[slug]] for slug in recorder.slugs]
            record = {"fingerprint": _reuse_fingerprint(), "docs": docs}
            (target / DOCS_FILE).write_text(json.dumps(record), "utf-8")
        labels.write(target / facets.FILENAME)
        display.write(target / display.FILENAME, shown)
        if cache is not None:
            stats.cached = cache.hits
            cache.old = {}  # its memory back before the new file is assembled
            cache.write()
        forked, failed = child is not None, child.wait() if child is not None else None
        child = None
    finally:
        if child is not None:
            child.kill()
    if failed:
        log.warning("%s: postings.bin written again in-process: %s", locale, failed)
    if not forked or failed:
        with ix.reader() as reader:
            recorder.write(target / memindex.FILENAME, reader)
    stats.files = generations.record_files(target)
    stats.size_bytes = sum(p.stat().st_size for p in target.iterdir())
    if _kept is not None:
        # Freed by the process's exit, not here (see keep_until_exit).
        kept = (recorder, writer, labels, shown, touched, before, cache, reused, ix, articles)
        _kept.append(kept)
    stats.seconds = time.perf_counter() - started
    return stats


# Set by parallel_postings(): postings.bin is written by a forked child beside the segment.
_parallel = False


def parallel_postings(on: bool = True) -> None:
    """Write each locale's ``postings.bin`` in a forked child while this process writes the
    Whoosh segment and the other files (:func:`_fork_postings`). For a reindex job's runner
    (:mod:`helpapi.jobs`), a process that builds and exits: a one-edit job is mostly these
    two writes, and a job runs beside idle serving workers. Off elsewhere: a pool's workers
    already use every core, and a long-lived process (the tests, an embedding) is left alone.
    """
    global _parallel
    _parallel = on


class _Child:
    """A forked child writing postings.bin; :meth:`wait` gives None or why it failed."""

    def __init__(self, pid: int, errors: int):
        self.pid = pid
        self._errors = errors  # the read end of a pipe the child writes its failure to

    def _close(self) -> None:
        if self._errors >= 0:
            os.close(self._errors)
            self._errors = -1

    def wait(self) -> str | None:
        """Wait for the child: None when it wrote the file, else why it did not."""
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        why = os.read(self._errors, 4096).decode("utf-8", "replace")
        self._close()
        code = os.waitstatus_to_exitcode(status)
        return None if code == 0 else (why or f"exit status {code}")

    def kill(self) -> None:
        """End the child now (the build is abandoned) and reap it."""
        if self.pid:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(self.pid, 0)
            self.pid = 0
        self._close()


def _fork_postings(recorder, path: Path, writer: DirectWriter) -> _Child | None:
    """Start writing ``path`` (postings.bin) from ``recorder`` in a forked child, with the
    writer's statistics instead of the committed segment's reader; None when it cannot.

    The segment (DirectWriter.commit) and postings.bin are each about a third of a one-edit
    job's CPU and independent once every document is added: two cores write them at once.
    The child shares this process's memory copy-on-write (the runner keeps it frozen and
    never collects it), writes the one file, and ends with ``os._exit``: it runs none of the
    parent's threads, handlers or exit code. The parent waits for it before the generation is
    assembled; a failed child is told in the log and the file is written in-process.
    """
    if not hasattr(os, "fork"):
        return None
    stats = _WriterStats.of(writer, recorder.slugs)
    if stats is None:
        return None
    parent = os.getpid()
    # Looked up here: the child calls no dynamic loader (another thread may hold its lock).
    prctl = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None
    read, write = os.pipe()
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns of fork in a threaded process (the runner's lease heartbeat):
            # the child only runs this function's code, none that takes another thread's lock.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError as exc:  # no memory or process left for it: write in-process
        os.close(read)
        os.close(write)
        log.warning("postings.bin written in-process: fork failed (%s)", exc)
        return None
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read)
            # A cancel or time limit signals the runner's group: the child just ends.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            if prctl is not None:  # dies with the runner, as its pool does
                prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:
                os._exit(1)
            recorder.write(path, stats)
            code = 0
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                os.write(write, _failure(exc).encode("utf-8")[:4000])
        finally:
            os._exit(code)
    os.close(write)
    return _Child(pid, read)


_progress_queue = None
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Make this process die as soon as ``parent`` (the process that started it) dies.

    A killed build must not leave its pool behind (about 90 MB each, busy for minutes). On
    Linux the kernel sends SIGKILL on the parent's death (``PR_SET_PDEATHSIG``); elsewhere a
    daemon thread notices the re-parenting within a second.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:

        def watch():
            while os.getppid() == parent:
                time.sleep(1)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # it died before the request above took effect
        os._exit(1)


# Threads beside which the pool may still fork its workers (see fork_safe_beside).
_fork_safe: weakref.WeakSet = weakref.WeakSet()


def fork_safe_beside(thread: threading.Thread) -> None:
    """Let the build's pool fork its workers although ``thread`` runs beside the main one.

    Only for a thread that shares no lock with what a worker runs: the CLI build's lease
    heartbeat (:func:`helpapi.jobs.cli_build_lease`) renews a file every few seconds and
    takes only its own lock, which a worker never uses; the interpreter's import lock,
    logging's locks and the allocator's are taken around a fork (or reset in the child), so
    a fork made while it beats leaves the child nothing held. Without this, the CLI's
    workers were spawned: two more interpreters importing helpapi (~0.6 s of CPU each, before
    each worker's first locale could start).
    """
    _fork_safe.add(thread)


def _pool_start_method() -> str:
    """How the pool's workers start: ``"fork"`` on Linux when this process runs no thread
    but its main one and those named by :func:`fork_safe_beside` (the CLI's ``index
    build``), else ``"spawn"`` (a job's runner and the service run threads, which a fork may
    catch holding a lock).

    A spawned worker is a new interpreter that imports helpapi again (0.3 s of CPU each,
    before its first locale; this environment compiles the sources too): a forked one has
    what the CLI imported. A pool started by ``fork`` forks every worker at its first submit,
    before its own manager thread starts (``ProcessPoolExecutor``), so no thread of its own
    is running then either. Each worker still forks a child per locale
    (:func:`_build_forked`).
    """
    if not sys.platform.startswith("linux"):
        return "spawn"
    main = threading.main_thread()
    if threading.current_thread() is not main:
        return "spawn"
    if all(t is main or t in _fork_safe for t in threading.enumerate()):
        return "fork"
    return "spawn"


def _init_worker(queue, parent):
    global _progress_queue, _kept, _parallel
    _progress_queue = queue
    # As a spawned worker starts: whatever the parent set is its own (a forked one inherits it).
    _kept, _parallel = None, False
    die_with_parent(parent)
    _warm_up()


def _warm_up() -> None:
    """Make, in a pool worker, the per-process state every locale's build makes on first use,
    so that the child forked for each locale (:func:`_build_forked`) inherits it instead of
    making it again: the Markdown renderer's FFI (cffi parses its C declarations: ~30 ms),
    nh3's cleaner, the article cache's and the segment reuse's code fingerprints (module
    sources and library versions read and hashed). Each locale's child paid ~35 ms of CPU
    for these; a worker now pays once for the several locales it builds. Nothing here depends
    on a locale or a corpus, and each is what the first use would have made (cached
    functions), so the build's output is the same."""
    from . import render

    # Best effort: this runs in the pool's start-up hook, where an error kills the worker
    # and every locale then fails as "pool terminated abruptly"; the step that failed here
    # fails again at its first use, in the locale's own build, with its own message.
    for step in (render._markdown, render._clean, article_cache.fingerprint, _reuse_fingerprint):
        try:
            step()
        except Exception:  # noqa: BLE001 - reported by the first use
            pass


def _queue_progress(locale, done, total):
    _progress_queue.put((locale, done, total))


def _build_in_worker(corpus_dir, locale, out_dir, sources, options):
    args = (corpus_dir, locale, out_dir, sources, _queue_progress)
    if not hasattr(os, "fork"):  # pragma: no cover - every POSIX system has it
        return build_locale(*args, **options)
    return _build_forked(args, options)


def _build_forked(args: tuple, options: dict) -> LocaleStats:
    """:func:`build_locale` in a child forked from this pool worker, which exits once its
    result is sent: the worker's answer is the child's (its stats, or its exception).

    A locale's build leaves millions of small objects (postings, the writer's tables, the
    documents) that take about a second of CPU to free one by one when it returns (dev corpus
    de-DE: 5.5 s with it, 4.6 s without), as many locales as the build has. The child keeps
    them (:func:`keep_until_exit`) and ends with ``os._exit``: the kernel takes the memory
    back at once. The worker stays a small process with nothing to free (it only forks, and
    costs milliseconds a locale where a new spawned worker would import helpapi again), and
    the child dies with it (``PR_SET_PDEATHSIG``), as the worker dies with the build.
    """
    locale = args[1]
    read, write = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns of fork in a threaded process: a pool worker runs no thread of
        # its own, and the child runs only the build.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: build, send the outcome, exit without freeing anything
        code = 1
        try:
            os.close(read)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            die_with_parent(os.getppid())
            keep_until_exit()
            try:
                outcome = (True, build_locale(*args, **options))
            except BaseException as exc:
                outcome = (False, exc)
            if _progress_queue is not None:  # its last reports sent before the exit
                _progress_queue.close()
                _progress_queue.join_thread()
            try:
                data = pickle.dumps(outcome)
            except Exception:  # an exception that does not pickle: its text
                data = pickle.dumps((False, BuildError(f"{locale}: {_failure(outcome[1])}")))
            with os.fdopen(write, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    try:
        with os.fdopen(read, "rb") as fh:
            data = fh.read()
    finally:
        _, status = os.waitpid(pid, 0)
    if not data:
        code = os.waitstatus_to_exitcode(status)
        raise BuildError(f"{locale}: the build process ended without a result ({code})")
    ok, value = pickle.loads(data)
    if ok:
        return value
    raise value


def check_corpus_dir(corpus_dir: Path, source_locale: str = ENGLISH) -> list[str]:
    """The corpus's locale folders; :class:`BuildError` naming the path when there are none.

    The source folder is among them when present (it is the English index, not a locale).
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.exists():
        raise BuildError(f"corpus folder {corpus_dir} does not exist")
    if not corpus_dir.is_dir():
        raise BuildError(f"corpus {corpus_dir} is not a folder")
    skipped: list[tuple[str, str]] = []
    available = discover_locales(corpus_dir, skipped)
    if not available:
        others = non_locale_folders(corpus_dir)
        hint = (
            f"; these folders are not BCP 47 locale tags: {', '.join(others[:5])}" if others else ""
        )
        raise BuildError(
            f"no locale folders (like de-DE/ or {source_locale}/) in corpus {corpus_dir}{hint}"
        )
    # Locale folders without one article would build, and switch to, an empty index.
    if not any(article_files(corpus_dir / loc, corpus_dir) for loc in available):
        raise BuildError(
            f"no article files (*.md, *.html, *.htm) in the locale folders of corpus"
            f" {corpus_dir}: {', '.join(f'{loc}/' for loc in available[:5])}"
        )
    return available


def non_locale_folders(corpus_dir: Path) -> list[str]:
    """Folders of a corpus that are not locales (not BCP 47 tags); ``_name`` ones excepted."""
    return sorted(
        p.name
        for p in Path(corpus_dir).iterdir()
        if p.is_dir() and not p.name.startswith((".", "_")) and not is_locale_folder(p.name)
    )


def _plan(
    corpus_dir: Path, locales: list[str] | None, source_locale: str = ENGLISH
) -> tuple[list[str], list[str]]:
    """``(corpus locales, locales to build)``; the source folder builds as the English index."""
    available = [loc for loc in check_corpus_dir(corpus_dir, source_locale) if loc != ENGLISH]
    wanted = [
        loc
        for loc in dict.fromkeys(locales or [*available, ENGLISH])
        if loc != source_locale or source_locale == ENGLISH
    ]
    unknown = [loc for loc in wanted if loc != ENGLISH and loc not in available]
    if unknown:
        raise BuildError(f"locales not in corpus {corpus_dir}: {', '.join(unknown)}")
    available = [loc for loc in available if loc != source_locale]
    return available, wanted


def build_indexes(
    corpus_dir: str | os.PathLike,
    index_dir: str | os.PathLike,
    locales: list[str] | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    incremental: bool = False,
    max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
    source_locale: str = ENGLISH,
    before_switch: Callable[[], None] | None = None,
) -> BuildReport:
    """Build ``locales`` (default: every corpus locale plus en-US) into a new generation.

    Locales not rebuilt are carried over from the serving generation by hard links. The new
    generation is switched in only when every locale built; on any failure the serving one
    stays and the half-built folder is removed. ``incremental`` rebuilds only the locales whose
    files changed since the serving generation (see :mod:`helpapi.incremental`); when nothing
    changed, no generation is made and the report says so. Files over ``max_article_bytes``
    (HELPAPI_MAX_ARTICLE_BYTES) are rejected unread. The folder of ``source_locale``
    (HELPAPI_SOURCE_LOCALE), when present, is the English index and the source that the other
    locales' articles are linked to. ``before_switch`` is called just before the new generation
    goes in; an exception from it abandons the build (a reindex job's lease fence).
    """
    started = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    available, wanted = _plan(corpus_dir, locales, source_locale)
    options = {
        "max_article_bytes": max_article_bytes,
        "source_locale": source_locale,
        "cache_dir": str(index_dir),
    }
    changes: dict = {}
    sound_previous: dict[str, str] = {}  # locale -> its verified serving folder
    if incremental:
        plan = plan_changes(corpus_dir, index_dir, max_article_bytes, source_locale)
        changes = plan.changes
        if plan.verified:
            gen = index_dir / plan.verified
            sound_previous = {
                loc: str(gen / loc)
                for loc in plan.locales
                if loc in plan.checked and loc not in plan.damaged and (gen / loc).is_dir()
            }
        wanted = [loc for loc in plan.locales if locales is None or loc in locales]
        options["hashes"] = plan.hashes
        if not wanted and not plan.removed:
            serving = generations.current_generation(index_dir)
            return BuildReport(
                serving or "",
                str(index_dir),
                {},
                time.perf_counter() - started,
                changes,
                switched=False,
            )
    index_dir.mkdir(parents=True, exist_ok=True)
    name = generations.new_generation_name()
    staging = index_dir / f".build-{name}"
    staging.mkdir()
    try:
        # Carried over first: a locale whose files fail verification is rebuilt instead.
        previous = generations.current_generation(index_dir)
        carried, damaged = _carry_over(index_dir, previous, staging, wanted, available)
        wanted = [*wanted, *(loc for loc in damaged if loc not in wanted)]
        if any(loc != ENGLISH for loc in wanted):
            options["sources_parsed"] = source_refs(corpus_dir, source_locale, max_article_bytes)
        if previous is not None and sound_previous and previous == plan.verified:
            options["previous"] = sound_previous
        # The locales built before en-US leave it the English side of their files.
        options["english_sides"] = ENGLISH in wanted and len(wanted) > 1
        stats = _run_builds(corpus_dir, staging, wanted, available, jobs, progress, options)
        shutil.rmtree(staging / ENGLISH_SIDES, ignore_errors=True)
        _require_engine_files(staging)
        generations.write_meta(staging, _meta(name, corpus_dir, staging, stats, carried))
        if before_switch is not None:
            before_switch()
        os.rename(staging, index_dir / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    generations.switch_to(index_dir, name)
    generations.prune(index_dir)
    article_cache.prune(index_dir, available)
    return BuildReport(name, str(index_dir), stats, time.perf_counter() - started, changes)


def _require_engine_files(staging: Path) -> None:
    """:class:`BuildError` naming each locale of ``staging`` whose ``postings.bin`` is missing
    or of another version: such a generation is never switched to (the engine's files are a
    required part of every generation)."""
    problems = {
        p.name: why
        for p in sorted(staging.iterdir())
        if p.is_dir() and (why := memindex.check(p) or display.check(p)) is not None
    }
    if problems:
        raise BuildError(
            "the new generation is not servable, not switching to it: "
            + "; ".join(f"{loc}: {why}" for loc, why in problems.items())
        )


def _run_builds(
    corpus_dir, staging, wanted, available, jobs, progress, options
) -> dict[str, LocaleStats]:
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(wanted)))
    args = [
        (str(corpus_dir), loc, str(staging), available if loc == ENGLISH else None)
        for loc in wanted
    ]
    # While this lock is held, no reindex submit removes the staging folder as a dead job's
    # leftover (this build may be a CLI build beside the service; see jobs.clean_leftovers).
    held = os.open(staging, os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        if jobs == 1:
            return {a[1]: build_locale(*a, progress=progress, **options) for a in args}
        return _run_pool(args, wanted, jobs, progress, options)
    finally:
        os.close(held)


def _run_pool(args, wanted, jobs, progress, options) -> dict[str, LocaleStats]:
    # Workers that die with this process: forked from it when it runs no other thread (the
    # CLI), else spawned (see _pool_start_method).
    ctx = multiprocessing.get_context(_pool_start_method())
    queue = ctx.Queue()
    results = {}
    by_locale = {a[1]: a for a in args}
    with ProcessPoolExecutor(
        jobs, mp_context=ctx, initializer=_init_worker, initargs=(queue, os.getpid())
    ) as pool:
        try:
            pending: dict = {}  # future -> locale
            started: dict[str, float] = {}  # locale -> when it was handed to the pool

            def start(locale: str) -> None:
                fut = pool.submit(_build_in_worker, *by_locale[locale], options)
                pending[fut] = locale
                started[locale] = time.perf_counter()

            planner = None
            # No more jobs than processes all start at once: their order is moot, and
            # estimating it would list and size the files of every locale en-US reads (a
            # small incremental job's whole corpus).
            if len(args) > jobs:
                # The workers are started first (a pool of spawned processes starts one per
                # submit): each is a new interpreter importing helpapi (0.3 s) while this
                # process lists and sizes the files for the order (corpus-scale: 0.4 s).
                for _ in range(jobs):
                    pool.submit(os.getpid)
                planner = schedule.Planner(_pool_costs(args), jobs)
            for locale in planner.first() if planner is not None else by_locale:
                start(locale)
            while pending:
                done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(queue, progress)
                now = time.perf_counter()
                for fut in done:
                    locale = pending.pop(fut)
                    results[locale] = fut.result()
                    if planner is not None:
                        planner.finished(locale, now - started[locale])
                # One job per free process, chosen now (see helpapi.schedule.Planner): a
                # process waits for it only the moments this loop takes to wake.
                while planner is not None and planner.left and len(pending) < jobs:
                    start(planner.next({loc: now - started[loc] for loc in pending.values()}))
        except BaseException:
            # Stopped (SIGTERM, Ctrl-C) or failed: do not wait for the other locales.
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                with contextlib.suppress(OSError):
                    proc.kill()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    _drain(queue, progress)
    return {loc: results[loc] for loc in wanted}


# Languages written without spaces: their text is also indexed as character bigrams, which
# makes a byte of it cost more to build (dev corpus: ja-JP 1.2x de-DE's CPU per byte, and
# zh-CN, the smallest folder in bytes, was started last and ended the build alone).
_GRAM_LANGUAGES = frozenset({"ja", "zh", "ko", "th", "lo", "km", "my"})
GRAM_COST_FACTOR = 1.25


# en-US parses each slug once (from the first locale with English spans), only its English
# side, and has no bigrams: half a locale's build (seconds in meta.json, dev corpus: en-US 2.4,
# the mean of the others 4.9; corpus-scale 4.5 and 8.4). Started first, as it was, the build
# ended with a full-size locale alone; as a smaller job it is one of the last to start.
ENGLISH_COST_FACTOR = 0.5


def _pool_costs(args) -> dict[str, float]:
    """``{locale: estimated cost}`` of the pool's jobs; en-US's is a share of the mean of the
    others (its files are theirs)."""
    # Each locale's files listed and sized once, whether it is built or feeds en-US.
    measured: dict[tuple[str, str], float] = {}

    def cost(corpus_dir: str, locale: str) -> float:
        key = (corpus_dir, locale)
        if key not in measured:
            measured[key] = _locale_cost(corpus_dir, locale)
        return measured[key]

    costs = {a[1]: cost(a[0], a[1]) for a in args if a[1] != ENGLISH}
    for a in args:
        if a[1] == ENGLISH:
            others = [cost(a[0], loc) for loc in a[3] or ()]
            mean = sum(others) / len(others) if others else 0.0
            costs[ENGLISH] = ENGLISH_COST_FACTOR * mean
    return costs


def _locale_cost(corpus_dir: str, locale: str) -> float:
    """What a locale's build costs, roughly: its bytes, weighted for bigram languages."""
    factor = GRAM_COST_FACTOR if language_of(locale) in _GRAM_LANGUAGES else 1.0
    return _locale_bytes(corpus_dir, locale) * factor


def _locale_bytes(corpus_dir: str, locale: str) -> int:
    """The size of a locale's article files (what its build costs, roughly)."""
    total = 0
    for _, path in article_files(Path(corpus_dir) / locale, corpus_dir):
        with contextlib.suppress(OSError):
            total += os.stat(path).st_size
    return total


def _drain(queue, progress):
    while not queue.empty():
        item = queue.get()
        if progress:
            progress(*item)


def _carry_over(index_dir, previous, staging, wanted, available) -> tuple[dict, dict]:
    """Hard-link the serving generation's locales not rebuilt into ``staging``.

    Each carried locale's files are linked, then verified (size and checksum against the old
    ``meta.json``): a hard link shares the inode, so this checks exactly what the new
    generation will serve. A locale that fails, or whose files were never recorded, is not
    carried. Returns ``(carried meta per locale, {locale: why it must be rebuilt})``.
    """
    if previous is None:
        return {}, {}
    try:
        old_meta = generations.read_meta(index_dir / previous)
        old_locales = dict(old_meta["locales"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("not carrying over from %s: meta.json unreadable (%s)", previous, exc)
        return {}, {}
    carried, damaged = {}, {}
    for loc, info in old_locales.items():
        if loc in wanted or (loc != ENGLISH and loc not in available):
            continue
        files = info.get("files") if isinstance(info, dict) else None
        problem = None
        if files is None:
            problem = "no file checksums in meta.json"
        else:
            try:
                for rel in files:
                    if Path(rel).is_absolute() or ".." in Path(rel).parts:
                        raise OSError(f"{rel!r} is not inside the locale folder")
                    (staging / loc / rel).parent.mkdir(parents=True, exist_ok=True)
                    os.link(index_dir / previous / loc / rel, staging / loc / rel)
            except OSError as exc:
                problem = f"{rel}: {exc.strerror or exc}"
            else:
                problem = generations.verify_locale(staging, loc, files)
                # An engine file of an older helpapi is sound but not servable: rebuild it.
                problem = problem or memindex.check(staging / loc) or display.check(staging / loc)
                problem = problem or facets.check(staging / loc, facets.facet_keys())
        if problem:
            log.warning("%s of %s is damaged, rebuilding it: %s", loc, previous, problem)
            shutil.rmtree(staging / loc, ignore_errors=True)
            damaged[loc] = problem
        else:
            carried[loc] = info
    return carried, damaged


def _meta(name, corpus_dir, staging, stats: dict[str, LocaleStats], carried: dict) -> dict:
    """The new generation's ``meta.json``; built locales get their files' sizes and checksums.

    Carried locales keep the entry (and recorded files) they had: their files were verified
    against it when linked.
    """
    locales = dict(carried)
    for loc, s in stats.items():
        locales[loc] = {
            "articles": s.articles,
            "parsed": s.parsed,
            "repaired": s.repaired,
            "rejected": s.rejected,
            "terms": s.terms,
            "size_bytes": s.size_bytes,
            "seconds": round(s.seconds, 3),
            "catalog": s.catalog,
            "manifest": s.manifest,
            **({"source_manifest": s.source_manifest} if loc == ENGLISH else {}),
            "files": (
                s.files if s.files is not None else generations.record_files(Path(staging) / loc)
            ),
        }
    return {
        "generation": name,
        "corpus_dir": str(corpus_dir),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "checksum": generations.CHECKSUM,
        # The terms' analysis (incremental.plan_changes rebuilds all under another one).
        "analysis": analysis.version(),
        "locales": locales,
    }
