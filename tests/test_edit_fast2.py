"""Edit to searchable (issue #13 item 5): the work of an incremental build after one edited
article, counted (never timed).

Only the edited article is parsed, rendered and analyzed again; the others come from the
article cache (their file key and linked English unchanged), and en-US, whose English did not
change, is carried over rather than rebuilt. (A profile once suggested that an edit re-rendered
the whole locale and rebuilt en-US: this pins down that it does not.)
"""

from __future__ import annotations

import shutil

from helpapi import indexer
from helpapi import schema
from helpapi.indexer import build_indexes

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
