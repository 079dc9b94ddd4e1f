"""Article Markdown -> safe HTML: CommonMark (cmark-gfm), docs alerts, nh3 sanitizing.

Article files are untrusted, so every stage is linear in the input size: cmark-gfm (GitHub's C
CommonMark parser, through cmarkgfm) is linear by design and fuzzed for it, builds its tree
without recursion (150,000 nested block quotes cost milliseconds; markdown-it-py needed a
nesting cap, and markdown-it-pyrs overflows its stack on 50,000), and :func:`_bound` (a single
left-to-right scan, no parser recursion) rewrites its HTML into balanced tags at most
:data:`MAX_DEPTH` deep and at most about :data:`MAX_HTML_CHARS` long *before* nh3 sees it. nh3
(html5ever) costs time proportional to the nesting depth for every tag, so 150,000 nested
``<div>`` took minutes.
"""

from __future__ import annotations

import functools
import html as htmllib
import re
from urllib.parse import urljoin

import cffi
import cmarkgfm.cmark
import nh3
from bs4 import BeautifulSoup

_ALERT = re.compile(r"^\s*\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*", re.I)
_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title", "name"},
    "img": {"src", "alt", "title"},
    "div": {"class", "role"},
    "p": {"class"},
    "code": {"class"},
    "td": {"align"},
    "th": {"align"},
    "*": {"lang", "dir"},
}


# Open elements allowed at once in the HTML; deeper start tags are dropped, their text is kept.
MAX_DEPTH = 32
# HTML characters kept; the rest of an article is cut at a tag boundary and a "…" note added.
MAX_HTML_CHARS = 1_000_000
TRUNCATED_NOTE = '<p class="truncated">…</p>'
_VOID = frozenset({"br", "hr", "img"})
# Elements whose content html5ever reads as raw text: dropped with their content (script,
# style, as nh3 does) or shown as escaped text (the others, as nh3 does).
_DROP_CONTENT = frozenset({"script", "style"})
_RAW_TEXT = frozenset(
    {"textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"}
)
_WS = "\t\n\f\r "
_TAG_NAME = re.compile(f"[^{_WS}/>]*")
_ATTR_NAME = re.compile(f"[{_WS}/]*([^{_WS}/>][^{_WS}/>=]*)?")
_EQUALS = re.compile(f"[{_WS}]*=[{_WS}]*")
_UNQUOTED = re.compile(f"[^{_WS}>]*")
_SIMPLE_ATTR = re.compile(r"[a-z_:][-a-z0-9_:.]*\Z")
_COMMENT_END = re.compile(r"--!?>")


_CMARK_DECLARATIONS = """
typedef struct cmark_mem {
  void *(*calloc)(size_t, size_t);
  void *(*realloc)(void *, size_t);
  void (*free)(void *);
} cmark_mem;
cmark_mem *cmark_get_default_mem_allocator(void);
void cmark_gfm_core_extensions_ensure_registered(void);
void *cmark_find_syntax_extension(const char *name);
void *cmark_parser_new(int options);
int cmark_parser_attach_syntax_extension(void *parser, void *extension);
void cmark_parser_feed(void *parser, const char *buffer, size_t len);
void *cmark_parser_finish(void *parser);
void *cmark_parser_get_syntax_extensions(void *parser);
char *cmark_render_html(void *root, int options, void *extensions);
void cmark_node_free(void *node);
void cmark_parser_free(void *parser);
"""
# Raw HTML passes through (html=True before): _bound and nh3 make it safe, as they did.
_CMARK_OPTIONS = cmarkgfm.cmark.Options.CMARK_OPT_UNSAFE


