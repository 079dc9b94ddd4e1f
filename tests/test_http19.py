"""Per-request costs cut around a search (bench/RESULTS.md "Stop 19: HTTP"): what each cut
must keep true across gunicorn's fork of its workers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from helpapi import analytics


def _in_forked_child(fn) -> str:
    """``fn()``'s answer (a str) computed in a forked child of this process."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write, fn().encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        got = fh.read()
    os.waitpid(pid, 0)
    return got


def test_a_forked_worker_never_hands_out_its_parents_query_ids():
    analytics._RANDOM_PARTS.clear()  # earlier tests may have left exactly one part
    analytics.new_query_id()  # the parent has random parts drawn ahead
    assert analytics._RANDOM_PARTS
    child = _in_forked_child(lambda: analytics.new_query_id()[8:])
    mine = analytics.new_query_id()[8:]
    assert len(child) == len(mine) == 8 and child != mine


def test_query_ids_stay_distinct_across_draws():
    ids = [analytics.new_query_id() for _ in range(3 * analytics._PARTS_PER_DRAW)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


def test_a_forked_worker_counts_in_its_own_metrics_file(tmp_path):
    # The pid is remembered, not asked for on every update: a forked child must still
    # write its own file, and a scrape must sum the parent's and the child's counts.
    code = textwrap.dedent(
        """
        import os
        from helpapi import metrics
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess
        metrics.observe_result_cache(True)
        pid = os.fork()
        if pid == 0:
            metrics.observe_result_cache(True)
            metrics.observe_result_cache(True)
            os._exit(0)
        os.waitpid(pid, 0)
        print(sorted(os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"])), os.getpid(), pid)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        for line in generate_latest(registry).decode().splitlines():
            if line.startswith("helpapi_result_cache_lookups_total"):
                print(line)
        """
    )
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    files, parent, child = out[0].rsplit(" ", 2)
    assert files == str(sorted([f"counter_{parent}.db", f"counter_{child}.db"]))
    assert out[1:] == ['helpapi_result_cache_lookups_total{result="hit"} 3.0']
