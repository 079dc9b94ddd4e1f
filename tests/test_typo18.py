"""engine._consecutive (the phrase check of every slop-1 chain: a lazy phrase's documents, a
run's bigrams, the words standing as typed) with no set made while the lists' first positions
stand in a row, and a binary search per start against a long list: the same answers, and the
lists read in the same order and number, as shifting every list into a set."""

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


def _logged(lists, log):
    for item in lists:
        log.append(item[0])
        yield item


def _same(lists) -> bool:
    read_old, read_new = [], []
    old = _by_sets(_logged(lists, read_old))
    new = engine._consecutive(_logged(lists, read_new))
    assert new is old, lists
    assert read_new == read_old, lists  # a lazy phrase's budget counts the lists read
    return new


def test_first_positions_in_a_row_is_a_phrase():
    assert _same([(0, [3, 9]), (1, [4]), (2, [5, 40])])
    assert _same([(2, [7]), (0, [5, 11]), (1, [6])])  # any order of the lists


def test_a_later_start_found_after_the_first_positions_part():
    assert _same([(0, [1, 20]), (1, [21]), (2, [9, 22])])
    assert not _same([(0, [1, 20]), (1, [2, 30]), (2, [9, 22])])


def test_no_lists_and_empty_lists():
    assert not _same([])
    assert not _same([(0, [])])
    assert not _same([(0, [4]), (1, ()), (2, [6])])  # the third is never read
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
    # near() sorts by length and checks slop-1 chains through _consecutive.
    assert engine.near([[5, 17], [6], [7, 30]], 1, True)
    assert not engine.near([[5, 17], [7], [8, 30]], 1, True)
    assert engine.near([[5, 17], [18], [19, 30]], 1, True)
