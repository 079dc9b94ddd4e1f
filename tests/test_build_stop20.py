"""Stop 20 (x-build2): the article cache's field copy, the pool's start method, file reads."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpapi import corpus as corpus_mod
from helpapi import indexer
from helpapi.corpus import parse_article
from helpapi.corpus import read_bytes
from helpapi.indexer import build_indexes

from .conftest import index_files
from .test_build_read18 import _small_corpus

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _articles():
    for locale in ("de-DE", "ja-JP"):
        for path in sorted((CORPUS / locale).glob("*.md"))[:15]:
            yield parse_article(path, locale, path.stem)


def test_article_fields_are_asdict():
    seen = 0
    for article in _articles():
        got = indexer.article_fields(article)
        assert got == dataclasses.asdict(article)
        assert list(got) == list(dataclasses.asdict(article))  # the same order
        seen += 1
    assert seen == 30


def test_article_fields_copy_the_containers():
    article = next(_articles())
    article.labels = {"product": ["a", "b"]}
    article.repairs = ["one"]
    got = indexer.article_fields(article)
    article.repairs.append("two")
    article.refs.append("later")
    article.labels["product"].append("c")
    article.labels["other"] = ["x"]
    assert got["repairs"] == ["one"]
    assert "later" not in got["refs"]
    assert got["labels"] == {"product": ["a", "b"]}


def test_article_fields_of_another_value_type_is_asdict():
    article = next(_articles())
    article.labels = {"product": ("a", "b")}  # not a type the fast copy knows: still asdict
    article.title = ("a", ["b"])  # type: ignore[assignment]
    got = indexer.article_fields(article)
    assert got == dataclasses.asdict(article)
    article.title[1].append("c")
    assert got["title"] == ("a", ["b"])


# Run in a fresh interpreter: the pool's start method reads this process's real threads, and
# other tests leave threads running (an app's writer, a server) which rightly make it "spawn".
_FRESH = """
import threading
from helpapi import indexer

got = []


def method():
    got.append(indexer._pool_start_method())


def running():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    return thread, stop


def stopped(thread, stop):
    stop.set()
    thread.join()
