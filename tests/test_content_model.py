"""The content model on hand-written fixture corpora (tests/data/corpora/): plain Markdown with
an ``en-US/`` source folder, HTML exports, a mixed corpus (sxs, Markdown and HTML locales in one
build) and a side-by-side-only corpus.

Each fixture builds, answers native and English queries, serves articles with their
translations and English fallback, and keeps the English index English: no word of a localized
plain or HTML file's own text reaches it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpapi import create_app
from helpapi.analysis import analyze
from helpapi.corpus import markdown_to_text
from helpapi.corpus import parse_article
from helpapi.indexer import BuildError
from helpapi.indexer import build_indexes
from helpapi.schema import ENGLISH
from helpapi.search import find_article
from helpapi.search import open_current
from helpapi.search import search

CORPORA = Path(__file__).resolve().parent / "data" / "corpora"
FIXTURES = ("markdown", "html", "mixed", "sxs")

# Per fixture: a native query per locale (query, locale, slug it must find), an English query
# asked in de-DE that must find the German article through its (linked or inline) English,
# and words of localized files' own text that the English index must not hold.
NATIVE = {
    "markdown": [
        ("Passwort vergessen", "de-DE", "passwort-zuruecksetzen"),
        ("パスワード", "ja-JP", "pasuwado-risetto"),
        ("license key", "en-US", "install-app"),
    ],
    "html": [
        ("Datensätze", "de-DE", "daten-exportieren"),
        ("导出数据", "zh-CN", "export-data"),
        ("spreadsheet", "en-US", "export-data"),
    ],
    "mixed": [
        ("Kennwort", "de-DE", "anmelden"),
        ("パスワード", "ja-JP", "sign-in"),
        ("mot de passe", "fr-FR", "connexion"),
        ("authenticator", "en-US", "two-step"),
    ],
    "sxs": [
        ("Bericht drucken", "de-DE", "print-report"),
        ("印刷", "ja-JP", "report-printing"),
        ("dark color scheme", "en-US", "dark-mode"),
    ],
}
ENGLISH_IN_GERMAN = {
    "markdown": ("reset password", "passwort-zuruecksetzen"),
    "html": ("export your data", "daten-exportieren"),
    "mixed": ("sign in to your account", "anmelden"),
    "sxs": ("print a report", "print-report"),
}
FOREIGN_WORDS = {
    "markdown": ["passwort", "zurücksetzen", "vergessen", "lizenzschlüssel", "パスワード"],
    "html": ["exportieren", "datensätze", "startseite", "verfolgung", "导出", "数据"],
    "mixed": ["kennwort", "anmeldeseite", "connexion", "identifiant", "パスワード", "サインイン"],
    "sxs": ["bericht", "drucken", "dunklen", "印刷", "レポート"],
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every fixture corpus built once: ``{name: IndexSet}``."""
    out = {}
    for name in FIXTURES:
        index = tmp_path_factory.mktemp(f"ix-{name}")
        report = build_indexes(CORPORA / name, index, jobs=1)
        assert all(not s.errors for s in report.locales.values()), report.locales
        out[name] = open_current(index)
    yield out
    for ixset in out.values():
        ixset.close()


def slugs(answer) -> list[tuple[str, str]]:
    return [(h["locale"], h["slug"]) for h in answer["results"]]


def en_terms(ixset) -> set[str]:
    reader = ixset.searcher(ENGLISH).reader()
    return {t.decode("utf-8") for t in reader.lexicon("text")}


def words(text: str) -> set[str]:
    return {t["text"] for t in analyze(text, ENGLISH)}


# --- every fixture: build, search, fetch --------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_builds_every_locale_and_english(built, name):
    ixset = built[name]
    folders = sorted(p.name for p in (CORPORA / name).iterdir() if p.is_dir())
    assert sorted({*folders, ENGLISH}) == sorted(ixset.locales)


