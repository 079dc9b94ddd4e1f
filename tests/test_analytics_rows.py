"""One malformed search row costs only itself: the writer turns rows into INSERT parameters
off the request path, where one bad row used to drop its whole batch (the stop 14 review)."""

from __future__ import annotations

import sqlite3

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
