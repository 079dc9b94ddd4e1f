"""Stop 21 (x-build3): the CLI build's pool forks beside its lease heartbeat; a locale writes
postings.bin in a forked child once the pool has no locale left to start."""

from __future__ import annotations

import ctypes
import sys
import threading

import pytest

from helpapi import indexer
from helpapi import jobs
from helpapi.indexer import build_indexes
from helpapi.indexer import build_locale

from .test_build_read18 import _files
from .test_build_read18 import _small_corpus

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is Linux-only here")


def _running_thread():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    return thread, stop


@linux
def test_the_pool_forks_beside_a_thread_named_fork_safe():
    thread, stop = _running_thread()
    try:
        assert indexer._pool_start_method() == "spawn"
        indexer.fork_safe_beside(thread)
        assert indexer._pool_start_method() == "fork"
        other, stop_other = _running_thread()  # any other thread: spawn again
        try:
            assert indexer._pool_start_method() == "spawn"
        finally:
            stop_other.set()
            other.join()
        assert indexer._pool_start_method() == "fork"
    finally:
        stop.set()
        thread.join()


def test_a_pool_started_outside_the_main_thread_spawns():
    got = []
    thread = threading.Thread(target=lambda: got.append(indexer._pool_start_method()))
    thread.start()
    thread.join()
    assert got == ["spawn"]


def _stray_threads() -> list:
    """Threads left running by other tests (the fork is then rightly refused)."""
    main = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main and t not in indexer._fork_safe]


@linux
def test_the_cli_build_lease_lets_the_pool_fork(tmp_path):
    corpus = _small_corpus(tmp_path, n=2)
    before = set(threading.enumerate())
    stray = _stray_threads()
    with jobs.cli_build_lease(tmp_path / "idx", corpus):
        beats = [t for t in threading.enumerate() if t not in before]
        assert beats  # its heartbeat runs beside the build
        assert all(t in indexer._fork_safe for t in beats)
        if not stray:
            assert indexer._pool_start_method() == "fork"


@linux
def test_a_cli_build_under_its_lease_is_the_serial_build(tmp_path, monkeypatch):
    corpus = _small_corpus(tmp_path, n=6)
    build_indexes(corpus, tmp_path / "serial", jobs=1)
    methods = []
    real = indexer._pool_start_method
    monkeypatch.setattr(indexer, "_pool_start_method", lambda: methods.append(real()) or real())
    stray = _stray_threads()
    with jobs.cli_build_lease(tmp_path / "pool", corpus) as fence:
        build_indexes(corpus, tmp_path / "pool", jobs=2, before_switch=fence)
    assert methods == ["spawn" if stray else "fork"]
    for locale in ("en-US", "de-DE", "fr-FR", "ja-JP"):
        assert _files(tmp_path / "serial", locale) == _files(tmp_path / "pool", locale), locale


@linux
@pytest.mark.parametrize("draining", [0, 1])
def test_a_locale_writes_postings_in_a_child_once_the_pool_is_draining(
    tmp_path, monkeypatch, draining
):
    corpus = _small_corpus(tmp_path, n=6)
    build_locale(str(corpus), "de-DE", str(tmp_path / "plain"))
    forks = []
    real = indexer._fork_postings
    monkeypatch.setattr(indexer, "_fork_postings", lambda *a: forks.append(1) or real(*a))
    monkeypatch.setattr(indexer, "_pool_draining", ctypes.c_int(draining))
    build_locale(str(corpus), "de-DE", str(tmp_path / "spare"))
    assert len(forks) == draining
    for name in ("postings.bin", "display.bin", "facets.json"):
        plain = (tmp_path / "plain" / "de-DE" / name).read_bytes()
        assert (tmp_path / "spare" / "de-DE" / name).read_bytes() == plain, name


def test_a_pool_worker_takes_the_draining_flag_it_is_given(monkeypatch):
    monkeypatch.setattr(indexer, "die_with_parent", lambda parent: None)
    monkeypatch.setattr(indexer, "_progress_queue", None)
    monkeypatch.setattr(indexer, "_pool_draining", None)
    shared = ctypes.c_int(0)
    indexer._init_worker("queue", 1, shared)
    assert indexer._pool_draining is shared
    indexer._init_worker("queue", 1)  # an older caller's arguments: no flag, no split
    assert indexer._pool_draining is None


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_pool_build_with_split_writes_is_the_serial_build(tmp_path, monkeypatch, method):
    # Three processes for four locales: the last ones split their writes; two processes for
    # two locales (nothing left to start from the beginning): both do.
    corpus = _small_corpus(tmp_path, n=6)
    build_indexes(corpus, tmp_path / "serial", jobs=1)
    monkeypatch.setattr(indexer, "_pool_start_method", lambda: method)
    build_indexes(corpus, tmp_path / "pool3", jobs=3)
    build_indexes(corpus, tmp_path / "pool2", jobs=2, locales=["de-DE", "ja-JP"])
    for locale in ("en-US", "de-DE", "fr-FR", "ja-JP"):
        assert _files(tmp_path / "serial", locale) == _files(tmp_path / "pool3", locale), locale
    for locale in ("de-DE", "ja-JP"):
        assert _files(tmp_path / "serial", locale) == _files(tmp_path / "pool2", locale), locale
