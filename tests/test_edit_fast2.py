"""Edit to searchable (issue #13 item 5): the work of an incremental build after one edited
article, counted (never timed).

* Only the edited article is parsed, rendered and analyzed again; the others come from the
  article cache, and en-US (whose English did not change) is carried over, not rebuilt.
* A locale's build leaves nothing for the cyclic garbage collector: Whoosh's temporary storage
  keeps a caught ``OSError`` in a local (a reference cycle through its traceback), and the
  frames of that cycle reached up to the locale build's own frame, so every article's
  documents, tokens and postings (about a million objects on corpus-scale de-DE) stayed alive
  until a collection walked them all (0.5-0.7 s of CPU per locale).
"""

from __future__ import annotations

import gc
import shutil
import weakref

from helpapi import indexer
from helpapi import memindex
from helpapi import schema
from helpapi.indexer import build_indexes
from helpapi.indexer import build_locale

from .test_build_fast2 import CORPUS

N = 40


def _corpus(tmp_path):
    root = tmp_path / "corpus"
    (root / "de-DE").mkdir(parents=True)
    for path in sorted((CORPUS / "de-DE").glob("*.md"))[:N]:
        shutil.copy(path, root / "de-DE" / path.name)
    return root


def _count(monkeypatch, module, name, counts):
    real = getattr(module, name)

    def counted(*args, **kwargs):
        counts[name] = counts.get(name, 0) + 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)


def test_one_edit_parses_renders_and_analyzes_only_that_article(tmp_path, monkeypatch):
    corpus, index = _corpus(tmp_path), tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    path = sorted((corpus / "de-DE").glob("*.md"))[7]
    text = path.read_text(encoding="utf-8")
    # Inside a localized sentence: the article's English (what en-US holds) is unchanged.
    at = text.index('<span data-ttu-id="')
    at = text.index(">", at) + 1
    path.write_text(text[:at] + "Zusatzwortquasselstrippe " + text[at:], encoding="utf-8")
    counts: dict[str, int] = {}
    _count(monkeypatch, indexer, "parse_article", counts)
    _count(monkeypatch, schema, "render_markdown", counts)
    _count(monkeypatch, indexer, "document_for", counts)
    _count(monkeypatch, indexer, "analyze_document", counts)
    report = build_indexes(corpus, index, jobs=1, incremental=True)
    assert sorted(report.locales) == ["de-DE"]  # en-US carried over
    assert report.locales["de-DE"].cached == N - 1
    assert counts == {
        "parse_article": 1,
        "render_markdown": 1,
        "document_for": 1,
        "analyze_document": 1,
    }


def test_a_locale_build_leaves_no_cyclic_garbage(tmp_path, monkeypatch):
    corpus = _corpus(tmp_path)
    recorders = []

    class Watched(memindex.Recorder):
        def __init__(self):
            super().__init__()
            recorders.append(weakref.ref(self))

    monkeypatch.setattr(memindex, "Recorder", Watched)
    was = gc.isenabled()
    gc.disable()  # only reference counting frees anything below
    try:
        gc.collect()
        build_locale(str(corpus), "de-DE", str(tmp_path / "out"), cache_dir=str(tmp_path))
        assert len(recorders) == 1
        # The recorder (and with it every document's postings) went with the build's frame.
        assert recorders[0]() is None
    finally:
        if was:
            gc.enable()
