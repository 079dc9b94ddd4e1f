"""The read side of a locale's build, made cheaper, gives exactly what it gave before.

Issues #14 and #16 (build time): parsing, rendering and analysis take fast paths (one pass over
ICU's boundaries, bigrams of plain kana/ideograph runs without per-bigram normalization, stems
per distinct term, field heads cut by bisection, ...). Queries and the definitions stay the
analyzer chains and the plain functions; these tests compare the two.
"""

from __future__ import annotations

import html
import random
import re
import unicodedata

import pytest

from helpapi import analysis
from helpapi.analysis import grams_analyzer
from helpapi.analysis import index_gram_pairs
from helpapi.analysis import index_stems
from helpapi.analysis import index_words
from helpapi.analysis import normalize_term
from helpapi.analysis import stems_analyzer
from helpapi.analysis import words_analyzer
from helpapi.schema import analyze_document

TEXTS = [
    ("de-DE", "Öffnen Sie outlook.com, Allow_Recording und 8326.2146 — Straße STRASSE."),
    ("fr-FR", "L'utilisateur qu'il connaît; l’application d'Outlook: aujourd'hui."),
    ("it-IT", "Dell'account e all'utente: l'app"),
    ("tr-TR", "İstanbul ISPARTA ılık Iğdır dosya.txt"),
    ("he-IL", "הסיסמה וכשהמשתמש בסיסמה שינוי ה-Outlook"),
    ("ar-SA", "والإعدادات للمستخدم المرور كلمة أَمْن"),
    ("ja-JP", "Teams 通話の設定 𠮷野家 レコーディング ｶﾀｶﾅ Allow_Recording ヴァ ゔ 々"),
    ("ja-JP", "設定\n設定を開く。\nｶﾞｷﾞ 가각 가 통화 녹음"),
    ("th-TH", "เปิดการตั้งค่า Outlook 8326.2146 น้ำ"),
    ("zh-CN", "打开设置。重置密码 a.b 兀 〆"),
    ("ru-RU", "Учётная запись Microsoft: пароль, ёлка"),
    ("de-DE", ""),
    ("de-DE", "\n\n"),
    ("de-DE", "Micro\u00adsoft Zero\u200bwidth"),
]


def _chain(analyzer, value, mode="index"):
    return [
        (t.text, t.pos, t.endchar) for t in analyzer(value, positions=True, chars=True, mode=mode)
    ]


@pytest.mark.parametrize("locale, text", TEXTS)
def test_word_pairs_are_the_words_chain(locale, text):
    want = _chain(words_analyzer(locale), text)
    for _ in range(2):  # the second time from the cache
        pairs, ends = index_words(locale).pairs(text)
        assert [(t, p, e) for (t, p), e in zip(pairs, ends, strict=True)] == want
        assert index_words(locale)(text) == want


@pytest.mark.parametrize("locale, text", TEXTS)
def test_gram_pairs_are_the_grams_chain(locale, text):
    want = _chain(grams_analyzer(), text)
    for _ in range(2):
        pairs, ends = index_gram_pairs(text)
        assert [(t, p, e) for (t, p), e in zip(pairs, ends, strict=True)] == want


@pytest.mark.parametrize("locale, text", TEXTS)
def test_stems_are_the_stems_chain(locale, text):
    terms = [t for t, _ in index_words(locale).pairs(text)[0]]
    want = [t.text for t in stems_analyzer(locale)(text, mode="index")]
    assert index_stems(locale)(terms) == want
    assert index_stems(locale)(terms) == want


def test_a_term_with_several_stems_or_a_long_one_keeps_the_chain_order(monkeypatch):
    stems = analysis._IndexStems("de-DE")
    two = {"zwei": ("zwei", "2")}
    real = stems._stems
    monkeypatch.setattr(stems, "_stems", lambda term: two.get(term) or real(term))
    long = "x" * 500
    got = stems(["Häuser", "zwei", long, "Häuser", "zwei"])
    assert got == ["haus", "zwei", "2", long, "haus", "zwei", "2"]
    assert long not in stems._cache and long not in stems._multi


