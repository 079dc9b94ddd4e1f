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
from .test_build_stop20 import start_methods

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is Linux-only here")


@linux
def test_the_pool_forks_beside_a_thread_named_fork_safe():
    steps = """
        method()
        thread, stop = running()
        method()
        indexer.fork_safe_beside(thread)
        method()
        other, stop_other = running()  # any other thread: spawn again
        method()
        stopped(other, stop_other)
        method()
        stopped(thread, stop)
        method()
        """
    assert start_methods(steps) == ["fork", "spawn", "fork", "spawn", "fork", "fork"]


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
