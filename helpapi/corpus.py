"""Read help articles: one side-by-side Markdown file -> one :class:`Article`.

A localized sentence sits in ``<span data-ttu-id=X>LOCALIZED</span>`` and is followed by its
source in ``<span class="sxs-lookup"><span data-stu-id=X>ENGLISH</span></span>``. Text outside any
span (untranslated passages, code) belongs to both languages.

Real corpora are messy, so parsing never raises for content problems: YAML that does not parse,
a missing or malformed ``ms.assetid``, invisible characters and NFD text are repaired and noted in
``Article.repairs``. Only a file that cannot be read at all raises :class:`UnreadableArticle`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import os
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from .analysis import clean_text

# libyaml's loader when available: several times faster on 12,000 front matters.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_SXS = re.compile(r'<span class="sxs-lookup"><span data-stu-id="[^"]*">(.*?)</span></span>', re.S)
_TTU = re.compile(r'<span data-ttu-id="[^"]*">(.*?)</span>', re.S)
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_H1 = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)

# Markdown/HTML constructs whose *targets* are not words (URLs, image paths, attributes).
_TEXT_RULES = [
    (re.compile(r"<!--.*?-->", re.S), " "),
    (re.compile(r"^\s*(```|~~~).*$", re.M), " "),  # fence lines (the code inside stays)
    (re.compile(r":::[^\n]*?:::|^:::.*$", re.M), " "),  # docfx image/video blocks
    (re.compile(r"\[!(?:INCLUDE|VIDEO)[^\]]*\](?:\([^)]*\))?\]?", re.I), " "),
    (re.compile(r"^\s*>\s*\[!\w+\]\s*$", re.M), " "),  # alert markers: > [!NOTE]
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r" \1 "),  # image -> alt text
    (re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])*)\]\((?:[^()]|\([^)]*\))*\)"), r"\1"),  # link
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference link
    (re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.M), " "),  # reference definition
    (re.compile(r"<(?:https?|mailto|ftp):[^>\s]*>", re.I), " "),  # autolink
    (re.compile(r"\b(?:https?|ftp)://[^\s<>()\[\]]+", re.I), " "),  # bare URL
    (re.compile(r"</?[A-Za-z][^<>]*>"), " "),  # any HTML tag, attributes and all
    # Markup characters that are not words: keeps snippets clean (the tokenizer drops them too).
    (re.compile(r"\*\*|__|`+|\[|\]"), ""),
    (re.compile(r"^[ \t]*(?:#{1,6}|>)[ \t]+", re.M), ""),
]


class UnreadableArticle(Exception):
    """A file that cannot be read or decoded into an article at all."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclasses.dataclass
class Article:
    """One help article in one locale, with its English side-by-side source."""

    locale: str
    slug: str
    assetid: str | None
    refs: list[str]
    title: str
    english_title: str
    body: str  # localized plain text (no Markdown, no URLs)
    english_body: str  # English plain text from the sxs-lookup spans
    markdown: str  # localized Markdown, English spans removed
    english_markdown: str  # English Markdown, localized spans removed
    updated: str | None  # ISO date
    has_sxs: bool
    repairs: list[str] = dataclasses.field(default_factory=list)

    @property
    def id(self) -> str:
        """Public id: the assetid when there is one, else the slug."""
        return self.assetid or self.slug


def localized_markdown(source: str) -> str:
    """Drop the English sxs-lookup spans and unwrap the localized ones."""
    return _TTU.sub(r"\1", _SXS.sub("", source))


def english_markdown(source: str) -> str:
    """Drop the localized spans and unwrap the English sxs-lookup ones."""
    return _SXS.sub(r"\1", _TTU.sub("", source))


def markdown_to_text(markdown: str) -> str:
    """Plain text of Markdown for indexing: link text kept, URLs, paths and attributes dropped."""
    text = markdown
    for pattern, repl in _TEXT_RULES:
        text = pattern.sub(repl, text)
    return html.unescape(text)


def first_heading(markdown: str) -> str | None:
    """Plain text of the first ``# `` heading, if any."""
    match = _H1.search(markdown)
    if not match:
        return None
    return " ".join(markdown_to_text(match.group(1)).split()) or None


def _without_first_heading(markdown: str) -> str:
    return _H1.sub("", markdown, count=1)