@pytest.mark.parametrize("name", FIXTURES)
def test_native_words_find_the_native_article(built, name):
    for query, locale, slug in NATIVE[name]:
        answer = search(built[name], query, locale)
        assert answer["locale"] == locale and not answer["fallback"], (query, answer)
        assert (locale, slug) in slugs(answer), (query, locale)


@pytest.mark.parametrize("name", FIXTURES)
def test_english_query_in_german_finds_the_german_article(built, name):
    query, slug = ENGLISH_IN_GERMAN[name]
    answer = search(built[name], query, "de-DE")
    assert not answer["fallback"]
    assert slugs(answer)[0] == ("de-DE", slug)


@pytest.mark.parametrize(
    ("name", "ident", "locale", "slug", "locales"),
    [
        # translation_of links a German file with another slug
        ("markdown", "reset-password", "de-DE", "passwort-zuruecksetzen", None),
        # assetid links a Japanese file with another slug
        ("markdown", "kb-1001", "ja-JP", "pasuwado-risetto", None),
        ("markdown", "reset-password", "ja-JP", "pasuwado-risetto", None),
        # same slug
        ("markdown", "install-app", "de-DE", "install-app", ["de-DE", "en-US"]),
        ("html", "export-data", "de-DE", "daten-exportieren", ["de-DE", "en-US", "zh-CN"]),
        ("html", "share-folder", "zh-CN", "share-folder", ["en-US", "zh-CN"]),
        ("mixed", "sign-in", "fr-FR", "connexion", ["de-DE", "en-US", "fr-FR", "ja-JP"]),
        ("mixed", "sign-in", "de-DE", "anmelden", None),
        ("mixed", "kb-2001", "ja-JP", "sign-in", None),
        ("sxs", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "ja-JP", "report-printing", None),
        ("sxs", "dark-mode", "ja-JP", "dark-mode", ["de-DE", "en-US", "ja-JP"]),
    ],
)
def test_article_fetch_follows_the_link(built, name, ident, locale, slug, locales):
    found = find_article(built[name], ident, locale)
    assert (found["locale"], found["doc"]["slug"], found["fallback"]) == (locale, slug, False)
    if locales is not None:
        assert found["locales"] == locales


def test_locales_list_every_linked_translation(built):
    found = find_article(built["markdown"], "passwort-zuruecksetzen", "de-DE")
    assert found["locales"] == ["de-DE", "en-US", "ja-JP"]
    # Asked in English by the German slug: the linked English source, not a fallback.
    found = find_article(built["markdown"], "passwort-zuruecksetzen", ENGLISH)
    assert (found["locale"], found["doc"]["slug"]) == (ENGLISH, "reset-password")


@pytest.mark.parametrize(
    ("name", "ident", "locale"),
    [
        ("markdown", "billing/change-plan", "de-DE"),
        ("markdown", "install-app", "ja-JP"),
        ("html", "share-folder", "de-DE"),
        ("mixed", "two-step", "fr-FR"),
        ("mixed", "offline-mode", "de-DE"),  # English only from ja-JP's sxs spans
        ("sxs", "print-report", "fr-FR"),  # a locale that is not indexed at all
    ],
)
def test_missing_translation_falls_back_to_english(built, name, ident, locale):
    found = find_article(built[name], ident, locale)
    assert found["locale"] == ENGLISH and found["fallback"]


def test_sxs_english_fills_the_english_index_where_the_source_folder_has_no_file(built):
    answer = search(built["mixed"], "offline mode", ENGLISH)
    assert slugs(answer) == [(ENGLISH, "offline-mode")]
    doc = find_article(built["mixed"], "offline-mode", ENGLISH)["doc"]
    assert doc["display_title"] == "Use offline mode"
    assert "オフライン" not in doc["body"] + doc["markdown"]


# --- the English index holds English (source) text only ----------------------------------


