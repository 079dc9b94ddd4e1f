"""Stop 20, second review of the merged work: a long first position list in a phrase check,
and a display file whose ``words`` do not match its body."""

from __future__ import annotations

import random

from helpapi import display
from helpapi.engine import near


class _Counted(list):
    """A position list that counts how often it is walked whole."""

    walks = 0

    def __iter__(self):
        type(self).walks += 1
        return super().__iter__()


def test_a_long_first_list_is_probed_not_walked():
    """A word repeated 100,000 times in an article, then a rare one: the rare one's places
    are looked up in the long list (binary search), the long list is not made a set per
    candidate document (53 us -> 5.6 ms a check before the fix)."""
    long = _Counted(range(0, 200_000, 2))
    _Counted.walks = 0
    assert near([long, [777]], 1, True)
    assert not near([long, [778]], 1, True)
    assert _Counted.walks == 0


def test_in_a_row_matches_its_definition():
    """Consecutive places, whichever list the check starts from (long first lists too)."""
    rng = random.Random(20)
    for _ in range(3000):
        n = rng.randint(1, 4)
        lists = []
        for i in range(n):
            size = rng.choice((1, 3, 10, 80, 300)) if i == 0 else rng.choice((0, 1, 2, 5, 90))
            lists.append(sorted(rng.sample(range(400), min(size, 400))))
        want = any(all(x + i in set(lst) for i, lst in enumerate(lists)) for x in lists[0])
        assert near(lists, 1, True) is want, lists


def test_words_that_do_not_match_the_body_are_made_again(tmp_path):
    """A damaged (not a built) display file whose ``words`` field is longer than its body:
    the hit's words are made from the body, so snippet marks stay on the matched words."""
    body = "Outlook password reset"
    wrong = display.words("xx" + body)
    path = tmp_path / display.FILENAME
    display.write(path, [("s", "a", "T", body, wrong, display.fold(body))])
    shown = display.Display(path)
    try:
        assert shown.hit(0)[4] == display.words(body)
    finally:
        shown.close()


def test_in_a_row_with_a_sparse_list_before_the_last():
    """A list probed by binary search (far longer than the starts left) before the last
    list: the last is still checked (a probe's index was once taken for the list the starts
    came from, and the last list skipped: "Oletko uusi Teams-käyttää?" found in a row)."""
    middle = [32, 42, 48, 63, 103, 107, 123, 129, 220, 224, 254, 313, 413, 455, 466, 522, 541]
    middle += [578, 598, 612, 620, 634, 674, 688, 693, 710, 713, 723, 739, 818, 835, 840]
    assert not near([[61], [62], middle, [93]], 1, True)
    assert near([[61], [62], middle, [64]], 1, True)
