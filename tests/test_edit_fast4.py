"""Edit to searchable, fourth round (issue #13 item 5): a job's runner writes ``postings.bin``
in a forked child while it writes the Whoosh segment and the other files
(:func:`helpapi.indexer.parallel_postings`). The child reads the new segment's statistics from
the writer (:class:`helpapi.whoosh_writer.WriterStats`) instead of the committed reader: every
number must be the reader's, every byte the in-process write's, every answer a fresh build's.
A child that fails leaves the build to write the file in-process; a build that fails leaves no
child behind.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from helpapi import facets
from helpapi import generations
from helpapi import indexer
from helpapi import memindex
from helpapi.indexer import build_indexes
from helpapi.search import open_current
from helpapi.search import search

from .conftest import index_files
from .test_build_fast2 import CORPUS
from .test_edit_fast import _answers
from .test_edit_fast2 import _corpus


@pytest.fixture
def parallel(monkeypatch):
    """parallel_postings() for one test (the module flag is restored after)."""
    monkeypatch.setattr(indexer, "_parallel", False)
    indexer.parallel_postings()
    assert indexer._parallel


def _edit(corpus, n: int, word: str) -> str:
    """Add ``word`` inside the first localized sentence of the ``n``-th de-DE article."""
    path = sorted((corpus / "de-DE").glob("*.md"))[n]
    text = path.read_text(encoding="utf-8")
    at = text.index('<span data-ttu-id="')
    at = text.index(">", at) + 1
    path.write_text(text[:at] + word + " " + text[at:], encoding="utf-8")
    return path.stem


def _forks(monkeypatch) -> list:
    """``(child, its pid)`` of each forked postings.bin writer."""
    started: list = []
    real = indexer._fork_postings

    def fork(*args):
        child = real(*args)
        started.append((child, child.pid if child is not None else None))
        return child

    monkeypatch.setattr(indexer, "_fork_postings", fork)
    return started


def _reaped(started) -> bool:
    """Every child ended and was waited for (none left running, none a zombie)."""
    for child, pid in started:
        if child.pid != 0:
            return False
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    return True


def test_forked_postings_are_the_in_process_bytes_and_answers(tmp_path, parallel, monkeypatch):
    """A full build, then two one-article edits, in parallel mode: each generation's files
    are those of a build in one process, and search answers (hits, scores, snippets) are a
    fresh full build's of the same corpus."""
    corpus = _corpus(tmp_path)
    par, seq, fresh = tmp_path / "par", tmp_path / "seq", tmp_path / "fresh"
    started = _forks(monkeypatch)
    build_indexes(corpus, par, jobs=1)
    monkeypatch.setattr(indexer, "_parallel", False)
    build_indexes(corpus, seq, jobs=1)
    assert index_files(par, "de-DE") == index_files(seq, "de-DE")
    assert index_files(par, "en-US") == index_files(seq, "en-US")
    for n, word in ((3, "Gabelschreibwort"), (17, "Zweitgabelwort")):
        slug = _edit(corpus, n, word)
        monkeypatch.setattr(indexer, "_parallel", True)
        assert sorted(build_indexes(corpus, par, jobs=1, incremental=True).locales) == ["de-DE"]
        monkeypatch.setattr(indexer, "_parallel", False)
        build_indexes(corpus, seq, jobs=1, incremental=True)
        shutil.rmtree(fresh, ignore_errors=True)
        build_indexes(corpus, fresh, jobs=1)
        assert index_files(par, "de-DE") == index_files(seq, "de-DE") == index_files(fresh, "de-DE")
        assert _answers(par) == _answers(fresh)
        ixset = open_current(par)
        try:
            found = search(ixset, word, "de-DE", limit=5)["results"]
        finally:
            ixset.close()
        assert [h["slug"] for h in found] == [slug]
    # de-DE and en-US of the full build, then de-DE of each edit: every one was forked.
    assert len(started) == 4 and all(c is not None for c, _ in started)
    assert _reaped(started)


