"""Corpus files are untrusted input (issue #12): links, YAML bombs, huge files, bad shapes.

Each test here failed on 5e8dd92, except the bad-shape ones, which check that the linear
parsers give the old results (their speed is measured by bench/parse_linear.py).
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys

import frontmatter
import pytest
from click.testing import CliRunner

from helpapi import corpus as hc
from helpapi import jobs
from helpapi.cli import main
from helpapi.config import DEFAULTS
from helpapi.corpus import DEFAULT_MAX_ARTICLE_BYTES
from helpapi.corpus import FrontMatterHandler
from helpapi.corpus import UnreadableArticle
from helpapi.corpus import article_files
from helpapi.corpus import discover_locales
from helpapi.corpus import parse_article
from helpapi.corpus import parse_text
from helpapi.corpus import read_bytes
from helpapi.indexer import BuildError
from helpapi.indexer import build_indexes
from helpapi.search import open_current
from helpapi.search import search

from .conftest import job_record
from .conftest import sxs_article

DE = sxs_article(
    "Kennwort ändern",
    "Change your password",
    [("Öffnen Sie die Kontoeinstellungen.", "Open the account settings.")],
)


@pytest.fixture
def outside(tmp_path):
    """A folder beside the corpus holding a secret file (think /etc)."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "passwd").write_text("root:x:0:0:Geheimwurzel:/root:/bin/bash\n")
    (folder / "x.md").write_text("# Geheimartikel\n\nGeheimwurzel\n")
    return folder


def _slugs(ix, q, locale):
    return [h["slug"] for h in search(ix, q, locale)["results"]]


# --- symlinks --------------------------------------------------------------------------------


def test_symlink_to_a_file_outside_is_not_served_and_is_reported(make_corpus, outside, tmp_path):
    corpus = make_corpus({"de-DE": {"pw": DE}})
    link = corpus / "de-DE" / "passwd.md"
    link.symlink_to(outside / "passwd")
    report = build_indexes(corpus, tmp_path / "ix", jobs=1)
    de = report.locales["de-DE"]
    assert de.articles == 1 and de.rejected == 1
    [(path, reason)] = de.errors
    assert path == str(link) and "outside the corpus" in reason and str(outside) in reason
    assert "passwd" not in {entry[0] for entry in de.catalog}
    with open_current(tmp_path / "ix") as ix:
        assert _slugs(ix, "Geheimwurzel", "de-DE") == []
        assert ix.searcher("de-DE").document(slug="passwd") is None
        assert _slugs(ix, "Geheimwurzel", "en-US") == []


def test_symlink_inside_the_corpus_is_followed(make_corpus, tmp_path):
    corpus = make_corpus({"de-DE": {"pw": DE}, "shared": {"common": DE.replace("Kennwort", "PIN")}})
    (corpus / "de-DE" / "alias.md").symlink_to(corpus / "shared" / "common.md")
    (corpus / "de-DE" / "more").symlink_to(corpus / "shared", target_is_directory=True)
    assert [s for s, _ in article_files(corpus / "de-DE")] == ["alias", "more/common", "pw"]
    report = build_indexes(corpus, tmp_path / "ix", locales=["de-DE"], jobs=1)
    assert report.locales["de-DE"].articles == 3 and report.locales["de-DE"].rejected == 0


def test_symlinked_folder_outside_is_not_walked(make_corpus, outside):
    corpus = make_corpus({"de-DE": {"pw": DE}})
    (corpus / "de-DE" / "etc").symlink_to(outside, target_is_directory=True)
    rejected = []
    assert [s for s, _ in article_files(corpus / "de-DE", rejected=rejected)] == ["pw"]
    assert rejected == [(str(corpus / "de-DE" / "etc"), hc._link_reason(str(outside)))]


def test_symlinked_locale_folder_outside_is_not_a_locale(make_corpus, outside, tmp_path):
    corpus = make_corpus({"de-DE": {"pw": DE}})
    (corpus / "fr-FR").symlink_to(outside, target_is_directory=True)
    (corpus / "de-AT").symlink_to(corpus / "de-DE", target_is_directory=True)  # inside: a locale
    rejected = []
    assert discover_locales(corpus, rejected) == ["de-AT", "de-DE"]
    assert [p for p, _ in rejected] == [str(corpus / "fr-FR")]
    report = build_indexes(corpus, tmp_path / "ix", jobs=1)
    assert set(report.locales) == {"de-AT", "de-DE", "en-US"}
    with pytest.raises(BuildError, match="fr-FR"):
        build_indexes(corpus, tmp_path / "ix", locales=["fr-FR"], jobs=1)