def test_plain_run_characters_are_their_own_normal_form():
    """The bigram fast path's characters: each its own normalized form, and no pair of them
    composes (a sample of pairs: every kana pair, kana and ideographs mixed)."""
    chars = [
        chr(c)
        for a, b in ((0x3041, 0x3096), (0x30A1, 0x30FA), (0x30FC, 0x30FC), (0x3400, 0x4DBF))
        + ((0x4E00, 0x9FFF),)
        for c in range(a, b + 1)
    ]
    assert all(analysis._PLAIN_RUN.fullmatch(c) for c in chars)
    assert all(analysis.GRAM_RUN.fullmatch(c) for c in chars)
    assert [c for c in chars if normalize_term(c) != c] == []
    kana = [c for c in chars if ord(c) < 0x3400]
    sample = kana + random.Random(14).sample(chars, 400)
    pairs = [a + b for a in sample for b in sample]
    assert [p for p in pairs if unicodedata.normalize("NFKC", p) != p] == []
    # Outside it: characters whose pairs do change (so they take the per-bigram path).
    for other in ("ｶﾞ", "가", "㈱", "Ａ"):
        assert not analysis._PLAIN_RUN.fullmatch(other)


def _reference(doc: dict, locale: str) -> dict:
    """analyze_document's definition: each field through its chain on its own."""
    words, grams = words_analyzer(locale), grams_analyzer()
    return {
        "text": [(t, p) for t, p, _ in _chain(words, doc["text"])],
        "title": [(t, p) for t, p, _ in _chain(words, doc["title"])],
        "grams": [(t, p) for t, p, _ in _chain(grams, doc["grams"])],
        "title_grams": [(t, p) for t, p, _ in _chain(grams, doc["title_grams"])],
        "stems": [t.text for t in stems_analyzer(locale)(doc["stems"], mode="index")],
    }


@pytest.mark.parametrize(
    "title, body, extra",
    [
        ("Kennwort ändern", "Öffnen Sie outlook.com und ändern Sie es.", "Change the password."),
        ("通話の設定", "設定を開く。録音を開始", "Call settings"),
        ("Titel", "", ""),
        ("Titel", "Körper", ""),
        ("l'utilisateur", "qu'il connaît", "the user's"),
        ("A.B", "a.b c_d\nx.y", "e.f"),
    ],
)
@pytest.mark.parametrize("locale", ["de-DE", "ja-JP", "fr-FR", "he-IL"])
def test_analyze_document_is_each_field_through_its_chain(locale, title, body, extra):
    titles = f"{title}\n{extra}" if extra else title
    doc = {
        "text": "\n".join(x for x in (titles, body, extra) if x),
        "title": titles,
        "grams": f"{title}\n{body}",
        "title_grams": title,
        "stems": f"{titles}\n{body}",
    }
    assert analyze_document(doc, locale) == _reference(doc, locale)
    # A title that is not a head of the text (an alias after it) is analyzed on its own.
    doc["title"] = f"{titles}\nAlias Titel"
    doc["title_grams"] = f"{title}\n別名"
    assert analyze_document(doc, locale) == _reference(doc, locale)


def _text_unguarded(markdown: str) -> str:
    """markdown_to_text before its rules were skipped by their needed strings."""
    from helpapi import corpus

    text = corpus._drop_comments(markdown)
    for pattern, repl in corpus._TEXT_RULES:
        if pattern is corpus._INCLUDES:
            text = corpus._drop_includes(text)
        elif pattern is corpus._MARKUP:
            text = corpus._drop_markup(text)
        else:
            text = pattern.sub(repl, text)
    return html.unescape(text)


