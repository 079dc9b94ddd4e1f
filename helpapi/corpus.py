"""Read help articles: one Markdown, HTML or side-by-side (sxs) file -> one :class:`Article`.

Formats: plain Markdown (``*.md``, front matter optional), HTML exports (``*.html``/``*.htm``,
see :mod:`helpapi.html_source`), and Microsoft's side-by-side Markdown, described next. Only a
side-by-side file carries English text of its own; a plain file's English comes from its linked
source article (:mod:`helpapi.content`) when the index is built.

A localized sentence sits in ``<span data-ttu-id=X>LOCALIZED</span>`` and is followed by its
source in ``<span class="sxs-lookup"><span data-stu-id=X>ENGLISH</span></span>``. Text outside any
span (untranslated passages, code) belongs to both languages.

Real corpora are messy, so parsing never raises for content problems: YAML that does not parse,
a missing or malformed ``ms.assetid``, invisible characters and NFD text are repaired and noted in
``Article.repairs``. Only a file that cannot be read at all raises :class:`UnreadableArticle`.

Corpus files are untrusted input (they may arrive over HTTP): symlinks are followed only to
targets inside the corpus folder, only regular files up to HELPAPI_MAX_ARTICLE_BYTES are read,
YAML aliases are refused before anything is expanded, only scalar front matter values become
text, and every pattern here is linear in the length of the text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import functools
import hashlib
import html
import logging
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import yaml
from frontmatter.default_handlers import YAMLHandler
from yaml.composer import Composer
from yaml.composer import ComposerError
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from .analysis import clean_text

log = logging.getLogger(__name__)

# The default of HELPAPI_MAX_ARTICLE_BYTES: 2 MB is 20x the largest bundled article.
DEFAULT_MAX_ARTICLE_BYTES = 2 * 1024 * 1024
# Front-matter fields kept as facet labels (HELPAPI_FACETS; helpapi.facets), and their bounds:
# a label list longer or a label longer than these is cut (front matter is owner-written).
DEFAULT_FACETS = "ms.audience,ms.service,ms.collection"
MAX_LABELS = 32
# A title longer than this is cut (and the repair noted): a title is indexed whole as one term
# and in several title fields, so a 2 MB heading would cost tens of MB of index.
MAX_TITLE_CHARS = 500
MAX_LABEL_CHARS = 100


class AliasRefused(ComposerError):
    """Front matter YAML with an alias (``*name``): refused before anything is expanded."""


class _NoAliasComposer(Composer):
    """PyYAML's composer, refusing aliases before any node is built from them.

    An alias makes the loaded data a graph whose text expands exponentially (a 333-byte
    "billion laughs" front matter became a 72 MB body); no article needs one.
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise AliasRefused(None, None, "YAML aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)


try:
    from yaml.cyaml import CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml

    class _NoAliasLoader(_NoAliasComposer, yaml.SafeLoader):
        """PyYAML's safe loader whose composer refuses aliases."""

else:

    class _NoAliasLoader(_NoAliasComposer, CParser, SafeConstructor, Resolver):
        """libyaml's parser (several times faster) with a composer that refuses aliases.

        PyYAML's Python composer sits before the C parser in the MRO, so it replaces libyaml's
        composer; its recursion limit also turns very deep nesting into an error.
        """

        def __init__(self, stream):
            CParser.__init__(self, stream)
            _NoAliasComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


class FrontMatterHandler(YAMLHandler):
    """python-frontmatter's YAML handler, with this corpus's delimiters and no YAML aliases."""

    def split(self, text):
        """``(front matter, body)``; ValueError when the text has no front matter block."""
        match = _FRONT.match(text)
        if not match:
            raise ValueError("no front matter")
        return match.group(1), text[match.end() :]

    def load(self, fm, **kwargs):
        """Parse the YAML with :class:`_NoAliasLoader` (safe types only, aliases refused).

        Front matter with no ``*`` has no alias, and when it is also short it cannot nest deep
        enough to overflow the C stack in libyaml's recursive composer (50,000 levels of
        ``- `` did): it then takes PyYAML's all-C safe loader, which is faster. Before either,
        front matter made of simple lines only is read without PyYAML's parser
        (:func:`simple_front_matter`: no alias, anchor or nesting can be among them).
        """
        if "Loader" not in kwargs:
            simple = simple_front_matter(fm)
            if simple is not None:
                return simple
            fast = "*" not in fm and len(fm) <= _FAST_YAML_MAX
            kwargs["Loader"] = _FAST_YAML_LOADER if fast else _NoAliasLoader
        return super().load(fm, **kwargs)


_FAST_YAML_LOADER = getattr(yaml, "CSafeLoader", _NoAliasLoader)
_FAST_YAML_MAX = 4096  # characters; the bundled front matters are under 1,000
_HANDLER = FrontMatterHandler()

# Front matter as nearly every article writes it: "key: value" lines, and "key:" lines followed
# by "- item" lines, every value a plain scalar or a quoted one without escapes. PyYAML's
# parser (libyaml's, through Python objects for every event and mark) took a quarter of the
# parse; these lines are read directly, with PyYAML's own resolver deciding what a plain value
# is (only text and plain decimal integers are taken; a value that resolves to anything else,
# and any other line, sends the whole front matter to PyYAML, as before).
_SIMPLE_ENTRY = re.compile(r"([A-Za-z][A-Za-z0-9_.-]{0,127}):(?: +(\S(?:.*\S)?))?")
_SIMPLE_ITEM = re.compile(r"( *)- +(\S(?:.*\S)?)")
# YAML 1.1 printable characters, less the line breaks other than \n (\x85, \u2028, \u2029),
# the BOM and the tab (kept out for simplicity).
_SIMPLE_CHARS = re.compile(
    "[\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*"
)
# Characters a plain scalar may not start with (YAML's indicators), the quotes included.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_RESOLVER = Resolver()
_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_resolved: dict[str, str] = {}
_NOT_SIMPLE = object()


def _simple_scalar(raw: str):
    """The value of one simple scalar as PyYAML's safe loader makes it, or _NOT_SIMPLE."""
    first = raw[0]
    if first == "'" or first == '"':
        inner = raw[1:-1]
        if len(raw) < 2 or raw[-1] != first or first in inner or "\\" in inner:
            return _NOT_SIMPLE
        return inner  # quoted: always text
    if first in _INDICATORS or ": " in raw or raw[-1] == ":" or " #" in raw:
        return _NOT_SIMPLE
    if first not in _RESOLVER.yaml_implicit_resolvers:
        return raw  # no implicit type starts with this character: text
    tag = _resolved.get(raw)
    if tag is None:
        tag = _RESOLVER.resolve(yaml.ScalarNode, raw, (True, False))
        if len(raw) <= 64 and len(_resolved) < 10_000:
            _resolved[raw] = tag
    if tag == _STR_TAG:
        return raw
    if tag == _INT_TAG and _DECIMAL.fullmatch(raw):
        return int(raw)
    return _NOT_SIMPLE


def _simple_line(line: str) -> tuple:
    """What one front-matter line is for :func:`simple_front_matter`: ``("e", key, value)``
    (an entry; value None for ``key:``), ``("i", indentation, value)`` (a list item), or
    ``()`` (neither, or not simple). Memoized: the same lines (authors, services, topics,
    ``ms.custom`` items) recur in file after file, and each took two patterns and a scalar
    resolution; the answer is a function of the line alone, its values immutable."""
    got = _lines.get(line)
    if got is not None:
        return got
    got = ()
    entry = _SIMPLE_ENTRY.fullmatch(line)
    if entry is not None:
        key = _simple_scalar(entry.group(1))
        raw = entry.group(2)
        value = None if raw is None else _simple_scalar(raw)
        if isinstance(key, str) and value is not _NOT_SIMPLE:
            got = ("e", key, value)
    else:
        item = _SIMPLE_ITEM.fullmatch(line)
        if item is not None:
            value = _simple_scalar(item.group(2))
            if value is not _NOT_SIMPLE:
                got = ("i", len(item.group(1)), value)
    global _lines_chars
    if (
        len(line) <= _LINE_MEMO_CHARS
        and len(_lines) < _LINE_MEMO_SIZE
        and _lines_chars + len(line) <= _LINE_MEMO_TOTAL
    ):
        _lines[line] = got
        _lines_chars += len(line)
    return got


def clear_line_memo() -> None:
    """Forget every front-matter line :func:`_simple_line` remembered."""
    global _lines_chars
    _lines.clear()
    _lines_chars = 0


def _fresh(value):
    """A str of its own (equal to ``value``), as a parse of the line gave: a pickle writes an
    object met twice in one record once (a back-reference), so a value shared through the
    memo between two files stored in one record (a translation and its English source) or
    met twice in one block would change the stored bytes, not the values."""
    return (value + " ")[:-1] if type(value) is str else value


# {front-matter line: _simple_line's answer}, bounded in entries, line length and characters
# in all (a line of 4-byte characters takes 4 bytes a character).
_lines: dict[str, tuple] = {}
_lines_chars = 0
_LINE_MEMO_SIZE = 20_000
_LINE_MEMO_CHARS = 200
_LINE_MEMO_TOTAL = 1_000_000


def simple_front_matter(fm: str) -> dict | None:
    """``fm`` read without PyYAML when it is made of simple lines only (see above): the same
    dict PyYAML's safe loader gives. None: not that simple, let PyYAML read it."""
    if not fm or "\r" in fm or not _SIMPLE_CHARS.fullmatch(fm):
        return None
    meta: dict = {}
    items: list | None = None  # the list after a "key:" line
    indent = -1  # its items' indentation, once known
    for line in fm.split("\n"):
        got = _simple_line(line)
        if not got:
            return None
        kind, first, value = got
        value = _fresh(value)
        if kind == "e":
            first = _fresh(first)
            if value is None:
                meta[first] = None  # null, unless items follow
                items, indent = [], -1
                last = first
                continue
            meta[first] = value
            items = None
            continue
        if items is None or indent not in (-1, first):
            return None
        indent = first
        items.append(value)
        meta[last] = items
    return meta


# Every pattern below is linear in the text: a part that scans forward stops at a character
# that would start the next attempt (or at the end of the line), so a file full of unclosed
# constructs is not re-scanned to its end from each of them. The spans and comments, which can
# close anywhere, are found with str.find (see _spans and _drop_comments).
_SXS_OPEN = re.compile(r'<span class="sxs-lookup"><span data-stu-id="[^"]*">')
_SXS_CLOSE = "</span></span>"
_TTU_OPEN = re.compile(r'<span data-ttu-id="[^"]*">')
_TTU_CLOSE = "</span>"
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Anchored at the start, so tried once: linear.
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
# The heading text ends at the line's last character that is not a space or a closing '#'.
# (Same matches as ``^#[ \t]+(.+?)[ \t#]*$``, whose lazy group re-scanned the tail per char.)
_H1 = re.compile(r"^#[ \t]+(.*[^ \t#\n]|.)[ \t#]*$", re.M)
_INCLUDE = re.compile(r"\[!(?:INCLUDE|VIDEO)", re.I)

# Markers of rules that are functions, not patterns (see markdown_to_text).
_INCLUDES = "includes"
_MARKUP = "markup"
_DOUBLE_MARKS = re.compile(r"\*\*|__")

# Markdown/HTML constructs whose *targets* are not words (URLs, image paths, attributes).
# Comments go first (_drop_comments). Leading blanks are [^\S\n]*, not \s*: \s* also ran over
# every following blank line from each line start (quadratic in a run of empty lines); the
# whitespace it took is normalized by _squeeze anyway.
_TEXT_RULES = [
    (re.compile(r"^[^\S\n]*(```|~~~).*$", re.M), " "),  # fence lines (the code inside stays)
    (re.compile(r":::[^\n]*?:::|^:::.*$", re.M), " "),  # docfx image/video blocks
    (_INCLUDES, " "),  # [!INCLUDE ...] and [!VIDEO ...]: _drop_includes
    (re.compile(r"^[^\S\n]*>\s*\[!\w+\]\s*$", re.M), " "),  # alert markers: > [!NOTE]
    (re.compile(r"!\[([^\[\]]*)\]\([^()]*\)"), r" \1 "),  # image -> alt text
    # Link. Written unrolled (runs of plain characters, then a bracketed part and more runs):
    # the same strings as (?:[^\[\]]|\[[^\[\]]*\])* and (?:[^()]|\([^()]*\))*, and since
    # either can end only at its first unbracketed closer, the same matches; 2.5x faster than
    # one alternation per character.
    (re.compile(r"\[([^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*)\]\([^()]*(?:\([^()]*\)[^()]*)*\)"), r"\1"),
    (re.compile(r"\[([^\[\]]+)\]\[[^\]]*\]"), r"\1"),  # reference link
    (re.compile(r"^[^\S\n]*\[[^\]\n]+\]:\s*\S+.*$", re.M), " "),  # reference definition
    (re.compile(r"<(?:https?|mailto|ftp):[^<>\s]*>", re.I), " "),  # autolink
    # Bare URL. The lookahead first: a position that cannot start one fails on one character
    # test (re finds no literal prefix behind the \b), same matches.
    (re.compile(r"(?=[hf])\b(?:https?|ftp)://[^\s<>()\[\]]+", re.I), " "),
    (re.compile(r"</?[A-Za-z][^<>]*>"), " "),  # any HTML tag, attributes and all
    # Markup characters that are not words: keeps snippets clean (the tokenizer drops them too).
    # What ``\*\*|__|`+|\[|\]`` removes: _drop_markup.
    (_MARKUP, ""),
    # Single emphasis markers (*x*, _x_): a run of * or _ that opens (no letter or digit before
    # it, not a space after) or closes a span. A * between spaces (5 * 3), the _ inside a word
    # (snake_case) or a path (/_vti_bin) and escaped ones (\*.oft) stay. Each run is consumed
    # in one match: linear. The leading (?=[*_]) gives the same matches (both branches start
    # with [*_]) and spares the lookbehinds at every other character: 4x faster.
    (re.compile(r"(?=[*_])(?:(?<![^\W_])(?<![/\\])[*_]+(?=\S)|(?<=[^\s\\])[*_]+(?![^\W_]))"), ""),
    (re.compile(r"^[ \t]*(?:#{1,6}|>)[ \t]+", re.M), ""),
]
# For each rule above, strings one of which any match holds: a text holding none of them skips
# that rule (a str search is far cheaper than the pattern's scan; most rules find nothing).
_TEXT_NEEDS = [
    ("```", "~~~"),
    (":::",),
    ("[!",),
    ("[!",),
    ("![",),
    ("](",),
    ("][",),
    ("]:",),
    ("<",),
    ("://",),
    ("<",),
    ("**", "__", "`", "[", "]"),
    ("*", "_"),
    ("#", ">"),
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
    format: str = "markdown"  # "sxs", "markdown" or "html"
    translation_of: str | None = None  # front matter: the source article's slug
    html: str = ""  # an HTML article's body (sanitized at build time); "" for Markdown
    # Facet fields' values as written (helpapi.facets): front-matter key -> labels.
    labels: dict = dataclasses.field(default_factory=dict)
    # The front matter's title when it differs from the displayed one (the heading): a second
    # title of the article, searched as a title (the body also starts with it).
    title_alias: str = ""

    @property
    def id(self) -> str:
        """Public id: the assetid when there is one, else the slug."""
        return self.assetid or self.slug


def _spans(text: str, opener: re.Pattern, closer: str) -> Iterator[tuple[int, int, int, int]]:
    """``(start, inner start, inner end, end)`` of each span, left to right.

    The same spans as ``opener(.*?)closer`` finds, in one pass: when no closer follows an opening
    tag, none follows any later one either, so the scan stops instead of retrying from each.
    """
    pos = 0
    while True:
        match = opener.search(text, pos)
        if match is None:
            return
        close = text.find(closer, match.end())
        if close < 0:
            return
        yield match.start(), match.end(), close, close + len(closer)
        pos = close + len(closer)


def _replace_spans(text: str, opener: re.Pattern, closer: str, keep_inner: bool) -> str:
    parts, pos = [], 0
    for start, inner_start, inner_end, end in _spans(text, opener, closer):
        parts.append(text[pos:start])
        if keep_inner:
            parts.append(text[inner_start:inner_end])
        pos = end
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def _has_sxs(source: str) -> bool:
    return next(_spans(source, _SXS_OPEN, _SXS_CLOSE), None) is not None


def localized_markdown(source: str) -> str:
    """Drop the English sxs-lookup spans and unwrap the localized ones."""
    without_english = _replace_spans(source, _SXS_OPEN, _SXS_CLOSE, keep_inner=False)
    return _replace_spans(without_english, _TTU_OPEN, _TTU_CLOSE, keep_inner=True)


def english_markdown(source: str) -> str:
    """Drop the localized spans and unwrap the English sxs-lookup ones."""
    without_local = _replace_spans(source, _TTU_OPEN, _TTU_CLOSE, keep_inner=False)
    return _replace_spans(without_local, _SXS_OPEN, _SXS_CLOSE, keep_inner=True)


def _drop_comments(text: str) -> str:
    """``<!--.*?-->`` replaced by a space, in one pass (an unclosed ``<!--`` stays as text)."""
    parts, pos = [], 0
    while (start := text.find("<!--", pos)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break  # no later comment can close either
        parts += (text[pos:start], " ")
        pos = end + 3
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def _drop_includes(text: str) -> str:
    """``[!INCLUDE ...](path)]`` and ``[!VIDEO ...]`` replaced by a space, in one pass.

    The same matches as ``\\[!(?:INCLUDE|VIDEO)[^\\]]*\\](?:\\([^)]*\\))?\\]?`` (the text between
    may hold ``[``, as in ``[!INCLUDE [title](path)]``), with each closer found once by str.find
    instead of rescanned from every opener.
    """
    parts, pos = [], 0
    paren = -2  # the first ")" after some earlier point; -1: there is none
    while (match := _INCLUDE.search(text, pos)) is not None:
        close = text.find("]", match.end())
        if close < 0:
            break  # no later opener can close either
        end = close + 1
        if text.startswith("(", end):
            if paren != -1 and paren <= end:
                paren = text.find(")", end + 1)
            if paren > end:
                end = paren + 1
        if text.startswith("]", end):
            end += 1
        parts += (text[pos : match.start()], " ")
        pos = end
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def markdown_to_text(markdown: str) -> str:
    """Plain text of Markdown for indexing: link text kept, URLs, paths and attributes dropped."""
    text = _drop_comments(markdown)
    for (pattern, repl), needs in zip(_TEXT_RULES, _TEXT_NEEDS, strict=True):
        for need in needs:
            if need in text:
                break
        else:
            continue  # no match possible
        if pattern is _INCLUDES:
            text = _drop_includes(text)
        elif pattern is _MARKUP:
            text = _drop_markup(text)
        else:
            text = pattern.sub(repl, text)
    return html.unescape(text)


def _drop_markup(text: str) -> str:
    r"""What ``re.sub(r"\*\*|__|`+|\[|\]", "", text)`` gives, without a pattern tried at
    every character: ``**`` and ``__`` pairs first (the pattern finds the same ones: its other
    branches hold neither character, so the runs of ``*`` and ``_`` it pairs are these), then
    every bracket and backtick, which the pattern removes wherever they are. 2.7x faster."""
    if "**" in text or "__" in text:
        text = _DOUBLE_MARKS.sub("", text)
    return text.replace("[", "").replace("]", "").replace("`", "")


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


def scalar(value):
    """``value`` when it is a YAML scalar (text, number, boolean, date), else None.

    Only scalars become article text: a mapping or list in ``title`` is ignored, not printed.
    """
    return value if isinstance(value, str | int | float | dt.date) else None


def parse_refs(value) -> list[str]:
    """``ms.custom`` ids as strings (a list of scalars, one scalar, or nothing)."""
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        value = [value]
    texts = (str(v).strip() for v in value if scalar(v) is not None)
    return [t for t in texts if t]


def parse_date(value) -> str | None:
    """``ms.date`` (``MM/DD/YYYY`` in this corpus, or a YAML date) as ISO ``YYYY-MM-DD``."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    if len(value) <= 32:
        return _parse_short_date(value)  # a corpus's dates repeat: strptime once each
    return _parse_date_text(value)


@functools.lru_cache(maxsize=4096)
def _parse_short_date(value: str) -> str | None:
    return _parse_date_text(value)


def _parse_date_text(value: str) -> str | None:
    for fmt in ("%m/%d/%Y", "%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value.strip(), fmt).date().isoformat()
        except ValueError:
            continue
    return None


def facet_keys() -> tuple[str, ...]:
    """The front-matter fields kept as facet labels: ``HELPAPI_FACETS`` (comma list), read from
    the environment when parsing (build workers inherit it), default :data:`DEFAULT_FACETS`."""
    return _facet_keys(os.environ.get("HELPAPI_FACETS", DEFAULT_FACETS))


@functools.lru_cache(maxsize=8)
def _facet_keys(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k.strip() for k in raw.split(",") if k.strip()))


def label_values(value) -> list[str]:
    """A facet field's labels: a scalar, a comma-separated string, or a flat list of scalars
    (anything else, and empty items, are ignored); at most :data:`MAX_LABELS`, each at most
    :data:`MAX_LABEL_CHARS` characters, whitespace collapsed, first spelling of each kept."""
    items = value if isinstance(value, list) else [value]
    out: dict[str, str] = {}
    for item in items[: MAX_LABELS * 4]:
        if scalar(item) is None or isinstance(item, bool):
            continue
        for part in str(item).split(","):
            label = " ".join(part.split())[:MAX_LABEL_CHARS]
            if label:
                out.setdefault(label.casefold(), label)
    return list(out.values())[:MAX_LABELS]


def _labels(meta: dict) -> dict:
    found = {}
    for key in facet_keys():
        values = label_values(meta.get(key))
        if values:
            found[key] = values
    return found


def _split_front_matter(text: str, repairs: list[str]) -> tuple[dict, str]:
    """Metadata and Markdown body; YAML that does not parse is salvaged key by key.

    The YAML is read with python-frontmatter and :class:`FrontMatterHandler`: safe types only,
    no aliases. Front matter with an alias, or nested too deep, counts as not parsing.
    """
    try:
        front, body = _HANDLER.split(text)
    except ValueError:
        repairs.append("no front matter")
        return {}, text
    try:
        meta = _HANDLER.load(front) or {}
        if not isinstance(meta, dict):
            raise yaml.YAMLError("front matter is not a mapping")
        return meta, body
    except AliasRefused as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        repairs.append(f"front matter YAML has an alias at line {line} (refused, not expanded)")
    except (yaml.YAMLError, RecursionError) as exc:
        repairs.append(f"front matter YAML does not parse ({type(exc).__name__})")
    # Salvage what line-oriented keys we can; the title then comes from the first heading.
    block = english_markdown(front)
    meta = {}
    for key in ("ms.assetid", "ms.date"):
        found = re.search(rf"{re.escape(key)}:\s*(\S+)", block)
        if found:
            meta[key] = found.group(1).strip("'\"")
    refs = re.findall(r"^[^\S\n]*-\s*['\"]?(\d+)['\"]?[^\S\n]*$", block, re.M)
    if refs:
        meta["ms.custom"] = refs
    return meta, body


def _meta_assetid(meta: dict, repairs: list[str]) -> str | None:
    """``ms.assetid`` (one GUID) or ``assetid`` (a GUID or a short id such as ``kb-1234``)."""
    raw = meta.get("ms.assetid")
    assetid = parse_assetid(raw)
    if raw not in (None, "") and assetid is None:
        repairs.append(f"ms.assetid is not one GUID: {str(raw)[:60]!r}")
    if assetid is None and meta.get("assetid") not in (None, ""):
        raw = meta["assetid"]
        assetid = parse_assetid(raw) or parse_own_id(raw)
        if assetid is None:
            repairs.append(f"assetid is not an id (letters, digits, - _ .): {str(raw)[:60]!r}")
    return assetid


_OWN_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def parse_own_id(value) -> str | None:
    """A team's own article id (``KB-1234``), lower-cased, or None when it is not one."""
    if scalar(value) is None or isinstance(value, bool):
        return None
    value = str(value).strip().lower()
    return value if _OWN_ID.fullmatch(value) else None


def _translation_of(meta: dict, repairs: list[str]) -> str | None:
    raw = meta.get("translation_of")
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        repairs.append("translation_of is not text (ignored)")
        return None
    slug = raw.strip().strip("/")
    for ext in ARTICLE_EXTENSIONS:
        if slug.lower().endswith(ext):
            return slug[: -len(ext)]
    return slug or None


def _meta_date(meta: dict) -> str | None:
    for key in ("ms.date", "updated", "date"):
        found = parse_date(meta.get(key))
        if found:
            return found
    return None


def _bounded_title(title: str | None, what: str, repairs: list[str]) -> str | None:
    """``title`` cut to MAX_TITLE_CHARS characters, with a repair note when it was longer."""
    if title and len(title) > MAX_TITLE_CHARS:
        repairs.append(f"{what} of {len(title)} characters cut to {MAX_TITLE_CHARS}")
        return title[:MAX_TITLE_CHARS].rstrip()
    return title


def _meta_title(meta: dict, repairs: list[str]) -> str | None:
    fm_title = meta.get("title")
    if fm_title not in (None, "") and scalar(fm_title) is None:
        repairs.append(f"front matter title is a {type(fm_title).__name__}, not text (ignored)")
        fm_title = None
    if fm_title in (None, ""):
        return None
    return _bounded_title(" ".join(str(fm_title).split()), "front matter title", repairs)


def _parse_html(text: str, locale: str, slug: str, repairs: list[str]) -> Article:
    """An HTML export: front matter optional (as the ingestion API writes it)."""
    from .html_source import parse_html

    if text.startswith("---"):
        meta, source = _split_front_matter(text, repairs)
    else:
        meta, source = {}, text
    parts = parse_html(source)
    fm_title = _meta_title(meta, repairs)
    heading = _bounded_title(parts.title, "title", repairs)
    title = heading or fm_title or slug.rsplit("/", 1)[-1].replace("-", " ")
    body = parts.text
    alias = fm_title if fm_title and fm_title != title else ""
    if alias:
        body = f"{fm_title}\n{body}"
    return Article(
        locale=locale,
        slug=slug,
        assetid=_meta_assetid(meta, repairs),
        refs=parse_refs(meta.get("ms.custom")),
        title=title,
        english_title="",
        body=_squeeze(body),
        english_body="",
        markdown="",
        english_markdown="",
        updated=_meta_date(meta),
        has_sxs=False,
        repairs=repairs,
        format="html",
        translation_of=_translation_of(meta, repairs),
        html=parts.html,
        labels=_labels(meta),
        title_alias=alias,
    )


def parse_text(
    text: str, locale: str, slug: str, kind: str = "md", english_only: bool = False
) -> Article:
    """Parse one article's source text (already decoded); ``kind`` is ``"md"`` or ``"html"``.

    ``english_only``: only what the English index takes from a side-by-side file (see
    :func:`parse_article`).
    """
    repairs: list[str] = []
    cleaned = clean_text(text)
    if cleaned != text:
        repairs.append("invisible characters or non-NFC text normalized")
    if kind == "html":
        if english_only:  # never side by side: no English of its own
            return _no_english(locale, slug, repairs)
        return _parse_html(cleaned, locale, slug, repairs)
    meta, source = _split_front_matter(cleaned, repairs)
    has_sxs = _has_sxs(source)
    if english_only:
        if not has_sxs:
            return _no_english(locale, slug, repairs)
        return _parse_english(meta, source, locale, slug, repairs)
    assetid = _meta_assetid(meta, repairs)

    local_md = localized_markdown(source).strip() if has_sxs else source.strip()
    # Only a side-by-side file holds English of its own; a plain file's text is its locale's.
    english_md = english_markdown(source).strip() if has_sxs else ""

    fm_title = _meta_title(meta, repairs)
    h1 = _bounded_title(first_heading(local_md), "heading", repairs)
    title = h1 or fm_title or slug.rsplit("/", 1)[-1].replace("-", " ")
    if fm_title and h1 and fm_title != h1:
        # Both are real titles of the article; keep the heading for display, search both.
        title_alias = fm_title
    else:
        title_alias = None
    english_heading = _bounded_title(first_heading(english_md), "English heading", repairs)
    english_title = (english_heading or title) if has_sxs else ""

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
        updated=_meta_date(meta),
        has_sxs=has_sxs,
        repairs=repairs,
        format="sxs" if has_sxs else "markdown",
        translation_of=_translation_of(meta, repairs),
        labels=_labels(meta),
        title_alias=title_alias or "",
    )


def _no_english(locale: str, slug: str, repairs: list[str]) -> Article:
    """:func:`parse_text`'s ``english_only`` answer for a file that is not side by side."""
    return Article(locale, slug, None, [], "", "", "", "", "", "", None, False, repairs, "markdown")


def _parse_english(meta: dict, source: str, locale: str, slug: str, repairs: list) -> Article:
    """A side-by-side file's English side as :func:`parse_text` makes it, its localized text
    left empty (``title``, ``body``, ``markdown``, ``title_alias``): the fields the English
    index reads are the same. The localized side is read only for the title when the English
    has no heading of its own (the localized one is then the English title too)."""
    assetid = _meta_assetid(meta, repairs)
    english_md = english_markdown(source).strip()
    fm_title = _meta_title(meta, repairs)
    english_heading = _bounded_title(first_heading(english_md), "English heading", repairs)
    if english_heading is None:
        local_md = localized_markdown(source).strip()
        h1 = _bounded_title(first_heading(local_md), "heading", repairs)
        english_heading = h1 or fm_title or slug.rsplit("/", 1)[-1].replace("-", " ")
    return Article(
        locale=locale,
        slug=slug,
        assetid=assetid,
        refs=parse_refs(meta.get("ms.custom")),
        title="",
        english_title=english_heading,
        body="",
        english_body=_squeeze(markdown_to_text(_without_first_heading(english_md))),
        markdown="",
        english_markdown=english_md,
        updated=_meta_date(meta),
        has_sxs=True,
        repairs=repairs,
        format="sxs",
        translation_of=_translation_of(meta, repairs),
        labels=_labels(meta),
    )


_BLANKS = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\n\s*\n+")
# The runs of _BLANKS that are not one space already: the same text once replaced, and no
# match (nor a replacement) at every space between two words.
_OTHER_BLANKS = re.compile(r"[\t\r\f\v][ \t\r\f\v]*| [ \t\r\f\v]+")
_SPACES = re.compile(r"  +")


def _squeeze(text: str) -> str:
    """Runs of blanks made one space, runs of lines with only whitespace between made one line
    break, the ends stripped: ``_LINES.sub("\\n", _BLANKS.sub(" ", text)).strip()``. Text
    without tab, CR, form feed or vertical tab (nearly all) only has runs of spaces to
    shorten (4.5x faster on the dev corpus)."""
    if "\t" in text or "\r" in text or "\f" in text or "\v" in text:
        text = _OTHER_BLANKS.sub(" ", text)
    elif "  " in text:
        text = _SPACES.sub(" ", text)
    return _LINES.sub("\n", text).strip()


def inside(path: str, root: str) -> bool:
    """Whether the resolved ``path`` is ``root`` or below it (both already resolved)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _link_reason(real: str) -> str:
    return f"symlink to {real}, outside the corpus folder (not followed)"


def read_bytes(path, root=None, max_bytes: int | None = DEFAULT_MAX_ARTICLE_BYTES) -> bytes:
    """A file's bytes. Raises :class:`UnreadableArticle` when it cannot or must not be read.

    ``root`` (the corpus folder): the file, symlinks resolved, must lie inside it. The check is
    made when the file is opened, so a file swapped for a link after the walk is refused too.
    Without ``root`` a symlink is not followed at all. Only regular files are read (a FIFO would
    block the build), and never more than ``max_bytes`` (HELPAPI_MAX_ARTICLE_BYTES).
    """
    path = os.fspath(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    real_root = _real_root(os.fspath(root)) if root is not None else None
    try:
        try:
            fd = os.open(path, flags)
        except OSError as exc:
            if exc.errno != errno.ELOOP or real_root is None:
                raise
            # The file itself is a symlink: followed only to a target inside the corpus.
            target = os.path.realpath(path)
            if not inside(target, real_root):
                raise UnreadableArticle(path, _link_reason(target)) from None
            fd = os.open(target, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableArticle(path, "symlink (not followed)") from exc
        raise UnreadableArticle(path, exc.strerror or type(exc).__name__) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableArticle(path, "not a regular file")
        if real_root is not None:
            # Where the opened file really is, whatever links the folders on the way hold or
            # were swapped for since the walk (/proc on Linux; elsewhere the name is resolved).
            opened = _opened_path(fd) or os.path.realpath(path)
            if not inside(opened, real_root):
                raise UnreadableArticle(path, _link_reason(opened))
        if max_bytes is not None and info.st_size > max_bytes:
            raise UnreadableArticle(path, _too_big(info.st_size, max_bytes))
        # Sized by fstat (a read of cap + 1 would allocate the whole cap for every file); a file
        # that grew since is read on, up to one byte over the cap.
        limit = max_bytes + 1 if max_bytes is not None else None
        data = _read_fd(fd, info.st_size + 1 if limit is None else min(info.st_size + 1, limit))
        if len(data) > info.st_size and (limit is None or len(data) < limit):
            data += _read_fd(fd, None if limit is None else limit - len(data))
    except OSError as exc:
        raise UnreadableArticle(path, exc.strerror or type(exc).__name__) from exc
    finally:
        os.close(fd)
    if max_bytes is not None and len(data) > max_bytes:  # grew since fstat
        raise UnreadableArticle(path, _too_big(f"more than {max_bytes}", max_bytes))
    return data


def _too_big(size, cap: int) -> str:
    return f"{size} bytes, over HELPAPI_MAX_ARTICLE_BYTES ({cap})"


@functools.lru_cache(maxsize=16)
def _real_root(root: str) -> str:
    # Resolved once per process: os.path.realpath costs an lstat per path component. A corpus
    # folder moved since then only makes files look outside it (refused), never the reverse.
    return os.path.realpath(root)


def _read_fd(fd: int, size: int | None) -> bytes:
    """Up to ``size`` bytes from ``fd`` (None: to its end), fewer only at its end: what a
    buffered file's ``read(size)`` gives, through ``os.read`` directly (a build reads 24,000
    files; the file object, its buffer and its context cost more than the read itself)."""
    parts: list[bytes] = []
    got = 0
    while size is None or got < size:
        chunk = os.read(fd, 1 << 20 if size is None else size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _opened_path(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def content_hash(data: bytes) -> str:
    """The manifest hash of a file's bytes."""
    return hashlib.sha1(data).hexdigest()


def english_hash(article: Article) -> str:
    """Hash of an article's English side: what the en-US index holds for it."""
    return content_hash(
        "\x1f".join((article.english_title, article.english_markdown)).encode("utf-8")
    )


def parse_article(
    path,
    locale: str,
    slug: str,
    data: bytes | None = None,
    root=None,
    max_bytes: int | None = DEFAULT_MAX_ARTICLE_BYTES,
    english_only: bool = False,
) -> Article:
    """Read (unless ``data`` is given) and parse one file.

    ``root`` and ``max_bytes`` are those of :func:`read_bytes`. Raises :class:`UnreadableArticle`
    when it cannot be read or holds no article at all. ``english_only`` parses what the English
    index takes from a side-by-side file, and nothing of its localized text (empty ``title``,
    ``body``, ``markdown``); a file that is not side by side comes back with ``has_sxs``
    false and nothing else. The English index's build parses each slug's file this way: the
    locale's own build parses the whole file.
    """
    if data is None:
        data = read_bytes(path, root, max_bytes)
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
    kind = "html" if str(path).lower().endswith((".html", ".htm")) else "md"
    article = parse_text(text, locale, slug, kind, english_only)
    article.repairs[:0] = repairs
    return article


def iter_article_paths(
    locale_dir, root=None, rejected: list | None = None
) -> Iterator[tuple[str, Path]]:
    """``(slug, path)`` for every article file (``*.md``, ``*.html``, ``*.htm``) under one
    locale folder, in sorted order.

    See :func:`article_files` for ``root`` and ``rejected``.
    """
    return ((slug, Path(path)) for slug, path in article_files(locale_dir, root, rejected))


def article_files(locale_dir, root=None, rejected: list | None = None) -> list[tuple[str, str]]:
    """:func:`iter_article_paths` with string paths (cheaper where only the bytes are read).

    Symlinks (files and folders) are followed only when they resolve inside ``root``, the corpus
    folder (default: the locale folder's parent). Others are left out and, when ``rejected`` is
    a list, appended to it as ``(path, reason)``. Hidden names are skipped.
    """
    top = os.path.abspath(os.fspath(locale_dir))
    real_root = os.path.realpath(os.path.dirname(top) if root is None else root)
    found = []
    seen = set()
    # Plain strings and scandir: pathlib costs more than the walk on 10,000s of files.
    stack = [(top, "")]
    while stack:
        dirpath, prefix = stack.pop()
        real_dir = os.path.realpath(dirpath)
        if real_dir in seen or not inside(real_dir, real_root):
            continue  # a link loop, or the locale folder itself links outside
        seen.add(real_dir)
        try:
            entries = list(os.scandir(dirpath))
        except OSError:
            continue  # as os.walk did: an unreadable folder holds no articles
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            ext = _article_extension(name)
            if entry.is_symlink():
                real = os.path.realpath(entry.path)
                if not inside(real, real_root):
                    if rejected is not None and (ext or os.path.isdir(real)):
                        rejected.append((entry.path, _link_reason(real)))
                    continue
            if entry.is_dir():
                stack.append((entry.path, f"{prefix}{name}/"))
            elif ext:
                slug = prefix + name[: -len(ext)]
                found.append((ARTICLE_EXTENSIONS.index(ext), slug, entry.path))
    # One file per slug: guide.md wins over guide.html over guide.htm; the others are named.
    found.sort()
    out, taken = [], {}
    for _, slug, path in found:
        if slug in taken:
            if rejected is not None:
                rejected.append((path, f"slug {slug!r} is already the article in {taken[slug]}"))
            continue
        taken[slug] = os.path.basename(path)
        out.append((slug, path))
    out.sort()
    return out


# Article files by extension, in order of precedence when one slug has several.
ARTICLE_EXTENSIONS = (".md", ".html", ".htm")


def _article_extension(name: str) -> str | None:
    lower = name.lower()
    for ext in ARTICLE_EXTENSIONS:
        if lower.endswith(ext) and len(name) > len(ext):
            return ext
    return None


LOCALE_DIR = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


def is_locale_folder(name: str) -> bool:
    """Whether a folder name is a BCP 47 tag (``de-DE``, ``zh-Hant-TW``, ``pt_BR``)."""
    return bool(LOCALE_DIR.match(name))


def discover_locales(corpus_dir, rejected: list | None = None) -> list[str]:
    """Locale folders of a corpus (names that look like BCP 47 tags), sorted.

    A symlinked folder counts only when it resolves inside the corpus; others are logged and,
    when ``rejected`` is a list, appended to it as ``(path, reason)``.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        return []
    real_root = os.path.realpath(corpus_dir)
    found = []
    for entry in os.scandir(corpus_dir):
        if not LOCALE_DIR.match(entry.name) or not entry.is_dir():
            continue
        if entry.is_symlink():
            real = os.path.realpath(entry.path)
            if real == real_root or not inside(real, real_root):
                reason = _link_reason(real)
                log.warning("locale folder %s skipped: %s", entry.path, reason)
                if rejected is not None:
                    rejected.append((entry.path, reason))
                continue
        found.append(entry.name)
    return sorted(found)