def test_link_loop_inside_the_corpus_ends(make_corpus):
    corpus = make_corpus({"de-DE": {"pw": DE}})
    (corpus / "de-DE" / "loop").symlink_to(corpus / "de-DE", target_is_directory=True)
    assert [s for s, _ in article_files(corpus / "de-DE")] == ["pw"]


def test_file_swapped_for_a_link_after_the_walk_is_refused(make_corpus, outside):
    corpus = make_corpus({"de-DE": {"pw": DE, "sub/a": DE}})
    files = dict(article_files(corpus / "de-DE"))
    (corpus / "de-DE" / "pw.md").unlink()
    (corpus / "de-DE" / "pw.md").symlink_to(outside / "passwd")
    with pytest.raises(UnreadableArticle, match="outside the corpus"):
        read_bytes(files["pw"], corpus)
    # A folder on the way swapped for a link: the opened file is checked, not just its name.
    os.rename(corpus / "de-DE" / "sub", corpus / "sub-old")
    (outside / "a.md").write_text("Geheimwurzel")
    (corpus / "de-DE" / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnreadableArticle, match="outside the corpus"):
        read_bytes(files["sub/a"], corpus)


def test_without_a_root_no_link_is_followed(tmp_path, outside):
    (tmp_path / "a.md").symlink_to(outside / "x.md")
    with pytest.raises(UnreadableArticle, match="symlink"):
        parse_article(tmp_path / "a.md", "de-DE", "a")


def test_a_fifo_is_rejected_without_blocking(make_corpus):
    corpus = make_corpus({"de-DE": {"pw": DE}})
    os.mkfifo(corpus / "de-DE" / "pipe.md")
    with pytest.raises(UnreadableArticle, match="not a regular file"):
        read_bytes(corpus / "de-DE" / "pipe.md", corpus)


# --- YAML front matter -----------------------------------------------------------------------


