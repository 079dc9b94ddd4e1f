"""Stop 19 per-search shortcuts: the same answers as the definitions they stand in for."""

from __future__ import annotations

import random
import re
import sys
import unicodedata

from helpapi import engine
from helpapi.query import parse_user_text
from helpapi.snippets import make_snippet
from helpapi.snippets import match_spans

from .conftest import markdown_index_fixture
from .conftest import md_article


def _punctuated_reference(text: str) -> bool:
    """engine.punctuated as written before its shortcuts (every character's category)."""
    marks = [unicodedata.category(c)[0] in "PS" for c in text]
    words = [i for i, c in enumerate(text) if not marks[i] and not c.isspace()]
    if not words:
        return False
    for i in range(words[0] + 1, words[-1]):
        if marks[i] and not (
            engine._spaced_letter(text[i - 1]) and engine._spaced_letter(text[i + 1])
        ):
            return True
    return False


def test_unmarked_characters_are_never_marks():
    # punctuated's shortcut: a character _UNMARKED takes is of no P or S category, and one it
    # does not take is one _MAYBE_MARK finds (so only those need their category read).
    one = re.compile(engine._UNMARKED.pattern.removesuffix("*"))
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        if one.fullmatch(c):
            assert unicodedata.category(c)[0] not in "PS", hex(cp)
        else:
            assert engine._MAYBE_MARK.fullmatch(c), hex(cp)


def test_punctuated_matches_its_definition():
    examples = [
        "受信者]、[グループ",
        "帳單 > 購買服務",
        "Outlook.com",
        "Wi-Fi setup",
        "受信者、グループ",
        "reset password?",
        '"reset password"',
        "C++",
        "snake_case name",
        "a _ b",
        "",
        "   ",
        "?!",
        "e\u0301 - x",
        "x \u0301- y",
        "\u3192 \u3193",
    ]
    alphabet = "ab Z9é中文ひら .,-_?>「」、+\u0301\u200b\t_\u3192①"
    rng = random.Random(19)
    examples += ["".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(20000)]
    for text in examples:
        assert engine.punctuated(text) == _punctuated_reference(text), repr(text)


def test_snippet_surfaces_as_a_frozenset():
    body = "Reset your password in Outlook. The password must be new; 重置密码 here."
    for surfaces in (["password", "", "Outlook"], ["重置", "密码"], ["", ""], ["new"]):
        whole = frozenset(surfaces)  # "" included, as a caller may pass it
        assert match_spans(body, whole) == match_spans(body, surfaces)
        assert make_snippet(body, whole, size=40) == make_snippet(body, surfaces, size=40)


CORPUS = {
    "ja-JP": {
        "a": md_article(
            "特定のドメインに送信されたメールを暗号化する", "管理センターで設定します。"
        ),
        "b": md_article("ドメインの設定", "ドメインに送信されたメッセージ。"),
        **{f"filler-{i}": md_article(f"メモ {i}", f"説明{i}の文章です。") for i in range(20)},
    },
}


corpus = markdown_index_fixture("engine19", CORPUS)


def test_title_runs_are_remembered_as_the_index_answers(corpus):
    mem = corpus.mem["ja-JP"]
    field = mem.fields["title_grams"]
    engine._TITLE_RUNS.pop(field, None)
    (unit,) = parse_user_text("ドメインに送信", "ja-JP")
    want = engine._gram_clause(field, unit.grams, 2.5)
    assert want  # the run is in a title
    first = engine._title_run(field, unit.grams, 2.5)
    again = engine._title_run(field, unit.grams, 2.5)
    assert first == want and again == want and type(again) is engine._Scored
    again.clear()  # a copy: the remembered clause stays whole
    assert engine._title_run(field, unit.grams, 2.5) == want
    assert engine._title_run(field, unit.grams, 1.5) == engine._gram_clause(field, unit.grams, 1.5)
    # A filter's clause is never remembered (its documents differ per filter).
    kept = len(engine._TITLE_RUNS[field])
    assert engine._title_run(field, unit.grams, 3.0, allowed={0}) == engine._gram_clause(
        field, unit.grams, 3.0, {0}
    )
    assert len(engine._TITLE_RUNS[field]) == kept


def test_title_runs_kept_are_bounded(corpus, monkeypatch):
    field = corpus.mem["ja-JP"].fields["title_grams"]
    engine._TITLE_RUNS.pop(field, None)
    monkeypatch.setattr(engine, "TITLE_RUNS_KEPT", 2)
    for text in ("ドメインに", "送信された", "暗号化する", "メールを"):
        (unit,) = parse_user_text(text, "ja-JP")
        engine._title_run(field, unit.grams, 2.0)
    assert len(engine._TITLE_RUNS[field]) == 2
