"""HTML articles (what Zendesk, Confluence and most CMSs export): title, text and body HTML.

The title is the ``<title>``, else the first ``<h1>``. The searchable text is the body's text
with ``script``, ``style``, ``nav``, ``header``, ``footer`` (and other non-content elements)
dropped; link targets, image paths and attributes never become text, as for Markdown. The
body's HTML is kept for display (sanitized like rendered Markdown, at build time).
"""

from __future__ import annotations

import dataclasses
import re

from bs4 import BeautifulSoup
from bs4 import Comment
from bs4 import Doctype
from bs4 import NavigableString

# Elements whose content is not the article's text.
DROPPED = ("script", "style", "nav", "header", "footer", "template", "noscript", "svg", "iframe")
# Block elements: their text is separated from the next block's by a line break.
BLOCK_NAMES = r"p|div|h[1-6]|li|ul|ol|table|tr|td|th|pre|blockquote|section|article|main|br|dt|dd"
_BLOCKS = re.compile(rf"^(?:{BLOCK_NAMES})$")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\n\s*\n+")


@dataclasses.dataclass
class HtmlParts:
    """What an HTML file holds for helpapi."""

    title: str | None  # <title>, else the first <h1>, else None
    text: str  # the body's text, one block per line (the first <h1> removed when it is the title)
    html: str  # the body's inner HTML, non-content elements removed (sanitized later)


def _text_of(node) -> str:
    parts: list[str] = []
    # descendants is iterative: deep nesting costs no recursion.
    for item in node.descendants:
        if isinstance(item, Comment | Doctype):
            continue
        if isinstance(item, NavigableString):
            parts.append(str(item))
        elif _BLOCKS.match(item.name or ""):
            parts.append("\n")
    text = _SPACES.sub(" ", "".join(parts))
    return _LINES.sub("\n", "\n".join(line.strip() for line in text.split("\n"))).strip()


def _close_comments(source: str) -> str:
    """``source`` with an unclosed ``<!--`` written as text (``&lt;!--``), in one pass.

    Python's HTML parser rescans an unclosed comment for its end each time it is fed more, so
    thousands of them cost quadratic time; a browser would hide the rest of the page in it.
    """
    out, pos = [], 0
    while True:
        start = source.find("<!--", pos)
        if start < 0:
            break
        end = source.find("-->", start + 4)
        if end < 0:
            out.append(source[pos:start])
            out.append(source[start:].replace("<!--", "&lt;!--"))
            return "".join(out)
        out.append(source[pos : end + 3])
        pos = end + 3
    out.append(source[pos:])
    return "".join(out)


def _remove(nodes) -> None:
    """Take ``nodes`` out of the tree in time linear in the tree.

    BeautifulSoup's ``extract()`` finds a node's place with ``parent.index()``, a scan of its
    siblings: thousands of sibling ``<script>``s or comments would cost quadratic time. Here
    each parent's children are numbered once and removed from the last.
    """
    by_parent: dict[int, tuple] = {}
    for node in nodes:
        if node.parent is not None:
            by_parent.setdefault(id(node.parent), (node.parent, set()))[1].add(id(node))
    for parent, doomed in by_parent.values():
        places = [i for i, child in enumerate(parent.contents) if id(child) in doomed]
        for i in reversed(places):
            parent.contents[i].extract(_self_index=i)


def parse_html(source: str) -> HtmlParts:
    """Split an HTML document (or fragment) into title, searchable text and body HTML.

    Linear in the size of ``source`` (``bench/parse_linear.py`` has the hostile shapes).
    """
    soup = BeautifulSoup(_close_comments(source), "html.parser")
    _remove(soup.find_all(string=lambda s: isinstance(s, Comment)))
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else ""
    _remove(soup.find_all(DROPPED))
    body = soup.find("body") or soup
    _remove(body.find_all(["title", "meta", "link", "head"]))
    h1 = body.find("h1")
    h1_text = " ".join(h1.get_text(" ").split()) if h1 else ""
    if not title:
        title = h1_text
    if h1 is not None and h1_text and h1_text == title:
        # Shown as the title; the text holds the rest (as for a Markdown "# " heading).
        h1.extract()
        html = body.decode_contents() if body is not soup else str(soup)
        text = _text_of(body)
        body.insert(0, h1)
        html = str(h1) + html
    else:
        html = body.decode_contents() if body is not soup else str(soup)
        text = _text_of(body)
    return HtmlParts(title or None, text, html.strip())
