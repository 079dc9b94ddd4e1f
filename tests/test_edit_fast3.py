"""Edit to searchable, third round (issue #13 item 5): the job's process does less around the
build. Its objects are kept until a fast exit instead of freed one by one before the switch,
its start-up does not import Flask, and each article file is hashed once. Nothing the job
leaves behind is lost by the fast exit (a real runner process is checked end to end).
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time

import pytest

from helpapi import article_cache
from helpapi import generations
from helpapi import indexer
from helpapi import jobs
from helpapi import lease as leases
from helpapi.indexer import build_indexes
from helpapi.search import open_current
from helpapi.search import search

from .test_edit_fast2 import _corpus
from .test_edit_fast2 import _count


def _edit(corpus, n: int, word: str):
    path = sorted((corpus / "de-DE").glob("*.md"))[n]
    text = path.read_text(encoding="utf-8")
    at = text.index('<span data-ttu-id="')
    at = text.index(">", at) + 1
    path.write_text(text[:at] + word + " " + text[at:], encoding="utf-8")
    return path


def _wait(index, job_id, timeout=120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = jobs.read_job(index, job_id)
        if job["status"] not in jobs.ACTIVE or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


@pytest.fixture
def kept_mode():
    """indexer.keep_until_exit() for one test, undone after (this process goes on)."""
    indexer.keep_until_exit()
    try:
        yield
    finally:
        indexer._kept = None
        gc.unfreeze()


def test_keep_until_exit_keeps_the_build_and_freezes_it(tmp_path, kept_mode):
    corpus, index = _corpus(tmp_path), tmp_path / "index"
    report = build_indexes(corpus, index, jobs=1)
    # Two locales built (de-DE and en-US): only the last one's objects are kept (the first's
    # were freed when the second started, so the peak memory is one locale's, as before).
    assert len(report.locales) == 2
    assert len(indexer._kept) == 1
    recorder = indexer._kept[0][0]
    assert recorder.postings["text"]
    # Frozen: the collector's next passes never walk them.
    assert gc.get_freeze_count() > 0


def test_kept_build_writes_the_same_files(tmp_path, kept_mode):
    """Keeping the objects changes no byte the build writes."""
    corpus = _corpus(tmp_path)
    build_indexes(corpus, tmp_path / "kept", jobs=1)
    indexer._kept = None
    build_indexes(corpus, tmp_path / "freed", jobs=1)
    for name in ("kept", "freed"):
        assert generations.current_generation(tmp_path / name)
    kept = tmp_path / "kept" / generations.current_generation(tmp_path / "kept") / "de-DE"
    freed = tmp_path / "freed" / generations.current_generation(tmp_path / "freed") / "de-DE"
    for path in sorted(freed.iterdir()):
        if path.suffix in (".bin", ".json") and path.name != "docs.json":
            assert (kept / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_build_in_process_frees_as_before(tmp_path):
    """Without keep_until_exit (the CLI, the tests, anything that goes on) nothing is kept."""
    assert indexer._kept is None
    build_indexes(_corpus(tmp_path), tmp_path / "index", jobs=1)
    assert indexer._kept is None


def test_article_file_is_hashed_once(tmp_path, monkeypatch):
    corpus, index = _corpus(tmp_path), tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    _edit(corpus, 3, "Einmalgehashtwort")
    calls = {"n": 0}
    real = article_cache.hashlib

    class Counted:  # article_cache's hashlib only (the manifest's own hash is not counted)
        def __getattr__(self, name):
            return getattr(real, name)

        def sha1(self, *args, **kwargs):
            calls["n"] += 1
            return real.sha1(*args, **kwargs)

    monkeypatch.setattr(article_cache, "hashlib", Counted())
    counts: dict[str, int] = {}
    _count(monkeypatch, indexer, "parse_article", counts)
    report = build_indexes(corpus, index, jobs=1, incremental=True)
    assert report.locales["de-DE"].cached == len(list((corpus / "de-DE").glob("*.md"))) - 1
    assert counts == {"parse_article": 1}
    # The file keys reuse the manifest's SHA-1: article_cache hashes only link keys (one per
    # article) and its fingerprint, never the files' bytes again.
    assert calls["n"] <= len(report.locales["de-DE"].manifest) + 5


def test_file_key_with_the_digest_is_the_same_key():
    data = b"# Titel\n\nText\n"
    digest = article_cache.hashlib.sha1(data).hexdigest()
    for path in ("a/b.md", "a/b.HTML", "c.htm"):
        assert article_cache.file_key(data, path, digest) == article_cache.file_key(data, path)


def test_runner_start_up_does_not_import_flask():
    """What ``python -m helpapi.jobs`` imports before its build starts."""
    code = (
        "import sys, helpapi.jobs, helpapi.indexer, helpapi.config, helpapi.lease;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'jinja2')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_create_app_still_makes_a_flask_app():
    import flask

    import helpapi

    app = helpapi.create_app({"TESTING": True})
    assert isinstance(app, flask.Flask)  # (helpapi.web's subclass since stop 20)


def test_runner_fast_exit_leaves_everything_recorded(tmp_path):
    """A real runner (``python -m helpapi.jobs``) ends with os._exit: the job record says
    succeeded with its counts, the generation is switched in, the article cache and docs.json
    are written, the lease is released, and the next edit's job reuses all of it."""
    corpus, index = _corpus(tmp_path), tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    first = generations.current_generation(index)
    for n, word in enumerate(("Schnellausgangwort", "Zweitausgangwort")):
        _edit(corpus, 5 + n, word)
        job = jobs.submit(index, corpus, None, False)
        done = _wait(index, job["id"])
        assert done["status"] == "succeeded", done
        assert done["counts"]["updated"] == 1
        assert sorted(done["locales"]) == ["de-DE"]
        assert done["generation"] == generations.current_generation(index) != first
        # The runner is gone and its exit code says success.
        proc = next(p for p in jobs._children if p.pid == done["pid"])
        assert proc.wait(timeout=30) == 0
        assert jobs._held(index / "jobs" / f"{job['id']}.lock") is False
        held = leases.read(index / "jobs", done["lease"])
        assert held is not None and held.released
        # The files the next build reads are whole.
        gen = index / done["generation"]
        meta = generations.read_meta(gen)
        assert generations.verify_locale(gen, "de-DE", meta["locales"]["de-DE"]["files"]) is None
        assert json.loads((gen / "de-DE" / indexer.DOCS_FILE).read_text("utf-8"))["docs"]
        assert len(article_cache.load(index, "de-DE")) == len(meta["locales"]["de-DE"]["manifest"])
        first = done["generation"]


