"""Stop 21 (x-build3): the CLI build's pool forks its workers beside its lease heartbeat."""

from __future__ import annotations

import sys
import threading

import pytest

from helpapi import indexer
from helpapi import jobs
from helpapi.indexer import build_indexes

from .conftest import index_files
from .test_build_read18 import _small_corpus

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is Linux-only here")


def _running_thread():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    return thread, stop


def _only_these_threads(monkeypatch, mine: list) -> None:
    """The process as if its threads were the main one and ``mine``: threads other tests left
    running (an app's writer, a server) would rightly make every answer "spawn" (full suite)."""
    real = threading.enumerate
    main = threading.main_thread()

    def visible():
        return [t for t in real() if t is main or t in mine]

    monkeypatch.setattr(threading, "enumerate", visible)
    monkeypatch.setattr(threading, "active_count", lambda: len(visible()))


@linux
def test_the_pool_forks_beside_a_thread_named_fork_safe(monkeypatch):
    mine: list = []
    _only_these_threads(monkeypatch, mine)
    assert indexer._pool_start_method() == "fork"
    thread, stop = _running_thread()
    mine.append(thread)
    try:
        assert indexer._pool_start_method() == "spawn"
        indexer.fork_safe_beside(thread)
        assert indexer._pool_start_method() == "fork"
        other, stop_other = _running_thread()  # any other thread: spawn again
        mine.append(other)
        try:
            assert indexer._pool_start_method() == "spawn"
        finally:
            stop_other.set()
            other.join()
            mine.remove(other)
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
        assert index_files(tmp_path / "serial", locale) == index_files(tmp_path / "pool", locale), (
            locale
        )