def _english_and_localized_words(root: Path) -> tuple[set[str], set[str]]:
    """Words of all English text of a corpus (source files, sxs English spans), and words of
    the localized plain and HTML files' own text."""
    english, localized = set(), set()
    for locale_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(p for p in locale_dir.rglob("*") if p.is_file()):
            slug = path.relative_to(locale_dir).with_suffix("").as_posix()
            article = parse_article(path, locale_dir.name, slug)
            if locale_dir.name == ENGLISH:
                english |= words(f"{article.title}\n{article.body}")
            elif article.has_sxs:
                english |= words(f"{article.english_title}\n{article.english_body}")
            else:
                localized |= words(f"{article.title}\n{article.body}")
    return english, localized


@pytest.mark.parametrize("name", FIXTURES)
def test_english_index_holds_english_text_only(built, name):
    terms = en_terms(built[name])
    english, localized = _english_and_localized_words(CORPORA / name)
    # Every term of the English index comes from some English text ...
    assert terms <= english, sorted(terms - english)
    # ... so no word that only a localized plain/HTML file has is in it ...
    assert not (localized - english) & terms
    # ... and, named outright, the distinctive words of the translations are not.
    assert not set(FOREIGN_WORDS[name]) & terms


@pytest.mark.parametrize("name", FIXTURES)
def test_foreign_words_asked_in_english_find_no_translation(built, name):
    for word in [*FOREIGN_WORDS[name], "Passwort"]:
        answer = search(built[name], word, ENGLISH)
        for hit in answer["results"]:
            # A spelling correction may find an English article ("Passwort" ~ "password"),
            # never a translation's text.
            assert hit["locale"] == ENGLISH
            assert not {word.lower()} & words(f"{hit['title']} {hit.get('snippet', '')}")


def test_passwort_in_english_finds_no_german_article(built):
    assert search(built["html"], "Passwort", ENGLISH)["total"] == 0
    assert search(built["sxs"], "Passwort", ENGLISH)["total"] == 0
    answer = search(built["markdown"], "Passwort", ENGLISH)
    assert slugs(answer) in ([], [(ENGLISH, "reset-password")])


# --- HTML articles ----------------------------------------------------------------------


def test_html_title_from_title_element_or_first_h1(built):
    ixset = built["html"]
    assert find_article(ixset, "export-data", ENGLISH)["doc"]["display_title"] == "Export your data"
    # share-folder.htm has no <title>: its first <h1>
    assert find_article(ixset, "share-folder", ENGLISH)["doc"]["display_title"] == "Share a folder"
    assert find_article(ixset, "share-folder", "zh-CN")["doc"]["display_title"] == "共享文件夹"
    assert find_article(ixset, "export-data", "de-DE")["doc"]["display_title"] == (
        "Daten exportieren"
    )


@pytest.mark.parametrize(
    "word",
    [
        "headerbrand",  # <header>
        "navhome",  # <nav>
        "footerlegal",  # <footer>
        "scripttracker",  # <script>
        "analyticsbeacon",
        "stylecolor",  # <style>
        "verfolgung",  # <script> of the German file
        "startseite",  # <nav> of the German file
    ],
)
def test_html_non_content_elements_are_not_searchable(built, word):
    for locale in (ENGLISH, "de-DE"):
        assert search(built["html"], word, locale)["total"] == 0
    assert word not in en_terms(built["html"])


@pytest.mark.parametrize(
    "word", ["guides", "exportbutton", "images", "png", "sharingpolicy", "href", "html", "home"]
)
def test_html_link_urls_and_image_paths_are_not_searchable(built, word):
    assert word not in en_terms(built["html"])
    assert search(built["html"], word, ENGLISH)["total"] == 0


def test_html_link_text_and_alt_text_are_searchable(built):
    assert slugs(search(built["html"], "export limits", ENGLISH))[0] == (ENGLISH, "export-data")
    assert slugs(search(built["html"], "sharing policy", ENGLISH))[0] == (ENGLISH, "share-folder")


