"""Edit to searchable (issue #13 item 5): an incremental build of a locale where a few articles
changed in place copies the previous segment's posting bytes for the terms no changed article
holds (:class:`helpapi.whoosh_writer.SegmentReuse`). What it writes, and what search serves from
it, must be exactly what a build from scratch of the same corpus gives; a damaged or unverified
previous generation is never reused."""

from __future__ import annotations

import json
import shutil

import pytest

from helpapi import generations
from helpapi import memindex
from helpapi import whoosh_writer
from helpapi.indexer import DOCS_FILE
from helpapi.indexer import build_indexes
from helpapi.search import find_article
from helpapi.search import open_current
from helpapi.search import search

from .conftest import index_files
from .test_build_fast2 import CORPUS

# Every de-DE article of the dev corpus (141): the commonest terms span two posting blocks.
N = 141
QUERIES = [
    "Konto",
    "Kennwort ändern",
    "Zusatzwortquasselstrippe",
    "zusatzwortquasselstrip",  # a typo: the fuzzy tables
    '"Microsoft 365"',
    "Einstellungen",
    "Outlook",
    "outl",  # a word being typed (prefix)
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("edit") / "corpus"
    (root / "de-DE").mkdir(parents=True)
    for path in sorted((CORPUS / "de-DE").glob("*.md"))[:N]:
        shutil.copy(path, root / "de-DE" / path.name)
    return root


def _copy(corpus, tmp_path):
    out = tmp_path / "corpus"
    shutil.copytree(corpus, out)
    return out


def _edit(corpus, n: int, extra: str = "Zusatzwortquasselstrippe steht hier.") -> str:
    """Edit the ``n``-th de-DE article: drop its last line (words it may alone hold) and add
    ``extra``. Returns its slug."""
    path = sorted((corpus / "de-DE").glob("*.md"))[n]
    lines = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    path.write_text("\n".join(lines[:-1]) + f"\n\n{extra}\n", encoding="utf-8")
    return path.stem


def _counting(monkeypatch) -> list[int]:
    """Counts the terms whose postings were copied (one entry per reusing build)."""
    copied: list[int] = []
    real = whoosh_writer.SegmentReuse.close

    def close(self):
        copied.append(self.copied)
        real(self)

    monkeypatch.setattr(whoosh_writer.SegmentReuse, "close", close)
    return copied


def _answers(index_dir, locale="de-DE"):
    ixset = open_current(index_dir)
    try:
        out = {q: search(ixset, q, locale, limit=20) for q in QUERIES}
        out["prefix"] = search(ixset, "einst", locale, limit=20, prefix=True)
        return out
    finally:
        ixset.close()


def test_an_edited_article_reuses_the_segment_and_serves_what_a_fresh_build_serves(
    corpus, tmp_path, monkeypatch
):
    corpus = _copy(corpus, tmp_path)
    ix, fresh = tmp_path / "ix", tmp_path / "fresh"
    build_indexes(corpus, ix, jobs=1)
    copied = _counting(monkeypatch)
    patched = []  # fuzzy tables patched from the previous postings.bin, not rebuilt
    real_patch = memindex._patched_fuzzy

    def patch(*args):
        table = real_patch(*args)
        patched.append(table is not None)
        return table

    monkeypatch.setattr(memindex, "_patched_fuzzy", patch)
    for n in (3, 130):  # two edits in a row: the second reuses the first one's segment
        slug = _edit(corpus, n)
        report = build_indexes(corpus, ix, jobs=1, incremental=True)
        assert "de-DE" in report.locales
        shutil.rmtree(fresh, ignore_errors=True)
        build_indexes(corpus, fresh, jobs=1)
        assert index_files(ix, "de-DE") == index_files(fresh, "de-DE")
        assert _answers(ix) == _answers(fresh)
        found = _answers(ix)["Zusatzwortquasselstrippe"]["results"]
        assert slug in [h["slug"] for h in found]
    # Most terms were copied, not written again; both fuzzy tables were patched both times.
    assert len(copied) == 2 and all(c > 1000 for c in copied), copied
    assert patched == [True] * 4


def test_the_fetched_article_is_the_edited_one(corpus, tmp_path):
    corpus = _copy(corpus, tmp_path)
    ix = tmp_path / "ix"
    build_indexes(corpus, ix, jobs=1)
    slug = _edit(corpus, 7, "Ein ganz neuer Satz mit Quasselwort.")
    build_indexes(corpus, ix, jobs=1, incremental=True)
    ixset = open_current(ix)
    try:
        article = find_article(ixset, slug, "de-DE")
    finally:
        ixset.close()
    assert "Quasselwort" in json.dumps(article, ensure_ascii=False)


def test_an_added_or_deleted_article_writes_every_term(corpus, tmp_path, monkeypatch):
    corpus = _copy(corpus, tmp_path)
    ix, fresh = tmp_path / "ix", tmp_path / "fresh"
    build_indexes(corpus, ix, jobs=1)
    copied = _counting(monkeypatch)
    paths = sorted((corpus / "de-DE").glob("*.md"))
    shutil.copy(paths[5], corpus / "de-DE" / "aaa-new-article.md")  # numbers shift
    paths[9].unlink()
    build_indexes(corpus, ix, jobs=1, incremental=True)
    build_indexes(corpus, fresh, jobs=1)
    assert copied == []
    assert index_files(ix, "de-DE") == index_files(fresh, "de-DE")
    assert _answers(ix) == _answers(fresh)


@pytest.mark.parametrize("victim", ["seg", DOCS_FILE])
def test_a_damaged_previous_generation_is_not_reused(corpus, tmp_path, monkeypatch, victim):
    corpus = _copy(corpus, tmp_path)
    ix, fresh = tmp_path / "ix", tmp_path / "fresh"
    build_indexes(corpus, ix, jobs=1)
    _edit(corpus, 2)
    build_indexes(corpus, ix, jobs=1, incremental=True)  # its folder has docs.json
    folder = ix / generations.current_generation(ix) / "de-DE"
    target = next(p for p in folder.iterdir() if p.name == victim or p.suffix == f".{victim}")
    data = bytearray(target.read_bytes())
    if victim == DOCS_FILE:
        # A record that claims every article unchanged (and stays valid JSON).
        record = json.loads(data)
        record["docs"] = [[slug, "x"] for slug, _ in record["docs"]]
        data = bytearray(json.dumps(record).encode())
    else:
        data[len(data) // 2] ^= 0xFF
    target.unlink()  # a new inode: the older generations keep their own bytes
    target.write_bytes(bytes(data))
    copied = _counting(monkeypatch)
    _edit(corpus, 40)
    build_indexes(corpus, ix, jobs=1, incremental=True)
    build_indexes(corpus, fresh, jobs=1)
    assert copied == []  # verified against meta.json, found damaged: rebuilt from the files
    assert index_files(ix, "de-DE") == index_files(fresh, "de-DE")


def test_a_full_build_never_reuses(corpus, tmp_path, monkeypatch):
    corpus = _copy(corpus, tmp_path)
    ix = tmp_path / "ix"
    build_indexes(corpus, ix, jobs=1)
    _edit(corpus, 2)
    build_indexes(corpus, ix, jobs=1, incremental=True)
    copied = _counting(monkeypatch)
    _edit(corpus, 4)
    build_indexes(corpus, ix, jobs=1)
    assert copied == []


def test_a_record_of_other_code_is_not_used(corpus, tmp_path, monkeypatch):
    corpus = _copy(corpus, tmp_path)
    ix = tmp_path / "ix"
    build_indexes(corpus, ix, jobs=1)
    _edit(corpus, 2)
    build_indexes(corpus, ix, jobs=1, incremental=True)
    from helpapi import indexer

    monkeypatch.setattr(indexer, "_reuse_fingerprint", lambda: "another version")
    copied = _counting(monkeypatch)
    _edit(corpus, 4)
    build_indexes(corpus, ix, jobs=1, incremental=True)
    assert copied == []
