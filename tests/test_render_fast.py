"""Build-time rendering on cmark-gfm (issue #14 item 5): same safety, same HTML, less CPU."""

from __future__ import annotations

import random
import resource

import pytest

from helpapi import render
from helpapi.render import MAX_DEPTH
from helpapi.render import render_markdown
from tests.test_hardening_render import depth


def test_deep_markdown_nesting_renders_without_recursion():
    # markdown-it-pyrs overflowed its stack at 50,000 (a segfault kills the build worker).
    for md in (">" * 150_000 + " q", "1. " * 150_000 + "x", "- " * 150_000 + "x"):
        html = render_markdown(md)
        assert depth(html) <= MAX_DEPTH
        assert "q" in html or "x" in html


def test_table_alignment_and_alerts_and_raw_html():
    md = (
        "> [!TIP]\n> Use **this**.\n\n> [!warning]\n>\n> Later.\n\n"
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n<div onclick=x>raw</div>\n"
    )
    html = render_markdown(md)
    assert '<div class="alert alert-tip" role="note"><p class="alert-title">Tip</p>' in html
    assert "<p>Use <strong>this</strong>.</p>" in html
    # The marker alone in its paragraph: the empty paragraph is dropped.
    assert '<p class="alert-title">Warning</p>\n\n<p>Later.</p>' in html
    assert '<td align="left">1</td>' in html and '<td align="right">2</td>' in html
    assert "<div>raw</div>" in html and "onclick" not in html


def test_cmark_memory_is_freed():
    md = "# t\n\n" + "para *x* [l](http://a)\n\n| a | b |\n|--|--|\n| 1 | 2 |\n" * 300
    engine = render._markdown()
    for _ in range(200):
        engine.render(md)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(2_000):  # cmarkgfm's own wrapper grew RSS by 2.8 GB here (1.4 MB a call)
        engine.render(md)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 20_000


# The alert shapes the one-pass rewrite leaves to BeautifulSoup, and ordinary ones.
ALERT_CASES = [
    "> [!NOTE]\n> text",
    "> [!NOTE] same line\n> more",
    "> [!NOTE]\n> ![img](x.png)",
    "> > [!NOTE]\n> > inner",
    "> # Heading\n> > [!NOTE]\n> > inner",
    "> &#91;!NOTE] entity",
    "> [!NOTE]\n\n> [!TIP]\n> two\n\ntext [!NOTE] inline",
    "- > [!CAUTION]\n  > in a list",
    "> text first\n>\n> [!NOTE] later",
    "<blockquote cite=x><p>[!NOTE] attrs</p></blockquote>",
    "> [!NOTE]",
    "> [!NOTE]\n> `code` first",
]


@pytest.mark.parametrize("md", ALERT_CASES)
def test_alerts_one_pass_equals_beautifulsoup(md):
    bounded = render._bound(render._markdown().render(md))
    fast, soup = render._alerts(bounded), render._alerts_soup(bounded)
    clean = render.sanitize_html
    assert clean(fast) == clean(soup)


def test_bound_plain_tag_path_equals_the_tokenizer_path():
    # Random tag soup through _bound, and through _bound with the one-match shortcut for
    # canonical tags switched off (every tag read by the tokenizer-like reader): same output.
    pieces = [
        "<",
        ">",
        "</",
        "<!--",
        "-->",
        '"',
        "=",
        " ",
        "a",
        "div",
        "p",
        "br",
        "/",
        "&",
        "amp;",
        "script",
        "\n",
        "A",
        "<a ",
        "<p>",
        "</p>",
        "<br />",
        '<div class="q">',
        "</div>",
        '<a href="x" title="a>b">',
        "<td align=left>",
        "<DIV>",
    ]
    rng = random.Random(7)
    for _ in range(3_000):
        html = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        for args in ((), (3, 30)):
            expected = _reference_bound(html, *args)
            assert render._bound(html, *args) == expected, (html, args)


def _reference_bound(html, max_depth=MAX_DEPTH, max_chars=render.MAX_HTML_CHARS):
    """_bound with the plain-tag shortcut switched off (every tag through _slow_tag)."""
    saved = render._PLAIN_TAG
    render._PLAIN_TAG = _NEVER
    try:
        return render._bound(html, max_depth, max_chars)
    finally:
        render._PLAIN_TAG = saved


class _Never:
    def match(self, *_):
        return None


_NEVER = _Never()