class _Cmark:
    """CommonMark + GFM tables -> HTML, with cmark-gfm's memory freed after every call.

    cmarkgfm's own wrappers never free the document tree nor the HTML string (the build would
    leak about 0.5 MB per 20 KB article), and its declarations lack ``cmark_node_free`` and the
    allocator whose ``free`` releases the HTML. The library in cmarkgfm's extension module
    exports them, so this opens that same (already loaded) library with declarations of its
    own: every call goes through one FFI, not pointers passed between two.
    """

    def __init__(self):
        from cmarkgfm import _cmark

        self.ffi = cffi.FFI()
        self.ffi.cdef(_CMARK_DECLARATIONS)
        self.lib = self.ffi.dlopen(_cmark.__file__)
        self.lib.cmark_gfm_core_extensions_ensure_registered()
        self.table = self.lib.cmark_find_syntax_extension(b"table")
        if self.table == self.ffi.NULL:  # pragma: no cover - a cmarkgfm without tables
            raise RuntimeError("cmark-gfm has no table extension")
        self.free = self.lib.cmark_get_default_mem_allocator().free

    def render(self, markdown: str) -> str:
        """HTML of ``markdown`` (CommonMark, tables; raw HTML kept)."""
        lib, ffi = self.lib, self.ffi
        data = markdown.encode("utf-8", "replace")
        parser = lib.cmark_parser_new(_CMARK_OPTIONS)
        if parser == ffi.NULL:  # pragma: no cover - out of memory
            raise MemoryError("cmark_parser_new")
        root = out = ffi.NULL
        try:
            lib.cmark_parser_attach_syntax_extension(parser, self.table)
            lib.cmark_parser_feed(parser, data, len(data))
            root = lib.cmark_parser_finish(parser)
            if root == ffi.NULL:  # pragma: no cover - out of memory
                raise MemoryError("cmark_parser_finish")
            extensions = lib.cmark_parser_get_syntax_extensions(parser)
            out = lib.cmark_render_html(root, _CMARK_OPTIONS, extensions)
            if out == ffi.NULL:  # pragma: no cover - out of memory
                raise MemoryError("cmark_render_html")
            return ffi.string(out).decode("utf-8", "replace")
        finally:
            if out != ffi.NULL:
                self.free(out)
            if root != ffi.NULL:
                lib.cmark_node_free(root)
            lib.cmark_parser_free(parser)


@functools.lru_cache(maxsize=1)
def _markdown() -> _Cmark:
    return _Cmark()


def _ascii_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


@functools.cache
def _end_of_raw(name: str) -> re.Pattern:
    return re.compile(f"</{name}[{_WS}/>]", re.I)


def _tag(html: str, pos: int) -> tuple[str, list[tuple[str, str]], int] | None:
    """Read the tag whose name starts at ``pos`` (after ``<`` or ``</``) as html5ever does.

    Returns (lowercased name, attributes, end position after ``>``), or None when the input
    ends inside the tag (html5ever then drops it, and so does the caller).
    """
    m = _TAG_NAME.match(html, pos)
    name, pos = m.group().lower(), m.end()
    attrs = []
    n = len(html)
    while True:
        m = _ATTR_NAME.match(html, pos)
        pos = m.end()
        if pos >= n:
            return None
        if m.group(1) is None:  # at ">"
            return name, attrs, pos + 1
        key, value = m.group(1).lower(), ""
        eq = _EQUALS.match(html, pos)
        if eq:
            pos = eq.end()
            if pos >= n:
                return None
            quote = html[pos]
            if quote in "\"'":
                end = html.find(quote, pos + 1)
                if end < 0:
                    return None
                value, pos = html[pos + 1 : end], end + 1
            else:
                m = _UNQUOTED.match(html, pos)
                value, pos = m.group(), m.end()
        attrs.append((key, value))


def _slow_tag(html: str, lt: int):
    """What starts at the ``<`` at ``lt``, read as the HTML tokenizer does.

    None: the input ends inside it (html5ever drops the rest); -1: the ``<`` is text; another
    int: a comment or bogus comment, to skip up to that position; else ``_tag``'s triple.
    """
    nxt = html[lt + 1 : lt + 2]
    closing = nxt == "/"
    letter = html[lt + 2 : lt + 3] if closing else nxt
    if html.startswith("<!--", lt):
        if html.startswith(">", lt + 4) or html.startswith("->", lt + 4):
            return html.find(">", lt + 4) + 1
        m = _COMMENT_END.search(html, lt + 4)
        return None if m is None else m.end()  # unclosed: html5ever reads the rest as it
    if nxt in ("!", "?") or (closing and not _ascii_letter(letter)):
        # Bogus comment (or "</>"): up to the next ">".
        end = html.find(">", lt + 2)
        return None if end < 0 else end + 1
    if not _ascii_letter(letter):
        return -1
    return _tag(html, lt + 2 if closing else lt + 1)