def test_unchanged_files_are_not_read_again_after_the_plan(tmp_path, monkeypatch):
    """The plan has just read and hashed every file: the build takes the cached articles by
    those hashes and reads only the edited file."""
    corpus, index = _corpus(tmp_path), tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    edited = _edit(corpus, 4, "Nureinmalgelesenwort")
    read = []
    real = indexer.read_bytes

    def counted(path, *args, **kwargs):
        read.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(indexer, "read_bytes", counted)
    report = build_indexes(corpus, index, jobs=1, incremental=True)
    assert read == [str(edited)]
    stats = report.locales["de-DE"]
    assert stats.cached == N_FILES(corpus) - 1
    # The manifest holds every file's hash, as a build that read them all would.
    from helpapi.incremental import scan_manifest

    assert stats.manifest == scan_manifest(corpus / "de-DE")
    # And the next plan finds nothing to do.
    assert build_indexes(corpus, index, jobs=1, incremental=True).switched is False


def N_FILES(corpus) -> int:  # noqa: N802
    return len(list((corpus / "de-DE").glob("*.md")))


def test_a_file_changed_between_plan_and_build_is_the_next_builds(tmp_path, monkeypatch):
    """The build keeps the plan's snapshot of an unchanged file (its cached article and the
    plan's hash together); a change made meanwhile is found and built by the next job."""
    from helpapi import incremental

    corpus, index = _corpus(tmp_path), tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    _edit(corpus, 2, "Planwort")
    late = sorted((corpus / "de-DE").glob("*.md"))[9]
    real = incremental.plan_changes

    def plan_then_write(*args, **kwargs):
        plan = real(*args, **kwargs)
        _edit(corpus, 9, "Spaetwort")  # written while the job runs (ingestion API)
        return plan

    monkeypatch.setattr(indexer, "plan_changes", plan_then_write)
    report = build_indexes(corpus, index, jobs=1, incremental=True)
    monkeypatch.setattr(indexer, "plan_changes", real)
    slug = late.stem
    assert (
        report.locales["de-DE"].manifest[slug] != incremental.scan_manifest(corpus / "de-DE")[slug]
    )
    again = build_indexes(corpus, index, jobs=1, incremental=True)
    assert again.switched and again.changes["de-DE"]["updated"] == 1
    assert again.locales["de-DE"].manifest == incremental.scan_manifest(corpus / "de-DE")
    ixset = open_current(index)
    try:
        hits = search(ixset, "Spaetwort", "de-DE", limit=5)
    finally:
        ixset.close()
    assert [h["slug"] for h in hits["results"]] == [slug]


def test_a_file_the_plan_could_not_read_is_still_rejected_with_its_reason(tmp_path):
    corpus, index = _corpus(tmp_path), tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    bad = sorted((corpus / "de-DE").glob("*.md"))[6]
    bad.write_bytes(b"# T\n\n" + b"x" * 5000)
    report = build_indexes(corpus, index, jobs=1, incremental=True, max_article_bytes=1000)
    stats = report.locales["de-DE"]
    assert stats.rejected >= 1
    assert any(bad.name in path for path, _ in stats.errors)