"""


def start_methods(steps: str) -> list[str]:
    """The pool's start methods that ``steps`` (Python calling ``method()`` between its own
    thread starts and stops, see :data:`_FRESH`) records, run in a fresh interpreter."""
    script = _FRESH + textwrap.dedent(steps) + '\nprint(" ".join(got))\n'
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is Linux-only here")
def test_the_pool_forks_only_from_a_process_without_other_threads():
    steps = """
        method()
        thread, stop = running()
        method()
        stopped(thread, stop)
        method()
        """
    assert start_methods(steps) == ["fork", "spawn", "fork"]


def test_a_forked_pool_worker_starts_as_a_spawned_one(monkeypatch):
    monkeypatch.setattr(indexer, "_kept", [])
    monkeypatch.setattr(indexer, "_parallel", True)
    monkeypatch.setattr(indexer, "die_with_parent", lambda parent: None)
    monkeypatch.setattr(indexer, "_progress_queue", None)
    indexer._init_worker("queue", os.getpid())
    assert indexer._kept is None and indexer._parallel is False
    assert indexer._progress_queue == "queue"


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_pool_build_is_the_serial_build_either_way(tmp_path, monkeypatch, method):
    corpus = _small_corpus(tmp_path, n=6)
    build_indexes(corpus, tmp_path / "serial", jobs=1)
    monkeypatch.setattr(indexer, "_pool_start_method", lambda: method)
    build_indexes(corpus, tmp_path / "pool", jobs=2)
    for locale in ("en-US", "de-DE", "fr-FR", "ja-JP"):
        assert index_files(tmp_path / "serial", locale) == index_files(tmp_path / "pool", locale), (
            locale
        )


def test_read_bytes_reads_every_byte_of_files_of_any_size(tmp_path):
    for size in (0, 1, 4095, 4096, 65537, (1 << 20) + 3):
        path = tmp_path / f"f{size}"
        data = os.urandom(size)
        path.write_bytes(data)
        assert read_bytes(path, tmp_path, None) == data
        assert read_bytes(path, tmp_path, size + 10) == data


def test_read_fd_takes_short_reads_and_the_end(tmp_path, monkeypatch):
    path = tmp_path / "f"
    data = os.urandom(10_000)
    path.write_bytes(data)
    real = os.read
    monkeypatch.setattr(corpus_mod.os, "read", lambda fd, n: real(fd, min(n, 7)))
    assert read_bytes(path, tmp_path, None) == data
    fd = os.open(path, os.O_RDONLY)
    try:
        assert corpus_mod._read_fd(fd, 100) == data[:100]
        assert corpus_mod._read_fd(fd, None) == data[100:]
        assert corpus_mod._read_fd(fd, 5) == b""
    finally:
        os.close(fd)


def test_a_file_over_the_cap_is_still_refused(tmp_path):
    path = tmp_path / "big.md"
    path.write_bytes(b"x" * 2000)
    with pytest.raises(corpus_mod.UnreadableArticle, match="too big|over|bytes"):
        read_bytes(path, tmp_path, 1000)


def test_the_english_side_of_a_full_parse_is_the_english_only_parse():
    sxs = 0
    for locale in ("de-DE", "fr-FR", "ja-JP"):
        for path in sorted((CORPUS / locale).glob("*.md")):
            full = parse_article(path, locale, path.stem)
            only = parse_article(path, locale, path.stem, english_only=True)
            side = indexer._english_side(full)
            assert (side is None) == (not only.has_sxs), path
            if side is None:
                continue
            sxs += 1
            got = indexer._english_article(locale, path.stem, side)
            want = dataclasses.asdict(only)
            want["repairs"] = []  # en-US does not report them (its locales' builds do)
            assert dataclasses.asdict(got) == want, path
    assert sxs > 20


def _english_index(corpus, out, sides: bool, monkeypatch) -> tuple[dict, int]:
    sources = ["de-DE", "fr-FR", "ja-JP"]
    for locale in sources[:2]:  # ja-JP leaves nothing: its files are parsed by en-US
        indexer.build_locale(str(corpus), locale, str(out), english_sides=sides)
    calls = []
    real = indexer.parse_article

    def counted(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(indexer, "parse_article", counted)
    indexer.build_locale(str(corpus), "en-US", str(out), sources=sources, english_sides=sides)
    monkeypatch.undo()
    folder = out / "en-US"
    files = {}
    for path in folder.iterdir():
        if path.suffix not in (".seg", ".toc"):
            files[path.name] = path.read_bytes()
    return files, calls


def test_en_us_takes_the_english_sides_the_locales_left(tmp_path, monkeypatch):
    corpus = _small_corpus(tmp_path, n=10)
    # A file de-DE rejects is parsed by en-US from the next locale, as before.
    (corpus / "de-DE" / "zz-empty.md").write_bytes(b"")
    shutil.copy(next((CORPUS / "fr-FR").glob("*.md")), corpus / "fr-FR" / "zz-empty.md")
    with_sides, parsed = _english_index(corpus, tmp_path / "on", True, monkeypatch)
    assert (tmp_path / "on" / indexer.ENGLISH_SIDES / "de-DE.marshal").is_file()
    without, parsed_all = _english_index(corpus, tmp_path / "off", False, monkeypatch)
    assert not (tmp_path / "off" / indexer.ENGLISH_SIDES).exists()
    assert with_sides == without
    assert len(parsed_all) > len(parsed)
    # de-DE's empty file, read again (and rejected again); fr-FR's from its sides; ja-JP
    # built nothing, its files are parsed as before.
    assert parsed.count("de-DE") == 1 and "fr-FR" not in parsed


def test_unreadable_english_sides_are_parsed_again(tmp_path):
    folder = tmp_path / indexer.ENGLISH_SIDES
    folder.mkdir()
    (folder / "de-DE.marshal").write_bytes(b"not marshal")
    (folder / "fr-FR.marshal").write_bytes(__import__("marshal").dumps({"a": (1, 2)}))
    assert indexer._read_english_sides(folder, "de-DE") is None
    assert indexer._read_english_sides(folder, "fr-FR") is None
    assert indexer._read_english_sides(folder, "ja-JP") is None


def test_a_build_leaves_no_english_sides_in_the_generation(tmp_path):
    corpus = _small_corpus(tmp_path, n=4)
    report = build_indexes(corpus, tmp_path / "ix", jobs=2)
    gen = tmp_path / "ix" / report.generation
    assert sorted(p.name for p in gen.iterdir() if p.is_dir()) == [
        "de-DE",
        "en-US",
        "fr-FR",
        "ja-JP",
    ]


def test_forward_posts_are_the_stable_sort_by_document():
    import random
    from array import array
    from collections import Counter
    from itertools import accumulate

    from helpapi import memindex

    rng = random.Random(20)
    for n_docs in (0, 1, 2, 7, 300):
        for _ in range(20):
            docs = array("H")
            for _term in range(rng.randint(0, 200) if n_docs else 0):
                k = rng.randint(1, n_docs)
                docs.extend(sorted(rng.sample(range(n_docs), k)))
            counts = Counter(docs)
            fwd_off = array("I", accumulate((counts[d] for d in range(n_docs)), initial=0))
            want = array("I", sorted(range(len(docs)), key=docs.__getitem__))
            assert memindex._forward_posts(docs, fwd_off) == want
    # Counts that are not the postings' fail the write (never a silently wrong list).
    with pytest.raises(RuntimeError):
        memindex._forward_posts(array("H", [0, 0, 1]), array("I", [0, 1, 3]))
    with pytest.raises((RuntimeError, IndexError)):
        memindex._forward_posts(array("H", [0, 1, 1]), array("I", [0, 2, 3]))
