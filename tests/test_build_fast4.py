"""Build write side, fourth pass (issue #14 item 5, #16 build targets).

The Whoosh segment is written straight from the recorder's entries (no per-posting tuples),
its hash buckets without md5's hex round trip, and the pool starts en-US among the last jobs.
The files stay Whoosh's own, byte for byte: ``tests/test_build_fast.py`` compares whole
segments (several blocks, repeated positions, frequency fields); these pin the pieces.
"""

from __future__ import annotations

from hashlib import md5
from zlib import crc32

import pytest
from whoosh.filedb.filetables import crc_hash
from whoosh.filedb.filetables import md5_hash
from whoosh.formats import Positions

from helpapi import whoosh_writer
from helpapi.indexer import ENGLISH_COST_FACTOR
from helpapi.indexer import _pool_costs
from helpapi.schema import ENGLISH


@pytest.mark.parametrize(
    "poses",
    [
        [0],
        [5],
        [46],  # the delta is b".", pickle's STOP: the value must still end in its own
        [255],
        [256],
        [300],
        [70000],
        [1, 2],
        [3, 3],
        [46, 92],
        [0, 255, 256, 65535, 65536, 2**31],
        [9] * 1200,
        list(range(0, 255 * 3, 3)),  # 255 positions: the byte form's last head
        list(range(256)),  # 256: the list form
    ],
)
def test_position_value_reads_back_as_the_positions(poses):
    """Whoosh's Positions format reads the smaller value (_deltas_value) as its own."""
    fmt = Positions()
    got = whoosh_writer._position_value(poses)
    assert fmt.decode_positions(got) == poses
    assert fmt.decode_frequency(got) == len(poses)
    assert fmt.decode_positions(fmt.combine([got, fmt.encode(poses)])) == sorted(set(poses))
    assert whoosh_writer._position_value(poses) == got  # the one-position pickle kept
    if max(poses) < 256 and len(poses) < 256:
        # The byte form: frequency, SHORT_BINBYTES of the deltas, STOP.
        assert len(got) == 4 + 2 + len(poses) + 1
        assert len(got) < len(fmt.encode(poses))
    if len(poses) == 1 and poses[0] < whoosh_writer._ONE_POSITION_MAX:
        # One object per position: a block's pickle refers back to it (it reads back equal).
        assert whoosh_writer._position_value(poses) is whoosh_writer._position_value(poses)


@pytest.mark.parametrize("key", [b"", b"\x00\x01word", "größe".encode(), b"\xff" * 300])
def test_term_index_hash_is_whooshs_hash(key):
    """_BlockWriter._add_info's inlined hashes. Builds hash the term index with CRC-32
    (_crc_term_index; tests/test_build_write_fast.py reads such an index back): crc32 is
    crc_hash's value. MD5 is the fallback for a term index whose header was already written."""
    assert crc32(key) == crc_hash(key)
    got = whoosh_writer._LOW32(md5(key, usedforsecurity=False).digest(), 12)[0]
    assert got == md5_hash(key)


def test_pool_starts_english_after_the_locales(tmp_path):
    """en-US parses each slug once and has no bigrams (dev corpus: 7.0 s CPU against 9.8 s
    for fi-FI): started first, the build ended with a full-size locale alone."""
    for locale, size in (("de-DE", 1000), ("ja-JP", 900), ("sv-SE", 700)):
        (tmp_path / locale).mkdir()
        (tmp_path / locale / "a.md").write_bytes(b"x" * size)
    locales = ["de-DE", "ja-JP", "sv-SE"]
    args = [(str(tmp_path), loc, "out", None) for loc in locales]
    args.append((str(tmp_path), ENGLISH, "out", locales))
    costs = _pool_costs(args)
    order = sorted(costs, key=lambda loc: -costs[loc])
    assert order == ["ja-JP", "de-DE", "sv-SE", ENGLISH]
    mean = (1000 + 900 * 1.25 + 700) / 3
    assert costs[ENGLISH] == pytest.approx(ENGLISH_COST_FACTOR * mean)


def test_pool_costs_of_english_alone(tmp_path):
    costs = _pool_costs([(str(tmp_path), ENGLISH, "out", [])])
    assert costs == {ENGLISH: 0.0}
