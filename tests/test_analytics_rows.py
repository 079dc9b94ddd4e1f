"""One malformed search row costs only itself: the writer turns rows into INSERT parameters
off the request path, where one bad row used to drop its whole batch (the stop 14 review)."""

from __future__ import annotations

import sqlite3

from helpapi import analytics
from helpapi.analytics import Recorder

from .test_analytics_cost import _row


def test_a_malformed_row_is_dropped_alone_and_counted(tmp_path):
    rec = Recorder(tmp_path / "a.sqlite3", True, 90, 1000)
    good = [_row(i) for i in range(20)]
    bad = {**_row(99), "total": "many"}  # int("many") fails in the writer
    missing = _row(98)
    del missing["locale"]
    for row in good[:10] + [bad, missing] + good[10:]:
        assert rec.record_search(row)
    rec.flush()
    conn = sqlite3.connect(rec.path)
    ids = {r[0] for r in conn.execute("SELECT query_id FROM searches")}
    conn.close()
    assert ids == {r["query_id"] for r in good}
    assert rec.dropped == 2


def test_a_transaction_takes_at_most_one_batch(tmp_path, batches):
    """A backlog (a slow disk, a long insights refresh holding the lock) is written in
    transactions of at most BATCH rows, so no writer holds SQLite's write lock for long."""
    sizes, gate = batches
    rec = Recorder(tmp_path / "a.sqlite3", True, 90, 10_000)
    gate.clear()  # the writer stops at its first transaction; the rest piles up meanwhile
    rec.record_search(_row(0))
    for i in range(1, 2 * analytics.BATCH + 300):
        rec.record_search(_row(i))
    gate.set()
    rec.flush()
    assert sum(sizes) == 2 * analytics.BATCH + 300 and rec.dropped == 0
    assert max(sizes) <= analytics.BATCH and len(sizes) >= 3


def test_records_lost_in_the_writer_count_on_metrics(tmp_path):
    """`helpapi_analytics_dropped_total` counts every record that never reached the database,
    not only those refused by a full queue: the README's one total for lost records."""
    from helpapi import metrics

    before = metrics.DROPPED._value.get()
    rec = Recorder(tmp_path / "a.sqlite3", True, 90, 1000)
    bad = {**_row(99), "total": "many"}
    for row in (_row(1), bad, _row(2)):
        assert rec.record_search(row)
    rec.flush()
    assert rec.dropped == 1
    assert metrics.DROPPED._value.get() - before == 1


def test_batches_counts_only_the_writers_of_this_test(tmp_path_factory, batches):
    """Another test's recorder whose writer flushes late (its app not yet collected) writes
    while this fixture counts: its transactions are not this test's (1302 counted for 1300,
    once, in a long run under load)."""
    sizes, _ = batches
    elsewhere = Recorder(tmp_path_factory.mktemp("another-test") / "a.sqlite3", True, 90, 1000)
    for i in range(2):
        assert elsewhere.record_search(_row(i))
    elsewhere.flush()
    assert sizes == []