def test_html_article_serves_its_sanitized_body(built):
    doc = find_article(built["html"], "export-data", ENGLISH)["doc"]
    assert doc["markdown"] == ""
    assert "<strong>Export</strong>" in doc["html"]
    assert 'href="guides/export-limits.html"' in doc["html"]
    assert "<script" not in doc["html"] and "scripttracker" not in doc["html"]
    assert "Navhome" not in doc["html"] and "Footerlegal" not in doc["html"]
    german = find_article(built["html"], "daten-exportieren", "de-DE")["doc"]
    assert "<strong>Exportieren</strong>" in german["html"] and "verfolgung" not in german["html"]


def test_html_article_over_http_has_its_html(tmp_path):
    index = tmp_path / "ix"
    build_indexes(CORPORA / "html", index, jobs=1)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    try:
        body = app.test_client().get("/v1/articles/export-data?locale=de-DE").get_json()
    finally:
        app.extensions["helpapi.indexes"].close()
    assert body["locale"] == "de-DE" and body["slug"] == "daten-exportieren"
    assert "<strong>Exportieren</strong>" in body["html"]
    assert body["locales"] == ["de-DE", "en-US", "zh-CN"]


# --- snippets carry no Markdown markers ---------------------------------------------------


@pytest.mark.parametrize(
    ("query", "marker_free"),
    [
        ("forgot password", "choose Forgot"),  # *Forgot password* in the source
        ("billing cycle", "Open Billing"),  # _Billing_
        ("Passwort vergessen", "Contoso Sync"),  # **Contoso Sync**
    ],
)
def test_snippets_carry_no_markdown_markers(built, query, marker_free):
    locale = "de-DE" if "Passwort" in query else ENGLISH
    answer = search(built["markdown"], query, locale)
    assert answer["results"]
    snippet = answer["results"][0]["snippet"].replace("<mark>", "").replace("</mark>", "")
    for marker in ("*", "_Billing", "Billing_", "](", "**"):
        assert marker not in snippet, snippet
    assert marker_free in snippet


def test_markdown_markers_are_not_index_terms(built):
    assert not {t for t in en_terms(built["markdown"]) if "_" in t or "*" in t}


# --- bad corpora ------------------------------------------------------------------------


