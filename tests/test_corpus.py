"""Article parsing, including every malformed case found in the corpus."""

import os

import pytest

from helpapi.corpus import UnreadableArticle
from helpapi.corpus import discover_locales
from helpapi.corpus import iter_article_paths
from helpapi.corpus import markdown_to_text
from helpapi.corpus import parse_article
from helpapi.corpus import parse_text

from .conftest import CORPUS
from .conftest import sxs_article

GUID = "86E9B860-D4B2-495C-A135-5C7ECB8E6192"


def test_side_by_side_split():
    text = sxs_article(
        "Passwort ändern",
        "Change password",
        [
            ("Öffnen Sie Outlook.", "Open Outlook."),
            ("Wählen Sie **Konto**.", "Select **Account**."),
        ],
        assetid=GUID,
        extra_meta='ms.custom:\n- "9002530"\n- 7648\n',
    )
    a = parse_text(text, "de-DE", "change-password")
    assert a.title == "Passwort ändern"
    assert a.english_title == "Change password"
    assert a.assetid == GUID.lower()
    assert a.refs == ["9002530", "7648"]
    assert a.updated == "2021-05-28"
    assert a.body == "Öffnen Sie Outlook. Wählen Sie Konto."
    assert a.english_body == "Open Outlook. Select Account."
    assert "sxs-lookup" not in a.markdown and "Open Outlook" not in a.markdown
    assert "Öffnen Sie Outlook." in a.markdown
    assert "Open Outlook." in a.english_markdown and "Öffnen" not in a.english_markdown
    assert a.has_sxs and a.repairs == []


def test_text_outside_spans_belongs_to_both_languages():
    text = sxs_article("T", "T", [("Eins.", "One.")]) + "\n```\nGet-Mailbox -Identity x\n```\n"
    a = parse_text(text, "de-DE", "x")
    assert "Get-Mailbox" in a.body and "Get-Mailbox" in a.english_body


def test_urls_image_paths_and_attributes_are_not_text():
    md = (
        "See [the guide](https://example.com/secret-word) and ![Diagram](media/pic-file.png) "
        '<a href="https://x.example/attr-word" title="hidden">link</a> https://bare.example/z'
    )
    text = markdown_to_text(md)
    for hidden in ("secret", "pic-file", "attr-word", "hidden", "bare.example"):
        assert hidden not in text
    for shown in ("the guide", "Diagram", "link"):
        assert shown in text


def test_real_file_with_yaml_that_does_not_parse_is_repaired():
    a = parse_article(
        CORPUS / "de-DE" / "troubleshoot-presence-issues-outlook.md",
        "de-DE",
        "troubleshoot-presence-issues-outlook",
    )
    assert a.title == "Behandeln von Anwesenheitsproblemen in Outlook"  # from the first heading
    assert a.english_title == "Troubleshoot presence issues in Outlook"
    assert a.refs == ["9257", "9003349"]
    assert any("YAML" in r for r in a.repairs)
    assert "title:" not in a.body


def test_real_file_without_sxs_spans_has_no_english_of_its_own():
    # A plain localized file is its locale's text only: its English comes from a linked source
    # (issue #13: Finnish text must never fill the English index).
    a = parse_article(CORPUS / "fi-FI" / "buy-windows-10.md", "fi-FI", "buy-windows-10")
    assert not a.has_sxs and a.format == "markdown"
    assert a.title == "Kopion ostaminen Windows 10"
    assert a.english_title == "" and a.english_body == "" and a.english_markdown == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (GUID, GUID.lower()),
        (f"  {GUID} ", GUID.lower()),
        ("", None),
        ("(guid of old soc version if any)", None),
        (["9001733", "4401"], None),
        (None, None),
        (12345, None),
    ],
)
def test_assetid_is_one_well_formed_guid(value, expected):
    from helpapi.corpus import parse_assetid

    assert parse_assetid(value) == expected


def test_list_assetid_is_reported_as_repair():
    text = "---\ntitle: T\nms.assetid:\n- '9001733'\n- '4401'\n---\n# T\n\nBody.\n"
    a = parse_text(text, "de-DE", "t")
    assert a.assetid is None and any("assetid" in r for r in a.repairs)


def test_zero_width_and_nfd_are_normalized_and_noted():
    text = "---\ntitle: Ja\u0308hrlich\n---\n# Ja\u0308hrliche Rech\u200bnung\n\nText\u00ad.\n"
    a = parse_text(text, "de-DE", "t")
    assert a.title == "Jährliche Rechnung"
    assert a.body == "Jährlich\nText."
    assert any("invisible" in r for r in a.repairs)


def test_no_front_matter_title_from_heading():
    a = parse_text("# Hallo Welt\n\nText.", "de-DE", "folder/hallo")
    assert a.title == "Hallo Welt" and a.slug == "folder/hallo"
    assert "no front matter" in a.repairs


def test_no_title_anywhere_uses_the_file_name():
    a = parse_text("Nur Text.", "de-DE", "sub/mein-artikel")
    assert a.title == "mein artikel"


def test_invalid_utf8_is_repaired(tmp_path):
    path = tmp_path / "bad.md"
    path.write_bytes(b"---\ntitle: T\n---\n# Caf\xe9\n\nok\n")
    a = parse_article(path, "fr-FR", "bad")
    assert a.title == "Caf\ufffd" and any("UTF-8" in r for r in a.repairs)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty file"), (b"  \n", "empty file"), (b"\x00\x01binary", "binary file (NUL bytes)")],
)
def test_unusable_files_are_rejected_with_reason(tmp_path, content, reason):
    path = tmp_path / "x.md"
    path.write_bytes(content)
    with pytest.raises(UnreadableArticle) as err:
        parse_article(path, "de-DE", "x")
    assert err.value.reason == reason and err.value.path == str(path)


def test_unreadable_path_is_rejected(tmp_path):
    (tmp_path / "dir.md").mkdir()
    with pytest.raises(UnreadableArticle):
        parse_article(tmp_path / "dir.md", "de-DE", "dir")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_is_rejected(tmp_path):
    path = tmp_path / "secret.md"
    path.write_text("# x")
    path.chmod(0)
    with pytest.raises(UnreadableArticle):
        parse_article(path, "de-DE", "secret")


def test_walk_and_discover(make_corpus):
    root = make_corpus({"de-DE": {"a": "# A", "sub/b": "# B"}, "ja-JP": {"a": "# A"}})
    (root / "not-a-locale").mkdir()
    (root / "de-DE" / ".hidden.md").write_text("# h")
    assert discover_locales(root) == ["de-DE", "ja-JP"]
    assert [s for s, _ in iter_article_paths(root / "de-DE")] == ["a", "sub/b"]


def test_every_bundled_file_parses():
    for locale in discover_locales(CORPUS):
        for slug, path in iter_article_paths(CORPUS / locale):
            a = parse_article(path, locale, slug)
            assert a.title and a.body, path
