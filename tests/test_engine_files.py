"""The engine's files are a versioned, required part of a generation (issue 14, item 2), and
Whoosh's files hold no helpapi class (a renamed class must not orphan an index)."""

from __future__ import annotations

import io
import pickle
import shutil
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage

from helpapi import create_app
from helpapi import generations
from helpapi import memindex
from helpapi.analysis import grams_analyzer
from helpapi.analysis import stems_analyzer
from helpapi.analysis import words_analyzer
from helpapi.corpus import parse_text
from helpapi.indexer import BuildError
from helpapi.indexer import build_indexes
from helpapi.schema import analyze_document
from helpapi.schema import document_for
from helpapi.search import IndexSet

from .conftest import build_files
from .conftest import serving_generation
from .conftest import sxs_article

FILES = {
    "de-DE": {
        "a": sxs_article("Titel Apfel", "Title apple", [("Text Apfel.", "Text apple.")]),
        "b": sxs_article("Titel Birne", "Title pear", [("Text Birne.", "Text pear.")]),
    },
    "fr-FR": {
        "a": sxs_article("Titre pomme", "Title apple", [("Texte pomme.", "Text apple.")]),
    },
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_files(tmp_path_factory, "engine-files", FILES)


@pytest.fixture
def index(built, tmp_path):
    """A private copy of the built index (same generation name)."""
    shutil.copytree(built[1], tmp_path / "ix")
    return tmp_path / "ix"


def _old_version(path: Path) -> None:
    """Rewrite ``path`` as a postings file of another version (same size: only the header)."""
    raw = path.read_bytes()
    new = f'"version": {memindex.VERSION}'.encode()
    old = f'"version": {memindex.VERSION + 1}'.encode()
    assert len(new) == len(old)
    path.write_bytes(raw.replace(new, old, 1))


def _rerecord(gen: Path) -> None:
    """Record the locale files as they are now (a generation written like that by some
    helpapi): only the engine file's contents are wrong, not the generation's bookkeeping."""
    meta = generations.read_meta(gen)
    for loc in meta["locales"]:
        meta["locales"][loc]["files"] = generations.record_files(gen / loc)
    generations.write_meta(gen, meta)


def _answers(index: Path, corpus: Path, routes) -> dict:
    app = create_app({"TESTING": True, "INDEX_DIR": str(index), "CORPUS_DIR": str(corpus)})
    client = app.test_client()
    try:
        return {r: (client.get(r).status_code, client.get(r).get_json()) for r in routes}
    finally:
        app.extensions["helpapi.indexes"].close()


ROUTES = (
    "/readyz",
    "/v1/search?q=Apfel&locale=de-DE",
    "/v1/search?q=apple&locale=en-US",
    "/v1/articles/a?locale=de-DE",
    "/healthz",
)


@pytest.mark.parametrize("damage", ["missing", "old version"])
def test_a_locale_without_a_servable_postings_file_is_not_served(index, built, damage):
    gen = serving_generation(index)
    path = gen / "de-DE" / memindex.FILENAME
    if damage == "missing":
        path.unlink()
    else:
        _old_version(path)
    _rerecord(gen)
    answers = _answers(index, built[0], ROUTES)
    for route, (status, body) in answers.items():
        assert status != 500, (route, body)
    status, body = answers["/readyz"]
    assert status == 503
    reason = body["error"]["locales"]["de-DE"]
    assert reason.startswith("postings.bin: ")
    assert "missing" in reason if damage == "missing" else "version" in reason
    # The message names the fix.
    assert "helpapi index build" in body["error"]["message"]
    # Not served: German answers from English, as for any locale that is not indexed.
    status, body = answers["/v1/search?q=Apfel&locale=de-DE"]
    assert status == 200 and body["locale"] == "en-US" and body["fallback"] is True
    assert answers["/v1/search?q=apple&locale=en-US"][0] == 200
    with IndexSet(index, gen.name) as ixset:
        assert "de-DE" not in ixset.locales and "de-DE" in ixset.damaged
        assert "de-DE" not in ixset.mem


def test_memindex_refuses_a_missing_or_old_file(index):
    folder = serving_generation(index) / "de-DE"
    _old_version(folder / memindex.FILENAME)
    with pytest.raises(memindex.DamagedPostings, match="helpapi index build"):
        memindex.MemIndex.open(folder)
    (folder / memindex.FILENAME).unlink()
    with pytest.raises(memindex.DamagedPostings, match="missing"):
        memindex.MemIndex.open(folder)


def test_the_build_refuses_a_generation_without_engine_files(built, tmp_path, monkeypatch):
    index = tmp_path / "ix"
    shutil.copytree(built[1], index)
    serving = (index / "CURRENT").read_text()

    def no_postings(self, path, reader):
        pass  # a writer that leaves no postings.bin

    monkeypatch.setattr(memindex.Recorder, "write", no_postings)
    with pytest.raises(BuildError, match=r"de-DE: postings\.bin: missing"):
        build_indexes(built[0], index, locales=["de-DE"], jobs=1)
    # The serving generation stays, and nothing half-built is left.
    assert (index / "CURRENT").read_text() == serving
    assert not list(index.glob(".build-*"))


def test_a_carried_locale_with_an_old_postings_file_is_rebuilt(index, built):
    gen = serving_generation(index)
    _old_version(gen / "fr-FR" / memindex.FILENAME)
    _rerecord(gen)
    # Only de-DE asked for: fr-FR would be carried over, but it is not servable: rebuilt.
    report = build_indexes(built[0], index, locales=["de-DE"], jobs=1)
    assert set(report.locales) == {"de-DE", "fr-FR"}
    with IndexSet(index, report.generation) as ixset:
        assert ixset.damaged == {} and "fr-FR" in ixset.locales


# Python's own modules that Whoosh's pickles use: builtins (also by their Python 2 name, as
# Whoosh writes protocol 2), RegexTokenizer's compiled pattern, the segments' defaultdicts.
_STDLIB = {"builtins", "__builtin__", "re", "collections", "copyreg", "copy_reg"}


class _WhooshOnly(pickle.Unpickler):
    """Unpickles only Whoosh's classes and the standard library's (never a helpapi one)."""

    def find_class(self, module, name):
        if module in _STDLIB or module == "whoosh" or module.startswith("whoosh."):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not Whoosh's")


def test_whoosh_files_hold_no_helpapi_class(built):
    gen = serving_generation(built[1])
    tocs = sorted(gen.glob("*/_MAIN_*.toc"))
    assert len(tocs) == 3
    for toc in tocs:
        raw = toc.read_bytes()
        assert b"helpapi" not in raw, toc
        # Read as whoosh.index.TOC.read does, with only Whoosh's classes allowed.
        stream = FileStorage(str(toc.parent)).open_file(toc.name)
        try:
            for _ in range(3):
                stream.read_varint()  # int, long, float sizes
            stream.read_int()  # byte order check
            stream.read_int()  # TOC version
            for _ in range(3):
                stream.read_varint()  # Whoosh release
            schema = _WhooshOnly(io.BytesIO(stream.read_string())).load()
            stream.read_int()  # generation
            stream.read_int()
            segments = _WhooshOnly(stream.file).load()
        finally:
            stream.close()
        assert {"text", "title", "grams", "title_grams", "stems"} <= set(schema.names())
        assert segments, toc


CORPUS = Path(__file__).resolve().parent.parent / "corpus"
CHAINS = {"text": "words", "title": "words", "grams": "grams", "title_grams": "grams"}


def _separately(doc: dict, locale: str) -> dict:
    """Each field analyzed on its own, as Whoosh analyzed them before (the reference)."""
    chains = {"words": words_analyzer(locale), "grams": grams_analyzer()}
    out = {
        f: [(t.text, t.pos) for t in chains[c](doc[f], positions=True, mode="index")]
        for f, c in CHAINS.items()
    }
    out["stems"] = [t.text for t in stems_analyzer(locale)(doc["stems"], mode="index")]
    return out


EDGE = [
    ("de-DE", "---\ntitle: Outlook.com Konto\n---\n\nÖffnen Sie outlook.com und l'app.\n"),
    ("fr-FR", "---\ntitle: L'utilisateur\n---\n\n"),  # no body
    ("ja-JP", "---\ntitle: 通話のレコーディング\n---\n\nTeams 通話の設定 𠮷野家 Allow_Recording\n"),
    ("th-TH", "---\ntitle: การตั้งค่า\n---\n\nเปิดการตั้งค่า Outlook 8326.2146\n"),
    ("de-DE", "Kein Titel, nur Text.\n"),
]


@pytest.mark.parametrize("locale, text", EDGE)
def test_analyzed_once_equals_each_field_analyzed_alone(locale, text):
    doc = document_for(parse_text(text, locale, "edge"), locale)
    assert analyze_document(doc, locale) == _separately(doc, locale)


def test_analyzed_once_equals_each_field_analyzed_alone_on_the_corpus():
    checked = 0
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.md"))[:15]:
            article = parse_text(path.read_text("utf-8"), folder.name, path.stem)
            doc = document_for(article, folder.name)
            assert analyze_document(doc, folder.name) == _separately(doc, folder.name), path
            checked += 1
    assert checked > 50


def test_whoosh_indexes_helpapi_tokens_and_positions(ixset):
    # The Whoosh index is an index of the ICU-analyzed text: the same postings, positions
    # included, as postings.bin (which the analyzers' tokens fill directly).
    for locale in ixset.locales:
        reader = ixset.searcher(locale).reader()
        mem = ixset.mem[locale]
        for field in ("text", "title", "grams", "title_grams"):
            fp = mem.fields[field]
            assert len(fp.terms) == len(list(reader.lexicon(field))), (locale, field)
            for tid in range(0, len(fp.terms), max(1, len(fp.terms) // 25)):
                start, end = fp.span(tid)
                ours = [(fp.docs[p], list(fp.positions_at(p))) for p in range(start, end)]
                m = reader.postings(field, fp.term(tid))
                theirs = []
                while m.is_active():
                    theirs.append((m.id(), m.value_as("positions")))
                    m.next()
                assert ours == theirs, (locale, field, fp.term(tid))
