"""Snippets: escaping, marks, and cuts on grapheme and word boundaries."""

from helpapi.snippets import make_snippet
from helpapi.snippets import match_spans


def test_marks_and_escapes():
    out = make_snippet("Use <b>Reset</b> & reset again", ["reset"])
    assert out == "Use &lt;b&gt;<mark>Reset</mark>&lt;/b&gt; &amp; <mark>reset</mark> again"


def test_words_match_at_word_start_to_word_end():
    assert make_snippet("passwords and bypass", ["pass"]) == "<mark>passwords</mark> and bypass"


def test_overlapping_pieces_merge_into_one_mark():
    assert match_spans("パスワードを変更", ["パスワ", "スワー", "ワード"]) == [(0, 5)]


def test_long_text_is_cut_around_the_match_on_word_boundaries():
    text = " ".join(["alpha"] * 60) + " needle " + " ".join(["omega"] * 60)
    out = make_snippet(text, ["needle"], size=80)
    assert out.startswith("…alpha") and out.endswith("omega…")
    assert "<mark>needle</mark>" in out
    body = out.strip("…")
    assert all(w in ("alpha", "omega", "<mark>needle</mark>") for w in body.split())


def test_cut_never_splits_a_grapheme_or_surrogate_pair():
    family = "👨\u200d👩\u200d👧"  # one grapheme, five code points
    text = (family + "e\u0301") * 40 + " 𠮷needle"
    out = make_snippet(text, ["needle"], size=30)
    body = out.replace("<mark>", "").replace("</mark>", "").strip("…")
    assert body.count("\u200d") % 2 == 0 and not body.startswith("\u200d")
    assert not body.startswith("\u0301")
    out.encode("utf-8")  # no lone surrogates


def test_no_match_shows_the_beginning():
    assert make_snippet("Erste Zeile. Zweite Zeile.", ["fehlt"]) == "Erste Zeile. Zweite Zeile."


def test_cjk_runs_match_anywhere():
    assert make_snippet("設定を開きます", ["設定"]) == "<mark>設定</mark>を開きます"
