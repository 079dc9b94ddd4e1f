"""A gunicorn worker's garbage collector: young collections sized for a search's allocations."""

import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpapi import runtime

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def thresholds():
    was = gc.get_threshold()
    yield
    gc.set_threshold(*was)


def test_tune_gc_raises_the_young_threshold_only(thresholds):
    gc.set_threshold(700, 10, 10)
    assert runtime.tune_gc(50_000) == (50_000, 10, 10)
    assert gc.get_threshold() == (50_000, 10, 10)


@pytest.mark.parametrize("value", ["0", "", "-5", "many", "99999999999"])
def test_tune_gc_from_the_environment_keeps_pythons_default_unless_valid(
    thresholds, monkeypatch, value
):
    gc.set_threshold(700, 10, 10)
    monkeypatch.setenv("HELPAPI_GC_GEN0", value)
    runtime.tune_gc()
    assert gc.get_threshold() == (700, 10, 10)


def test_tune_gc_reads_the_environment(thresholds, monkeypatch):
    monkeypatch.setenv("HELPAPI_GC_GEN0", "20000")
    assert runtime.tune_gc()[0] == 20_000


def test_a_worker_is_tuned_after_fork(thresholds, monkeypatch, tmp_path):
    # The conf's post_worker_init hook tunes the worker it runs in (CPython's default, 700,
    # made a 256-character chain query spend about half its CPU in young collections).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.delenv("HELPAPI_GC_GEN0", raising=False)
    gc.set_threshold(700, 10, 10)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    conf["post_worker_init"](SimpleNamespace(wsgi=None, log=None))
    assert gc.get_threshold()[0] == runtime.GC_GEN0
