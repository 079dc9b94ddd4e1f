"""``helpapi corpus check``: formats, links to the source, failures, conflicts, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpapi.cli import main
from helpapi.content import check_corpus

from .conftest import sxs_article


def md(title, body="Text.", **front):
    """A plain Markdown article with optional front matter."""
    meta = "".join(
        f"{k.replace('_', '.') if k == 'ms_date' else k}: {v}\n" for k, v in front.items()
    )
    head = f"---\ntitle: {title}\n{meta}---\n" if front or title else ""
    return f"{head}# {title}\n\n{body}\n"


# Source en-US/ plus de-DE (plain Markdown and HTML) and fr-FR (sxs). In de-DE:
# reset-password (same slug, older date: outdated), rechnung (assetid kb-2 -> billing),
# exportieren (translation_of: export), kontakt.html (same slug as en-US/kontakt.md, HTML),
# install (same slug, no dates: cannot be told), nur-deutsch (no source), only-english and
# sxs-only missing; rechnung-alt claims kb-2 too (duplicate id, a warning).
FILES = {
    "en-US/reset-password.md": md("Reset your password", assetid="kb-1", updated="2024-03-01"),
    "en-US/billing.md": md("Billing", assetid="kb-2", date="2024-01-01"),
    "en-US/export.md": md("Export data", updated="2024-01-01"),
    "en-US/install.md": md("Install the app"),
    "en-US/kontakt.md": md("Contact us", updated="2024-01-01"),
    "en-US/only-english.md": md("Only in English"),
    "de-DE/reset-password.md": md("Passwort zurücksetzen", updated="2024-01-15"),
    "de-DE/rechnung.md": md("Rechnung", assetid="kb-2", updated="2024-02-01"),
    "de-DE/rechnung-alt.md": md("Rechnung (alt)", assetid="kb-2", updated="2024-02-01"),
    "de-DE/exportieren.md": md("Daten exportieren", translation_of="export"),
    "de-DE/kontakt.html": (
        "<html><head><title>Kontakt</title></head><body><p>Schreiben Sie uns.</p></body></html>"
    ),
    "de-DE/install.md": md("App installieren"),
    "de-DE/nur-deutsch.md": md("Nur auf Deutsch"),
    "fr-FR/sxs-only.md": sxs_article(
        "Titre", "Title", [("Texte.", "Text.")], "0b8f2a5e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
    ),
}


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``{relative path: text or bytes}`` under ``root``; return ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, "utf-8")
    return root


@pytest.fixture
def good_corpus(tmp_path) -> Path:
    """The fixture corpus with no errors (one duplicate id: a warning)."""
    return write_files(tmp_path / "corpus", FILES)


@pytest.fixture
def bad_corpus(good_corpus) -> Path:
    """The fixture corpus plus every kind of error."""
    write_files(
        good_corpus,
        {
            "images/logo.txt": "not an article",
            "de-DE/binary.md": b"# Titel\x00\x01\x02",
            "de-DE/guide.md": md("Anleitung"),
            "de-DE/guide.html": "<h1>Anleitung</h1><p>Auch.</p>",
        },
    )
    outside = good_corpus.parent / "secret.md"
    outside.write_text("# Secret\n", "utf-8")
    os.symlink(outside, good_corpus / "de-DE" / "leak.md")
    return good_corpus


def run(*args):
    result = CliRunner().invoke(main, ["corpus", "check", *args])
    return result


def locale(report: dict, name: str) -> dict:
    return next(c for c in report["locales"] if c["locale"] == name)


def test_clean_corpus_passes_with_warnings(good_corpus):
    result = run("--corpus", str(good_corpus), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    assert report["errors"] == 0
    assert report["warnings"] == 1
    assert report["source_folder"] is True
    de = locale(report, "de-DE")
    assert de["formats"] == {"sxs": 0, "markdown": 6, "html": 1}
    assert de["duplicates"] == [{"id": "kb-2", "slugs": ["rechnung", "rechnung-alt"]}]
    assert locale(report, "fr-FR")["formats"] == {"sxs": 1, "markdown": 0, "html": 0}
    assert locale(report, "en-US")["source"] is True
    assert "coverage" not in locale(report, "en-US")


def test_links_missing_outdated_and_no_source(good_corpus):
    cov = locale(check_corpus(good_corpus).as_dict(), "de-DE")["coverage"]
    # sxs-only: the English of fr-FR's sxs file is a source article too (it is in en-US).
    assert cov["missing"] == ["only-english", "sxs-only"]
    assert cov["no_source"] == ["nur-deutsch"]
    assert cov["outdated"] == [
        {
            "slug": "reset-password",
            "source": "reset-password",
            "updated": "2024-01-15",
            "source_updated": "2024-03-01",
        }
    ]
    # Linked: reset-password (slug), rechnung + rechnung-alt (assetid), exportieren
    # (translation_of), kontakt (slug, HTML), install (slug).
    assert cov["linked"] == 6
    # exportieren, install and kontakt.html: a side has no date, so it cannot be told.
    assert cov["undated"] == 3
    assert "cannot be told for 3" in cov["dates"]
    fr = locale(check_corpus(good_corpus).as_dict(), "fr-FR")["coverage"]
    assert fr["inline"] == 1
    assert fr["no_source"] == []


def test_errors_fail_and_are_named(bad_corpus):
    result = run("--corpus", str(bad_corpus), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    assert report["bad_folders"][0]["path"] == "images/"
    assert "BCP 47" in report["bad_folders"][0]["reason"]
    de = locale(report, "de-DE")
    failed = {f["path"]: f["reason"] for f in de["failed"]}
    assert failed["de-DE/binary.md"] == "binary file (NUL bytes)"
    assert "outside the corpus" in failed["de-DE/leak.md"]
    assert de["conflicts"] == [{"slug": "guide", "files": ["de-DE/guide.md", "de-DE/guide.html"]}]
    # The losing file of a conflict is not also listed as a failure.
    assert "de-DE/guide.html" not in failed
    assert de["errors"] == 3
    assert report["errors"] == 4


def test_terminal_output(bad_corpus):
    result = run("--corpus", str(bad_corpus))
    assert result.exit_code == 1
    out = result.output
    assert "source folder en-US/" in out
    assert "de-DE" in out and "fr-FR" in out
    assert "error: folder images/: not a BCP 47 locale tag" in out
    assert "error: de-DE/binary.md: binary file (NUL bytes)" in out
    assert "error: de-DE: slug 'guide' is in 2 files: de-DE/guide.md, de-DE/guide.html" in out
    assert "warning: de-DE: id kb-2 is claimed by rechnung, rechnung-alt" in out
    assert "missing: de-DE: only-english" in out
    assert "no source: de-DE/nur-deutsch" in out
    assert "outdated: de-DE/reset-password (2024-01-15) < reset-password (2024-03-01)" in out
    assert "4 errors, 1 warnings" in out


def test_too_big_file_is_an_error(good_corpus, monkeypatch):
    monkeypatch.setenv("HELPAPI_MAX_ARTICLE_BYTES", "1024")
    write_files(good_corpus, {"de-DE/huge.md": md("Groß", "x " * 600)})
    result = run("--corpus", str(good_corpus), "--json")
    assert result.exit_code == 1
    failed = locale(json.loads(result.output), "de-DE")["failed"]
    assert failed[0]["path"] == "de-DE/huge.md"
    assert "over HELPAPI_MAX_ARTICLE_BYTES (1024)" in failed[0]["reason"]


@pytest.mark.parametrize("case", ["missing", "empty", "no-locale", "file"])
def test_unusable_corpus_names_the_path(tmp_path, case):
    target = tmp_path / "c"
    if case == "empty":
        target.mkdir()
    elif case == "no-locale":
        (target / "images").mkdir(parents=True)
    elif case == "file":
        target.write_text("x")
    result = run("--corpus", str(target))
    assert result.exit_code == 1
    assert str(target) in result.output
    assert "Traceback" not in result.output
    as_json = run("--corpus", str(target), "--json")
    assert as_json.exit_code == 1
    report = json.loads(as_json.output)
    assert report["ok"] is False and str(target) in report["error"]


def test_sxs_only_corpus_uses_sxs_english(tmp_path):
    corpus = write_files(
        tmp_path / "c",
        {
            "de-DE/a.md": sxs_article("Titel", "Title", [("Text.", "Text.")]),
            "fi-FI/a.md": sxs_article("Otsikko", "Title", [("Teksti.", "Text.")]),
            "fi-FI/b.md": sxs_article("Toinen", "Other", [("Teksti.", "Text.")]),
        },
    )
    result = run("--corpus", str(corpus), "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["source_folder"] is False
    de = locale(report, "de-DE")["coverage"]
    assert de["missing"] == ["b"]
    assert de["inline"] == 1 and de["outdated"] == []


def test_env_corpus_dir_is_the_default(good_corpus, monkeypatch):
    monkeypatch.setenv("HELPAPI_CORPUS_DIR", str(good_corpus))
    result = run("--json")
    assert result.exit_code == 0
    assert json.loads(result.output)["corpus"] == str(good_corpus)


def test_terminal_lists_are_cut_per_locale(tmp_path):
    files = {f"en-US/a{i:02}.md": md(f"Article {i}") for i in range(25)}
    files["de-DE/a00.md"] = md("Artikel")
    result = run("--corpus", str(write_files(tmp_path / "c", files)))
    assert result.exit_code == 0
    assert result.output.count("missing: de-DE:") == 20
    assert "… 4 more for de-DE (--json lists them all)" in result.output