def _alias_bomb(levels: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for i in range(levels):
        name = chr(ord("b") + i)
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
        prev = name
    lines.append(f"title: *{prev}")
    return "---\n" + "\n".join(lines) + "\nms.date: 05/28/2021\n---\n# Echter Titel\n\nText.\n"


def test_alias_bomb_is_refused_before_expansion_and_the_file_still_indexes():
    a = parse_text(_alias_bomb(5), "de-DE", "bomb")  # 9**6 = 531,441 "lol"s if expanded
    assert a.title == "Echter Titel" and a.body == "Text." and a.updated == "2021-05-28"
    assert any("alias" in r and "not expanded" in r for r in a.repairs), a.repairs


def test_alias_bomb_in_a_build_is_named_as_a_repair(make_corpus, tmp_path):
    corpus = make_corpus({"de-DE": {"pw": DE, "bomb": _alias_bomb(8)}})  # 9**9 if expanded
    report = build_indexes(corpus, tmp_path / "ix", locales=["de-DE"], jobs=1)
    de = report.locales["de-DE"]
    assert de.articles == 2 and de.rejected == 0
    [(path, repair)] = de.repairs
    assert path.endswith("bomb.md") and "alias" in repair


def test_front_matter_goes_through_python_frontmatter_without_aliases():
    handler = FrontMatterHandler()
    assert isinstance(handler, frontmatter.default_handlers.YAMLHandler)
    post = frontmatter.loads("---\ntitle: Hallo\n---\nText", handler=handler)
    assert post["title"] == "Hallo" and post.content == "Text"
    with pytest.raises(hc.AliasRefused):
        frontmatter.loads("---\na: &x 1\ntitle: *x\n---\nText", handler=handler)


def test_only_scalar_front_matter_values_become_text():
    a = parse_text(
        "---\ntitle: {nested: [1, 2]}\nms.assetid: [0d9a1b7e-4c3f-4a5b-9c1d-2e3f4a5b6c7d]\n"
        "ms.custom:\n  - 123\n  - [4, 5]\n  - {x: y}\n  - '678'\nms.date: [05/28/2021]\n---\n"
        "Nur Text.\n",
        "de-DE",
        "sub/mein-artikel",
    )
    assert a.title == "mein artikel" and a.assetid is None and a.updated is None
    assert a.refs == ["123", "678"]
    assert "nested" not in a.body and "{" not in a.body
    assert any("title is a dict" in r for r in a.repairs)


_NESTED = """
from helpapi.corpus import parse_text
text = "---\\ntitle:\\n  " + {nesting!r} + "\\nms.date: 05/28/2021\\n---\\n# T\\n"
a = parse_text(text, "de-DE", "d")
assert a.title == "T" and a.updated == "2021-05-28", a
assert any("does not parse" in r for r in a.repairs), a.repairs
"""


@pytest.mark.parametrize("nesting", ["[" * 60000, "- " * 60000 + "x"])
def test_deeply_nested_front_matter_is_salvaged_not_a_crash(nesting):
    # 60,000 levels (60-120 KB) crashed the build worker: libyaml's C composer recursed until
    # the C stack overflowed (SIGSEGV). In a subprocess, so a crash is a failure, not the end.
    code = _NESTED.format(nesting=nesting)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


# --- size cap --------------------------------------------------------------------------------


def test_default_cap_is_2_mb_and_is_a_setting():
    assert DEFAULTS["MAX_ARTICLE_BYTES"] == DEFAULT_MAX_ARTICLE_BYTES == 2_097_152


def test_oversized_file_is_rejected_with_path_and_reason(make_corpus, tmp_path):
    corpus = make_corpus({"de-DE": {"pw": DE, "big": DE + "x" * 3000}})
    report = build_indexes(corpus, tmp_path / "ix", jobs=1, max_article_bytes=2048)
    de = report.locales["de-DE"]
    assert de.articles == 1 and de.rejected == 1
    [(path, reason)] = de.errors
    size = (corpus / "de-DE" / "big.md").stat().st_size
    assert path == str(corpus / "de-DE" / "big.md")
    assert reason == f"{size} bytes, over HELPAPI_MAX_ARTICLE_BYTES (2048)"
    assert report.locales["en-US"].articles == 1


def test_oversized_file_is_not_read(tmp_path):
    huge = tmp_path / "huge.md"
    with open(huge, "wb") as fh:
        fh.truncate(64 * 2**30)  # sparse: reading it would take minutes and 64 GB
    with pytest.raises(UnreadableArticle, match="68719476736 bytes, over"):
        parse_article(huge, "de-DE", "huge")


def test_cli_uses_the_configured_cap(make_corpus, tmp_path, monkeypatch):
    corpus = make_corpus({"de-DE": {"pw": DE, "big": DE + "x" * 3000}})
    monkeypatch.setenv("HELPAPI_MAX_ARTICLE_BYTES", "2048")
    result = CliRunner().invoke(
        main, ["index", "build", "--corpus", str(corpus), "--index", str(tmp_path / "ix")]
    )
    assert result.exit_code == 0, result.output
    assert "big.md" in result.output and "over HELPAPI_MAX_ARTICLE_BYTES (2048)" in result.output


# --- a failed file names itself --------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (MemoryError(), "MemoryError"),
        (RecursionError("maximum recursion depth exceeded"), "RecursionError: maximum"),
        (ValueError("bad\nvalue"), "ValueError: bad value"),
    ],
)
def test_any_failure_parsing_one_file_rejects_that_file(
    make_corpus, tmp_path, monkeypatch, error, reason
):
    corpus = make_corpus({"de-DE": {"pw": DE, "bad": DE}})
    real = hc.parse_article

    def parse(path, locale, slug, *args, **kwargs):
        if slug == "bad":
            raise error
        return real(path, locale, slug, *args, **kwargs)

    monkeypatch.setattr("helpapi.indexer.parse_article", parse)
    report = build_indexes(corpus, tmp_path / "ix", jobs=1)
    de = report.locales["de-DE"]
    assert de.articles == 1 and de.rejected == 1
    [(path, why)] = de.errors
    assert path == str(corpus / "de-DE" / "bad.md") and why.startswith(reason)
    assert report.locales["en-US"].articles == 1


