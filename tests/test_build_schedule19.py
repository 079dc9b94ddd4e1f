"""The pool's order of locales (helpapi.schedule) and the CLI's imports (stop 19, x-wall)."""

from __future__ import annotations

import subprocess
import sys

from helpapi import schedule


def test_order_is_longest_first_when_that_ends_together():
    costs = {"a": 1.0, "b": 5.0, "c": 3.0, "d": 2.0}
    # 5 | 3+2 then 1: longest first ends at 6, as well as any order can (11 on 2).
    assert schedule.order(costs, [0.0, 0.0]) == ["b", "c", "d", "a"]


def test_order_swaps_jobs_so_that_the_processes_end_together():
    costs = {"a": 5.0, "b": 4.0, "c": 3.0, "d": 3.0, "e": 3.0}
    lpt = sorted(costs, key=lambda k: -costs[k])
    assert schedule.estimated_end([costs[k] for k in lpt], [0.0, 0.0]) == 10.0
    found = schedule.order(costs, [0.0, 0.0])
    assert sorted(found) == sorted(costs)
    assert schedule.estimated_end([costs[k] for k in found], [0.0, 0.0]) == 9.0


def test_order_counts_the_busy_processes():
    # The other process is busy for 4 more seconds: the 4-second job goes on the free one now
    # and the two 2-second jobs after it (end 6), not the 4-second job after the 2s (end 8).
    costs = {"x": 4.0, "y": 2.0, "z": 2.0}
    found = schedule.order(costs, [0.0, 4.0])
    assert schedule.estimated_end([costs[k] for k in found], [0.0, 4.0]) == 6.0


def test_order_of_ties_and_of_many_jobs_is_longest_first():
    assert schedule.order({"a": 1.0, "b": 1.0, "c": 1.0}, [0.0, 0.0]) == ["a", "b", "c"]
    many = {f"l{i:03}": float(i % 7) for i in range(schedule.SEARCH_MAX + 1)}
    assert schedule.order(many, [0.0, 0.0]) == sorted(many, key=lambda k: -many[k])


def test_planner_chooses_by_what_the_running_job_has_left():
    planner = schedule.Planner({"big": 8.0, "mid": 6.0, "small": 2.0, "tiny": 1.0}, 2)
    first = planner.first()
    assert len(first) == 2 and len(planner.left) == 2
    # One job took twice its estimate (machine slower): the rate doubles every estimate. The
    # other has run 1 s of its 12 s (6 x 2): the free process takes the larger job left.
    done, running = first
    planner.finished(done, 2 * planner.costs[done])
    nxt = planner.next({running: 1.0})
    left = {k: planner.costs[k] for k in (*planner.left, nxt)}
    assert nxt == max(left, key=left.get)
    assert planner.next({running: 5.0}) in left
    assert not planner.left


def test_planner_without_a_rate_keeps_its_order():
    planner = schedule.Planner({"a": 0.0, "b": 0.0, "c": 0.0}, 2)
    planner.first()
    planner.finished("a", 1.0)  # no cost finished: no rate, the order stands
    assert planner.next({"b": 1.0}) == "c"


def test_the_build_command_imports_neither_flask_nor_the_search_engine():
    # The pool's spawned workers import the CLI again (the console script is their main
    # module): whatever it imports at the top, each worker pays for before its first locale.
    code = (
        "import sys, helpapi.cli;"
        "bad = [m for m in ('flask', 'werkzeug', 'helpapi.search', 'helpapi.engine', 'sqlite3')"
        " if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