MARKDOWN = [
    "",
    "plain words only",
    "```python\ncode\n```\n~~~\nx\n~~~",
    ':::image type="content" source="a.png":::\n::: zone\n',
    "[!INCLUDE [title](../inc.md)] and [!video https://x]",
    "> [!NOTE]\n> Note text",
    "![alt text](img.png) ![](x.png)",
    "[link [nested]](http://a.b/(c)) [ref][id]\n  [a]: http://x.y 'T'",
    "<HTTPS://EXAMPLE.COM> <mailto:a@b.c> see FTP://host/x and https://a.b/c?d=e",
    "<b>bold</b> <a href='x'>a</a> < not a tag",
    "**strong** __under__ `code` ``more`` _**_ *a* _b_ snake_case /_vti_bin \\*.oft 5 * 3",
    "# Heading\n## Two ##\n> quote\n#no",
    "&amp; &lt;tag&gt; &#91;x&#93;",
    "*[*] _[_] `x`*",
    "<!-- comment --> text <!-- unclosed",
]


@pytest.mark.parametrize("markdown", MARKDOWN)
def test_markdown_to_text_skips_only_rules_that_cannot_match(markdown):
    from helpapi.corpus import markdown_to_text

    assert markdown_to_text(markdown) == _text_unguarded(markdown)
    assert markdown_to_text(markdown * 3) == _text_unguarded(markdown * 3)


def test_every_text_rule_names_what_its_matches_hold():
    from helpapi import corpus

    assert len(corpus._TEXT_NEEDS) == len(corpus._TEXT_RULES)
    # Each rule's own examples hold one of its needed strings, and its pattern matches them.
    for (pattern, _), needs in zip(corpus._TEXT_RULES, corpus._TEXT_NEEDS, strict=True):
        if pattern is corpus._MARKUP:
            pattern = re.compile(r"\*\*|__|`+|\[|\]")  # what _drop_markup removes
        elif isinstance(pattern, str):
            continue  # _drop_includes: [!INCLUDE and [!VIDEO
        hits = [m.group() for s in MARKDOWN for m in pattern.finditer(s * 2)]
        assert hits
        assert all(any(n.lower() in h.lower() for n in needs) for h in hits), pattern.pattern


SIMPLE_FRONT_MATTER = [
    "title: Hallo Welt\nms.date: 04/21/2020\nms.custom: ''\nms.locfileid: \"47664133\"",
    "title: identisch mit filename ist am besten\nROBOTS: NOINDEX, NOFOLLOW\nms.assetid: (guid)",
    "ms.custom:\n- '9000739'\n- \"184\"\n- 8000079\nms.collection: Adm_O365",
    "ms.custom:\n  - a\n  - b\nempty:\ntitle: Привет мир 新しい C# a:b x-y",
    "title: 0\nn: 123\nk: 0123\nf: 1.5\nd: 2020-04-21\nb: yes\nz: ~\nnul: null\ntt: True",
    "on: x\ntitle: y",
    "title: a # comment",
    "title: a: b",
    "title: a:",
    "title: 'it''s'",
    'title: "tab\\tthere"',
    "title: *alias",
    "title: &anchor x",
    "title: !tag x",
    "title: [1, 2]",
    "title: {a: b}",
    "title: | \n  block",
    "title: value\n  continued",
    "title: value\n  - not an item",
    "list:\n  - a\n    - b",
    "list:\n  - a\n- b",
    "list:\n-\n- b",
    "title: x\n\nother: y",
    "title: trailing ",
    "title: x\u00a0",
    "title: x\u2028y",
    "title: x\x85y",
    "title: x\ufeffy",
    "title: x\r\nother: y",
    "dup: 1\ndup: 2\nother: x",
    "- a\n- b",
    "plain",
    "title:\tx",
    "title: %x",
    "title: @x",
    "title: `x",
    "title: -x",
    "title: ? x",
    "a.b-c_d: x\nA: B",
    "n: 123\nz: 0\nw: Normal\nx: nothing\nyy: Yesterday\no: Office 365\nt: trueish",
    "m: -1x",
]


@pytest.mark.parametrize("fm", SIMPLE_FRONT_MATTER)
def test_simple_front_matter_is_what_pyyaml_reads(fm):
    import yaml

    from helpapi import corpus

    got = corpus.simple_front_matter(fm)
    if got is None:
        return  # PyYAML reads it, as before
    want = yaml.load(fm, Loader=corpus._NoAliasLoader)
    assert got == want
    assert list(got) == list(want)
    assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