# A start or end tag as _start_tag writes it (lower-case name, simple lower-case attribute
# names, double-quoted values), optionally closed by " />" as cmark writes void elements.
_PLAIN_TAG = re.compile(
    r'<(?:([a-z][a-z0-9]*)((?: [a-z_:][-a-z0-9_:.]*="[^"]*")*)(?: /)?|/([a-z][a-z0-9]*))>'
)


# The same pattern, for _bounded_already (its own object: tests switch _PLAIN_TAG's path off).
_CANONICAL_TAG = re.compile(_PLAIN_TAG.pattern)


def _start_tag(name: str, attrs: list[tuple[str, str]]) -> str:
    # Canonical form: html5ever reads back exactly this one tag, whatever the source looked
    # like. Values keep their entities; only the quote is escaped.
    parts = [f"<{name}"]
    for key, value in attrs:
        if _SIMPLE_ATTR.match(key):
            parts.append(f' {key}="{value.replace(chr(34), "&quot;")}"')
    parts.append(">")
    return "".join(parts)


def _bounded_already(html: str, max_depth: int, max_chars: int) -> bool:
    """Whether :func:`_bound` would give ``html`` back unchanged, found without rewriting it:
    no longer than ``max_chars``; every ``<`` starts a tag in canonical form (no " /"); the
    tags balanced, of allowed elements, at most ``max_depth`` deep. nh3 writes such HTML, and
    cmark nearly always; the tag names are read by one C-level ``findall``."""
    if len(html) > max_chars or "/>" in html:
        return False
    tags = _CANONICAL_TAG.findall(html)
    if len(tags) != html.count("<"):
        return False  # a "<" in text, a comment, or a tag of another form
    stack: list[str] = []
    for start, _, end in tags:
        if start:
            if start not in _TAGS:
                return False
            if start in _VOID:
                continue
            if len(stack) >= max_depth:
                return False
            stack.append(start)
        elif not stack or stack.pop() != end:
            return False
    return not stack