def test_a_failure_that_aborts_the_build_names_the_file(make_corpus, tmp_path, monkeypatch):
    corpus = make_corpus({"de-DE": {"pw": DE}})

    def explode(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("helpapi.indexer.document_for", explode)
    with pytest.raises(BuildError, match=r"de-DE/pw\.md failed: MemoryError"):
        build_indexes(corpus, tmp_path / "ix", jobs=1)


# --- bad shapes: linear parsers, same results ------------------------------------------------

SHAPES = {
    "unclosed ttu spans": ('<span data-ttu-id="a1">Wort ', "Wort"),
    "unclosed sxs spans": ('<span class="sxs-lookup"><span data-stu-id="a1">word ', "word"),
    "unclosed comments": ("<!-- Wort ", "Wort"),
    "deep nesting": ("<div>", None),
    "unclosed link brackets": ("[Wort ", "Wort"),
    "unclosed images": ("![Wort](x ", "Wort"),
    "unclosed includes": ("[!INCLUDE Wort ", "Wort"),
    "blank lines": ("\n\n\n Wort", "Wort"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_bad_shapes_parse_to_sane_text(shape):
    unit, word = SHAPES[shape]
    source = "---\ntitle: T\n---\n# Titel\n\n" + unit * 3000 + "Ende</div>"
    a = parse_article(hc.Path("x.md"), "de-DE", "x", source.encode())
    assert a.title == "Titel" and a.body.endswith("Ende")
    assert len(a.body) <= len(source) and "<div>" not in a.body and "<span" not in a.body
    if word:
        assert a.body.count(word) >= 3000


_OLD_SXS = re.compile(
    r'<span class="sxs-lookup"><span data-stu-id="[^"]*">(.*?)</span></span>', re.S
)
_OLD_TTU = re.compile(r'<span data-ttu-id="[^"]*">(.*?)</span>', re.S)
_OLD_COMMENT = re.compile(r"<!--.*?-->", re.S)
_OLD_INCLUDE = re.compile(r"\[!(?:INCLUDE|VIDEO)[^\]]*\](?:\([^)]*\))?\]?", re.I)
_TOKENS = [
    '<span data-ttu-id="1">',
    '<span class="sxs-lookup"><span data-stu-id="2">',
    '<span data-ttu-id="x',
    "</span>",
    "</span></span>",
    "<!--",
    "-->",
    "[!INCLUDE",
    "[!video ",
    "[",
    "]",
    "(",
    ")",
    "a",
    " ",
    "\n",
]


def test_one_pass_scanners_find_what_the_old_patterns_found():
    rnd = random.Random(12)
    for _ in range(4000):
        s = "".join(rnd.choice(_TOKENS) for _ in range(rnd.randint(0, 24)))
        assert hc.localized_markdown(s) == _OLD_TTU.sub(r"\1", _OLD_SXS.sub("", s)), s
        assert hc.english_markdown(s) == _OLD_SXS.sub(r"\1", _OLD_TTU.sub("", s)), s
        assert hc._has_sxs(s) == bool(_OLD_SXS.search(s)), s
        assert hc._drop_comments(s) == _OLD_COMMENT.sub(" ", s), s
        assert hc._drop_includes(s) == _OLD_INCLUDE.sub(" ", s), s


def test_heading_pattern_matches_the_old_one():
    old = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)
    rnd = random.Random(3)
    for _ in range(4000):
        s = "".join(rnd.choice(["#", " ", "\t", "a", "\n", "\r", "x#"]) for _ in range(12))
        m_old, m_new = old.search(s), hc._H1.search(s)
        assert (m_old and (m_old.span(), m_old.group(1))) == (
            m_new and (m_new.span(), m_new.group(1))
        ), repr(s)


def _run_job(corpus, index_dir) -> dict:
    """Queue a job as jobs.submit does and run it in this process (no runner subprocess)."""
    folder = jobs.jobs_dir(index_dir)
    job = job_record("job1", corpus_dir=str(corpus))
    (folder / "job1.json").write_text(json.dumps(job), "utf-8")
    jobs.run(index_dir, "job1")
    return json.loads((folder / "job1.json").read_text("utf-8"))


def test_job_runner_uses_the_configured_cap(make_corpus, tmp_path, monkeypatch):
    corpus = make_corpus({"de-DE": {"pw": DE, "big": DE + "x" * 3000}})
    monkeypatch.setenv("HELPAPI_MAX_ARTICLE_BYTES", "2048")
    job = _run_job(corpus, tmp_path / "ix")
    assert job["status"] == "succeeded", job
    [(path, reason)] = job["locales"]["de-DE"]["errors"]
    assert path.endswith("big.md") and "over HELPAPI_MAX_ARTICLE_BYTES (2048)" in reason


def test_failed_job_names_the_file(make_corpus, tmp_path, monkeypatch):
    corpus = make_corpus({"de-DE": {"pw": DE}})

    def explode(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("helpapi.indexer.document_for", explode)
    job = _run_job(corpus, tmp_path / "ix")
    assert job["status"] == "failed"
    assert "de-DE/pw.md failed: MemoryError" in job["errors"][-1], job["errors"]