def parse_assetid(value) -> str | None:
    """The lower-cased GUID when ``value`` is exactly one well-formed GUID, else None."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if _GUID.fullmatch(value) else None


def parse_refs(value) -> list[str]:
    """``ms.custom`` ids as strings (a list, one scalar, or nothing)."""
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        value = [value]
    return [str(v).strip() for v in value if str(v).strip()]


def parse_date(value) -> str | None:
    """``ms.date`` (``MM/DD/YYYY`` in this corpus, or a YAML date) as ISO ``YYYY-MM-DD``."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    for fmt in ("%m/%d/%Y", "%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value.strip(), fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _split_front_matter(text: str, repairs: list[str]) -> tuple[dict, str]:
    """Metadata and Markdown body; YAML that does not parse is salvaged key by key."""
    match = _FRONT.match(text)
    if not match:
        repairs.append("no front matter")
        return {}, text
    body = text[match.end() :]
    try:
        meta = yaml.load(match.group(1), Loader=_YAML_LOADER) or {}
        if not isinstance(meta, dict):
            raise yaml.YAMLError("front matter is not a mapping")
        return meta, body
    except yaml.YAMLError as exc:
        repairs.append(f"front matter YAML does not parse ({type(exc).__name__})")
    # Salvage what line-oriented keys we can; the title then comes from the first heading.
    block = english_markdown(match.group(1))
    meta = {}
    for key in ("ms.assetid", "ms.date"):
        found = re.search(rf"{re.escape(key)}:\s*(\S+)", block)
        if found:
            meta[key] = found.group(1).strip("'\"")
    refs = re.findall(r"^\s*-\s*['\"]?(\d+)['\"]?\s*$", block, re.M)
    if refs:
        meta["ms.custom"] = refs
    return meta, body


def parse_text(text: str, locale: str, slug: str) -> Article:
    """Parse one article's source text (already decoded)."""
    repairs: list[str] = []
    cleaned = clean_text(text)
    if cleaned != text:
        repairs.append("invisible characters or non-NFC text normalized")
    meta, source = _split_front_matter(cleaned, repairs)

    raw_assetid = meta.get("ms.assetid")
    assetid = parse_assetid(raw_assetid)
    if raw_assetid not in (None, "") and assetid is None:
        repairs.append(f"ms.assetid is not one GUID: {str(raw_assetid)[:60]!r}")

    has_sxs = bool(_SXS.search(source))
    local_md = localized_markdown(source).strip()
    english_md = english_markdown(source).strip()

    fm_title = meta.get("title")
    fm_title = " ".join(str(fm_title).split()) if fm_title not in (None, "") else None
    h1 = first_heading(local_md)
    title = h1 or fm_title or slug.rsplit("/", 1)[-1].replace("-", " ")
    if fm_title and h1 and fm_title != h1:
        # Both are real titles of the article; keep the heading for display, search both.
        title_alias = fm_title
    else:
        title_alias = None
    english_title = first_heading(english_md) or title

    body = markdown_to_text(_without_first_heading(local_md))
    if title_alias:
        body = f"{title_alias}\n{body}"
    return Article(
        locale=locale,
        slug=slug,
        assetid=assetid,
        refs=parse_refs(meta.get("ms.custom")),
        title=title,
        english_title=english_title,
        body=_squeeze(body),
        english_body=_squeeze(markdown_to_text(_without_first_heading(english_md))),
        markdown=local_md,
        english_markdown=english_md,
        updated=parse_date(meta.get("ms.date")),
        has_sxs=has_sxs,
        repairs=repairs,
    )


_BLANKS = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\n\s*\n+")


def _squeeze(text: str) -> str:
    return _LINES.sub("\n", _BLANKS.sub(" ", text)).strip()


def read_bytes(path: Path) -> bytes:
    """A file's bytes. Raises :class:`UnreadableArticle` when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise UnreadableArticle(path, exc.strerror or type(exc).__name__) from exc


def content_hash(data: bytes) -> str:
    """The manifest hash of a file's bytes."""
    return hashlib.sha1(data).hexdigest()


def english_hash(article: Article) -> str:
    """Hash of an article's English side: what the en-US index holds for it."""
    return content_hash(
        "\x1f".join((article.english_title, article.english_markdown)).encode("utf-8")
    )


def parse_article(path: Path, locale: str, slug: str, data: bytes | None = None) -> Article:
    """Read (unless ``data`` is given) and parse one file.

    Raises :class:`UnreadableArticle` when it cannot be read or holds no article at all.
    """
    if data is None:
        data = read_bytes(path)
    if not data.strip():
        raise UnreadableArticle(path, "empty file")
    repairs = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8-sig", errors="replace")
        repairs.append(f"invalid UTF-8 at byte {exc.start} replaced")
    if "\x00" in text:
        raise UnreadableArticle(path, "binary file (NUL bytes)")
    article = parse_text(text, locale, slug)
    article.repairs[:0] = repairs
    return article


def iter_article_paths(locale_dir: Path) -> Iterator[tuple[str, Path]]:
    """``(slug, path)`` for every ``*.md`` under one locale folder, in sorted order."""
    return ((slug, Path(path)) for slug, path in article_files(locale_dir))


def article_files(locale_dir) -> list[tuple[str, str]]:
    """:func:`iter_article_paths` with string paths (cheaper where only the bytes are read)."""
    root = os.fspath(locale_dir)
    found = []
    # Plain strings while walking: pathlib costs more than the walk on 10,000s of files.
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        for name in filenames:
            if name.endswith(".md") and not name.startswith("."):
                found.append((prefix + name[: -len(".md")], os.path.join(dirpath, name)))
    found.sort()
    return found


LOCALE_DIR = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


def discover_locales(corpus_dir: Path) -> list[str]:
    """Locale folders of a corpus (names that look like BCP 47 tags), sorted."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        return []
    return sorted(p.name for p in corpus_dir.iterdir() if p.is_dir() and LOCALE_DIR.match(p.name))