def test_the_corpus_shapes_of_front_matter_take_the_simple_path():
    from helpapi import corpus

    for fm in SIMPLE_FRONT_MATTER[:4]:
        assert corpus.simple_front_matter(fm) is not None, fm
    # Typed values other than plain integers, and anything YAML could read another way, do not.
    for fm in ("d: 2020-04-21", "b: yes", "f: 1.5", "k: 0123", "on: x", "title: *alias"):
        assert corpus.simple_front_matter(fm) is None, fm


def test_front_matter_with_an_alias_is_still_refused():
    from helpapi.corpus import parse_text

    a = parse_text("---\nx: &a [1]\ntitle: *a\nms.date: 05/28/2021\n---\n# T\n", "de-DE", "s")
    assert a.title == "T" and a.updated == "2021-05-28"
    assert any("alias" in r for r in a.repairs)


HTML = [
    "",
    "text only & more",
    '<p>para <b>bold</b> <a href="x" title="t">a</a><br><img src="i.png" alt=""></p>',
    "<p>cmark's <br /> void</p>",
    "<p>unclosed <b>bold",
    "</p>stray end<p>x</p>",
    "<b><i>crossed</b></i>",
    "<p>a < b</p>",
    '<a title="x<y">lt in a value</a>',
    "<!-- comment --><p>x</p>",
    "<script>alert(1)</script><p>x</p>",
    "<textarea><b>raw</b></textarea>",
    "<custom>unknown</custom><p>x</p>",
    "<P CLASS=x>upper</P>",
    "<br></br><hr>",
    "<div>" * 32 + "deep" + "</div>" * 32,
    "<div>" * 33 + "deeper" + "</div>" * 33,
    "<p>" + "x" * 200 + "</p>",
]


@pytest.mark.parametrize("html_in", HTML)
@pytest.mark.parametrize("max_chars", [1_000_000, 50, 207, 208])
def test_bound_gives_back_what_the_full_rewrite_gives(monkeypatch, html_in, max_chars):
    from helpapi import render

    fast = render._bound(html_in, max_chars=max_chars)
    monkeypatch.setattr(render, "_bounded_already", lambda *a: False)
    assert fast == render._bound(html_in, max_chars=max_chars)
    # And what is already bounded is a fixpoint.
    assert render._bound(fast, max_chars=max_chars) == fast


def test_rendered_corpus_articles_are_unchanged(monkeypatch):
    """The bundled corpus's Markdown through render_markdown, with and without the shortcut
    (and nh3's Cleaner against nh3.clean)."""
    import functools
    from pathlib import Path

    import nh3

    from helpapi import render
    from helpapi.corpus import parse_article

    root = Path(__file__).resolve().parent.parent / "corpus"
    paths = sorted(root.glob("*/*.md"))[::8]
    assert len(paths) > 100
    markdown = [parse_article(p, p.parent.name, p.stem).markdown for p in paths]
    fast = [render.render_markdown(m) for m in markdown]
    monkeypatch.setattr(render, "_bounded_already", lambda *a: False)
    monkeypatch.setattr(
        render, "_clean", lambda: functools.partial(nh3.clean, **render._CLEAN_OPTIONS)
    )
    assert fast == [render.render_markdown(m) for m in markdown]


def test_bound_on_random_tag_soup_equals_the_full_rewrite(monkeypatch):
    from helpapi import render

    pieces = ["<", ">", "</", "<!--", "-->", '"', "=", " ", "/", "&", "x", "\n"]
    pieces += ["<p>", "</p>", "<br>", "<br />", "</br>", "<div>", "</div>", "<b>", "</b>"]
    pieces += ['<a href="x">', "</a>", '<a title="<">', "<script>", "</script>", "<u>", "</u>"]
    rng = random.Random(16)
    cases = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    args = [(), (3, 30), (2, 1_000_000)]
    fast = [render._bound(c, *a) for c in cases for a in args]
    monkeypatch.setattr(render, "_bounded_already", lambda *a: False)
    assert fast == [render._bound(c, *a) for c in cases for a in args]
