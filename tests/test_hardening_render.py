"""Hostile article HTML (issue #12): bounded depth and size, rendered at build, served stored."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from helpapi import create_app
from helpapi.indexer import build_indexes
from helpapi.render import MAX_DEPTH
from helpapi.render import MAX_HTML_CHARS
from helpapi.render import TRUNCATED_NOTE
from helpapi.render import render_markdown

VOID = {"br", "hr", "img"}


class _Depth(HTMLParser):
    """Deepest element nesting of well-formed HTML (stdlib parser, independent of render)."""

    def __init__(self):
        super().__init__()
        self.depth = self.deepest = 0

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.depth += 1
            self.deepest = max(self.deepest, self.depth)

    def handle_endtag(self, tag):
        if tag not in VOID:
            self.depth -= 1


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.seen = []

    def handle_starttag(self, tag, attrs):
        self.seen.append((tag, attrs))


def depth(html: str) -> int:
    parser = _Depth()
    parser.feed(html)
    parser.close()
    return parser.deepest


DEEP = 20_000
HOSTILE = {
    "nested divs": "<div>" * DEEP + "deep text" + "</div>" * DEEP,
    "unclosed spans": '<span data-ttu-id="1">x ' * DEEP,
    "nested tables": "<table><tr><td>" * 2_000 + "cell",
    "list items": "<ul><li>" * DEEP,
    # html5ever re-opens formatting elements a block closed: each <b> here would nest again.
    "re-opened formatting": "".join(f'<div><b lang="x{i}"></div>' for i in range(2_000)) + "t",
    "misnested formatting": "<b><i><em><strong><s>" * 2_000 + "x" + "<p>y</p>" * 50,
    "foreign content": "<svg>" + "<link>" * DEEP + "</svg>",
    "block quotes": "\n".join(">" * i + " q" for i in range(1, 400)),
    "nested lists": "".join("  " * i + "- item\n" for i in range(400)),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_nesting_renders_within_the_depth_cap(name):
    html = render_markdown(HOSTILE[name])
    assert depth(html) <= MAX_DEPTH, name


def test_deep_divs_keep_their_text_and_no_script_survives():
    md = "<div>" * DEEP + '<script>alert(1)</script><img src=x onerror="alert(1)">deep text'
    html = render_markdown(md + "</div>" * DEEP)
    assert "deep text" in html
    assert "<script" not in html and "onerror" not in html and "alert(1)" not in html


def test_output_is_capped_with_a_visible_note():
    md = "word " * 500_000  # 2.5 MB of flat text
    html = render_markdown(md)
    assert len(html) <= MAX_HTML_CHARS + 100
    assert html.endswith(TRUNCATED_NOTE) and "…" in html


def test_many_links_stay_within_the_size_cap():
    # nh3 adds rel="noopener noreferrer" to every link, after the first cap.
    md = " ".join(f'<a href="/page/{i}">l</a>' for i in range(20_000))
    html = render_markdown(md)
    assert len(html) <= MAX_HTML_CHARS + 100 and html.endswith(TRUNCATED_NOTE)
    assert depth(html) <= 3


def test_truncation_never_cuts_an_entity():
    # "<p>" + x... puts the entity across the cut.
    html = render_markdown("x" * (MAX_HTML_CHARS - 5) + "&amp; tail")
    assert html.endswith("xx</p>" + TRUNCATED_NOTE)


@pytest.mark.parametrize(
    "md",
    [
        "<script>alert(1)</script>",
        "<scr<script>ipt>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a> [y](javascript:alert(1)) [z](JaVaScRiPt:alert(1))',
        '<a href="java&#x09;script:alert(1)">x</a>',
        '<div title="a>"<script>alert(1)</script>">x</div>',
        '<div a="<script>alert(1)</script>">x</div><!-- <script>alert(1)</script> -->',
        "<!--> <img src=x onerror=alert(1)> -->",
        "<svg><script>alert(1)</script></svg><math><mi onerror=alert(1)>",
        "<textarea><img src=x onerror=alert(1)></textarea>",
        "<style>*{}</style><iframe src=javascript:alert(1)></iframe>",
        '<div><b lang="x"></div>' * 100 + '<img src=x onerror="alert(1)">',
        "<div " + "a=1 " * 5_000 + "onclick=alert(1)>x</div>",
        "<div>" * 100 + "<img src=x onerror=alert(1)" + "</div>",
    ],
)
def test_sanitizer_properties_hold(md):
    html = render_markdown(md)
    tags = _Tags()
    tags.feed(html)
    tags.close()
    assert not {"script", "style", "svg", "math", "iframe", "textarea"} & {t for t, _ in tags.seen}
    for _, attrs in tags.seen:
        for key, value in attrs:
            assert not key.startswith("on")
            assert not (value or "").strip().lower().startswith("javascript"), value


def test_alerts_and_ordinary_markdown_render_as_before():
    md = (
        "# Title\n\n> [!NOTE]\n> Read **this**.\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n  - two\n\n```\ncode <x>\n```\n"
    )
    html = render_markdown(md)
    assert '<div class="alert alert-note" role="note"><p class="alert-title">Note</p>' in html
    assert "<td>1</td>" in html and "<li>two</li>" in html
    assert "code &lt;x&gt;" in html and TRUNCATED_NOTE not in html


ARTICLE = "---\ntitle: Hostile\n---\n# Hostile\n\n" + "<div>" * 5_000 + "inner text\n"


@pytest.fixture
def hostile_app(make_corpus, tmp_path):
    corpus = make_corpus({"de-DE": {"hostile": ARTICLE}})
    build_indexes(corpus, tmp_path / "ix", jobs=1)
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "ix"), "RESULT_CACHE_SIZE": 0})
    yield app
    app.extensions["helpapi.indexes"].close()


def _boom(markdown):
    raise AssertionError("rendered at request time")


def test_article_route_serves_the_html_stored_at_build_time(hostile_app, monkeypatch):
    monkeypatch.setattr("helpapi.api.render_markdown", _boom, raising=False)
    monkeypatch.setattr("helpapi.render.render_markdown", _boom)
    r = hostile_app.test_client().get("/v1/articles/hostile?locale=de-DE")
    assert r.status_code == 200
    html = r.get_json()["html"]
    assert "inner text" in html and depth(html) <= MAX_DEPTH


def test_index_without_stored_html_is_rendered_with_the_same_caps(make_corpus, tmp_path):
    # An index built before the html field existed: the route renders, with the same caps.
    import helpapi.indexer

    original = helpapi.indexer.document_for

    def old_document(article, locale=None):
        doc = original(article, locale)
        doc.pop("html")
        return doc

    corpus = make_corpus({"de-DE": {"hostile": ARTICLE}})
    mp = pytest.MonkeyPatch()
    mp.setattr("helpapi.indexer.document_for", old_document)
    try:
        build_indexes(corpus, tmp_path / "ix", jobs=1)
    finally:
        mp.undo()
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "ix")})
    try:
        html = app.test_client().get("/v1/articles/hostile?locale=de-DE").get_json()["html"]
    finally:
        app.extensions["helpapi.indexes"].close()
    assert "inner text" in html and depth(html) <= MAX_DEPTH


def test_text_after_the_cap_is_dropped_even_when_end_tags_passed_it():
    from helpapi.render import _bound

    html = _bound("<b>" + "x" * 15 + "</b>" + "tail text", max_chars=20)
    assert html == "<b>" + "x" * 15 + "</b>" + TRUNCATED_NOTE
