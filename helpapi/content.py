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
from collections import Counter
from collections import defaultdict
from collections.abc import Iterable


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
    """What one locale has of the source locale's articles."""

    locale: str
    articles: int = 0
    linked: int = 0
    missing: list[str] = dataclasses.field(default_factory=list)  # source slugs
    no_source: list[str] = dataclasses.field(default_factory=list)  # own slugs
    # (own slug, source slug, translation date, source date)
    outdated: list[tuple[str, str, str, str]] = dataclasses.field(default_factory=list)
    undated: int = 0  # linked translations where either side has no date

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
            "dates": (
                "compared where both sides have a front-matter date (ms.date, updated, date); "
                f"{self.undated} linked translations lack one, so their freshness cannot be told"
            ),
        }


def coverage(catalog: SourceCatalog, locale: str, articles: Iterable) -> LocaleCoverage:
    """Coverage of one translated locale against the source catalog."""
    out = LocaleCoverage(locale)
    covered = set()
    for article in articles:
        out.articles += 1
        if getattr(article, "format", "") == "sxs" and catalog.source_of(article) is None:
            # Carries its English inline: a translation, just not of a file in the folder.
            covered.add(article.slug)
            continue
        source = catalog.source_of(article)
        if source is None:
            out.no_source.append(article.slug)
            continue
        out.linked += 1
        covered.add(source.slug)
        if article.updated and source.updated:
            if article.updated < source.updated:
                out.outdated.append((article.slug, source.slug, article.updated, source.updated))
        else:
            out.undated += 1
    out.missing = sorted(s for s in catalog.by_slug if s not in covered)
    out.no_source.sort()
    out.outdated.sort()
    return out


@dataclasses.dataclass
class LocaleCheck:
    """The corpus check of one locale folder."""

    locale: str
    formats: Counter = dataclasses.field(default_factory=Counter)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (path, reason)
    # One slug in two files (guide.md and guide.html): which one is meant cannot be told.
    conflicts: list[tuple[str, list[str]]] = dataclasses.field(default_factory=list)
    # One assetid claimed by several articles: allowed (the API lists the others under
    # "also"), but usually a copy-paste slip, so it is reported.
    duplicates: list[tuple[str, list[str]]] = dataclasses.field(default_factory=list)
    coverage: LocaleCoverage | None = None

    @property
    def errors(self) -> int:
        """Files that fail to parse, and slugs held by more than one file."""
        return len(self.failed) + len(self.conflicts)

    def as_dict(self) -> dict:
        """JSON form."""
        out = {
            "locale": self.locale,
            "articles": sum(self.formats.values()),
            "formats": dict(sorted(self.formats.items())),
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "conflicts": [{"slug": i, "files": s} for i, s in self.conflicts],
            "duplicates": [{"id": i, "slugs": s} for i, s in self.duplicates],
            "errors": self.errors,
        }
        if self.coverage is not None:
            out["coverage"] = self.coverage.as_dict()
        return out


def duplicate_ids(articles: Iterable) -> list[tuple[str, list[str]]]:
    """Assetids that more than one article of a locale claims, with their slugs."""
    owners = defaultdict(list)
    for article in articles:
        if article.assetid:
            owners[article.assetid].append(article.slug)
    return sorted((i, sorted(s)) for i, s in owners.items() if len(s) > 1)
