"""Translations and their source: linking, the corpus check and the coverage report.

A help team keeps its source articles (English by default) in one locale folder and the
translations beside it. A translation is linked to its source article

1. by ``translation_of: <slug>`` in its front matter (an explicit override), else
2. by ``ms.assetid`` / ``assetid`` in the front matter, else
3. by the same relative path (slug) in the source folder.

Side-by-side (sxs) files carry their English source inline and need no link; a linked source
still tells which translations are missing or out of date. No Flask here.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from . import corpus as corpus_files


@dataclasses.dataclass
class SourceCatalog:
    """The source locale's articles, found by slug and by assetid."""

    locale: str
    by_slug: dict = dataclasses.field(default_factory=dict)
    by_assetid: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, locale: str, articles: Iterable) -> SourceCatalog:
        """A catalog of ``articles`` (the parsed files of the source folder)."""
        catalog = cls(locale)
        for article in articles:
            catalog.by_slug[article.slug] = article
            if article.assetid:
                catalog.by_assetid.setdefault(article.assetid, article)
        return catalog

    def source_of(self, article):
        """The source article ``article`` translates, or None (see the module docstring)."""
        explicit = getattr(article, "translation_of", None)
        if explicit:
            return self.by_slug.get(explicit)
        if article.assetid and article.assetid in self.by_assetid:
            return self.by_assetid[article.assetid]
        return self.by_slug.get(article.slug)

    def __len__(self) -> int:
        return len(self.by_slug)


@dataclasses.dataclass
class LocaleCoverage:
    """What one locale has of the source articles (the English index's articles)."""

    locale: str
    articles: int = 0
    linked: int = 0
    missing: list[str] = dataclasses.field(default_factory=list)  # source slugs
    no_source: list[str] = dataclasses.field(default_factory=list)  # own slugs
    # (own slug, source slug, translation date, source date)
    outdated: list[tuple[str, str, str, str]] = dataclasses.field(default_factory=list)
    undated: int = 0  # linked to a source-folder article, but either side has no date
    inline: int = 0  # linked to English from an sxs file: no separate source date exists

    def as_dict(self, limit: int | None = None) -> dict:
        """JSON form; lists cut to ``limit`` entries (their full lengths are given)."""

        def cut(items):
            return items if limit is None else items[:limit]

        return {
            "locale": self.locale,
            "articles": self.articles,
            "linked": self.linked,
            "missing_count": len(self.missing),
            "missing": cut(self.missing),
            "no_source_count": len(self.no_source),
            "no_source": cut(self.no_source),
            "outdated_count": len(self.outdated),
            "outdated": [
                {"slug": s, "source": src, "updated": a, "source_updated": b}
                for s, src, a, b in cut(self.outdated)
            ],
            "undated": self.undated,
            "inline": self.inline,
            "dates": self.dates_note(),
        }

    def dates_note(self) -> str:
        """Says how freshness was told, and for how many translations it could not be."""
        return (
            "outdated = the source's date (ms.date, updated, date) is later than the "
            f"translation's; cannot be told for {self.undated + self.inline} linked "
            f"translations ({self.undated} without a date on either side, {self.inline} "
            "whose English is inline in an sxs file)"
        )


def locale_coverage(
    locale: str,
    entries: Iterable[tuple[str, str | None, str | None]],
    sources: dict[str, str | None],
    dated: Iterable[str] = (),
) -> LocaleCoverage:
    """Coverage of one locale against the source set.

    ``entries``: ``(slug, source slug or None, updated)`` per article of the locale.
    ``sources``: source slug -> its date. ``dated``: the source slugs whose date is a source
    article's own (files of the source folder); the others are English carried inline by sxs
    files, whose date is a translation's, so their freshness cannot be told.
    """
    dated = set(dated)
    out = LocaleCoverage(locale)
    covered = set()
    for slug, source, updated in entries:
        out.articles += 1
        if source is None or source not in sources:
            out.no_source.append(slug)
            continue
        out.linked += 1
        covered.add(source)
        if source not in dated:
            out.inline += 1
        elif updated and sources[source]:
            if updated < sources[source]:
                out.outdated.append((slug, source, updated, sources[source]))
        else:
            out.undated += 1
    out.missing = sorted(s for s in sources if s not in covered)
    out.no_source.sort()
    out.outdated.sort()
    return out


@dataclasses.dataclass
class IndexCoverage:
    """Coverage of every locale of one index generation (from its ``meta.json`` catalogs)."""

    generation: str
    sources: int  # articles of the English index: the source set
    from_folder: int  # of which files of the source folder (the others: English of sxs files)
    locales: list[LocaleCoverage]
    problem: str | None = None  # why there is no coverage (an old generation, no en-US)

    def as_dict(self, limit: int | None = None) -> dict:
        """JSON form; slug lists cut to ``limit`` entries."""
        return {
            "generation": self.generation,
            "source": {
                "articles": self.sources,
                "from_source_folder": self.from_folder,
                "from_sxs_english": self.sources - self.from_folder,
            },
            "locales": [c.as_dict(limit) for c in self.locales],
            **({"problem": self.problem} if self.problem else {}),
        }


