"""Locale negotiation: ``?locale=``, then ``Accept-Language``, then the default.

A tag matches an indexed locale exactly (case-insensitive, ``_`` or ``-``), else one of the same
language *and script*, preferring the same region, then the language's most likely region. The
script comes from ICU's likely subtags, so ``zh-HK``/``zh-Hant`` go to ``zh-TW`` and
``zh-SG``/``zh`` to ``zh-CN`` without a table, and ``sr-Latn`` never gets Cyrillic.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import icu

MAX_TAG_LENGTH = 35
_TAG = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")


class BadLocale(ValueError):
    """A locale tag that is not a well-formed BCP 47 tag (or is too long)."""


@dataclasses.dataclass(frozen=True)
class Resolved:
    """The outcome of negotiation."""

    locale: str  # the locale that will answer
    requested: str | None  # what the client asked for (first usable tag), if anything
    matched: bool  # the request matched an indexed locale

    @property
    def unmatched(self) -> bool:
        """A locale was asked for and none of the indexed ones serves it (English answers)."""
        return self.requested is not None and not self.matched


def normalize_tag(tag: str) -> str:
    """Canonical case: ``zh_hant_tw`` -> ``zh-Hant-TW``. Raises :class:`BadLocale`."""
    tag = tag.strip().replace("_", "-")
    if not tag or len(tag) > MAX_TAG_LENGTH or not _TAG.match(tag):
        raise BadLocale(tag)
    parts = tag.split("-")
    out = [parts[0].lower()]
    for p in parts[1:]:
        if len(p) == 4 and p.isalpha():
            out.append(p.title())
        elif len(p) == 2 and p.isalpha() or len(p) == 3 and p.isdigit():
            out.append(p.upper())
        else:
            out.append(p.lower())
    return "-".join(out)


@functools.lru_cache(maxsize=4096)
def _likely(tag: str) -> tuple[str, str, str]:
    """(language, script, region) with ICU's likely subtags filled in."""
    loc = icu.Locale.forLanguageTag(tag)
    full = icu.Locale(loc.getName())
    full.addLikelySubtags()
    return loc.getLanguage(), full.getScript(), full.getCountry()


def match_locale(tag: str, available: list[str]) -> str | None:
    """The indexed locale serving ``tag``, or None."""
    by_lower = {a.lower(): a for a in available}
    if tag.lower() in by_lower:
        return by_lower[tag.lower()]
    lang, script, region = _likely(tag)
    same = [a for a in sorted(available) if _likely(a)[:2] == (lang, script)]
    if not same:
        return None
    for a in same:
        if _likely(a)[2] == region:
            return a
    return same[0]


def parse_accept_language(header: str) -> list[str]:
    """Tags of an ``Accept-Language`` header, best first; malformed entries are skipped."""
    entries = []
    for order, item in enumerate(header.split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = -1
        if not 0 < q <= 1 or tag.strip() in ("", "*"):
            continue
        try:
            entries.append((-q, order, normalize_tag(tag)))
        except BadLocale:
            continue
    return [tag for _, _, tag in sorted(entries)]


def resolve_locale(
    param: str | None, accept_language: str | None, available: list[str], default: str
) -> Resolved:
    """Negotiate the answering locale. A bad ``param`` raises :class:`BadLocale`."""
    if param is not None and param.strip():
        tag = normalize_tag(param)
        found = match_locale(tag, available)
        return Resolved(found or default, tag, found is not None)
    tags = parse_accept_language(accept_language or "")
    for tag in tags:
        found = match_locale(tag, available)
        if found:
            return Resolved(found, tag, True)
    return Resolved(default, tags[0] if tags else None, not tags)