def test_writer_stats_are_the_committed_readers(tmp_path, parallel, monkeypatch):
    """What the child reads of the writer is what the committed segment's reader says, for
    every document and field (a field no document has a token in included: grams in de-DE)."""
    corpus = _corpus(tmp_path)
    seen: dict[str, indexer._WriterStats] = {}  # locale -> the writer's statistics
    real = indexer._WriterStats.of

    def of(writer, slugs):
        stats = seen[os.path.basename(writer.storage.folder)] = real(writer, slugs)
        return stats

    monkeypatch.setattr(indexer._WriterStats, "of", staticmethod(of))
    index = tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    gen = index / generations.current_generation(index)
    checked = 0
    for locale in ("de-DE", "en-US"):
        stats = seen[locale]
        ix = whoosh_index.open_dir(str(gen / locale))
        with ix.reader() as reader:
            assert stats.doc_count_all() == reader.doc_count_all()
            fields = memindex.POSITION_FIELDS + memindex.FREQUENCY_FIELDS
            # No length column for grams (no token in any de-DE document): the default.
            assert reader.doc_field_length(0, "grams", -7) == -7
            for field in fields:
                assert stats.field_length(field) == reader.field_length(field), field
                for d in range(reader.doc_count_all()):
                    got = stats.doc_field_length(d, field, -7)
                    assert got == reader.doc_field_length(d, field, -7), (field, d)
                    checked += 1
            for stored in reader.all_stored_fields():
                slug = stored["slug"]
                assert stats.postings("slug", slug).id() == reader.postings("slug", slug).id()
        ix.close()
    assert checked > 100


def test_a_failed_child_leaves_the_file_to_the_build(tmp_path, parallel, monkeypatch, caplog):
    """The child fails (here: its write raises): the build says so in the log, writes
    postings.bin in-process, and switches to a generation identical to a normal build's."""
    corpus = _corpus(tmp_path)
    parent = os.getpid()
    real = memindex.Recorder.write

    def write(self, path, reader):
        if os.getpid() != parent:
            raise RuntimeError("the child's write broke")
        return real(self, path, reader)

    monkeypatch.setattr(memindex.Recorder, "write", write)
    started = _forks(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="helpapi.index"):
        build_indexes(corpus, tmp_path / "par", jobs=1)
    assert "the child's write broke" in caplog.text
    assert len(started) == 2 and _reaped(started)
    monkeypatch.setattr(indexer, "_parallel", False)
    build_indexes(corpus, tmp_path / "seq", jobs=1)
    assert index_files(tmp_path / "par", "de-DE") == index_files(tmp_path / "seq", "de-DE")


def test_a_failed_build_kills_its_child_and_keeps_serving(tmp_path, parallel, monkeypatch):
    """Writing a file beside the segment fails while the child writes: the child is killed
    and reaped, the staging folder removed, and the last good generation still serves."""
    corpus = _corpus(tmp_path)
    index = tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    serving = generations.current_generation(index)
    before = _answers(index)
    _edit(corpus, 4, "Absturzwort")
    started = _forks(monkeypatch)

    def write(self, path):
        raise OSError("disk full (test)")

    monkeypatch.setattr(facets.Collector, "write", write)
    with pytest.raises(OSError, match="disk full"):
        build_indexes(corpus, index, jobs=1, incremental=True)
    assert len(started) == 1 and _reaped(started)
    assert generations.current_generation(index) == serving
    assert not [p for p in index.iterdir() if p.name.startswith(".build-")]
    assert _answers(index) == before


def test_off_by_default_and_without_fork(tmp_path, monkeypatch):
    """A CLI build or a test (no parallel_postings call) never forks; nor does a platform
    without fork."""
    assert indexer._parallel is False
    started = _forks(monkeypatch)
    build_indexes(_corpus(tmp_path), tmp_path / "index", jobs=1)
    assert started == []
    monkeypatch.delattr(os, "fork")
    assert indexer._fork_postings(None, tmp_path / "x", None) is None


