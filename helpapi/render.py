"""Article Markdown -> safe HTML: CommonMark (markdown-it-py), docs alerts, nh3 sanitizing."""

from __future__ import annotations

import functools
import re

import nh3
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

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


@functools.lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable("table")


def _alerts(html: str) -> str:
    """Turn ``> [!NOTE]`` blockquotes into ``<div class="alert alert-note" role="note">``."""
    if "[!" not in html:
        return html
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


def render_markdown(markdown: str) -> str:
    """Sanitized HTML for article Markdown: no script, no event handlers, no javascript: URLs."""
    html = _alerts(_markdown().render(markdown))
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
