"""Shared fixtures: a real index of the bundled corpus, an app on it, a tiny hand-made corpus."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpapi import create_app
from helpapi.indexer import build_indexes
from helpapi.search import open_current

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _scrub_env(monkeypatch):
    """Tests never see the developer's HELPAPI_* settings."""
    import os

    for key in list(os.environ):
        if key.startswith("HELPAPI_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory) -> Path:
    """The bundled sample corpus, indexed once per test session (read-only for tests)."""
    index_dir = tmp_path_factory.mktemp("index")
    build_indexes(CORPUS, index_dir, jobs=2)
    return index_dir


@pytest.fixture(scope="session")
def ixset(corpus_index):
    """The open IndexSet of the session's corpus index."""
    with open_current(corpus_index) as ix:
        yield ix


@pytest.fixture
def app(corpus_index):
    """A Flask app serving the session's corpus index."""
    app = create_app({"TESTING": True, "INDEX_DIR": str(corpus_index), "CORPUS_DIR": str(CORPUS)})
    yield app
    app.extensions["helpapi.indexes"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


SXS = (
    '<span data-ttu-id="a-{n}">{local}</span>'
    '<span class="sxs-lookup"><span data-stu-id="a-{n}">{english}</span></span>'
)


def sxs_article(title, english_title, sentences, assetid=None, extra_meta=""):
    """Text of a side-by-side article: sentences are (localized, English) pairs."""
    meta = f"title: {title}\n"
    if assetid:
        meta += f"ms.assetid: {assetid}\n"
    meta += extra_meta
    head = SXS.format(n=1, local=title, english=english_title)
    body = " ".join(
        SXS.format(n=i + 2, local=loc, english=en) for i, (loc, en) in enumerate(sentences)
    )
    return f"---\n{meta}ms.date: 05/28/2021\n---\n# {head}\n\n{body}\n"


@pytest.fixture
def make_corpus(tmp_path):
    """Write ``{locale: {slug: text}}`` into a corpus folder and return its path."""

    def make(files: dict[str, dict[str, str]], root: Path | None = None) -> Path:
        root = root or tmp_path / "corpus"
        for locale, articles in files.items():
            for slug, text in articles.items():
                path = root / locale / f"{slug}.md"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, "utf-8")
        return root

    return make


@pytest.fixture
def copy_corpus(tmp_path):
    """A writable copy of part of the bundled corpus: ``copy_corpus(["de-DE"], 20)``."""

    def copy(locales, limit=None) -> Path:
        root = tmp_path / "corpus-copy"
        for loc in locales:
            files = sorted((CORPUS / loc).rglob("*.md"))[:limit]
            for f in files:
                dest = root / loc / f.relative_to(CORPUS / loc)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, dest)
        return root

    return copy