def _cli(*args, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPAPI_")}
    helpapi = Path(sys.executable).parent / "helpapi"
    return subprocess.run(
        [str(helpapi), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def _bad_corpus(tmp_path, kind) -> Path:
    root = tmp_path / "corpus"
    if kind == "missing":
        return root
    root.mkdir()
    if kind == "not-bcp47":
        (root / "german").mkdir()
        (root / "german" / "a.md").write_text("# Hallo\n\nText.\n", "utf-8")
    elif kind == "no-locale-folder":
        (root / "a.md").write_text("# Hello\n\nText.\n", "utf-8")
    elif kind == "empty-locale":
        (root / "de-DE").mkdir()
    return root


BAD = [
    ("missing", "does not exist"),
    ("empty", "no locale folders"),
    ("no-locale-folder", "no locale folders"),
    ("not-bcp47", "not BCP 47 locale tags: german"),
    # Locale folders without a single article: building would switch to an empty index.
    ("empty-locale", "no article files"),
]


@pytest.mark.parametrize(("kind", "message"), BAD)
def test_bad_corpus_is_a_build_error_naming_the_path(tmp_path, kind, message):
    root = _bad_corpus(tmp_path, kind)
    with pytest.raises(BuildError) as err:
        build_indexes(root, tmp_path / "ix", jobs=1)
    assert message in str(err.value) and str(root) in str(err.value)


@pytest.mark.parametrize(("kind", "message"), BAD)
def test_bad_corpus_cli_exits_1_without_traceback(tmp_path, kind, message):
    root = _bad_corpus(tmp_path, kind)
    done = _cli(
        "index", "build", "--corpus", str(root), "--index", str(tmp_path / "ix"), "--jobs", "1"
    )
    assert done.returncode == 1, done.stderr
    assert message in done.stderr and str(root) in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


# --- the crash reports ----------------------------------------------------------

PLAIN = {
    "en-US": ("reset-password", "# Reset your password\n\nChoose Forgot password to reset it.\n"),
    "de-DE": ("reset-password", "# Passwort zurücksetzen\n\nWählen Sie Passwort vergessen.\n"),
    "es-ES": ("reset-password", "# Restablecer la contraseña\n\nElija Olvidé mi contraseña.\n"),
}


def _plain_corpus(root: Path, locales) -> Path:
    for locale in locales:
        slug, text = PLAIN[locale]
        (root / locale).mkdir(parents=True)
        (root / locale / f"{slug}.md").write_text(text, "utf-8")
    return root


@pytest.mark.parametrize("jobs", [1, 2])
def test_plain_markdown_in_en_de_es_builds(tmp_path, jobs):
    # Crashed with FileExistsError on <index>/.build-g…/en-US (en-US was built twice).
    root = _plain_corpus(tmp_path / "corpus", ["en-US", "de-DE", "es-ES"])
    report = build_indexes(root, tmp_path / "ix", jobs=jobs)
    assert sorted(report.locales) == ["de-DE", "en-US", "es-ES"]
    with open_current(tmp_path / "ix") as ixset:
        assert slugs(search(ixset, "contraseña", "es-ES")) == [("es-ES", "reset-password")]
        assert slugs(search(ixset, "reset", ENGLISH)) == [(ENGLISH, "reset-password")]


def test_english_only_corpus_builds(tmp_path):
    root = _plain_corpus(tmp_path / "corpus", ["en-US"])
    report = build_indexes(root, tmp_path / "ix", jobs=2)
    assert list(report.locales) == [ENGLISH]
    with open_current(tmp_path / "ix") as ixset:
        assert slugs(search(ixset, "reset", ENGLISH)) == [(ENGLISH, "reset-password")]
        # Any other locale answers from English.
        answer = search(ixset, "reset", "de-DE")
        assert answer["fallback"] and slugs(answer) == [(ENGLISH, "reset-password")]


def test_cli_search_passwort_in_english_does_not_find_the_german_article(tmp_path):
    root = _plain_corpus(tmp_path / "corpus", ["en-US", "de-DE", "es-ES"])
    index = str(tmp_path / "ix")
    built = _cli("index", "build", "--corpus", str(root), "--index", index, "--jobs", "1")
    assert built.returncode == 0, built.stderr
    german = _cli("search", "Passwort", "--locale", "en-US", "--index", index)
    assert german.returncode == 0, german.stderr
    assert "zurücksetzen" not in german.stdout
    english = _cli("search", "reset", "--locale", "en-US", "--index", index)
    assert english.returncode == 0 and "Reset your password" in english.stdout


def test_cli_build_of_a_copy_does_not_touch_the_fixture(tmp_path):
    # The fixtures are read-only inputs: a build writes nothing into the corpus folder.
    root = tmp_path / "copy"
    shutil.copytree(CORPORA / "mixed", root)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    done = _cli(
        "index", "build", "--corpus", str(root), "--index", str(tmp_path / "ix"), "--jobs", "1"
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("choose *Forgot password*.", "choose Forgot password."),
        ("open _Billing_ now", "open Billing now"),
        ("**bold** and __strong__", "bold and strong"),
        ("*nested **bold** inside*", "nested bold inside"),
        ("see [the *guide*](a/b.md)", "see the guide"),
        ("snake_case and file_name.txt", "snake_case and file_name.txt"),
        ("5 * 3 = 15", "5 * 3 = 15"),
        ("save as \\*.oft and \\*\\*", "save as \\*.oft and \\*\\*"),
        ("call /_vti_bin/client.svc", "call /_vti_bin/client.svc"),
        ("_Dauer werden._", "Dauer werden."),
    ],
)
def test_markdown_to_text_drops_emphasis_markers(markdown, text):
    assert " ".join(markdown_to_text(markdown).split()) == text


# --- HELPAPI_LINK_BASE ------------------------------------------------------------------


def _article(index, ident, locale, **settings):
    app = create_app({"TESTING": True, "INDEX_DIR": str(index), **settings})
    try:
        resp = app.test_client().get(f"/v1/articles/{ident}?locale={locale}")
        return resp.get_json(), resp.headers.get("ETag")
    finally:
        app.extensions["helpapi.indexes"].close()


@pytest.fixture(scope="module")
def markdown_and_html_index(tmp_path_factory):
    index = tmp_path_factory.mktemp("ix-links")
    build_indexes(CORPORA / "markdown", index, jobs=1)
    html_index = tmp_path_factory.mktemp("ix-links-html")
    build_indexes(CORPORA / "html", html_index, jobs=1)
    return index, html_index


def test_link_base_resolves_relative_links_and_images(markdown_and_html_index):
    index, html_index = markdown_and_html_index
    base = "https://support.example.com/{locale}/"
    body, _ = _article(index, "reset-password", "de-DE", LINK_BASE=base)
    assert body["locale"] == "de-DE"
    assert 'href="https://support.example.com/konto.md"' in body["html"]  # ../ from the base
    body, _ = _article(index, "reset-password", "en-US", LINK_BASE=base)
    assert 'href="https://support.example.com/account.md"' in body["html"]
    assert 'src="https://support.example.com/en-US/media/sign-in.png"' in body["html"]
    body, _ = _article(html_index, "export-data", "en-US", LINK_BASE=base)
    assert 'href="https://support.example.com/en-US/guides/export-limits.html"' in body["html"]
    assert 'src="https://support.example.com/en-US/images/exportbutton.png"' in body["html"]
    # Absolute URLs stay as they are.
    body, _ = _article(html_index, "share-folder", "zh-CN", LINK_BASE=base)
    assert body["locale"] == "zh-CN"
    body, _ = _article(html_index, "share-folder", "en-US", LINK_BASE=base)
    assert 'href="https://example.com/sharingpolicy"' in body["html"]


def test_link_base_uses_the_served_locale_on_fallback(markdown_and_html_index):
    index, _ = markdown_and_html_index
    body, _ = _article(index, "reset-password", "fr-FR", LINK_BASE="https://h.example/{locale}/")
    assert body["locale"] == "en-US" and body["fallback"]
    assert 'src="https://h.example/en-US/media/sign-in.png"' in body["html"]


def test_without_link_base_links_are_unchanged(markdown_and_html_index):
    index, html_index = markdown_and_html_index
    body, tag = _article(index, "reset-password", "en-US")
    assert 'src="media/sign-in.png"' in body["html"] and 'href="../account.md"' in body["html"]
    _, other_tag = _article(index, "reset-password", "en-US", LINK_BASE="https://h.example/")
    assert tag != other_tag  # a cached copy with the other links is not reused
    body, _ = _article(html_index, "export-data", "en-US")
    assert 'href="guides/export-limits.html"' in body["html"]


def test_link_base_is_a_documented_setting():
    from helpapi.config import DEFAULTS

    assert DEFAULTS["LINK_BASE"] == ""


# --- the README's example ---------------------------------------------------------------

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example(root: Path) -> Path:
    """Write the files of README.md's "Bring your own content" example under ``root``; return
    the corpus folder (``root/my-help``). A file is a fenced block right after a line that
    names its path in backquotes (```my-help/en-US/x.md`:``)."""
    text = README.read_text("utf-8")
    section = text.split("## Bring your own content", 1)[1].split("\n## ", 1)[0]
    lines = section.split("\n")
    written = []
    for i, line in enumerate(lines):
        if not line.startswith("`my-help/") or not lines[i + 2].startswith("```"):
            continue
        rel = line[1:].split("`", 1)[0]
        end = lines.index("```", i + 3)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines[i + 3 : end]) + "\n", "utf-8")
        written.append(rel)
    assert len(written) >= 3, written
    return root / "my-help"