def _bound(html: str, max_depth: int = MAX_DEPTH, max_chars: int = MAX_HTML_CHARS) -> str:
    """``html`` as balanced, canonical tags of the allowed elements, depth and size capped.

    One linear scan, following the HTML tokenizer for tags and comments. Text keeps its
    entities but every ``<`` in it is escaped, so the parsers after this see no tag that is not
    written here. Comments and tags of elements nh3 would not keep are dropped (their text
    stays); a start tag deeper than ``max_depth`` is dropped with its end tag, keeping its
    text; an end tag closes every element opened after its own, so that html5ever never keeps
    formatting elements alive to re-open (which could nest deeper than the tags written);
    unmatched end tags are dropped. When the output would pass ``max_chars`` characters, text
    is cut there (never inside an entity), the open elements are closed and
    :data:`TRUNCATED_NOTE` follows, so the result may exceed ``max_chars`` by that much.
    """
    if _bounded_already(html, max_depth, max_chars):
        return html
    out: list[str] = []
    size = 0
    stack: list[str] = []
    open_count: dict[str, int] = {}
    pos, n = 0, len(html)
    truncated = False

    def text(chunk: str) -> bool:
        nonlocal size, truncated
        chunk = chunk.replace("<", "&lt;")
        if size + len(chunk) > max_chars:
            chunk = chunk[: max(0, max_chars - size)]
            amp = chunk.rfind("&")
            if amp >= 0 and ";" not in chunk[amp:]:
                chunk = chunk[:amp]
            truncated = True
        out.append(chunk)
        size += len(chunk)
        return not truncated

    def emit(tag: str) -> bool:
        nonlocal size, truncated
        if size + len(tag) > max_chars:
            truncated = True
            return False
        out.append(tag)
        size += len(tag)
        return True

    while pos < n:
        lt = html.find("<", pos)
        if lt < 0:
            text(html[pos:])
            break
        if lt > pos:
            chunk = html[pos:lt]  # holds no "<"
            if size + len(chunk) <= max_chars:
                out.append(chunk)
                size += len(chunk)
            elif not text(chunk):
                break
        plain = _PLAIN_TAG.match(html, lt)
        if plain is not None:
            # A tag in canonical form already (as cmark and nh3 write them): one match reads it,
            # and _start_tag would write it back unchanged (less any " /").
            pos = plain.end()
            name = plain.group(1)
            if name is None:
                name, closing, start = plain.group(3), True, ""
            else:
                closing, start = False, f"<{name}{plain.group(2)}>"
        else:
            tag = _slow_tag(html, lt)
            if tag is None:
                break
            if isinstance(tag, int):  # a comment, "<" as text, or a bogus comment: skipped
                if tag < 0:
                    if not text("<"):
                        break
                    pos = lt + 1
                else:
                    pos = tag
                continue
            name, attrs, pos = tag
            closing = html.startswith("</", lt)
            start = None if closing else _start_tag(name, attrs)
        if closing:
            if open_count.get(name):
                while stack:
                    top = stack.pop()
                    open_count[top] -= 1
                    out.append(f"</{top}>")
                    size += len(top) + 3
                    if top == name:
                        break
            continue
        if name in _DROP_CONTENT or name in _RAW_TEXT:
            m = _end_of_raw(name).search(html, pos) if name != "plaintext" else None
            end = m.start() if m else n
            if name in _RAW_TEXT and not text(htmllib.escape(html[pos:end], quote=False)):
                break
            pos = end
            continue
        if name not in _TAGS:
            continue
        if name in _VOID:
            if not emit(start):
                break
            continue
        if len(stack) >= max_depth:
            continue
        if not emit(start):
            break
        stack.append(name)
        open_count[name] = open_count.get(name, 0) + 1
    out.extend(f"</{name}>" for name in reversed(stack))
    if truncated:
        out.append(TRUNCATED_NOTE)
    return "".join(out)


# A docs alert as cmark writes it, after _bound: a bare <blockquote> whose first child is a <p>
# starting with the marker (group 1: the blank between them; 2: the kind; 3: what follows).
_ALERT_SHAPE = re.compile(
    r"<blockquote>(\s*)<p>\s*\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*(</p>|<)?", re.I
)
_MARKER = re.compile(r"\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]", re.I)
_QUOTE_TAG = re.compile(r"<(/?)blockquote[ >]")
# Another spelling of "[" (an entity): left to BeautifulSoup.
_ALERT_UNSURE = re.compile(r"&(?:#0*91|#x0*5b|lbrack|lsqb);", re.I)


def _alerts(html: str) -> str:
    """Turn ``> [!NOTE]`` blockquotes into ``<div class="alert alert-note" role="note">``.

    ``html`` is :func:`_bound`'s output (balanced, canonical tags). The usual shape is
    rewritten in one linear pass; anything else with a marker takes :func:`_alerts_soup`.
    """
    if "[!" not in html:
        return html
    matches = list(_ALERT_SHAPE.finditer(html))
    if (
        len(matches) != len(_MARKER.findall(html))
        or any(m.group(3) == "<" for m in matches)  # a tag right after the marker
        or _ALERT_UNSURE.search(html)
    ):
        return _alerts_soup(html)
    if not matches:
        return html
    # The end tag of each rewritten blockquote: matched by one scan of the (balanced) tags.
    starts = {m.start() for m in matches}
    ends: set[int] = set()
    stack: list[int] = []
    for tag in _QUOTE_TAG.finditer(html):
        if not tag.group(1):
            if stack and tag.start() in starts:
                # An enclosing quote may have this paragraph as its first: its alert, then.
                return _alerts_soup(html)
            stack.append(tag.start())
        elif stack and stack.pop() in starts:
            ends.add(tag.start())
    out, pos = [], 0
    for tag in _QUOTE_TAG.finditer(html):
        if tag.start() in ends:
            out += (html[pos : tag.start()], "</div>")
            pos = tag.start() + len("</blockquote>")
            continue
        if tag.start() not in starts:
            continue
        m = _ALERT_SHAPE.match(html, tag.start())
        kind = m.group(2).lower()
        out += (
            html[pos : m.start()],
            f'<div class="alert alert-{kind}" role="note">',
            f'<p class="alert-title">{kind.capitalize()}</p>',
            m.group(1),
        )
        # An empty first paragraph (the marker alone) is dropped, as _alerts_soup does.
        out.append("" if m.group(3) else "<p>")
        pos = m.end()
    out.append(html[pos:])
    return "".join(out)


