"""Review findings on this stop's engine and build changes, each pinned by a test that failed
before its fix."""

import random

from helpapi import engine


def test_run_reads_memo_is_bounded_by_bigrams_held(ixset):
    # A stream of distinct 256-character CJK queries: each run is 255 bigrams. The memo was
    # bounded at 1,024 runs (about 30 MB a locale a worker); it is bounded in bigrams now.
    grams_field = ixset.mem["ja-JP"].fields["grams"]
    rng = random.Random(7)
    letters = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    for _ in range(300):
        run = "".join(rng.choice(letters) for _ in range(256))
        grams = tuple(run[i : i + 2] for i in range(len(run) - 1))
        first = engine.run_reads(grams_field, grams)
        assert engine.run_reads(grams_field, grams) == first
    held = sum(len(k) for k in grams_field.run_reads_memo)
    assert held <= engine.RUN_READS_MEMO_GRAMS


def test_title_tables_keep_no_view_of_a_closed_index(ixset):
    # The tables are kept per index object: they must not hold its fields (memoryviews of
    # its mapping), or a closed generation's mapping lives on with them.
    from helpapi.memindex import FieldPostings

    mem = ixset.mem["de-DE"]
    table = engine.title_keys(mem)
    assert not any(isinstance(x, FieldPostings) for part in table for x in part)