def index_coverage(meta: dict, english: str = "en-US") -> IndexCoverage:
    """Translation coverage from a generation's ``meta.json``: no corpus file is read.

    The source set is the English index's catalog: the source folder's articles (listed in
    its ``source_manifest``), else the English of sxs articles. Each locale's catalog entry
    ``[slug, assetid, group, updated]`` names its source in ``group``; a group that is not in
    the English index means the article has no source.
    """
    name = str(meta.get("generation", ""))
    locales = meta.get("locales") or {}
    en = locales.get(english)
    if not isinstance(en, dict) or "catalog" not in en:
        return IndexCoverage(name, 0, 0, [], f"the generation has no {english} catalog")
    sources = {}
    for entry in en["catalog"]:
        sources[entry[0]] = (entry[3] if len(entry) > 3 else "") or None
    folder = set(en.get("source_manifest") or {}) & set(sources)
    out = []
    for loc, info in sorted(locales.items()):
        if loc == english or not isinstance(info, dict):
            continue
        entries = (
            (e[0], e[2] if len(e) > 2 else e[0], (e[3] if len(e) > 3 else "") or None)
            for e in info.get("catalog", [])
        )
        out.append(locale_coverage(loc, entries, sources, folder))
    return IndexCoverage(name, len(sources), len(folder), out)


def duplicate_ids(articles: Iterable) -> list[tuple[str, list[str]]]:
    """Assetids that more than one article of a locale claims, with their slugs."""
    owners = defaultdict(list)
    for article in articles:
        if article.assetid:
            owners[article.assetid].append(article.slug)
    return sorted((i, sorted(s)) for i, s in owners.items() if len(s) > 1)


@dataclasses.dataclass
class LocaleCheck:
    """The corpus check of one locale folder."""

    locale: str
    source: bool = False  # the source folder (en-US/ by default)
    formats: Counter = dataclasses.field(default_factory=Counter)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (path, reason)
    # One slug in two files (guide.md and guide.html): which one is meant cannot be told.
    conflicts: list[tuple[str, list[str]]] = dataclasses.field(default_factory=list)
    # One assetid claimed by several articles: allowed (the API lists the others under
    # "also"), but usually a copy-paste slip, so it is reported as a warning.
    duplicates: list[tuple[str, list[str]]] = dataclasses.field(default_factory=list)
    repaired: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (path, what)
    coverage: LocaleCoverage | None = None

    @property
    def errors(self) -> int:
        """Files that fail to parse or are refused, and slugs held by more than one file."""
        return len(self.failed) + len(self.conflicts)

    @property
    def warnings(self) -> int:
        """Duplicate ids: reported, but they do not fail the check."""
        return len(self.duplicates)

    def as_dict(self) -> dict:
        """JSON form."""
        out = {
            "locale": self.locale,
            "source": self.source,
            "articles": sum(self.formats.values()),
            "formats": {f: self.formats.get(f, 0) for f in FORMATS},
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "conflicts": [{"slug": i, "files": s} for i, s in self.conflicts],
            "duplicates": [{"id": i, "slugs": s} for i, s in self.duplicates],
            "repaired": [{"path": p, "repairs": r} for p, r in self.repaired],
            "errors": self.errors,
            "warnings": self.warnings,
        }
        if self.coverage is not None:
            out["coverage"] = self.coverage.as_dict()
        return out


FORMATS = ("sxs", "markdown", "html")


@dataclasses.dataclass
class CorpusCheck:
    """The outcome of :func:`check_corpus`."""

    corpus: str
    source_locale: str
    has_source_folder: bool = False
    locales: list[LocaleCheck] = dataclasses.field(default_factory=list)
    # Folders that are not BCP 47 tags, and locale folders refused (symlinks out): (path, why)
    bad_folders: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    error: str | None = None  # the corpus itself is unusable (missing, empty, no locale)
    # Synonyms and rules files under _config/ that do not parse: (path, line, reason)
    config: list[tuple[str, int, str]] = dataclasses.field(default_factory=list)

    @property
    def errors(self) -> int:
        """Everything that fails the check."""
        return (
            (1 if self.error else 0)
            + len(self.bad_folders)
            + len(self.config)
            + sum(c.errors for c in self.locales)
        )

    @property
    def warnings(self) -> int:
        """Reported, but not failing the check."""
        return sum(c.warnings for c in self.locales)

    def as_dict(self) -> dict:
        """JSON form."""
        return {
            "corpus": self.corpus,
            "source_locale": self.source_locale,
            "source_folder": self.has_source_folder,
            "ok": self.errors == 0,
            "errors": self.errors,
            "warnings": self.warnings,
            **({"error": self.error} if self.error else {}),
            "bad_folders": [{"path": p, "reason": r} for p, r in self.bad_folders],
            "config": [{"path": p, "line": n, "reason": r} for p, n, r in self.config],
            "locales": [c.as_dict() for c in self.locales],
        }