def test_a_real_runner_serves_what_a_fresh_build_serves(tmp_path):
    """A job's runner (``python -m helpapi.jobs``: lease heartbeat thread, signal handlers,
    fast exit), which turns the forked write on, switches to a generation that holds a fresh
    build's files and answers."""
    from helpapi import jobs

    from .test_edit_fast3 import _wait

    source = (Path(jobs.__file__)).read_text("utf-8")
    assert "_indexer.parallel_postings()" in source.split('if __name__ == "__main__":')[1]
    corpus, index = _corpus(tmp_path), tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    slug = _edit(corpus, 6, "Laeuferwortgabel")
    job = jobs.submit(index, corpus, None, False)
    done = _wait(index, job["id"])
    assert done["status"] == "succeeded", done
    proc = next(p for p in jobs._children if p.pid == done["pid"])
    assert proc.wait(timeout=30) == 0
    fresh = tmp_path / "fresh"
    build_indexes(corpus, fresh, jobs=1)
    assert index_files(index, "de-DE") == index_files(fresh, "de-DE")
    assert _answers(index) == _answers(fresh)
    ixset = open_current(index)
    try:
        found = search(ixset, "Laeuferwortgabel", "de-DE", limit=5)["results"]
    finally:
        ixset.close()
    assert [h["slug"] for h in found] == [slug]


def _two_locales(tmp_path):
    root = tmp_path / "corpus"
    for locale in ("de-DE", "fr-FR"):
        (root / locale).mkdir(parents=True)
        for path in sorted((CORPUS / locale).glob("*.md"))[:20]:
            shutil.copy(path, root / locale / path.name)
    return root


def _verified(monkeypatch) -> list[str]:
    """The locales verify_locale read, in order (the plan's and the carry-over's)."""
    seen: list[str] = []
    real = generations.verify_locale

    def verify(generation_dir, locale, files):
        seen.append(locale)
        return real(generation_dir, locale, files)

    monkeypatch.setattr(generations, "verify_locale", verify)
    return seen


def test_an_edit_reads_each_serving_locale_once(tmp_path, monkeypatch):
    """One edit in de-DE: the plan verifies de-DE (its serving files are reused), and fr-FR
    and en-US are verified once, as they are carried over (not twice, as every locale's files
    were read whole by the plan too)."""
    corpus, index = _two_locales(tmp_path), tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    _edit(corpus, 3, "Einmalpruefwort")
    seen = _verified(monkeypatch)
    report = build_indexes(corpus, index, jobs=1, incremental=True)
    assert sorted(report.locales) == ["de-DE"]
    assert sorted(seen) == ["de-DE", "en-US", "fr-FR"]


def test_damage_in_a_carried_locale_is_rebuilt_during_an_edit_elsewhere(tmp_path):
    """fr-FR's segment is damaged while de-DE is edited: the plan no longer reads fr-FR, the
    carry-over finds the damage and rebuilds it; the generation serves a fresh build's files."""
    corpus, index = _two_locales(tmp_path), tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    gen = index / generations.current_generation(index)
    (seg,) = (gen / "fr-FR").glob("*.seg")
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    seg.unlink()
    seg.write_bytes(bytes(data))
    _edit(corpus, 3, "Schadenpruefwort")
    report = build_indexes(corpus, index, jobs=1, incremental=True)
    assert sorted(report.locales) == ["de-DE", "fr-FR"]
    fresh = tmp_path / "fresh"
    build_indexes(corpus, fresh, jobs=1)
    for locale in ("de-DE", "fr-FR"):
        assert index_files(index, locale) == index_files(fresh, locale), locale


def test_damage_alone_is_still_found_by_the_plan(tmp_path, monkeypatch):
    """Nothing changed but fr-FR is damaged: the plan reads every locale and asks for fr-FR's
    rebuild (no edit would otherwise start the build that repairs it)."""
    from helpapi.incremental import plan_changes

    corpus, index = _two_locales(tmp_path), tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    gen = index / generations.current_generation(index)
    (gen / "fr-FR" / memindex.FILENAME).unlink()
    seen = _verified(monkeypatch)
    plan = plan_changes(corpus, index)
    assert sorted(seen) == ["de-DE", "en-US", "fr-FR"]
    assert plan.locales == ["fr-FR"] and list(plan.damaged) == ["fr-FR"]
