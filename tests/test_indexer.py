"""Index builds: round trip, en-US from sxs, generations, carry-over, failure, progress."""

import pytest

from helpapi import generations
from helpapi.indexer import BuildError
from helpapi.indexer import build_indexes
from helpapi.search import open_current
from helpapi.search import search

from .conftest import sxs_article

DE = sxs_article(
    "Passwort ändern",
    "Change your password",
    [("Öffnen Sie die Kontoeinstellungen.", "Open the account settings.")],
    assetid="11111111-2222-3333-4444-555555555555",
)
JA = sxs_article(
    "パスワードの変更",
    "Change your password",
    [("アカウント設定を開きます。", "Open the account settings.")],
    assetid="11111111-2222-3333-4444-555555555555",
)
ZH = sxs_article(
    "變更密碼", "Change your password", [("開啟帳戶設定。", "Open the account settings.")]
)


@pytest.fixture
def corpus(make_corpus):
    return make_corpus({"de-DE": {"pw": DE}, "ja-JP": {"pw": JA}, "zh-TW": {"pw": ZH}})


def slugs(ixset, q, locale):
    return [(h["slug"], h["locale"]) for h in search(ixset, q, locale)["results"]]


def test_round_trip_in_several_locales(corpus, tmp_path):
    report = build_indexes(corpus, tmp_path / "ix", jobs=1)
    assert set(report.locales) == {"de-DE", "ja-JP", "zh-TW", "en-US"}
    assert report.totals == {"articles": 3, "parsed": 3, "repaired": 0, "rejected": 0}
    with open_current(tmp_path / "ix") as ix:
        assert slugs(ix, "Kontoeinstellungen", "de-DE") == [("pw", "de-DE")]
        assert slugs(ix, "設定を開", "ja-JP") == [("pw", "ja-JP")]  # fragment across words
        assert slugs(ix, "帳戶", "zh-TW") == [("pw", "zh-TW")]
        assert slugs(ix, "account settings", "ja-JP") == [("pw", "ja-JP")]  # English, locale
        assert slugs(ix, "account settings", "en-US") == [("pw", "en-US")]
        doc = ix.searcher("en-US").document(slug="pw")
        assert doc["display_title"] == "Change your password"
        assert "Öffnen" not in doc["markdown"]


def test_parallel_build_matches_serial(corpus, tmp_path):
    serial = build_indexes(corpus, tmp_path / "a", jobs=1)
    parallel = build_indexes(corpus, tmp_path / "b", jobs=2)
    for loc in serial.locales:
        assert serial.locales[loc].terms == parallel.locales[loc].terms
        assert serial.locales[loc].articles == parallel.locales[loc].articles


def test_rejected_file_is_reported_and_build_goes_on(corpus, tmp_path):
    (corpus / "de-DE" / "empty.md").write_bytes(b"")
    report = build_indexes(corpus, tmp_path / "ix", jobs=1)
    stats = report.locales["de-DE"]
    assert stats.rejected == 1 and stats.articles == 1
    assert stats.errors == [(str(corpus / "de-DE" / "empty.md"), "empty file")]


def test_generation_switch_is_atomic_and_old_ones_pruned(corpus, tmp_path):
    ix_dir = tmp_path / "ix"
    first = build_indexes(corpus, ix_dir, jobs=1).generation
    opened = open_current(ix_dir)
    second = build_indexes(corpus, ix_dir, jobs=1).generation
    assert first != second
    assert generations.current_generation(ix_dir) == second
    # A reader that opened the first generation still answers from it.
    assert slugs(opened, "Kontoeinstellungen", "de-DE") == [("pw", "de-DE")]
    opened.close()
    assert not list(ix_dir.glob(".build-*"))
    third = build_indexes(corpus, ix_dir, jobs=1).generation
    removed = generations.prune(ix_dir, keep=2, grace_seconds=0)
    assert removed == [first]
    gens = {p.name for p in ix_dir.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert gens == {second, third}  # (.article-cache is kept between builds)


def test_partial_build_carries_other_locales_over(corpus, tmp_path):
    ix_dir = tmp_path / "ix"
    build_indexes(corpus, ix_dir, jobs=1)
    report = build_indexes(corpus, ix_dir, locales=["de-DE"], jobs=1)
    assert set(report.locales) == {"de-DE"}
    with open_current(ix_dir) as ix:
        assert set(ix.locales) == {"de-DE", "ja-JP", "zh-TW", "en-US"}
        assert slugs(ix, "帳戶", "zh-TW") == [("pw", "zh-TW")]


def test_failed_build_leaves_serving_generation(corpus, tmp_path, monkeypatch):
    ix_dir = tmp_path / "ix"
    good = build_indexes(corpus, ix_dir, jobs=1).generation

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("helpapi.indexer.document_for", explode)
    with pytest.raises(BuildError, match=r"indexing de-DE/pw\.md failed: RuntimeError: disk full"):
        build_indexes(corpus, ix_dir, jobs=1)
    assert generations.current_generation(ix_dir) == good
    assert not list(ix_dir.glob(".build-*"))
    with open_current(ix_dir) as ix:
        assert slugs(ix, "Kontoeinstellungen", "de-DE") == [("pw", "de-DE")]


@pytest.mark.parametrize(
    ("locales", "message"),
    [(["xx-XX"], "not in corpus"), (None, "no locale folders")],
)
def test_bad_build_requests(tmp_path, corpus, locales, message):
    target = corpus if locales else tmp_path / "empty"
    target.mkdir(exist_ok=True)
    with pytest.raises(BuildError, match=message):
        build_indexes(target, tmp_path / "ix", locales=locales, jobs=1)


def test_progress_is_reported(corpus, tmp_path):
    seen = []
    build_indexes(corpus, tmp_path / "ix", jobs=1, progress=lambda *a: seen.append(a))
    assert ("de-DE", 1, 1) in seen and ("en-US", 1, 1) in seen