def _check_locale(corpus: Path, locale: str, max_bytes: int) -> tuple[LocaleCheck, list]:
    """Parse one locale folder through the indexer's per-file path; its check and articles."""
    # Imported here: the indexer imports this module.
    from .indexer import LocaleStats
    from .indexer import _parse_locale

    check = LocaleCheck(locale)
    folder = corpus / locale
    rejected: list[tuple[str, str]] = []
    kept = dict(corpus_files.article_files(folder, corpus, rejected))
    real_root = os.path.realpath(corpus)
    conflicting: dict[str, list[str]] = defaultdict(list)
    for path, _ in rejected:
        ext = corpus_files._article_extension(os.path.basename(path))
        outside = os.path.islink(path) and not corpus_files.inside(
            os.path.realpath(path), real_root
        )
        if ext is None or outside:
            continue  # a link out of the corpus: the parse below reports it as failed
        slug = os.path.relpath(path, folder)[: -len(ext)]
        if slug in kept:
            conflicting[slug].append(os.path.relpath(path, corpus))
    check.conflicts = sorted(
        (slug, [os.path.relpath(kept[slug], corpus), *sorted(files)])
        for slug, files in conflicting.items()
    )
    losers = {os.path.join(corpus, f) for _, files in check.conflicts for f in files[1:]}
    stats = LocaleStats(locale)
    articles = list(_parse_locale(corpus, locale, stats, None, max_bytes))
    check.failed = sorted(
        (os.path.relpath(p, corpus), reason)
        for p, reason in stats.errors
        if os.path.join(corpus, os.path.relpath(p, corpus)) not in losers
    )
    check.repaired = [(os.path.relpath(p, corpus), r) for p, r in stats.repairs]
    check.formats = Counter(a.format for a in articles)
    check.duplicates = duplicate_ids(articles)
    return check, articles


def check_corpus(
    corpus_dir, source_locale: str = "en-US", max_bytes: int | None = None
) -> CorpusCheck:
    """Check a corpus folder as ``helpapi index build`` would read it, and report coverage.

    Per locale: articles by format, files that fail (with the reason), slug conflicts,
    duplicate ids (warnings), and coverage against the source set: the source folder's
    articles, plus the English of sxs files for slugs it does not hold (what the English
    index holds). Folders that are not BCP 47 tags are errors. Never raises for content.
    """
    from .indexer import BuildError
    from .indexer import check_corpus_dir
    from .indexer import non_locale_folders

    corpus = Path(os.path.abspath(corpus_dir))
    out = CorpusCheck(str(corpus), source_locale)
    try:
        locales = check_corpus_dir(corpus, source_locale)
    except BuildError as exc:
        out.error = str(exc)
        return out
    if max_bytes is None:
        max_bytes = corpus_files.DEFAULT_MAX_ARTICLE_BYTES
    out.bad_folders = [
        (
            f"{name}/",
            "not a BCP 47 locale tag (like de-DE); rename it, or start it with _ "
            "to keep it out of the index",
        )
        for name in non_locale_folders(corpus)
    ]
    from .controls import check_config

    out.config = [(e.path, e.line, e.reason) for e in check_config(corpus)]
    refused: list[tuple[str, str]] = []
    corpus_files.discover_locales(corpus, refused)
    out.bad_folders += [(os.path.relpath(p, corpus) + "/", r) for p, r in refused]
    parsed = {}
    for locale in locales:
        check, articles = _check_locale(corpus, locale, max_bytes)
        check.source = locale == source_locale
        out.locales.append(check)
        parsed[locale] = articles
    out.has_source_folder = source_locale in parsed
    source_articles = parsed.get(source_locale, [])
    catalog = SourceCatalog.of(source_locale, source_articles)
    sources = {a.slug: a.updated for a in source_articles}
    dated = set(sources)
    # The English of sxs files fills the source set for the slugs the folder does not link.
    for articles in parsed.values():
        for article in articles:
            if article.has_sxs and catalog.source_of(article) is None:
                sources.setdefault(article.slug, None)
    for check in out.locales:
        if check.source:
            continue
        entries = []
        for article in parsed[check.locale]:
            source = catalog.source_of(article)
            slug = source.slug if source is not None else article.slug
            entries.append((article.slug, slug if slug in sources else None, article.updated))
        check.coverage = locale_coverage(check.locale, entries, sources, dated)
    return out