def _alerts_soup(html: str) -> str:
    """:func:`_alerts` for any shape, with BeautifulSoup."""
    soup = BeautifulSoup(html, "html.parser")
    for quote in soup.find_all("blockquote"):
        first = quote.find("p")
        if first is None or not first.contents or not isinstance(first.contents[0], str):
            continue
        match = _ALERT.match(first.contents[0])
        if not match:
            continue
        kind = match.group(1).lower()
        first.contents[0].replace_with(first.contents[0][match.end() :])
        quote.name = "div"
        quote["class"] = ["alert", f"alert-{kind}"]
        quote["role"] = "note"
        title = soup.new_tag("p")
        title["class"] = ["alert-title"]
        title.string = kind.capitalize()
        quote.insert(0, title)
        if not first.get_text(strip=True):
            first.decompose()
    return str(soup)


_CLEAN_OPTIONS = {
    "tags": _TAGS,
    "attributes": _ATTRIBUTES,
    "url_schemes": {"http", "https", "mailto"},
    "link_rel": "noopener noreferrer",
}


@functools.lru_cache(maxsize=1)
def _clean():
    """nh3's sanitizer with this module's allow-lists, as an ``nh3.Cleaner`` built once where
    nh3 has it: ``nh3.clean`` converts the allow-lists on every call (a third of its time on
    an article). The same HTML either way."""
    if hasattr(nh3, "Cleaner"):
        return nh3.Cleaner(**_CLEAN_OPTIONS).clean
    return functools.partial(nh3.clean, **_CLEAN_OPTIONS)  # pragma: no cover - older nh3


def sanitize_html(html: str) -> str:
    """:func:`render_markdown`'s caps and sanitizing for an article that is HTML already."""
    return _bound(_clean()(_bound(html)))


# href/src values as nh3 writes them (always double-quoted, "&" escaped).
_LINK_ATTR = re.compile(r'(\s(?:href|src)=")([^"]*)(")')
_ABSOLUTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|#)")


def resolve_links(html: str, base: str) -> str:
    """Relative ``href``/``src`` values of sanitized HTML resolved against ``base``.

    Absolute URLs, protocol-relative ones and in-page anchors (``#x``) stay as they are. One
    linear pass over the (size-capped) HTML, cheap enough to run per request, so a change of
    ``HELPAPI_LINK_BASE`` needs no rebuild.
    """
    if not base:
        return html

    def fix(match: re.Match) -> str:
        value = match.group(2)
        if not value or _ABSOLUTE.match(value):
            return match.group(0)
        return match.group(1) + urljoin(base, value) + match.group(3)

    return _LINK_ATTR.sub(fix, html)


def render_markdown(markdown: str) -> str:
    """Sanitized HTML for article Markdown: no script, no event handlers, no javascript: URLs.

    Linear in the size of ``markdown``. The result nests at most :data:`MAX_DEPTH` elements
    and holds at most about :data:`MAX_HTML_CHARS` characters: a longer article is cut at a tag
    boundary and ends with :data:`TRUNCATED_NOTE` (a visible "…"). Runs when the index is
    built; the article route serves the stored result.
    """
    html = _clean()(_alerts(_bound(_markdown().render(markdown))))
    # Again on nh3's well-formed output: html5ever adds elements of its own (tbody, tr) and
    # link attributes, so this keeps both caps true of what is served.
    return _bound(html)
