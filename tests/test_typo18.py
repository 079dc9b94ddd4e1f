"""engine._in_a_row (near()'s check of every slop-1 chain: a lazy phrase's documents, a run's
bigrams, the words standing as typed) with a binary search per start against a long list: the
same answers as shifting every list into a set."""

from __future__ import annotations

import random
from array import array
from itertools import repeat
from operator import sub

from helpapi import engine


def _by_sets(lists) -> bool:
    """The check as it was: every list read shifted into a set, stopping at an empty one."""
    starts = None
    for i, plist in lists:
        shifted = map(sub, plist, repeat(i))
        if starts is None:
            starts = set(shifted)
        else:
            starts.intersection_update(shifted)
        if not starts:
            return False
    return starts is not None


def _same(lists) -> bool:
    """``lists``: ``(i, positions)``, the i-th list's, in any order (a permutation of the
    numbers): the answer of the sets, of _in_a_row (lists in their order) and of near()."""
    old = _by_sets(lists)
    in_order = [plist for _, plist in sorted(lists, key=lambda x: x[0])]
    assert engine._in_a_row(in_order) is old, lists
    assert engine.near(in_order, 1, True) is old, lists
    return old


def test_first_positions_in_a_row_is_a_phrase():
    assert _same([(0, [3, 9]), (1, [4]), (2, [5, 40])])
    assert _same([(2, [7]), (0, [5, 11]), (1, [6])])  # any order of the lists


def test_a_later_start_found_after_the_first_positions_part():
    assert _same([(0, [1, 20]), (1, [21]), (2, [9, 22])])
    assert not _same([(0, [1, 20]), (1, [2, 30]), (2, [9, 22])])


def test_no_lists_and_empty_lists():
    assert not _same([])
    assert not _same([(0, [])])
    assert not _same([(0, [4]), (1, ()), (2, [6])])
    assert _same([(0, [4])])


def test_few_starts_against_a_long_list_memoryview():
    long = memoryview(array("I", range(0, 4000, 3)))
    assert not _same([(0, [300, 999]), (1, long)])  # 301 is no multiple of 3; 1000 isn't
    assert _same([(0, [299, 999]), (1, long)])  # 300 is
    assert not _same([(0, [301, 1000]), (1, long), (2, [5])])


def test_random_lists_against_the_sets():
    rng = random.Random(18)
    for _ in range(20000):
        n = rng.randint(0, 4)
        order = list(range(n))
        rng.shuffle(order)
        lists = []
        for i in order:
            size = rng.choice([0, 1, 2, 3, 40, 150])
            lists.append((i, sorted(rng.sample(range(300), size))))
        _same(lists)


def test_near_unchanged_on_runs_of_positions():
    # near() checks slop-1 chains through _in_a_row.
    assert engine.near([[5, 17], [6], [7, 30]], 1, True)
    assert not engine.near([[5, 17], [7], [8, 30]], 1, True)
    assert engine.near([[5, 17], [18], [19, 30]], 1, True)