def test_readme_example_builds_and_answers_as_the_readme_says(tmp_path):
    corpus = readme_example(tmp_path)
    assert {p.suffix for p in corpus.rglob("*.*")} == {".md", ".html"}
    index = tmp_path / "my-index"
    report = build_indexes(corpus, index, jobs=1)
    assert not any(s.errors for s in report.locales.values())
    with open_current(index) as ixset:
        assert slugs(search(ixset, "reset password", "de-DE"))[0] == (
            "de-DE",
            "passwort-zuruecksetzen",
        )
        for hit in search(ixset, "Passwort", ENGLISH)["results"]:
            assert hit["locale"] == ENGLISH and "Passwort" not in hit["title"]
        assert "passwort" not in en_terms(ixset)
        assert slugs(search(ixset, "パスワード", "ja-JP")) == [("ja-JP", "reset-password")]
        assert slugs(search(ixset, "spreadsheet", ENGLISH)) == [(ENGLISH, "export-data")]
        assert search(ixset, "help home", ENGLISH)["total"] == 0  # <nav>
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    try:
        client = app.test_client()
        body = client.get("/v1/articles/kb-1001?locale=de-DE").get_json()
        assert body["slug"] == "passwort-zuruecksetzen"
        assert body["locales"] == ["de-DE", "en-US", "ja-JP"]
        body = client.get("/v1/articles/export-data?locale=de-DE").get_json()
        assert body["locale"] == ENGLISH and body["fallback"] is True
        assert body["title"] == "Export your data" and "<strong>Export</strong>" in body["html"]
    finally:
        app.extensions["helpapi.indexes"].close()


def test_readme_example_commands_run(tmp_path):
    corpus = readme_example(tmp_path)
    section = README.read_text("utf-8").split("## Bring your own content", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]
    outputs = []
    for argv in commands:
        assert argv[0] == "helpapi"
        done = _cli(*argv[1:], cwd=corpus.parent)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert "Passwort zurücksetzen" in outputs[1]
    assert "zurücksetzen" not in outputs[2]
    assert "パスワードをリセットする" in outputs[3]


def test_cli_build_names_folders_that_are_not_locale_tags(tmp_path):
    # Beside real locale folders, a "german/" folder is not indexed: the build says so.
    root = _plain_corpus(tmp_path / "corpus", ["en-US"])
    (root / "german").mkdir()
    (root / "german" / "a.md").write_text("# Hallo\n\nText.\n", "utf-8")
    (root / "_media").mkdir()  # "_" folders are the team's own: not mentioned
    done = _cli("index", "build", "--corpus", str(root), "--index", str(tmp_path / "ix"))
    assert done.returncode == 0, done.stderr
    assert f"skipped {root / 'german'}: not a BCP 47 locale tag" in done.stderr
    assert "_media" not in done.stderr


def test_hostile_html_shapes_parse_to_sane_text():
    """The shapes bench/parse_linear.py times (linear now; here: what they give)."""
    from helpapi.html_source import parse_html

    many_scripts = parse_html("<html><body>" + "<script>evil()</script>word " * 3000)
    assert "evil" not in many_scripts.text and many_scripts.text.split() == ["word"] * 3000
    assert "<script" not in many_scripts.html
    unclosed = parse_html("<html><body><p>before</p><!-- never closed <p>after</p>")
    # An unclosed comment stays text (as in Markdown), it does not hide the rest of the page.
    assert "before" in unclosed.text and "after" in unclosed.text
    closed = parse_html("<html><body><p>a</p><!-- hidden --><p>b</p>" * 500)
    assert "hidden" not in closed.text and closed.text.count("a") == 500
    nested = parse_html("<body><nav><div><script>x</script>menu</div></nav><p>kept</p></body>")
    assert nested.text == "kept"
